"""Markdown artifacts from a design: one Jinja2 environment, one template per artifact."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import BaseModel

from ml_systemization.errors import TemplateError
from ml_systemization.locations import check_templates_dir
from ml_systemization.model import Design
from ml_systemization.settings import RuleSettings
from ml_systemization.steps import ARTIFACTS, STEP_BY_KEY, STEPS

TEMPLATE_SUFFIX = ".md.j2"

ARTIFACT_TITLES: dict[str, str] = {
    "one_pager": "ML/LLM System One-Pager",
    "baseline_spec": "Baseline Spec",
    "evaluation_plan": "Evaluation Plan",
    "rollout_plan": "Deployment/Rollout Plan",
    "monitoring_plan": "Monitoring & Drift Plan",
    "iteration_plan": "Iteration Loop Plan",
    "feature_card": "Feature/Model Card",
}

# Templates the artifacts import, by name. Overridable like the artifacts, but not artifacts:
# their suffix keeps them out of `*.md.j2`.
PARTIALS: dict[str, str] = {"_macros": "_macros.j2"}

# Sections whose findings an artifact lists besides its steps' (and every error, for the
# one-pager and the card): the one-pager is where context and cross-step findings land.
_EXTRA_SECTIONS: dict[str, frozenset[str]] = {"one_pager": frozenset({"context", "cross_step"})}
_ALL_ERRORS = frozenset({"one_pager", "feature_card"})
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

# Computed groups keyed by an item id, and flat groups; see Renderer.render.
KEYED_COMPUTED_GROUPS: tuple[str, ...] = (
    "metrics",
    "slices",
    "stages",
    "triggers",
    "signals",
    "slos",
)
FLAT_COMPUTED_GROUPS: tuple[str, ...] = (
    "baseline",
    "architecture",
    "cost",
    "rollout",
    "ab",
    "settings",
    "setting_defaults",
)

COMPUTED_LABELS: dict[str, str] = {
    "wilson_half_width": "Wilson half-width",
    "wilson_lower": "Wilson lower",
    "wilson_upper": "Wilson upper",
    "at_rate": "at rate",
    "n_min": "n_min",
    "n_distinguishable": "n to exclude the baseline",
    "mde": "MDE",
    "mde_paired": "MDE (paired)",
    "n_mde": "n to detect the tolerance",
    "corrected_rate": "Rogan-Gladen corrected",
    "n_required": "n required",
    "min_duration_h": "min duration (h)",
    "expected_samples": "samples expected",
    "data_points": "data points",
    "budget_share": "error-budget share",
    "samples_in_window": "samples in window",
    "feasible": "can fire",
    "stage": "tightest stage",
    "min_stage_h": "min stage (h)",
    "psi_noise_floor": "PSI noise floor",
    "min_window_samples": "min window samples",
    "labels_per_day": "labels/day",
    "labels_needed": "labels needed",
    "days_to_detect": "days to detect",
    "requests_per_month": "requests per month",
    "cost_per_call_usd": "cost per LLM call (USD)",
    "cost_per_request_usd": "cost per request (USD)",
    "month_usd": "monthly estimate (USD)",
    "judge_month_usd": "of which online judging (USD/month)",
    "cost_per_success_usd": "cost per success (USD)",
    "budget_needed_usd": "budget needed with headroom (USD)",
    "ai_cost_per_request_usd": "ML/LLM cost per request (USD)",
    "icps_usd": "cost per extra success (USD)",
    "llm_p95_ms": "LLM p95 (ms)",
    "e2e_p95_ms": "end-to-end p95 (ms)",
    "worst_case_deadline_ms": "worst-case deadline path (ms)",
    "availability": "serial availability",
    "peak_rpm": "peak RPM",
    "rpm_limit": "usable RPM quota",
    "peak_tpm": "peak TPM",
    "tpm_limit": "usable TPM quota",
    "n_per_arm": "n per arm",
    "days_needed": "days of traffic needed",
    "duration_days": "duration (days)",
    "mde_within_cadence": "MDE reachable within cadence",
    "fwer": "family-wise false-rollback rate",
    # Rule settings read as the schema describes them: one wording wherever they appear.
    **{
        name: field.description
        for name, field in RuleSettings.model_fields.items()
        if field.description
    },
}

MARKER_PREFIX = "_⚠ not set: "


# --------------------------------------------------------------------------- locations


def builtin_templates_dir() -> Path:
    """The directory of the built-in templates.

    Installed wheels carry them as package data (`ml_systemization/templates`); a source
    checkout or editable install has them in the repository's top-level `templates/`.

    Raises:
        TemplateError: neither location exists.
    """
    packaged = importlib.resources.files("ml_systemization") / "templates"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise TemplateError(
        f"Built-in templates not found (looked in {packaged} and {checkout}); "
        "reinstall ml-systemization-mcp."
    )


# --------------------------------------------------------------------------- escaping

_INLINE_SPECIAL = re.compile(r"[\\|$]|<(?=[A-Za-z/!?])")
_BLOCK_START = re.compile(r"#{1,6}(?:\s|$)|[-+*](?:\s|$)|>|`{3}|~{3}|([-*_])\s*(?:\1\s*){2,}$")
_ORDERED_START = re.compile(r"(\d{1,9})([.)](?:\s|$))")
_PIPE_WITH_BACKSLASHES = re.compile(r"(\\*)\|")


def _lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _escape_line_start(line: str) -> str:
    ordered = _ORDERED_START.match(line)
    if ordered:
        return ordered.group(1) + "\\" + line[ordered.end(1) :]
    if _BLOCK_START.match(line):
        return "\\" + line
    return line


def md(value: object) -> str:
    """Escape user text for inline markdown, so it renders literally on one line.

    Backslashes, `|` and `$` (math on GitHub) are backslash-escaped, as is `<` where it
    would open an HTML tag; a line that would start a heading, list, quote, fence or rule
    is escaped too; lines are stripped and joined with `<br>`. Emphasis, code spans and
    links are left as the author wrote them. Non-strings are formatted by `format_value`.
    """
    if not isinstance(value, str):
        return format_value(value)
    escaped = (_INLINE_SPECIAL.sub(lambda m: "\\" + m.group(0), line) for line in _lines(value))
    return "<br>".join(_escape_line_start(line) for line in escaped)


def cell(value: object) -> str:
    """Escape raw text for a table cell: `|` -> `\\|`, newlines -> `<br>`, stripped.

    Output of `md`/`val` is already cell-safe; do not pass it through `cell` again.
    """
    text = value if isinstance(value, str) else format_value(value)
    escaped = _PIPE_WITH_BACKSLASHES.sub(lambda m: m.group(1) * 2 + "\\|", text)
    return "<br>".join(_lines(escaped))


def code(value: object) -> str:
    """An inline code span that holds `value` literally (ids, names, versions)."""
    text = " ".join(_lines(str(value))).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fence(value: object, lang: str = "", indent: int = 0) -> str:
    """A fenced code block holding `value` literally, every line indented by `indent`."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marks = "`" * max(3, longest + 1)
    pad = " " * indent
    body = "\n".join(pad + line if line.strip() else "" for line in text.split("\n"))
    return f"{pad}{marks}{lang}\n{body}\n{pad}{marks}"


# --------------------------------------------------------------------------- values


def _format_float(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    if x.is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    # 12 significant digits hide binary noise (0.1 + 0.2) and keep any value a person typed.
    text = f"{x:,.12g}"
    if "e" in text:  # a price such as 3e-05 reads as 0.00003
        text = format(Decimal(text), "f")
    return text


def format_value(value: object) -> str:
    """Format a value for markdown: yes/no, grouped numbers, ISO dates, escaped text.

    Raises:
        TypeError: for values that have no inline form (models, arbitrary objects).
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return md(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{md(str(k))}: {format_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        # Free-text items may hold commas themselves; a semicolon keeps them apart.
        sep = "; " if any(isinstance(v, str) for v in value) else ", "
        return sep.join(format_value(v) for v in value)
    raise TypeError(f"cannot render a {type(value).__name__} inline; render its fields")


def _format_computed(value: object) -> str:
    """Computed numbers are rounded for reading: 3 significant figures, whole from 100 up.

    Two exceptions keep the figures honest: a rate just below 1 keeps two significant figures
    of its distance to 1 (availability 0.99999945, not "1"), and small numbers are written
    out in full (0.000037, not 3.7e-05).
    """
    if isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value):
        if value.is_integer() or abs(value) >= 100:
            return f"{round(value):,}"
        if 0.99 <= value < 1:
            decimals = 1 - math.floor(math.log10(1 - value))
        elif abs(value) < 1e-3:
            decimals = 2 - math.floor(math.log10(abs(value)))
        else:
            return f"{value:.3g}"
        return f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return ", ".join(_format_computed(v) for v in value)
    return format_value(value)


def _is_unset(value: object) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict) and not value)


def tool_for(path: str) -> str:
    """The tool that fills the design field at `path` (first segment = section)."""
    section = re.split(r"[.\[]", path, maxsplit=1)[0]
    if section == "context":
        return "update_context"
    step = STEP_BY_KEY.get(section)
    if step is None:
        raise ValueError(f"marker path {path!r} does not start with a design section")
    return step.tool


def missing(path: str) -> str:
    """The visible marker for an unset field: names the path and the tool that fills it."""
    return f"{MARKER_PREFIX}`{path}` — fill with `{tool_for(path)}`_"


def val(value: object, path: str, *, unit: str | None = None, as_code: bool = False) -> str:
    """The formatted, escaped value, or the not-set marker for None / empty text, list, map.

    Args:
        value: The field's value.
        path: Its design path, e.g. `evaluation.metrics[groundedness].threshold`.
        unit: Appended after a value (`800 ms`), never after the marker.
        as_code: Render the value (each item of a list) as inline code.
    """
    tool_for(path)  # a wrong path fails even when the value is set
    if _is_unset(value):
        return missing(path)
    if as_code:
        items = value if isinstance(value, list | tuple) else [value]
        text = ", ".join(code(item) for item in items)
    else:
        text = format_value(value)
    return f"{text} {unit}" if unit else text


def opt(value: object, default: str = "—", *, unit: str | None = None) -> str:
    """Like `val` for optional or not-applicable fields: `default` instead of a marker."""
    if _is_unset(value):
        return default
    text = format_value(value)
    return f"{text} {unit}" if unit else text


def filled(value: object) -> bool:
    """Whether a section, list or value holds anything (a model differs from its default)."""
    if isinstance(value, BaseModel):
        return value != type(value)()
    return not _is_unset(value)


def by_id(items: Sequence[Any], item_id: object) -> Any:
    """The item of `items` whose `id` is `item_id`, or None."""
    return next((item for item in items if getattr(item, "id", None) == item_id), None)


# --------------------------------------------------------------------------- context objects


@dataclass(frozen=True)
class TemplateInfo:
    """One artifact template and where it is loaded from."""

    name: str
    title: str
    source: Literal["builtin", "override"]
    filename: str


@dataclass(frozen=True)
class FindingView:
    """A finding as templates see it, whatever object the validator produced."""

    rule_id: str
    severity: str
    step: str | None
    paths: tuple[str, ...]
    message: str
    fix: str | None
    waived: str | None


def _field(finding: object, name: str) -> Any:
    if isinstance(finding, Mapping):
        return finding.get(name)
    return getattr(finding, name, None)


def _finding_view(finding: object) -> FindingView:
    def text(name: str) -> str | None:
        raw = _field(finding, name)
        return None if raw is None else str(getattr(raw, "value", raw))

    paths = _field(finding, "paths")
    if isinstance(paths, str):
        paths = [paths]
    single = text("path")
    return FindingView(
        rule_id=text("rule_id") or "?",
        severity=text("severity") or "info",
        step=text("step"),
        paths=tuple(str(p) for p in paths) if paths else ((single,) if single else ()),
        message=text("message") or "",
        fix=text("fix"),
        waived=text("waived"),
    )


def findings_for(artifact: str, findings: Sequence[object]) -> list[FindingView]:
    """The findings an artifact lists: its steps' findings, plus every error for the
    one-pager and the feature card; errors first, then by rule id."""
    sections: set[str] = {step.key for step in STEPS if step.artifact == artifact}
    sections |= _EXTRA_SECTIONS.get(artifact, frozenset())
    views = [_finding_view(f) for f in findings]
    chosen = [
        f
        for f in views
        if f.step in sections or (artifact in _ALL_ERRORS and f.severity == "error")
    ]
    return sorted(chosen, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 3), f.rule_id, f.paths))


class ComputedView:
    """Read access for templates to the numbers the validation engine computed."""

    def __init__(self, computed: Mapping[str, Any] | None) -> None:
        self.raw: Mapping[str, Any] = computed or {}
        unknown = sorted(set(self.raw) - {*KEYED_COMPUTED_GROUPS, *FLAT_COMPUTED_GROUPS})
        if unknown:
            # A misspelt group would silently vanish from every artifact.
            raise TemplateError(
                f"Unknown computed group(s) {', '.join(unknown)}; known: "
                f"{', '.join(KEYED_COMPUTED_GROUPS + FLAT_COMPUTED_GROUPS)}."
            )
        for group in KEYED_COMPUTED_GROUPS:
            entries = self.raw.get(group)
            if entries is None:
                continue
            if not isinstance(entries, Mapping) or not all(
                isinstance(v, Mapping) for v in entries.values()
            ):
                raise TemplateError(
                    f"computed[{group!r}] must map item ids to mappings of numbers."
                )
        for group in FLAT_COMPUTED_GROUPS:
            if group in self.raw and not isinstance(self.raw[group], Mapping):
                raise TemplateError(f"computed[{group!r}] must be a mapping of name to value.")

    def __bool__(self) -> bool:
        return bool(self.raw)

    def has(self, group: str) -> bool:
        """Whether the engine sent this group (then tables show a Computed column)."""
        return bool(self.raw.get(group))

    def lines(self, group: str, item_id: str | None = None) -> list[tuple[str, str]]:
        """(label, formatted value) pairs of a flat group, or of one item of a keyed group."""
        entries: Mapping[str, Any] = self.raw.get(group) or {}
        if item_id is not None:
            entries = entries.get(item_id) or {}
        return [(self.label(key), _format_computed(v)) for key, v in entries.items()]

    def cell(self, group: str, item_id: str) -> str:
        """One table cell: `label: value; label: value`, or `—` when nothing was computed."""
        pairs = self.lines(group, item_id)
        return "; ".join(f"{label}: {value}" for label, value in pairs) or "—"

    def value(self, group: str, key: str, item_id: str | None = None) -> str | None:
        """One formatted value of a flat group (or of one item of a keyed group), or None
        when it was not computed."""
        entries: Mapping[str, Any] = self.raw.get(group) or {}
        if item_id is not None:
            entries = entries.get(item_id) or {}
        raw = entries.get(key)
        return None if raw is None else _format_computed(raw)

    @staticmethod
    def label(key: str) -> str:
        """How a computed key or rule setting is labelled (COMPUTED_LABELS, else `_` as spaces)."""
        return COMPUTED_LABELS.get(key, key.replace("_", " "))


# --------------------------------------------------------------------------- renderer


def _artifact_name(name: str, *, allow_partials: bool = False) -> str:
    base = name.removesuffix(TEMPLATE_SUFFIX)
    if base in ARTIFACTS:
        return base
    partial = next((p for p, f in PARTIALS.items() if name in (p, f)), None)
    if allow_partials and partial is not None:
        return partial
    raise TemplateError(
        f"Unknown template {name!r}. Valid names: {', '.join(ARTIFACTS)}"
        + (f" (and the partial {', '.join(PARTIALS)})." if allow_partials else ".")
    )


def _tidy(text: str) -> str:
    """Drop trailing spaces and runs of blank lines outside code fences; end with one newline."""
    out: list[str] = []
    fence_marks: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if fence_marks is None:
            opening = re.match(r"(`{3,}|~{3,})", stripped)
            if opening:
                fence_marks = opening.group(1)
            line = line.rstrip()
            if not line and out and not out[-1]:
                continue
        elif stripped.startswith(fence_marks) and stripped.strip("`~") == "":
            fence_marks = None
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


