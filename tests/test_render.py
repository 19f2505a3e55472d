"""Rendering the seven artifacts: snapshots, markers, escaping, overrides, computed numbers."""

from __future__ import annotations

import ast
import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from design_factory import FEATURE, full_design, full_design_data, minimal_design
from ml_systemization import render
from ml_systemization.errors import TemplateError
from ml_systemization.findings import Finding as ValidatorFinding
from ml_systemization.model import Design
from ml_systemization.render import (
    MARKER_PREFIX,
    Renderer,
    builtin_templates_dir,
    cell,
    code,
    fence,
    md,
    missing,
    val,
)
from ml_systemization.steps import ARTIFACTS, STEPS

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"

# The seed's templates, heading by heading, with their bullet labels in order.
SEED_ONE_PAGER: list[tuple[str, list[str]]] = [
    ("Goal", ["User outcome", "Business outcome", "North-star + guardrails"]),
    ("Modality", ["Baseline", "Proposed approach", "Justification"]),
    ("I/O contract", ["Input schema", "Output schema", "Failure behavior"]),
    ("Evaluation", ["Golden set", "Metrics/rubric", "Thresholds"]),
    ("Architecture", ["Online/batch", "Dependencies", "Caching", "Failure isolation"]),
    ("Rollout", ["Flags/canary/shadow", "Rollback triggers"]),
    ("Monitoring", ["Health", "Data drift", "Quality proxies", "Safety", "Cost"]),
    ("Iteration loop", ["What updates", "Retrain/update triggers"]),
]
SEED_FEATURE_CARD: list[tuple[str, list[str]]] = [
    ("Intended use", []),
    ("Not intended / non-goals", []),
    ("Known limitations", []),
    ("Failure modes", []),
    ("Data + privacy", ["Sources", "Retention", "Access"]),
    ("Monitoring + rollback", ["Key signals", "Rollback trigger"]),
]
FOOTER_HEADINGS = {"Rule settings used", "Waived warnings", "Findings"}

DESIGNS = {"minimal": minimal_design, "full": full_design}

COMPUTED = {
    "metrics": {"answer_correct": {"wilson_half_width": 0.0245, "n_min": 412}},
    "slices": {"billing": {"wilson_half_width": 0.0438}},
    "stages": {"canary_1pct": {"n_required": 6105.0, "min_duration_h": 33.91666}},
    "triggers": {"errors_spike": {"feasible": True, "samples_in_window": 3.0}},
    "signals": {"question_length_psi": {"psi_noise_floor": 0.0123456}},
    "slos": {"availability": {"fast_burn": 13.44}},
    "baseline": {"icps_usd": 0.0123},
    "architecture": {"e2e_p95_ms": 2084.6, "availability": 0.99949},
    "cost": {"month_usd": 4211.77, "cost_per_request_usd": 0.000524},
    "rollout": {"fwer": 0.1047},
    "ab": {"n_per_arm": 3011.2, "duration_days": 14.0},
    "settings": {"alpha": 0.01, "max_false_rollback": 0.15},
    "setting_defaults": {"alpha": 0.05, "max_false_rollback": 0.1},
}


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: str
    step: str
    message: str
    fix: str
    paths: tuple[str, ...] = ()
    waived: str | None = None


FINDINGS = [
    Finding(
        "EVAL-001",
        "error",
        "evaluation",
        "n=100 gives ±0.060",
        "Grow the set",
        ("evaluation.golden_set.size", "evaluation.metrics"),
    ),
    Finding("ROLL-006", "warning", "rollout", "Before/after", "Use a concurrent baseline"),
    Finding("XS-004", "warning", "cross_step", "No drift monitor on locale", "Add one"),
    Finding("IO-006", "info", "io_contract", "No finish_reason logged", "Log it"),
    Finding("CARD-003", "warning", "card", "Non-goal has no enforcement", "Add a detector"),
]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def _render(
    renderer: Renderer,
    artifact: str,
    design: Design,
    *,
    findings: Sequence[object] = (),
    computed: Mapping[str, Any] | None = None,
) -> str:
    return renderer.render(
        artifact, design, design_id="d-7f3a", revision=12, findings=findings, computed=computed
    )


def _headings(text: str, level: int = 2) -> list[str]:
    prefix = "#" * level + " "
    return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]


def _bullet_labels(text: str, heading: str) -> list[str]:
    """Top-level `- Label:` bullets of the `## heading` section."""
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for m in re.finditer(r"^- ([^:\n]+):", section, flags=re.MULTILINE)]


