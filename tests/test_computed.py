"""The computed numbers in the artifacts: taken from the rules' own functions, rendered readably."""

from __future__ import annotations

import json
import math
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from design_factory import full_design, full_design_data, minimal_design
from ml_systemization.artifacts import render_design
from ml_systemization.computed import AB_KEYS, NOT_REACHABLE, STAGE_KEYS, compute_numbers
from ml_systemization.examples import EXAMPLES, example_design
from ml_systemization.model import Design
from ml_systemization.render import FLAT_COMPUTED_GROUPS, KEYED_COMPUTED_GROUPS, Renderer
from ml_systemization.rules.architecture import architecture_numbers
from ml_systemization.rules.cross_step import cost_estimate
from ml_systemization.rules.evaluation import evaluation_numbers
from ml_systemization.rules.iteration import ab_plan_numbers
from ml_systemization.rules.monitoring import burn_rates, drift_windows, proxy_detectability
from ml_systemization.rules.rollout import (
    false_rollback_rate,
    stage_requirements,
    trigger_feasibility,
)
from ml_systemization.settings import RuleSettings, effective_rule_settings
from ml_systemization.steps import ARTIFACTS

SETTINGS = RuleSettings()
SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"

KEYED = frozenset(KEYED_COMPUTED_GROUPS)
SETTINGS_ARTIFACTS = ("evaluation_plan", "rollout_plan", "monitoring_plan", "iteration_plan")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@cache
def _example(name: str) -> Design:
    return example_design(name)


def _render(renderer: Renderer, artifact: str, design: Design, settings: RuleSettings) -> str:
    return renderer.render(
        artifact,
        design,
        design_id="d-1",
        revision=1,
        computed=compute_numbers(design, settings),
    )


def _values(computed: dict[str, Any]) -> list[object]:
    out: list[object] = []
    for group, entries in computed.items():
        items = entries.values() if group in KEYED else [entries]
        for item in items:
            out.extend(item.values())
    return out


# --------------------------------------------------------------------------- the examples

