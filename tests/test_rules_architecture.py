"""Architecture rules ARCH-001..008 against the catalog's worked examples (§F16, §F17)."""

from __future__ import annotations

import pytest

from ml_systemization.examples import EXAMPLES
from ml_systemization.model import Component, Dependency, Design, SideEffectTool
from ml_systemization.rules import architecture
from rules_support import (
    SETTINGS,
    Mutation,
    both,
    example,
    family_catalog,
    findings,
    mutated,
    set_field,
    violations,
)

CATALOG_SEVERITY = family_catalog("ARCH")


# --------------------------------------------------------------------------- §F designs


def f16_latency(d: Design) -> None:
    """F16: 150 + 100 + LLM (500 + 250 x 15) + 200 + 100 ms on a sync path, SLO 3,000 ms."""
    d.architecture.invocation = "sync"
    d.architecture.components = [
        Component(id="gateway", p95_ms=150),
        Component(id="retrieval", p95_ms=100),
        Component(id="llm", is_llm=True),
        Component(id="guard", p95_ms=200),
        Component(id="persist", p95_ms=100),
    ]
    d.architecture.llm.ttft_p95_ms = 500
    d.architecture.llm.tpot_ms = 15
    d.io_contract.output.max_tokens = 250
    d.architecture.slo.p95_ms = 3000


def f17_quota(d: Design) -> None:
    """F17: 30 QPS, one call of 1,500 + 300 tokens, against a 2e6 TPM quota."""
    d.context.traffic.peak_qps = 30
    llm = d.architecture.llm
    llm.calls_per_request, llm.retry_rate = 1, 0
    llm.input_tokens, llm.output_tokens = 1500, 300
    llm.quota_rpm, llm.quota_tpm = 4000, 2_000_000


def f17_availability(d: Design) -> None:
    """F17: 0.9995 x 0.99 x 0.9995 in series against an SLO of 0.995."""
    d.architecture.dependencies = [
        Dependency(id="retrieval", availability=0.9995),
        Dependency(id="llm_provider", availability=0.99),
        Dependency(id="guard", availability=0.9995),
    ]
    d.architecture.slo.availability = 0.995


def _with_llm_fallback(d: Design) -> None:
    f17_availability(d)
    llm_leg = d.architecture.dependencies[1]
    llm_leg.fallback, llm_leg.fallback_availability = "helpcenter_search", 0.999


def _streaming_slow_first_token(d: Design) -> None:
    d.architecture.invocation = "streaming"
    d.architecture.slo.ttft_p95_ms = 800


def _send_email_tool(d: Design) -> None:
    d.architecture.uses_tools = True
    d.architecture.versions.tools = "mailer 2.1.0"
    d.architecture.side_effect_tools = [
        SideEffectTool(
            id="send_email",
            operations=["email.send"],
            credentials="support-bot service account",
            human_confirmation=False,
        )
    ]


def _drop_prompt_version_from_cache_key(d: Design) -> None:
    d.architecture.cache.key_fields.remove("prompt_version")


def _optimistic_hit_rate(d: Design) -> None:
    d.architecture.cache.hit_rate, d.architecture.cache.measured_duplicate_rate = 0.40, 0.08