class Renderer:
    """Renders the seven artifacts; an override directory replaces templates by file name."""

    def __init__(self, override_dir: Path | None = None) -> None:
        self._builtin_dir = builtin_templates_dir()
        self._override_dir = override_dir.resolve() if override_dir is not None else None
        override_dir = self._override_dir
        loaders: list[jinja2.BaseLoader] = []
        if override_dir is not None:
            check_templates_dir(override_dir)
            loaders.append(jinja2.FileSystemLoader(override_dir, encoding="utf-8"))
        loaders.append(jinja2.FileSystemLoader(self._builtin_dir, encoding="utf-8"))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            # Markdown, not HTML: autoescape would mangle it; user text goes through md/val.
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(md=md, cell=cell, code=code, fence=fence)
        self._env.globals.update(
            val=val, opt=opt, missing=missing, code=code, filled=filled, by_id=by_id
        )

    def _path(self, base: str) -> tuple[Path, Literal["builtin", "override"]]:
        filename = PARTIALS.get(base, base + TEMPLATE_SUFFIX)
        if self._override_dir is not None and (self._override_dir / filename).is_file():
            return self._override_dir / filename, "override"
        return self._builtin_dir / filename, "builtin"

    def list_templates(self) -> list[TemplateInfo]:
        """The seven artifact templates, in procedure order, with where each comes from."""
        return [
            TemplateInfo(
                name=name,
                title=ARTIFACT_TITLES[name],
                source=self._path(name)[1],
                filename=name + TEMPLATE_SUFFIX,
            )
            for name in ARTIFACTS
        ]

    def template_source(self, name: str) -> str:
        """The raw text of a template (the override if there is one).

        Raises:
            TemplateError: unknown name; the message lists the valid ones.
        """
        path, _ = self._path(_artifact_name(name, allow_partials=True))
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"Cannot read template {path}: {exc.strerror}.") from exc

    def render(
        self,
        name: str,
        design: Design,
        *,
        design_id: str,
        revision: int,
        findings: Sequence[object] = (),
        computed: Mapping[str, Any] | None = None,
    ) -> str:
        """Render one artifact as markdown.

        Args:
            name: Artifact name, with or without `.md.j2`.
            design: The design to render.
            design_id: Shown in the header line.
            revision: Shown in the header line.
            findings: Objects (or mappings) with `rule_id`, `severity`, `message`, `fix`,
                `step` (a SectionKey value or `cross_step`), and optionally `paths` (or one
                `path`) and `waived` (the waiver reason). When any are given, the artifact
                ends with a Findings section: those of its own steps (the one-pager also takes
                `context` and `cross_step`), and for the one-pager and the feature card every
                error as well; errors first.
            computed: Numbers from the validation engine; every group is optional and so is
                every key. Keyed groups map an item id to `{key: value}` and add a Computed
                column to that item's table:

                - `metrics[<metric id>]` (evaluation plan, thresholds table), e.g.
                  `wilson_half_width`, `wilson_lower`, `n_min`, `mde`, `corrected_rate`;
                - `slices[<slice id>]` (evaluation plan, slices), e.g. `wilson_half_width`,
                  `n_min`;
                - `stages[<stage id>]` (rollout plan, canary stages), e.g. `n_required`,
                  `min_duration_h`, `expected_samples`, `data_points`, `budget_share`;
                - `triggers[<rollback trigger id>]` (rollout plan), e.g. `feasible`,
                  `samples_in_window`, `min_stage_h`;
                - `signals[<signal id>]` (monitoring plan), e.g. `psi_noise_floor`,
                  `min_window_samples`, `labels_per_day`, `days_to_detect`;
                - `slos[<SLO id>]` (monitoring plan, SLOs), burn-alert id to its burn rate.

                Flat groups map `key` to value and render as a "Computed" list:

                - `baseline` (baseline spec), e.g. `icps_usd`;
                - `architecture` (one-pager, Architecture), e.g. `llm_p95_ms`, `e2e_p95_ms`,
                  `worst_case_deadline_ms`, `availability`, `peak_rpm`, `peak_tpm`;
                - `cost` (monitoring plan; one-pager Monitoring), e.g. `cost_per_call_usd`,
                  `cost_per_request_usd`, `month_usd`, `cost_per_success_usd`,
                  `budget_needed_usd`;
                - `rollout` (rollout plan), e.g. `fwer`;
                - `ab` (iteration plan), e.g. `n_per_arm`, `duration_days`,
                  `mde_within_cadence`;
                - `settings` (evaluation, rollout, monitoring and iteration plans: "Rule
                  settings used", each plan listing the settings its rules read), rule
                  setting name to the value used, e.g. `alpha`, `power`, `golden_tolerance`;
                - `setting_defaults`: the tool default of each setting whose value differs
                  from it (set by the server or by `design.rule_settings`).

                Keys are shown with the labels in COMPUTED_LABELS (unknown keys with `_` as
                spaces); floats are rounded to 3 significant figures (whole numbers from
                100 up; see `_format_computed` for rates near 1 and tiny numbers), booleans
                read yes/no, strings (an id, "not reachable") as text. An unknown group or a
                group of the wrong shape raises TemplateError, so a misspelt group cannot
                vanish silently.

        Raises:
            TemplateError: unknown name, malformed `computed`, or a template that fails to
                compile or render (the message names the file and line).
        """
        base = _artifact_name(name)
        template = self._template(base)
        if self._override_dir is not None:
            # The design may be the store's cached object, shared with later calls, and an
            # operator's template can call list methods (`stages.reverse()`): give it a copy.
            design = design.model_copy(deep=True)
        context: dict[str, Any] = {
            "artifact": base,
            "title": ARTIFACT_TITLES[base],
            "design": design,
            "design_id": design_id,
            "revision": revision,
            "findings": findings_for(base, findings),
            "findings_given": bool(findings),
            "computed": ComputedView(computed),
        }
        try:
            text = template.render(context)
        except (jinja2.TemplateError, TypeError, ValueError) as exc:
            raise self._error(exc) from exc
        return _tidy(text)

    def render_all(
        self,
        design: Design,
        *,
        design_id: str,
        revision: int,
        findings: Sequence[object] = (),
        computed: Mapping[str, Any] | None = None,
    ) -> dict[str, str]:
        """Render every artifact, in procedure order; see `render`."""
        return {
            name: self.render(
                name,
                design,
                design_id=design_id,
                revision=revision,
                findings=findings,
                computed=computed,
            )
            for name in ARTIFACTS
        }

    def _template(self, base: str) -> jinja2.Template:
        try:
            return self._env.get_template(base + TEMPLATE_SUFFIX)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(
                f"Template {exc.name} is missing from {self._builtin_dir}; reinstall "
                "ml-systemization-mcp."
            ) from exc
        except jinja2.TemplateSyntaxError as exc:
            raise self._error(exc) from exc

    def _locate(self, exc: BaseException) -> tuple[Path | None, int | None]:
        """The template file and line an error comes from (Jinja rewrites tracebacks so
        template frames carry the template's file name and line)."""
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
            return Path(exc.filename), exc.lineno
        roots = [self._builtin_dir] + ([self._override_dir] if self._override_dir else [])
        found: tuple[Path | None, int | None] = (None, None)
        tb = exc.__traceback__
        while tb is not None:
            filename = Path(tb.tb_frame.f_code.co_filename)
            if filename.suffix == ".j2" and any(filename.is_relative_to(root) for root in roots):
                found = (filename, tb.tb_lineno)
            tb = tb.tb_next
        return found

    def _error(self, exc: BaseException) -> TemplateError:
        path, line = self._locate(exc)
        detail = (exc.message if isinstance(exc, jinja2.TemplateError) else None) or str(exc)
        kind = "syntax error" if isinstance(exc, jinja2.TemplateSyntaxError) else "error"
        where = f"{path}, line {line}" if path is not None else "a template"
        message = f"Template {where}: {kind}: {detail}."
        if (
            path is not None
            and self._override_dir is not None
            and path.is_relative_to(self._override_dir)
        ):
            message += (
                f" Fix the override, or remove {path.name} from {self._override_dir} "
                "to use the built-in template."
            )
        else:
            message += " This is a bug in a built-in template; please report it."
        return TemplateError(message)