def _unescaped_pipes(row: str) -> int:
    count, backslashes = 0, 0
    for char in row.strip():
        if char == "\\":
            backslashes += 1
            continue
        if char == "|" and backslashes % 2 == 0:
            count += 1
        backslashes = 0
    return count


def _tables(text: str) -> list[list[str]]:
    tables: list[list[str]] = []
    current: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.strip().startswith("|"):
            current.append(line.strip())
        elif current:
            tables.append(current)
            current = []
    return tables


# --------------------------------------------------------------------------- snapshots


@pytest.mark.parametrize("kind", sorted(DESIGNS))
@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_every_artifact_matches_its_snapshot(renderer: Renderer, artifact: str, kind: str) -> None:
    text = _render(renderer, artifact, DESIGNS[kind]())
    path = SNAPSHOTS / f"{artifact}.{kind}.md"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing; run the tests with UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- markers


def test_the_marker_names_the_path_and_the_tool_that_fills_it() -> None:
    assert missing("evaluation.metrics") == (
        "_⚠ not set: `evaluation.metrics` — fill with `build_evaluation`_"
    )
    assert missing("context.traffic.peak_qps") == (
        "_⚠ not set: `context.traffic.peak_qps` — fill with `update_context`_"
    )
    assert missing("rollout.stages[canary].p0").endswith("fill with `plan_rollout`_")


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_the_full_design_renders_without_a_single_not_set_marker(
    renderer: Renderer, artifact: str
) -> None:
    text = _render(renderer, artifact, full_design())
    assert MARKER_PREFIX not in text


@pytest.mark.parametrize(
    ("artifact", "expected"),
    [
        ("one_pager", ["define_io_contract", "design_architecture", "update_context"]),
        ("baseline_spec", ["choose_baseline", "update_context"]),
        ("evaluation_plan", ["build_evaluation"]),
        ("rollout_plan", ["plan_rollout"]),
        ("monitoring_plan", ["define_monitoring", "update_context"]),
        ("iteration_plan", ["define_iteration_loop"]),
        ("feature_card", ["describe_feature_card"]),
    ],
)
def test_the_minimal_design_shows_markers_naming_the_tools_that_fill_each_section(
    renderer: Renderer, artifact: str, expected: list[str]
) -> None:
    text = _render(renderer, artifact, minimal_design())
    markers = re.findall(r"_⚠ not set: `([^`]+)` — fill with `([^`]+)`_", text)
    assert markers
    tools = {tool for _, tool in markers}
    assert set(expected) <= tools
    by_section: dict[str, str] = {step.key: step.tool for step in STEPS}
    by_section["context"] = "update_context"
    for path, tool in markers:
        assert by_section[re.split(r"[.\[]", path)[0]] == tool, path


def test_a_section_filled_later_replaces_its_markers(renderer: Renderer) -> None:
    design = minimal_design().model_copy(update={"baseline": full_design().baseline}, deep=True)
    text = _render(renderer, "baseline_spec", design)
    assert "choose_baseline" not in text
    assert "`faq_search`" in text


def _ids_only(data: Any) -> Any:
    """Strip every list item down to its id, everywhere in the design data."""
    if isinstance(data, dict):
        return {key: _ids_only(value) for key, value in data.items()}
    if isinstance(data, list):
        return [
            {"id": item["id"]} if isinstance(item, dict) and "id" in item else item for item in data
        ]
    return data


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_list_items_holding_only_their_id_render_markers_for_each_missing_field(
    renderer: Renderer, artifact: str
) -> None:
    data = _ids_only(full_design_data())
    data["waivers"] = [{"id": "ROLL-006", "reason": "Accepted for the pilot"}]
    text = _render(
        renderer, artifact, Design.model_validate(data), findings=FINDINGS, computed=COMPUTED
    )
    assert MARKER_PREFIX in text
    for table in _tables(text):
        assert len({_unescaped_pipes(row) for row in table}) == 1, table


# --------------------------------------------------------------------------- seed structure


