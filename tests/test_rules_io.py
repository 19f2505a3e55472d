"""I/O-contract rules IO-001..006, with the F16 deadline example."""

from __future__ import annotations

import pytest

from ml_systemization.model import Design, FailureRule, InputField
from ml_systemization.rules import io_contract
from rules_support import CATALOG, Mutation, assert_raises, findings, mutated, support, violations


def field(d: Design, field_id: str) -> InputField:
    return next(f for f in d.io_contract.input_fields if f.id == field_id)


def failure(d: Design, mode: str) -> FailureRule:
    return next(r for r in d.io_contract.failure_behavior if r.id == mode)


# --------------------------------------------------------------------------- flawed designs


def unbounded_body(d: Design) -> None:
    field(d, "ticket_body").max_len = None


def unlabelled_history(d: Design) -> None:
    f = field(d, "thread_history")
    f.pii, f.trust = None, None


def no_input_cap(d: Design) -> None:
    d.io_contract.input_max_tokens = None


def free_text_output(d: Design) -> None:
    d.io_contract.output.schema_kind = "free_text"


def broken_json_schema(d: Design) -> None:
    d.io_contract.output.output_schema = '{"type": "object",'


def broken_regex(d: Design) -> None:
    d.io_contract.output.schema_kind, d.io_contract.output.output_schema = "regex", "([a-z]+"


def no_output_cap(d: Design) -> None:
    d.io_contract.output.max_tokens = None


def invalid_output_retried_twice(d: Design) -> None:
    failure(d, "invalid_output").retries = 2


def no_rate_limit_behaviour(d: Design) -> None:
    d.io_contract.failure_behavior = [
        r for r in d.io_contract.failure_behavior if r.id != "rate_limited"
    ]


def tools_without_tool_error(d: Design) -> None:
    d.architecture.uses_tools = True


def too_many_retries(d: Design) -> None:
    failure(d, "provider_error").retries = 3


def f16_deadline(d: Design) -> None:
    """F16: timeout 2,000 ms, 1 retry, 200 ms backoff and a 150 ms fallback -> 4,350 ms > 3,000."""
    io = d.io_contract
    io.timeout_ms, io.retries, io.backoff_ms, io.deadline_ms = 2000, 1, [200], 3000
    d.baseline.p95_latency_ms = 150


def no_injection_mitigation(d: Design) -> None:
    d.io_contract.injection_mitigation = None


def unsanitized_output(d: Design) -> None:
    d.io_contract.output_sanitization = ""


def envelope_without_finish_reason(d: Design) -> None:
    d.io_contract.response_envelope.remove("finish_reason")


FLAWED: list[tuple[str, str, Mutation, tuple[str, ...]]] = [
    ("IO-001", "string field without max_len", unbounded_body, ("ticket_body", "LLM10")),
    ("IO-001", "field without pii and trust", unlabelled_history, ("PII", "trust")),
    ("IO-001", "no input token cap", no_input_cap, ("input token cap",)),
    ("IO-002", "free-text output", free_text_output, ("free text",)),
    ("IO-002", "JSON Schema that does not parse", broken_json_schema, ("does not parse",)),
    ("IO-002", "regex that does not compile", broken_regex, ("does not compile",)),
    ("IO-002", "no output token cap", no_output_cap, ("token cap",)),
    ("IO-002", "invalid output retried twice", invalid_output_retried_twice, ("2 times",)),
    ("IO-003", "rate_limited unmapped", no_rate_limit_behaviour, ("rate_limited",)),
    ("IO-003", "tools without tool_error", tools_without_tool_error, ("tool_error",)),
    ("IO-003", "three retries", too_many_retries, ("provider_error", "3 times")),
    ("IO-004", "worst case beyond the deadline", f16_deadline, ("4,350", "3,000", "1,325")),
    ("IO-005", "untrusted input without injection defence", no_injection_mitigation,
     ("ticket_subject", "LLM01")),
    ("IO-005", "untrusted input, output unsanitized", unsanitized_output, ("LLM05",)),
    ("IO-006", "no finish_reason logged", envelope_without_finish_reason, ("finish_reason",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule_id", "flaw", "mutation", "expected"),
    FLAWED,
    ids=[f"{r}: {flaw}" for r, flaw, _, _ in FLAWED],
)
def test_a_flawed_design_raises_the_rule_with_the_catalog_numbers(
    rule_id: str, flaw: str, mutation: Mutation, expected: tuple[str, ...]
) -> None:
    assert not violations(rule_id, support())
    assert_raises(rule_id, mutated(mutation), expected, flaw=flaw, severity=CATALOG[rule_id])


def test_the_deadline_formulas_reproduce_the_catalog_worked_example() -> None:
    d = mutated(f16_deadline)
    assert io_contract.worst_case_ms(d) == 4350
    assert io_contract.max_timeout_ms(d) == 1325


def test_a_batch_design_without_a_deadline_is_exempt_from_deadline_arithmetic() -> None:
    def batch(d: Design) -> None:
        d.architecture.mode = "batch"
        d.io_contract.deadline_ms = None

    assert findings("IO-004", mutated(batch)) == []


def test_a_design_without_untrusted_content_needs_no_isolation() -> None:
    def trusted(d: Design) -> None:
        for f in d.io_contract.input_fields:
            f.trust = "trusted"
        d.architecture.uses_retrieval = False
        d.io_contract.injection_mitigation = None

    assert findings("IO-005", mutated(trusted)) == []


@pytest.mark.parametrize(
    ("type_", "variable"),
    [
        ("string", True),
        ("list[message]", True),
        ("string (BCP-47)", True),
        ("enum[free, pro]", False),
        ("int64 (minor units)", False),
        (None, True),
    ],
)
def test_strings_and_lists_need_a_max_length_but_enums_and_numbers_do_not(
    type_: str | None, variable: bool
) -> None:
    assert io_contract.is_variable_length(type_) is variable