FLAWED: list[tuple[str, str, Mutation, tuple[str, ...]]] = [
    ("ARCH-001", "F16: the sync budget sums to 4,800 ms", f16_latency, ("4,800", "3,000", "4,250")),
    (
        "ARCH-001",
        "streaming, first token after the TTFT SLO",
        _streaming_slow_first_token,
        ("1,550 ms", "800 ms"),
    ),
    (
        "ARCH-001",
        "without an LLM component the slowest component is named",
        both(
            set_field("architecture.components", [Component(id="scan", p95_ms=9500)]),
            set_field("architecture.slo.p95_ms", 9000),
        ),
        ("9,500", "'scan'"),
    ),
    ("ARCH-002", "F16: sync path cannot meet 3 s", f16_latency, ("Sync path", "4,250", "3,000")),
    (
        "ARCH-002",
        "streaming TTFT above its SLO",
        both(
            set_field("architecture.invocation", "streaming"),
            set_field("architecture.slo.ttft_p95_ms", 900),
        ),
        ("1,100 ms", "900 ms"),
    ),
    (
        "ARCH-002",
        "batch API fresher than its 24 h window",
        both(
            set_field("architecture.mode", "batch"), set_field("architecture.freshness_need_h", 6)
        ),
        ("24 h", "6 h"),
    ),
    ("ARCH-003", "F17: 3.24 M TPM above 80% of 2 M", f17_quota, ("3.24 M TPM", "1,800 RPM")),
    (
        "ARCH-003",
        "F17 with a 2,000 RPM quota",
        both(f17_quota, set_field("architecture.llm.quota_rpm", 2000)),
        ("1,800 RPM", "2,000 RPM", "1,600"),
    ),
    ("ARCH-004", "F17: serial availability 0.989", f17_availability, ("0.989", "0.995")),
    (
        "ARCH-005",
        "model referenced by its family name",
        set_field("architecture.versions.model", "gpt-4o"),
        ("alias 'gpt-4o'",),
    ),
    (
        "ARCH-005",
        "prompt on a floating tag",
        set_field("architecture.versions.prompt", "support-draft-prompt latest"),
        ("Prompt", "latest"),
    ),
    (
        "ARCH-006",
        "cache key without the prompt version",
        _drop_prompt_version_from_cache_key,
        ("omits prompt_version",),
    ),
    ("ARCH-006", "hit rate above the measured duplicates", _optimistic_hit_rate, ("40%", "8%")),
    (
        "ARCH-006",
        "PII input cached without a tenant scope",
        set_field(
            "architecture.cache.key_fields", ["ticket_sha", "model_version", "prompt_v", "index"]
        ),
        ("tenant",),
    ),
    (
        "ARCH-006",
        "a prompt-cached prefix below the provider minimum",
        set_field("architecture.llm.cached_input_tokens", 600),
        ("600 tokens", "1,024"),
    ),
    (
        "ARCH-007",
        "no per-tenant token cap",
        set_field("architecture.isolation.per_tenant_limits", None),
        ("per-tenant token cap",),
    ),
    (
        "ARCH-007",
        "no circuit breaker",
        set_field("architecture.isolation.circuit_breaker", False),
        ("circuit breaker",),
    ),
    (
        "ARCH-008",
        "send_email without confirmation under a service account",
        _send_email_tool,
        ("'send_email' runs without confirmation", "service account"),
    ),
    (
        "ARCH-008",
        "an agent loop without a tool-call cap",
        both(
            _send_email_tool, set_field("architecture.isolation.max_tool_calls_per_request", None)
        ),
        ("max_tool_calls_per_request",),
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "flaw", "mutation", "expected"),
    FLAWED,
    ids=[f"{rule_id}: {flaw}" for rule_id, flaw, _, _ in FLAWED],
)
def test_a_design_with_one_flaw_raises_that_rule_with_the_computed_numbers(
    rule_id: str, flaw: str, mutation: Mutation, expected: tuple[str, ...]
) -> None:
    messages = violations(rule_id, mutated(mutation))
    assert messages, f"{rule_id} did not fire for: {flaw}"
    assert any(all(text in m for text in expected) for m in messages), messages


def test_the_f16_budget_fix_names_the_largest_output_cap_of_130_tokens() -> None:
    (finding,) = [f for f in findings("ARCH-001", mutated(f16_latency)) if f.kind == "violation"]
    assert "max_tokens at 130" in finding.fix
    assert "design_architecture" in finding.fix


def test_a_stated_llm_p95_that_disagrees_with_ttft_plus_tokens_is_overridden_and_mentioned() -> (
    None
):
    def stated(d: Design) -> None:
        f16_latency(d)
        d.architecture.components[2].p95_ms = 1900

    (message,) = violations("ARCH-001", mutated(stated))
    assert "states 1,900 ms" in message and "4,800" in message


def test_the_latency_budget_reproduces_f16() -> None:
    budget = architecture.latency_budget(mutated(f16_latency))
    assert budget is not None
    assert budget["llm_p95_ms"] == 4250
    assert budget["e2e_p95_ms"] == 4800
    assert budget["other_ms"] == 550
    assert budget["max_output_tokens"] == 130
    assert budget["first_token_ms"] == 750


def test_parallel_groups_count_their_slowest_member_once() -> None:
    def grouped(d: Design) -> None:
        d.architecture.components = [
            Component(id="a", p95_ms=50),
            Component(id="b", p95_ms=90, parallel_group="pre"),
            Component(id="c", p95_ms=40, parallel_group="pre"),
            Component(id="llm", is_llm=True),
        ]
        d.architecture.llm.ttft_p95_ms, d.architecture.llm.tpot_ms = 300, 10
        d.io_contract.output.max_tokens = 100

    budget = architecture.latency_budget(mutated(grouped))
    assert budget is not None
    assert budget["e2e_p95_ms"] == 50 + 90 + 1300
    assert budget["first_token_ms"] == 50 + 90 + 300