@pytest.mark.parametrize("kind", sorted(DESIGNS))
@pytest.mark.parametrize(
    ("artifact", "seed"), [("one_pager", SEED_ONE_PAGER), ("feature_card", SEED_FEATURE_CARD)]
)
def test_the_one_pager_and_the_card_keep_the_seed_headings_and_bullets_in_order(
    renderer: Renderer, artifact: str, seed: list[tuple[str, list[str]]], kind: str
) -> None:
    text = _render(renderer, artifact, DESIGNS[kind](), findings=FINDINGS)
    headings = _headings(text)
    assert headings[: len(seed)] == [heading for heading, _ in seed]
    assert set(headings[len(seed) :]) <= FOOTER_HEADINGS
    for heading, labels in seed:
        if labels:
            assert _bullet_labels(text, heading) == labels, heading


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_every_artifact_starts_with_its_title_the_feature_and_the_revision(
    renderer: Renderer, artifact: str
) -> None:
    lines = _render(renderer, artifact, full_design()).splitlines()
    assert lines[0] == f"# {render.ARTIFACT_TITLES[artifact]} — {FEATURE}"
    assert lines[2] == "Design `d-7f3a` · revision 12"
    assert sum(line.startswith("# ") for line in lines) == 1


@pytest.mark.parametrize("kind", sorted(DESIGNS))
@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_every_table_has_the_same_number_of_cells_in_every_row(
    renderer: Renderer, artifact: str, kind: str
) -> None:
    text = _render(renderer, artifact, DESIGNS[kind](), findings=FINDINGS, computed=COMPUTED)
    for table in _tables(text):
        widths = {_unescaped_pipes(row) for row in table}
        assert len(widths) == 1, table
        assert re.fullmatch(r"\|(---\|)+", table[1]), table


# --------------------------------------------------------------------------- escaping

NASTY = (
    "Bot {{ 7*7 }} | {% if true %}yes{% endif %}\n# heading\n- item\n1. first\n"
    "<script>x</script> $5"
)


def _nasty_design() -> Design:
    data = full_design_data()
    data["context"]["feature"] = "Bot | {{ 7*7 }} # not a heading"
    data["context"]["problem"] = NASTY
    data["context"]["success_metrics"][0]["description"] = NASTY
    data["evaluation"]["metrics"][0]["description"] = NASTY
    data["evaluation"]["rubric"] = NASTY
    data["io_contract"]["input_fields"][0]["description"] = NASTY
    data["io_contract"]["output"]["output_schema"] = "```\n{{ 7*7 }} | ~~~"
    data["monitoring"]["signals"][0]["description"] = NASTY
    data["card"]["limitations"] = [NASTY, "second | limitation"]
    data["waivers"][0]["reason"] = NASTY
    return Design.model_validate(data)


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_user_text_renders_literally_and_never_breaks_a_heading_or_table(
    renderer: Renderer, artifact: str
) -> None:
    nasty_finding = Finding("X-1", "error", "card", NASTY, NASTY)
    text = _render(renderer, artifact, _nasty_design(), findings=[nasty_finding])
    assert "{{ 7*7 }}" in text
    assert "{% if true %}yes{% endif %}" in text
    assert "49" not in text
    assert not re.search(r"^\s*#+ heading", text, flags=re.MULTILINE)
    assert not re.search(r"^\s*- item", text, flags=re.MULTILINE)
    assert "\\<script>" in text
    assert "<script>" not in text.replace("\\<script>", "")
    assert sum(line.startswith("# ") for line in text.splitlines()) == 1
    for table in _tables(text):
        assert len({_unescaped_pipes(row) for row in table}) == 1, table


def test_a_code_block_holds_backticks_and_jinja_literally(renderer: Renderer) -> None:
    text = _render(renderer, "one_pager", _nasty_design())
    assert "    ````json\n    ```\n    {{ 7*7 }} | ~~~\n    ````" in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text", "plain text"),
        ("# heading", "\\# heading"),
        ("#hashtag", "#hashtag"),
        ("- item", "\\- item"),
        ("-5% latency", "-5% latency"),
        ("1. first", "1\\. first"),
        ("> quote", "\\> quote"),
        ("---", "\\---"),
        ("```", "\\```"),
        ("a | b", "a \\| b"),
        ("a \\| b", "a \\\\\\| b"),
        ("costs $5", "costs \\$5"),
        ("<b>bold</b>", "\\<b>bold\\</b>"),
        ("p95 < 800", "p95 < 800"),
        ("line one\n# two\r\nthree", "line one<br>\\# two<br>three"),
        ("  padded  \n\n", "padded"),
        ("{{ 7*7 }}", "{{ 7*7 }}"),
    ],
)
def test_md_escapes_what_would_break_structure_and_keeps_the_rest(raw: str, escaped: str) -> None:
    assert md(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("a\\|b", "a\\\\\\|b"),
        (" two\nlines ", "two<br>lines"),
        ("# not a heading in a cell", "# not a heading in a cell"),
    ],
)
def test_cell_escapes_pipes_and_newlines_for_a_table_cell(raw: str, escaped: str) -> None:
    assert cell(raw) == escaped