EXPECTED_GROUPS = {
    "support_assistant": {
        "metrics": {"wilson_half_width", "n_min", "wilson_lower", "mde_paired", "corrected_rate"},
        "slices": {"wilson_half_width", "n_min"},
        "stages": {"n_required", "min_duration_h", "expected_samples", "budget_share"},
        "triggers": {"feasible", "stage", "samples_in_window", "min_stage_h"},
        "signals": {"psi_noise_floor", "min_window_samples", "labels_per_day", "days_to_detect"},
        "slos": set(),
        "baseline": {"ai_cost_per_request_usd", "icps_usd"},
        "architecture": {"llm_p95_ms", "e2e_p95_ms", "availability", "peak_rpm", "peak_tpm"},
        "cost": {"cost_per_call_usd", "cost_per_request_usd", "month_usd", "budget_needed_usd"},
        "rollout": {"fwer"},
        "ab": {"n_per_arm", "duration_days", "mde_within_cadence"},
        "settings": set(RuleSettings.model_fields),
    },
    "fraud_scorer": {
        "metrics": {"wilson_half_width", "n_min", "wilson_lower", "wilson_upper", "mde"},
        "slices": {"wilson_half_width", "n_min"},
        "stages": {"n_required", "min_duration_h", "expected_samples", "budget_share"},
        "triggers": {"feasible", "stage", "samples_in_window", "min_stage_h"},
        "signals": {"psi_noise_floor", "min_window_samples", "labels_per_day", "days_to_detect"},
        "slos": set(),
        "architecture": {"e2e_p95_ms", "worst_case_deadline_ms", "availability"},
        "rollout": {"fwer"},
        "ab": {"n_per_arm", "duration_days", "mde_within_cadence"},
        "settings": set(RuleSettings.model_fields),
    },
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_examples_fill_every_group_they_have_inputs_for(name: str) -> None:
    computed = compute_numbers(_example(name), SETTINGS)
    expected = EXPECTED_GROUPS[name]
    assert set(computed) == set(expected)
    for group, keys in expected.items():
        if group in KEYED:
            present = {key for item in computed[group].values() for key in item}
        else:
            present = set(computed[group])
        assert keys <= present, group


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_examples_numbers_are_the_rule_functions_numbers(name: str) -> None:
    design = _example(name)
    computed = compute_numbers(design, SETTINGS)
    for metric_id, numbers in evaluation_numbers(design, SETTINGS).items():
        shown = computed["metrics"][metric_id]
        assert shown["wilson_half_width"] == numbers["halfwidth"]
        assert shown["n_min"] == numbers["n_min"]
        assert numbers["bound"] in (shown.get("wilson_lower"), shown.get("wilson_upper"))
        assert numbers["mde"] in (shown.get("mde"), shown.get("mde_paired"))
    for stage_id, numbers in stage_requirements(design, SETTINGS).items():
        assert computed["stages"][stage_id] == {k: numbers[k] for k in STAGE_KEYS if k in numbers}
    for trigger_id, numbers in trigger_feasibility(design).items():
        shown = computed["triggers"][trigger_id]
        assert shown == {k: numbers[k] for k in shown}
    for signal_id, numbers in drift_windows(design, SETTINGS).items():
        shown = computed["signals"][signal_id]
        assert shown["psi_noise_floor"] == numbers["psi_noise_floor"]
        assert shown["min_window_samples"] == numbers["min_window_samples"]
    for signal_id, numbers in proxy_detectability(design, SETTINGS).items():
        assert computed["signals"][signal_id]["days_to_detect"] == numbers["days_to_detect"]
    assert computed["slos"] == burn_rates(design)
    assert computed["rollout"] == {"fwer": false_rollback_rate(design, SETTINGS)}
    numbers = architecture_numbers(design, SETTINGS)
    assert {k: computed["architecture"][k] for k in numbers} == numbers
    ab = ab_plan_numbers(design, SETTINGS)
    assert ab is not None
    assert computed["ab"] == {k: ab[k] for k in AB_KEYS}
    cost = cost_estimate(design, SETTINGS)
    if cost is None:
        assert "cost" not in computed
    else:
        assert computed["cost"]["month_usd"] == cost["month_usd"]
        assert computed["cost"]["budget_needed_usd"] == cost["budget_needed_usd"]
    assert computed["settings"] == SETTINGS.model_dump()


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_renders_its_numbers_in_the_artifact_of_their_step(
    renderer: Renderer, name: str
) -> None:
    design = _example(name)
    texts = {artifact: _render(renderer, artifact, design, SETTINGS) for artifact in ARTIFACTS}
    assert "Wilson half-width: " in texts["evaluation_plan"]
    assert "n required: " in texts["rollout_plan"]
    assert "  - family-wise false-rollback rate: " in texts["rollout_plan"]
    assert "PSI noise floor: " in texts["monitoring_plan"]
    assert "days to detect: " in texts["monitoring_plan"]
    assert "(burn rate 14.4x)" in texts["monitoring_plan"]
    assert "  - n per arm: " in texts["iteration_plan"]
    assert "  - end-to-end p95 (ms): " in texts["one_pager"]
    for artifact in SETTINGS_ARTIFACTS:
        assert "## Rule settings used" in texts[artifact]
    if name == "support_assistant":
        assert "  - cost per extra success (USD): " in texts["baseline_spec"]
        assert "  - monthly estimate (USD): " in texts["monitoring_plan"]
        assert "  - monthly estimate (USD): " in texts["one_pager"]


# --------------------------------------------------------------------------- robustness


def _ids_only(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _ids_only(value) for key, value in data.items()}
    if isinstance(data, list):
        return [
            {"id": item["id"]} if isinstance(item, dict) and "id" in item else item for item in data
        ]
    return data


def _partial_designs() -> dict[str, Design]:
    designs = {"minimal": minimal_design(), "full": full_design()}
    ids_only = _ids_only(full_design_data())
    ids_only["waivers"] = []
    designs["ids_only"] = Design.model_validate(ids_only)
    full = full_design_data()
    for section in ("baseline", "io_contract", "evaluation", "architecture", "rollout"):
        designs[f"{section}_only"] = Design.model_validate(
            {"context": {"feature": "x"}, section: full[section]}
        )
    for section in ("monitoring", "iteration"):
        designs[f"{section}_only"] = Design.model_validate(
            {"context": full["context"], section: full[section]}
        )
    return designs


PARTIAL = _partial_designs()


@pytest.mark.parametrize("kind", sorted(PARTIAL))
def test_partial_designs_get_json_friendly_numbers_and_never_a_none(
    renderer: Renderer, kind: str
) -> None:
    design = PARTIAL[kind]
    computed = compute_numbers(design, SETTINGS)
    assert set(computed) <= {*KEYED_COMPUTED_GROUPS, *FLAT_COMPUTED_GROUPS}
    json.dumps(computed, allow_nan=False)
    for value in _values(computed):
        assert isinstance(value, bool | int | float | str), value
        assert not isinstance(value, float) or math.isfinite(value)
    for group in KEYED & set(computed):
        assert all(computed[group].values()), group  # no item without numbers
    for artifact in ARTIFACTS:
        assert "None" not in _render(renderer, artifact, design, SETTINGS)


def test_the_minimal_design_shows_only_the_rule_settings(renderer: Renderer) -> None:
    design = minimal_design()
    assert set(compute_numbers(design, SETTINGS)) == {"settings"}
    for artifact in ARTIFACTS:
        assert "Computed" not in _render(renderer, artifact, design, SETTINGS)


def test_an_unreachable_number_reads_not_reachable(renderer: Renderer) -> None:
    data = full_design_data()
    signals = {s["id"]: s for s in data["monitoring"]["signals"]}
    signals["thumbs_down_rate"]["label_rate"] = 0.0  # no labels: never detected
    signals["question_length_psi"]["n_ref"] = 50  # the reference alone is noisier than 0.2
    design = Design.model_validate(data)
    computed = compute_numbers(design, SETTINGS)
    assert computed["signals"]["thumbs_down_rate"]["days_to_detect"] == NOT_REACHABLE
    assert computed["signals"]["question_length_psi"]["min_window_samples"] == NOT_REACHABLE
    text = _render(renderer, "monitoring_plan", design, SETTINGS)
    assert "days to detect: not reachable |" in text
    assert "min window samples: not reachable |" in text


# --------------------------------------------------------------------------- worked examples (§F)


def _design(**sections: Any) -> Design:
    return Design.model_validate({"context": {"feature": "Worked example"}, **sections})


def test_f1_f4_f6_the_evaluation_plan_shows_precision_distinguishability_mde_and_correction(
    renderer: Renderer,
) -> None:
    design = _design(
        baseline={"scores": {"m90": 0.80, "m85": 0.80}},
        evaluation={
            "golden_set": {
                "size": 200,
                "slices": [{"id": "s90", "n": 37, "metric_id": "m90", "threshold": 0.9}],
            },
            "comparison": "paired",
            "metrics": [
                {"id": "m90", "kind": "proportion", "direction": "higher_is_better",
                 "threshold": 0.90},
                {"id": "m85", "kind": "proportion", "direction": "higher_is_better",
                 "threshold": 0.85},
                {"id": "regression", "kind": "proportion", "direction": "higher_is_better",
                 "threshold": 0.85, "n": 500, "regression_tolerance": 0.02},
                {"id": "judged", "kind": "proportion", "direction": "higher_is_better",
                 "threshold": 0.80, "scorer": "llm_judge",
                 "judge": {"calibration": {"sensitivity": 0.923, "specificity": 0.714}}},
            ],
        },
    )  # fmt: skip
    text = _render(renderer, "evaluation_plan", design, SETTINGS)
    assert "Wilson half-width: 0.0419; n_min: 141;" in text  # F1
    assert "Wilson lower: 0.794; n to exclude the baseline: 246;" in text  # F2
    assert "MDE (paired): 0.0352; n to detect the tolerance: 1,546" in text  # F4
    assert "Rogan-Gladen corrected: 0.807" in text  # F6
    assert "| Wilson half-width: 0.0994; n_min: 37 |" in text  # F3


def test_f7_to_f10_the_rollout_plan_shows_canary_size_trigger_evaluability_and_false_rollbacks(
    renderer: Renderer,
) -> None:
    design = _design(
        context={"feature": "Worked example", "traffic": {"req_per_hour": 20_000}},
        rollout={
            "control": "concurrent_baseline",
            "stages": [
                {"id": "canary_1pct", "fraction": 0.01, "duration_h": 0.5},
                {"id": "canary_5pct", "fraction": 0.05, "duration_h": 1, "p0": 0.010,
                 "p1": 0.015},
            ],
            "rollback_triggers": [
                {"id": "errors", "signal_id": "error_rate", "comparator": ">",
                 "threshold": 0.02, "window_min": 60, "min_samples": 1000},
            ],
        },
    )  # fmt: skip
    text = _render(renderer, "rollout_plan", design, SETTINGS)
    assert "n required: 6,105; min duration (h): 6.11;" in text  # F7
    # F8: a 1% stage of 20k req/h for 30 min sees 100 requests; 1,000 need 5 h.
    assert (
        "can fire: no; tightest stage: canary_1pct; samples in window: 100; min stage (h): 5"
        in (text)
    )

    eight_signals = _design(
        rollout={
            "stages": [{"id": "canary", "fraction": 0.05}],
            "rollback_triggers": [{"id": f"t{i}", "signal_id": f"signal_{i}"} for i in range(8)],
        }
    )
    text = _render(renderer, "rollout_plan", eight_signals, SETTINGS)
    assert "  - family-wise false-rollback rate: 0.337\n" in text  # F9: m=8, one stage

    budget = _design(
        context={"feature": "Worked example",
                 "traffic": {"req_per_hour": 41_667, "req_per_month": 30_000_000}},
        architecture={"slo": {"availability": 0.999}},
        rollout={"defect_rate": 0.20,
                 "stages": [{"id": "canary", "fraction": 0.05, "duration_h": 6}]},
    )  # fmt: skip
    assert "error-budget share: 0.0833 |" in _render(renderer, "rollout_plan", budget, SETTINGS)


def test_f10_f14_f15_f18_the_monitoring_plan_shows_burn_rates_noise_floors_cost_and_labels(
    renderer: Renderer,
) -> None:
    design = _design(
        context={
            "feature": "Worked example",
            "traffic": {"req_per_hour": 1250, "req_per_month": 1_000_000},
            "cost_budget_month_usd": 9000,
        },
        baseline={"expected_success_rate": 0.85},
        io_contract={"output": {"max_tokens": 300}},
        architecture={
            "llm": {"input_tokens": 1500, "output_tokens": 300, "price_in_per_mtok": 3.0,
                    "price_out_per_mtok": 15.0, "tool_calls_per_request": 0.5,
                    "price_per_tool_call_usd": 0.005},
            "cache": {"kind": "response", "hit_rate": 0.2},
        },
        monitoring={
            "signals": [
                {"id": "length_psi", "kind": "drift", "stat": "psi", "comparator": ">",
                 "threshold": 0.1, "window_h": 0.16, "bins": 10, "n_ref": 10_000},
                {"id": "thumbs_down", "kind": "quality_proxy", "proxy_for": "quality",
                 "stat": "rate", "comparator": ">", "label_rate": 0.01, "baseline_rate": 0.05,
                 "detect_delta": 0.025},
            ],
            "slos": [
                {"id": "availability", "target": 0.999, "window_d": 30, "burn_alerts": [
                    {"id": "fast", "budget_fraction": 0.02, "long_window_h": 1},
                    {"id": "slow", "budget_fraction": 0.05, "long_window_h": 6},
                    {"id": "drip", "budget_fraction": 0.10, "long_window_h": 72},
                ]},
            ],
        },
    )  # fmt: skip
    text = _render(renderer, "monitoring_plan", design, SETTINGS)
    assert "`fast`: 0.02 of budget in 1 h (burn rate 14.4x)" in text  # F10
    assert "`slow`: 0.05 of budget in 6 h (burn rate 6x)" in text
    assert "`drip`: 0.1 of budget in 72 h (burn rate 1x)" in text
    # F14: n_ref 10,000, B=10, 200 samples in the window.
    assert "samples in window: 200; PSI noise floor: 0.0863; min window samples: 190 |" in text
    assert "labels/day: 300; labels needed: 1,159; days to detect: 3.86 |" in text  # F18
    # F15
    assert "  - cost per LLM call (USD): 0.009\n" in text
    assert "  - monthly estimate (USD): 9,200\n" in text
    assert "  - cost per success (USD): 0.0108\n" in text
    assert "  - budget needed with headroom (USD): 11,040\n" in text
    assert "  - monthly estimate (USD): 9,200\n" in _render(renderer, "one_pager", design, SETTINGS)

    with_baseline = design.model_copy(deep=True)
    with_baseline.baseline.cost_per_request_usd = 0.0005
    with_baseline.baseline.success_rate = 0.70
    spec = _render(renderer, "baseline_spec", with_baseline, SETTINGS)
    assert "  - ML/LLM cost per request (USD): 0.0092\n" in spec
    assert "  - cost per extra success (USD): 0.058\n" in spec  # F15 ICPS


def test_f11_the_iteration_plan_shows_the_ab_size_and_duration(renderer: Renderer) -> None:
    design = _design(
        context={"feature": "Worked example", "traffic": {"ab_daily_eligible": 5000}},
        iteration={"ab": {"p0": 0.10, "mde": 0.01, "share_per_arm": 0.5, "cadence_days": 7}},
    )
    text = _render(renderer, "iteration_plan", design, SETTINGS)
    assert "  - n per arm: 14,751\n" in text
    assert "  - days of traffic needed: 5.9\n" in text
    assert "  - duration (days): 7\n" in text
    assert "  - MDE reachable within cadence: 0.00917\n" in text


def test_f16_f17_the_one_pager_shows_latency_deadline_quota_and_availability(
    renderer: Renderer,
) -> None:
    design = _design(
        context={"feature": "Worked example", "traffic": {"peak_qps": 30}},
        baseline={"p95_latency_ms": 150},
        io_contract={"output": {"max_tokens": 250}, "timeout_ms": 2000, "retries": 1,
                     "backoff_ms": [200]},
        architecture={
            "components": [
                {"id": "gateway", "p95_ms": 150},
                {"id": "retrieval", "p95_ms": 100},
                {"id": "llm", "is_llm": True},
                {"id": "guardrail", "p95_ms": 200},
                {"id": "render", "p95_ms": 100},
            ],
            "llm": {"ttft_p95_ms": 500, "tpot_ms": 15, "input_tokens": 1550,
                    "calls_per_request": 1, "quota_rpm": 10_000, "quota_tpm": 2_000_000},
            "dependencies": [
                {"id": "gateway", "availability": 0.9995},
                {"id": "llm_provider", "availability": 0.99},
                {"id": "vector_db", "availability": 0.9995},
            ],
        },
    )  # fmt: skip
    text = _render(renderer, "one_pager", design, SETTINGS)
    assert "    - LLM p95 (ms): 4,250\n" in text
    assert "    - end-to-end p95 (ms): 4,800\n" in text
    assert "    - worst-case deadline path (ms): 4,350\n" in text
    assert "    - serial availability: 0.989\n" in text
    assert "    - peak RPM: 1,800\n" in text
    assert "    - peak TPM: 3,240,000\n    - usable TPM quota: 1,600,000\n" in text

    design.architecture.dependencies[1].fallback = "baseline"
    design.architecture.dependencies[1].fallback_availability = 0.999
    text = _render(renderer, "one_pager", design, SETTINGS)
    assert "    - serial availability: 0.999\n" in text


# --------------------------------------------------------------------------- rule settings


def _settings_rows(text: str) -> dict[str, str]:
    section = text.split("\n## Rule settings used\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {row.split("`")[1]: row for row in rows}


def test_per_design_overrides_are_marked_in_the_settings_table_and_change_the_numbers(
    renderer: Renderer,
) -> None:
    design = full_design().model_copy(update={"rule_settings": {"golden_tolerance": 0.03}})
    rules = effective_rule_settings(SETTINGS, design.rule_settings)
    texts = render_design(renderer, design, design_id="d-1", revision=1, rules=rules)
    rows = _settings_rows(texts["evaluation_plan"])
    assert rows["golden_tolerance"] == (
        "| `golden_tolerance` | Golden-set CI half-width | 0.03 | "
        "**overridden for this design**; tool default 0.05 |"
    )
    assert rows["alpha"] == "| `alpha` | Significance level | 0.05 | tool default |"
    # EVAL-001's n_min at 0.75 for ±0.03 instead of ±0.05.
    assert "Wilson half-width: 0.0245; n_min: 798;" in texts["evaluation_plan"]


def test_server_settings_are_marked_apart_from_the_tool_defaults(renderer: Renderer) -> None:
    text = _render(renderer, "rollout_plan", full_design(), RuleSettings(alpha=0.01))
    assert _settings_rows(text)["alpha"] == (
        "| `alpha` | Significance level | 0.01 | server setting; tool default 0.05 |"
    )


PLAN_SETTINGS = {
    "evaluation_plan": {
        "alpha", "power", "golden_tolerance", "slice_tolerance", "min_gated_slice_n",
        "discordance", "kappa_min", "judge_calibration_n", "min_production_share",
        "golden_max_age_days",
    },
    "rollout_plan": {
        "alpha", "power", "canary_budget_share", "max_false_rollback", "min_analysis_points",
        "max_rollback_min",
    },
    "monitoring_plan": {
        "alpha", "power", "psi_safety", "decision_horizon_days", "golden_max_age_days",
        "budget_headroom", "daily_cost_alert_factor",
    },
    "iteration_plan": {"alpha", "power", "golden_tolerance", "golden_max_age_days"},
}  # fmt: skip


@pytest.mark.parametrize("artifact", SETTINGS_ARTIFACTS)
def test_each_plan_lists_the_rule_settings_its_rules_read(
    renderer: Renderer, artifact: str
) -> None:
    text = _render(renderer, artifact, full_design(), SETTINGS)
    assert set(_settings_rows(text)) == PLAN_SETTINGS[artifact]
    assert PLAN_SETTINGS[artifact] <= set(RuleSettings.model_fields)


# --------------------------------------------------------------------------- snapshots


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_the_full_design_with_its_numbers_matches_its_snapshot(
    renderer: Renderer, artifact: str
) -> None:
    design = full_design()
    rules = effective_rule_settings(SETTINGS, design.rule_settings)
    text = _render(renderer, artifact, design, rules)
    path = SNAPSHOTS / f"{artifact}.computed.md"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing; run the tests with UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")