def test_streaming_with_a_ttft_slo_meets_arch_001_and_002_when_ttft_fits() -> None:
    def streaming(d: Design) -> None:
        f16_latency(d)
        d.architecture.invocation = "streaming"
        d.architecture.slo.ttft_p95_ms = 900  # first token: 250 + 500 ms

    design = mutated(streaming)
    assert violations("ARCH-001", design) == []
    assert violations("ARCH-002", design) == []


def test_an_async_design_may_exceed_the_sync_slo_for_generation() -> None:
    design = mutated(both(f16_latency, set_field("architecture.invocation", "async")))
    assert violations("ARCH-002", design) == []


def test_the_quota_usage_reproduces_f17() -> None:
    usage = architecture.quota_usage(mutated(f17_quota), SETTINGS)
    assert usage is not None
    assert usage["peak_rpm"] == pytest.approx(1800)
    assert usage["peak_tpm"] == pytest.approx(3.24e6)
    assert usage["tpm_limit"] == pytest.approx(0.8 * 2e6)


def test_a_baseline_fallback_on_the_llm_leg_lifts_availability_to_0_999() -> None:
    plain = architecture.composite_availability(mutated(f17_availability))
    assert plain is not None and round(plain["availability"], 3) == 0.989
    design = mutated(_with_llm_fallback)
    lifted = architecture.composite_availability(design)
    assert lifted is not None and round(lifted["availability"], 3) == 0.999
    assert violations("ARCH-004", design) == []


@pytest.mark.parametrize(
    ("version", "pinned"),
    [
        ("claude-sonnet-4-5-20250929", True),
        ("gpt-4o-2024-08-06", True),
        ("support-draft-prompt v17 (sha256:4e1b9a0c)", True),
        ("retrieval-svc 3.4.2 (git 4f2a9c1) + bge-reranker-v2-m3 (sha256:91ab3e07)", True),
        ("gpt-4o", False),
        ("gpt-4o-mini", False),
        ("claude-3-5-sonnet-latest", False),
        ("gemini-2.5-pro-preview-05-06", False),
        ("tools@2", False),
        ("answer-prompt v7 + reranker", False),
    ],
)
def test_versions_are_pinned_only_by_dates_hashes_or_full_release_numbers(
    version: str, pinned: bool
) -> None:
    assert architecture.is_pinned(version) is pinned


def test_an_irreversible_tool_needs_confirmation_even_with_a_neutral_name() -> None:
    def tool(d: Design) -> None:
        d.architecture.uses_tools = True
        d.architecture.side_effect_tools = [
            SideEffectTool(
                id="ticket_action",
                operations=["tickets.close"],
                credentials="end user's OAuth token",
                irreversible=True,
            )
        ]

    (message,) = violations("ARCH-008", mutated(tool))
    assert "'ticket_action' runs without confirmation" in message


# --------------------------------------------------------------------------- examples, empty


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_shipped_examples_break_no_architecture_error_rule(name: str) -> None:
    design = example(name)
    for rule_id, severity in CATALOG_SEVERITY.items():
        found = findings(rule_id, design)
        assert [f.kind for f in found] == [], (rule_id, [f.message for f in found])
        if severity == "error":
            assert not [f for f in found if f.kind == "violation"]


def test_the_examples_architecture_numbers_are_computed() -> None:
    numbers = architecture.architecture_numbers(example("support_assistant"), SETTINGS)
    assert numbers["llm_p95_ms"] == 1100 + 450 * 14
    assert numbers["e2e_p95_ms"] <= 9000
    assert set(numbers) == {"llm_p95_ms", "e2e_p95_ms", "availability", "peak_rpm", "peak_tpm"}
    classic = architecture.architecture_numbers(example("fraud_scorer"), SETTINGS)
    assert set(classic) == {"e2e_p95_ms", "availability"}


def test_an_llm_design_without_quota_inputs_is_not_evaluable_for_arch_003() -> None:
    design = mutated(set_field("architecture.llm.quota_tpm", None))
    (finding,) = findings("ARCH-003", design)
    assert finding.kind == "not_evaluable"
    assert finding.paths == ["architecture.llm.quota_tpm"]