def test_code_spans_and_fences_grow_past_backticks_in_the_text() -> None:
    assert code("faq_search") == "`faq_search`"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code("a|b") == "`a\\|b`"
    assert fence("x ``` y", "json", 2) == "  ````json\n  x ``` y\n  ````"


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (True, {}, "yes"),
        (False, {}, "no"),
        (0, {}, "0"),
        (0.0, {}, "0"),
        (0.1 + 0.2, {}, "0.3"),
        (0.001, {}, "0.001"),
        (0.9995, {}, "0.9995"),
        (3e-05, {"unit": "USD"}, "0.00003 USD"),
        (1_300_000.0, {}, "1,300,000"),
        (2.5, {"unit": "QPS"}, "2.5 QPS"),
        (800.0, {"unit": "ms"}, "800 ms"),
        (dt.date(2025, 1, 15), {}, "2025-01-15"),
        (dt.datetime(2025, 1, 20, 10, 30, tzinfo=dt.UTC), {}, "2025-01-20T10:30:00+00:00"),
        (["a, b", "c"], {}, "a, b; c"),
        ([0.5, 0.8, 1.0], {}, "0.5, 0.8, 1"),
        (["x", "y"], {"as_code": True}, "`x`, `y`"),
        ("a | b", {}, "a \\| b"),
    ],
)
def test_val_formats_values_for_reading(
    value: object, kwargs: dict[str, Any], expected: str
) -> None:
    assert val(value, "evaluation.rubric", **kwargs) == expected


@pytest.mark.parametrize("empty", [None, "", [], {}])
def test_val_shows_the_marker_for_every_kind_of_empty(empty: object) -> None:
    assert val(empty, "iteration.changes", unit="ms") == missing("iteration.changes")


def test_val_rejects_a_path_outside_the_design_sections() -> None:
    with pytest.raises(ValueError, match="design section"):
        val(1, "nowhere.field")


# --------------------------------------------------------------------------- computed and findings


@pytest.mark.parametrize("kind", sorted(DESIGNS))
def test_every_template_renders_with_computed_numbers_and_findings(
    renderer: Renderer, kind: str
) -> None:
    texts = renderer.render_all(
        DESIGNS[kind](), design_id="d", revision=1, findings=FINDINGS, computed=COMPUTED
    )
    assert list(texts) == list(ARTIFACTS)
    assert all(text.endswith("\n") and not text.endswith("\n\n") for text in texts.values())


def test_computed_numbers_appear_in_computed_columns_and_sections(renderer: Renderer) -> None:
    texts = renderer.render_all(full_design(), design_id="d", revision=1, computed=COMPUTED)
    assert "| 0.75 | 1,200 (whole set) | 0.02 | 0.41 | Wilson half-width: 0.0245; n_min: 412 |" in (
        texts["evaluation_plan"].replace("≥ ", "")
    )
    assert "Wilson half-width: 0.0438 |" in texts["evaluation_plan"]
    assert "n required: 6,105; min duration (h): 33.9 |" in texts["rollout_plan"]
    assert "can fire: yes; samples in window: 3 |" in texts["rollout_plan"]
    assert "PSI noise floor: 0.0123 |" in texts["monitoring_plan"]
    assert "  - monthly estimate (USD): 4,212" in texts["monitoring_plan"]
    assert "  - monthly estimate (USD): 4,212" in texts["one_pager"]
    assert "  - end-to-end p95 (ms): 2,085" in texts["one_pager"]
    assert "  - n per arm: 3,011" in texts["iteration_plan"]
    assert "  - family-wise false-rollback rate: 0.105" in texts["rollout_plan"]
    assert "of budget in 1 h (burn rate 13.4x) → page" in texts["monitoring_plan"]
    server_alpha = "| `alpha` | Significance level | 0.01 | server setting; tool default 0.05 |"
    assert server_alpha in texts["rollout_plan"]
    assert (
        "| `max_false_rollback` | Family-wise rollback rate | 0.15 | "
        "**overridden for this design**; tool default 0.1 |"
    ) in texts["rollout_plan"]
    assert "  - cost per extra success (USD): 0.0123" in texts["baseline_spec"]
    for artifact in ("evaluation_plan", "rollout_plan", "monitoring_plan", "iteration_plan"):
        assert "## Rule settings used" in texts[artifact]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (6105, "6,105"),
        (6105.0, "6,105"),
        (6.105, "6.11"),
        (2084.6, "2,085"),
        (0.0245, "0.0245"),
        (0.000378, "0.000378"),
        (0.000037, "0.000037"),
        (0.989, "0.989"),
        (0.9995, "0.9995"),
        (0.99999945, "0.99999945"),
        (0.999996750002, "0.9999968"),
        (True, "yes"),
        ("not reachable", "not reachable"),
    ],
)
def test_computed_numbers_are_rounded_for_reading_without_losing_the_nines(
    value: object, expected: str
) -> None:
    view = render.ComputedView({"architecture": {"x": value}})
    assert view.value("architecture", "x") == expected
    assert view.lines("architecture") == [("x", expected)]


