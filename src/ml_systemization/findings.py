"""The finding type and the rule registry every validation rule plugs into.

A rule is a pure function of the design and the rule settings. It yields `Violation`s (the
design is wrong, with the computed numbers in the message) or one `Missing` (the inputs it
needs are absent, so it cannot be evaluated yet). The engine turns both into `Finding`s.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar, cast

from pydantic import BaseModel, Field, WithJsonSchema

from ml_systemization.model import MODEL_CONFIG, Design
from ml_systemization.settings import RuleSettings

Severity = Literal["error", "warning", "info"]
FindingKind = Literal["violation", "not_evaluable"]
Area = Literal[
    "context",
    "baseline",
    "io_contract",
    "evaluation",
    "architecture",
    "rollout",
    "monitoring",
    "iteration",
    "card",
    "cross_step",
]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


class Finding(BaseModel):
    """One defect, or one rule that cannot be evaluated yet."""

    model_config = MODEL_CONFIG

    rule_id: str = Field(description="Rule id, e.g. EVAL-002")
    severity: Severity = Field(description="error blocks ready; warning can be waived")
    # Published as a plain string: the ten section names would be repeated in the output
    # schema of every step tool, and a reader of the result needs no list of them.
    step: Annotated[Area, WithJsonSchema({"type": "string"})] = Field(
        description="Section the finding belongs to"
    )
    kind: FindingKind = Field("violation", description="violation, or not_evaluable")
    paths: list[str] = Field(default_factory=list, description="Fields involved")
    message: str = Field(description="What is wrong, with the numbers")
    fix: str = Field(description="How to fix it")
    waived: str | None = Field(None, description="Waiver reason, when waived")


@dataclass(frozen=True)
class Violation:
    """What a rule yields when the design breaks it."""

    paths: Sequence[str]
    message: str
    fix: str


@dataclass(frozen=True)
class Missing:
    """What a rule yields when its inputs are absent: the fields it needs."""

    needs: Sequence[str]


Check = Callable[[Design, RuleSettings], Iterable[Violation | Missing]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    area: Area
    reads: tuple[str, ...]
    source: str
    check: Check


REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str,
    severity: Severity,
    title: str,
    *,
    area: Area,
    reads: Sequence[str] = (),
    source: str = "",
) -> Callable[[Check], Check]:
    """Register a rule. `reads` lists the other sections its inputs come from, so that a
    step tool also reports cross-step findings its change made evaluable or broke."""

    def register(check: Check) -> Check:
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} registered twice")
        REGISTRY[rule_id] = Rule(
            rule_id, severity, title, area, tuple(dict.fromkeys((area, *reads))), source, check
        )
        return check

    return register


T = TypeVar("T")

# Values derived from the design, shared by the rules of one `evaluate` call. Each entry keeps
# the design it was computed from, so the object (and its id) lives as long as the entry.
_DERIVED: ContextVar[dict[tuple[object, int], tuple[Design, object]] | None] = ContextVar(
    "ml_systemization_derived", default=None
)


def per_design(derive: Callable[[Design], T]) -> Callable[[Design], T]:
    """Memoize `derive(design)` for the rules of one `evaluate` call.

    Rules are pure and never change the design, so inside one call a derived value (normalized
    signal ids, whether an LLM is called) is computed once however many rules ask. Outside
    `evaluate` (a rule run on its own) it is computed on every call. Callers must treat the
    value as read-only.
    """

    @functools.wraps(derive)
    def derived(design: Design) -> T:
        memo = _DERIVED.get()
        if memo is None:
            return derive(design)
        key = (derive, id(design))
        hit = memo.get(key)
        if hit is not None and hit[0] is design:
            return cast(T, hit[1])
        value = derive(design)
        memo[key] = (design, value)
        return value

    return derived


def registry() -> dict[str, Rule]:
    """Every rule of the catalog, loading the rule modules on first use."""
    from ml_systemization.rules import load_rules  # the rule modules import this module

    return load_rules()


def run_rule(rule_: Rule, design: Design, settings: RuleSettings) -> list[Finding]:
    """Run one rule. A rule never takes a call down: inputs so extreme that its arithmetic
    fails (overflow, a zero denominator, recursion) make it not evaluable, with that reason."""
    findings: list[Finding] = []
    waivers = design.waivers
    waiver = next((w for w in waivers if w.id == rule_.id), None) if waivers else None
    try:
        outcomes = list(rule_.check(design, settings))
    except (ArithmeticError, ValueError, RecursionError) as exc:
        return [
            Finding(
                rule_id=rule_.id,
                severity=rule_.severity,
                step=rule_.area,
                kind="not_evaluable",
                paths=[],
                message=f"Not evaluable: {rule_.title}: the inputs are out of range for its "
                f"arithmetic ({type(exc).__name__}: {exc}).",
                fix="Check the numbers this rule reads for unrealistic values.",
            )
        ]
    for outcome in outcomes:
        if isinstance(outcome, Missing):
            needs = list(outcome.needs)
            findings.append(
                Finding(
                    rule_id=rule_.id,
                    severity=rule_.severity,
                    step=rule_.area,
                    kind="not_evaluable",
                    paths=needs,
                    message=f"Not evaluable yet: {rule_.title}.",
                    fix="Fill the fields in paths.",
                )
            )
            continue
        findings.append(
            Finding(
                rule_id=rule_.id,
                severity=rule_.severity,
                step=rule_.area,
                paths=list(outcome.paths),
                message=outcome.message,
                fix=outcome.fix,
                waived=waiver.reason if waiver and rule_.severity != "error" else None,
            )
        )
    return findings


def evaluate(
    design: Design,
    settings: RuleSettings,
    *,
    touching: str | None = None,
) -> list[Finding]:
    """Run every registered rule (or those that read section `touching`), sorted by severity."""
    findings: list[Finding] = []
    token = _DERIVED.set({})
    try:
        for rule_ in registry().values():
            if touching is None or touching in rule_.reads:
                findings.extend(run_rule(rule_, design, settings))
    finally:
        _DERIVED.reset(token)
    findings.sort(key=lambda f: (f.kind != "violation", SEVERITY_ORDER[f.severity], f.rule_id))
    return findings


class FindingsMemo:
    """The findings of the latest evaluations, by design object, section and settings.

    A step call evaluates the rules that read the changed section on the design before the
    change and after it. The design before is the one the previous call on that design left
    (the store hands out the same object while it is current), so with the same section and
    settings its evaluation is the previous call's "after" one: rules are pure functions of
    the design and the settings, and designs are never modified, so it is reused instead of
    computed again. Keyed by identity: a design equal to an evaluated one but not the same
    object is evaluated anew. Keeps the designs it remembers alive (``size`` of them).
    Thread-safe; the returned lists are shared and must not be modified.
    """

    def __init__(self, size: int = 8) -> None:
        self._entries: deque[tuple[Design, str | None, RuleSettings, list[Finding]]] = deque(
            maxlen=size
        )
        self._lock = threading.Lock()
        self.hits = 0

    def evaluate(
        self, design: Design, settings: RuleSettings, *, touching: str | None = None
    ) -> list[Finding]:
        """``evaluate(design, settings, touching=touching)``, remembered."""
        with self._lock:
            for seen, section, used, found in self._entries:
                if seen is design and section == touching and used == settings:
                    self.hits += 1
                    return found
        found = evaluate(design, settings, touching=touching)
        with self._lock:
            self._entries.append((design, touching, settings, found))
        return found


@dataclass(frozen=True)
class StepFeedback:
    """What a step tool reports about the rules that read the changed section."""

    findings: list[Finding]
    resolved: list[str]
    not_evaluable: list[str]


def step_feedback(
    before: Design | None,
    after: Design,
    settings: RuleSettings,
    *,
    touching: str,
    settings_before: RuleSettings | None = None,
    memo: FindingsMemo | None = None,
) -> StepFeedback:
    """Violations after a change to section `touching`, the rules it fixed, and the rules that
    still lack inputs (cross-step rules included: a change can make one evaluable or break it).

    With a `memo`, evaluations it holds are reused and new ones remembered (same results)."""
    run = memo.evaluate if memo is not None else evaluate
    after_findings = run(after, settings, touching=touching)
    violations = [f for f in after_findings if f.kind == "violation"]
    resolved: list[str] = []
    if before is not None:
        earlier = run(before, settings_before or settings, touching=touching)
        still = {f.rule_id for f in violations}
        resolved = sorted({f.rule_id for f in earlier if f.kind == "violation"} - still)
    pending = sorted({f.rule_id for f in after_findings if f.kind == "not_evaluable"})
    return StepFeedback(violations, resolved, pending)