def test_without_computed_numbers_no_computed_column_or_section_appears(
    renderer: Renderer,
) -> None:
    for text in renderer.render_all(full_design(), design_id="d", revision=1).values():
        assert "Computed" not in text
        assert "Rule settings used" not in text


@pytest.mark.parametrize(
    ("computed", "message"),
    [
        ({"metrics": {"x": 0.5}}, "computed['metrics'] must map item ids"),
        ({"cost": 12.0}, "computed['cost'] must be a mapping"),
        ({"latency": {}}, "Unknown computed group(s) latency"),
    ],
)
def test_computed_numbers_of_the_wrong_shape_are_rejected(
    renderer: Renderer, computed: dict[str, Any], message: str
) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        _render(renderer, "evaluation_plan", full_design(), computed=computed)


@pytest.mark.parametrize(
    ("artifact", "rules"),
    [
        ("one_pager", ["EVAL-001", "XS-004", "IO-006"]),
        ("baseline_spec", []),
        ("evaluation_plan", ["EVAL-001"]),
        ("rollout_plan", ["ROLL-006"]),
        ("monitoring_plan", []),
        ("iteration_plan", []),
        ("feature_card", ["EVAL-001", "CARD-003"]),
    ],
)
def test_each_artifact_lists_its_own_findings_and_the_summaries_list_every_error(
    renderer: Renderer, artifact: str, rules: list[str]
) -> None:
    text = _render(renderer, artifact, full_design(), findings=FINDINGS)
    assert _headings(text)[-1] == "Findings"
    section = text.split("\n## Findings\n", 1)[1]
    assert re.findall(r"`([A-Z]+-\d+)`", section) == rules
    if not rules:
        assert "No findings for this artifact." in section


def test_the_validators_findings_render_with_their_paths_and_waivers(renderer: Renderer) -> None:
    finding = ValidatorFinding(
        rule_id="ROLL-002",
        severity="warning",
        step="rollout",
        kind="violation",
        paths=["rollout.shadow.duration_h", "context.traffic.req_per_hour"],
        message="Shadow sees 600 requests; 6,105 are needed.",
        fix="Lengthen the shadow stage.",
        waived="Full stream for 72 h",
    )
    text = _render(renderer, "rollout_plan", full_design(), findings=[finding])
    assert (
        "| warning (waived) | `ROLL-002` | `rollout.shadow.duration_h`, "
        "`context.traffic.req_per_hour` | Shadow sees 600 requests; 6,105 are needed. | "
        "Lengthen the shadow stage. |"
    ) in text


def test_findings_may_be_mappings_and_errors_come_first(renderer: Renderer) -> None:
    findings = [
        {"rule_id": "EVAL-009", "severity": "warning", "step": "evaluation", "message": "w"},
        {"rule_id": "EVAL-010", "severity": "error", "step": "evaluation", "message": "e"},
    ]
    text = _render(renderer, "evaluation_plan", full_design(), findings=findings)
    assert text.index("EVAL-010") < text.index("EVAL-009")


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_no_findings_section_appears_when_no_findings_are_given(
    renderer: Renderer, artifact: str
) -> None:
    assert "## Findings" not in _render(renderer, artifact, full_design())


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_waived_warnings_appear_in_every_artifact_only_when_there_are_waivers(
    renderer: Renderer, artifact: str
) -> None:
    assert "## Waived warnings" in _render(renderer, artifact, full_design())
    assert "## Waived warnings" not in _render(renderer, artifact, minimal_design())


# --------------------------------------------------------------------------- templates, overrides


def test_list_templates_lists_the_seven_artifacts_in_procedure_order(renderer: Renderer) -> None:
    infos = renderer.list_templates()
    assert [info.name for info in infos] == list(ARTIFACTS)
    assert {info.source for info in infos} == {"builtin"}
    assert infos[0].filename == "one_pager.md.j2"
    assert infos[0].title == "ML/LLM System One-Pager"


@pytest.mark.parametrize("name", ["one_pager", "one_pager.md.j2"])
def test_template_source_returns_the_raw_template_text(renderer: Renderer, name: str) -> None:
    source = renderer.template_source(name)
    expected = (builtin_templates_dir() / "one_pager.md.j2").read_text(encoding="utf-8")
    assert source == expected
    assert "{{ m.header() }}" in source


def test_an_unknown_template_name_is_rejected_with_the_valid_names(renderer: Renderer) -> None:
    with pytest.raises(TemplateError, match="one_pager, baseline_spec, evaluation_plan"):
        renderer.template_source("roadmap")
    with pytest.raises(TemplateError, match=re.escape("Unknown template 'roadmap.md.j2'")):
        _render(renderer, "roadmap.md.j2", full_design())


def test_an_override_replaces_its_template_and_the_others_fall_back(
    renderer: Renderer, tmp_path: Path
) -> None:
    (tmp_path / "one_pager.md.j2").write_text(
        '{% import "_macros.j2" as m with context %}{{ m.header() }}\n'
        "Custom: {{ design.baseline.id | md }}\n",
        encoding="utf-8",
    )
    custom = Renderer(tmp_path)
    text = _render(custom, "one_pager", full_design())
    assert text.startswith(f"# ML/LLM System One-Pager — {FEATURE}\n")
    assert text.endswith("Custom: faq_search\n")
    for artifact in ARTIFACTS[1:]:
        assert _render(custom, artifact, full_design()) == _render(
            renderer, artifact, full_design()
        )
    sources = {info.name: info.source for info in custom.list_templates()}
    assert sources == {name: "override" if name == "one_pager" else "builtin" for name in ARTIFACTS}
    assert custom.template_source("one_pager").startswith('{% import "_macros.j2"')


def test_an_override_with_a_syntax_error_names_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "rollout_plan.md.j2").write_text("# Rollout\n\n{% if %}\n", encoding="utf-8")
    custom = Renderer(tmp_path)
    with pytest.raises(TemplateError) as caught:
        _render(custom, "rollout_plan", full_design())
    message = str(caught.value)
    assert "rollout_plan.md.j2, line 3: syntax error" in message
    assert "remove rollout_plan.md.j2" in message
    assert "built-in template" in message
    assert _render(custom, "one_pager", full_design()).startswith("# ML/LLM System One-Pager")


def test_an_override_with_an_undefined_variable_names_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "feature_card.md.j2").write_text(
        "# Card\n{{ design.card.intended_use | md }}\n{{ design.card.no_such_field }}\n",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError) as caught:
        _render(Renderer(tmp_path), "feature_card", full_design())
    message = str(caught.value)
    assert "feature_card.md.j2, line 3" in message
    assert "no_such_field" in message
    assert "to use the built-in template" in message


def test_an_override_directory_that_does_not_exist_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        Renderer(tmp_path / "missing")


def test_the_built_in_templates_are_exactly_the_artifacts_and_their_partial() -> None:
    names = sorted(path.name for path in builtin_templates_dir().glob("*.j2"))
    assert names == sorted([f"{a}.md.j2" for a in ARTIFACTS] + ["_macros.j2"])


def _model_fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[tuple[str, str]]:
    """(model name, field name) of every field reachable from `model`."""
    seen.add(model)
    fields: set[tuple[str, str]] = set()
    for name, info in model.model_fields.items():
        fields.add((model.__name__, name))
        stack: list[Any] = [info.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if tp not in seen:
                    fields |= _model_fields(tp, seen)
            else:
                stack.extend(get_args(tp))
    return fields


def test_every_field_of_the_design_is_read_by_some_template() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in builtin_templates_dir().glob("*.j2"))
    unread = sorted(
        f"{model}.{name}"
        for model, name in _model_fields(Design, set())
        if name != "schema_version" and not re.search(rf"\.{name}\b|[\"']{name}[\"']", sources)
    )
    assert not unread, f"fields no template shows: {unread}"


def test_the_render_module_does_not_import_mcp() -> None:
    tree = ast.parse(Path(render.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "mcp" not in imported
