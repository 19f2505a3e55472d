"""Rollout rules ROLL-001..009: flag and kill switch, shadow, canary sizing, trigger evaluability,
analysis points, control, error budget, false rollbacks and fail-safe triggers (§F7-F10)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ml_systemization.findings import Missing, Violation, per_design, rule
from ml_systemization.model import Design, RollbackTrigger, Stage
from ml_systemization.settings import RuleSettings
from ml_systemization.stats import (
    analysis_points,
    canary_budget_burn,
    error_budget,
    fwer,
    n_two_prop,
    sidak_alpha,
    trigger_samples,
)

Outcome = Iterator[Violation | Missing]

DAYS_PER_MONTH = 30.0

TRIGGER_FIELDS = (
    "signal_id",
    "comparator",
    "threshold",
    "window_min",
    "min_samples",
    "action",
    "on_no_data",
)


# --------------------------------------------------------------------------- formatting


def _count(x: float) -> str:
    return f"{round(x):,}"


def _sig(x: float) -> str:
    """3 significant figures, keeping trailing zeros (5.00); whole numbers from 100 up."""
    if not math.isfinite(x):
        return "∞"
    if abs(x) >= 100:
        return _count(x)
    return f"{x:#.3g}".rstrip(".")


def _pct(p: float) -> str:
    return f"{p * 100:.3g}%"


# --------------------------------------------------------------------------- computed numbers


def _stage_path(stage: Stage, field: str) -> str:
    return f"rollout.stages[{stage.id}].{field}"


def _trigger_path(trigger: RollbackTrigger, field: str) -> str:
    return f"rollout.rollback_triggers[{trigger.id}].{field}"


def control_ratio(design: Design, fraction: float) -> float | None:
    """k = control size / canary size for `rollout.control`, or None while it is unset.

    `concurrent_baseline` and `before_after` compare equal sizes (k=1); `rest_of_fleet`
    compares with everything else, k = (1 - f)/f.
    """
    control = design.rollout.control
    if control is None:
        return None
    if control == "rest_of_fleet":
        return (1 - fraction) / fraction if 0 < fraction < 1 else None
    return 1.0


def _signal_rate(design: Design, signal_id: str | None) -> float:
    """Share of requests that yield a sample of a monitoring signal (label rate first)."""
    if signal_id is None:
        return 1.0
    return _signal_rates(design).get(signal_id, 1.0)


@per_design
def _signal_rates(design: Design) -> dict[str, float]:
    """`_signal_rate` of every signal id (the first signal of an id wins); read-only."""
    rates: dict[str, float] = {}
    for signal in design.monitoring.signals:
        if signal.id in rates:
            continue
        if signal.label_rate is not None:
            rates[signal.id] = signal.label_rate
        else:
            rates[signal.id] = signal.sample_rate if signal.sample_rate is not None else 1.0
    return rates


def trigger_sample_rate(design: Design, trigger: RollbackTrigger) -> float:
    """r of F8: the trigger's `sample_rate`, else its signal's label or sample rate, else 1."""
    if trigger.sample_rate is not None:
        return trigger.sample_rate
    return _signal_rate(design, trigger.signal_id)


def _alpha(design: Design, settings: RuleSettings) -> float:
    alpha = design.rollout.alpha
    return alpha if alpha is not None else settings.alpha


def _canary_n(design: Design, stage: Stage, settings: RuleSettings) -> int | None:
    if stage.p0 is None or stage.p1 is None or stage.fraction is None or stage.p0 == stage.p1:
        return None
    if not 0 < _alpha(design, settings) < 1:
        return None
    k = control_ratio(design, stage.fraction)
    if k is None:
        return None
    return n_two_prop(stage.p0, stage.p1, alpha=_alpha(design, settings), power=settings.power, k=k)


def _error_budget(design: Design) -> float | None:
    """F10: (1 - SLO) x monthly requests, over a 30-day month."""
    slo, month = design.architecture.slo.availability, design.context.traffic.req_per_month
    if slo is None or month is None:
        return None
    return error_budget(slo, DAYS_PER_MONTH, month / DAYS_PER_MONTH)


def stage_requirements(design: Design, settings: RuleSettings) -> dict[str, dict[str, Any]]:
    """F7, F10 and ROLL-005's numbers per canary stage id; keys whose inputs are unset are left
    out.

    Returns:
        Per stage id, a dict with `n_required` (F7 canary samples to detect p0 → p1 at
        `rollout.alpha` one-sided and `settings.power`, k from `rollout.control`),
        `min_duration_h` (n_required / (req_per_hour · fraction · gate-signal label rate)),
        `expected_samples` (gate-signal samples the stage collects), `data_points`
        (statistical stages: duration / metric_step_s) and `budget_share` (F10: share of the
        monthly error budget the stage would burn at `rollout.defect_rate`, default 1).
    """
    traffic = design.context.traffic.req_per_hour
    budget = _error_budget(design)
    defect = design.rollout.defect_rate
    result: dict[str, dict[str, Any]] = {}
    for stage in design.rollout.stages:
        numbers: dict[str, Any] = {}
        rate = None
        if traffic is not None and stage.fraction is not None:
            rate = traffic * stage.fraction * _signal_rate(design, stage.gate_signal)
        n = _canary_n(design, stage, settings)
        if n is not None:
            numbers["n_required"] = n
            if rate:
                numbers["min_duration_h"] = n / rate
        if rate is not None and stage.duration_h is not None and stage.p0 is not None:
            numbers["expected_samples"] = rate * stage.duration_h
        if stage.judgment == "statistical" and stage.metric_step_s and stage.duration_h is not None:
            numbers["data_points"] = analysis_points(stage.duration_h * 60, stage.metric_step_s)
        if (
            budget
            and traffic is not None
            and stage.fraction is not None
            and stage.duration_h is not None
        ):
            e_bad = 1.0 if defect is None else defect
            burned = canary_budget_burn(stage.fraction, traffic, stage.duration_h, e_bad)
            numbers["budget_share"] = burned / budget
        result[stage.id] = numbers
    return result


def _trigger_in_stage(
    design: Design, trigger: RollbackTrigger, stage: Stage
) -> dict[str, Any] | None:
    traffic = design.context.traffic.req_per_hour
    if None in (traffic, stage.fraction, stage.duration_h, trigger.window_min):
        return None
    assert traffic is not None and stage.fraction is not None and stage.duration_h is not None
    assert trigger.window_min is not None
    r = trigger_sample_rate(design, trigger)
    rate = stage.fraction * traffic * r
    window_h = trigger.window_min / 60
    minimum = trigger.min_samples or 0
    needed_h = minimum / rate if rate > 0 else math.inf
    fits = trigger.window_min <= stage.duration_h * 60
    seen = trigger_samples(stage.fraction, traffic, trigger.window_min, rate=r)
    visible_min = min(trigger.window_min, stage.duration_h * 60)
    return {
        "feasible": fits and seen >= minimum and trigger.min_samples is not None,
        "samples_in_window": trigger_samples(stage.fraction, traffic, visible_min, rate=r),
        "min_stage_h": max(window_h, needed_h),
        "stage": stage.id,
        "rate_per_h": rate,
        "window_fits": fits,
    }


def trigger_feasibility(design: Design) -> dict[str, dict[str, Any]]:
    """F8 per rollback trigger id: can it fire in every stage it could fire in?

    A trigger fires in a stage when `window_min ≤ duration_h·60` and
    `fraction·req_per_hour·window_h·r ≥ min_samples` (r: the trigger's sample rate, else its
    signal's label or sample rate, else 1). Triggers or stages with unset inputs are left out.

    Returns:
        Per trigger id, a dict with `feasible` (fires in every stage), and for the binding
        stage (the first, by fraction, where it cannot fire, else the smallest) `stage` (its
        id), `samples_in_window` (samples one window sees there, capped at the stage length)
        and `min_stage_h` (stage length, and window, needed to collect min_samples).
    """
    stages = sorted(design.rollout.stages, key=lambda s: s.fraction or 0.0)
    result: dict[str, dict[str, Any]] = {}
    for trigger in design.rollout.rollback_triggers:
        checks = [_trigger_in_stage(design, trigger, stage) for stage in stages]
        if not stages or any(c is None for c in checks):
            continue
        known = [c for c in checks if c is not None]
        binding = next((c for c in known if not c["feasible"]), known[0])
        result[trigger.id] = {
            "feasible": all(c["feasible"] for c in known),
            "stage": binding["stage"],
            "samples_in_window": binding["samples_in_window"],
            "min_stage_h": binding["min_stage_h"],
        }
    return result


def _rollback_tests(design: Design) -> tuple[int, int | None]:
    """(metric tests over all stages, metrics per stage when every stage tests as many)."""
    signals = {t.signal_id or t.id for t in design.rollout.rollback_triggers}
    per_stage = [
        len(signals | ({stage.gate_signal} if stage.gate_signal else set()))
        for stage in design.rollout.stages
    ]
    uniform = per_stage[0] if per_stage and len(set(per_stage)) == 1 else None
    return sum(per_stage), uniform


def false_rollback_rate(design: Design, settings: RuleSettings) -> float | None:
    """F9: `1 - (1 - alpha)^(m·S)`, the chance that a healthy release is rolled back at least once.

    m counts the distinct signals tested in a stage (every rollback trigger's signal plus the
    stage's gate signal), S the stages; alpha is `rollout.alpha`, else `settings.alpha`. None
    without stages or triggers.
    """
    if not design.rollout.stages or not design.rollout.rollback_triggers:
        return None
    tests, _ = _rollback_tests(design)
    alpha = _alpha(design, settings)
    return fwer(alpha, tests) if 0 <= alpha <= 1 and tests else None


# --------------------------------------------------------------------------- ROLL-001..003


@rule(
    "ROLL-001",
    "error",
    "Feature flag and kill switch route to the baseline",
    area="rollout",
    reads=("io_contract",),
    source="Breck Infra 7; NIST MANAGE 2.4",
)
def _flag_and_kill_switch(d: Design, s: RuleSettings) -> Outcome:
    flag = d.rollout.flag
    needs = [
        path
        for path, value in (
            ("rollout.flag.default", flag.default),
            ("rollout.flag.runtime", flag.runtime),
            ("rollout.flag.kill_switch_target", flag.kill_switch_target),
            ("rollout.flag.rollback_time_min", flag.rollback_time_min),
            ("io_contract.fallback_target", d.io_contract.fallback_target),
        )
        if value is None
    ]
    if needs:
        yield Missing(needs)
        return
    fix = "Put a runtime flag and a kill switch in front of the model call; then call plan_rollout."
    if flag.runtime is False:
        yield Violation(["rollout.flag.runtime"], "Rollback requires a redeploy.", fix)
    if flag.default != "off":
        yield Violation(
            ["rollout.flag.default"],
            "The flag defaults to on; a fresh instance or a config reset exposes the model "
            "to all traffic before any canary.",
            "Set rollout.flag.default to off; then call plan_rollout.",
        )
    if flag.kill_switch_target != d.io_contract.fallback_target:
        yield Violation(
            ["rollout.flag.kill_switch_target", "io_contract.fallback_target"],
            f"The kill switch routes to '{flag.kill_switch_target}', but the I/O fallback is "
            f"'{d.io_contract.fallback_target}'.",
            "Point the kill switch at the fallback, which should be the scored baseline; then "
            "call plan_rollout.",
        )
    assert flag.rollback_time_min is not None
    if flag.rollback_time_min > s.max_rollback_min:
        yield Violation(
            ["rollout.flag.rollback_time_min"],
            f"Rolling back takes {flag.rollback_time_min:g} min; at most "
            f"{s.max_rollback_min:g} min is allowed.",
            fix,
        )
    if not flag.owner:
        yield Violation(
            ["rollout.flag.owner"],
            "No owner is named for the flag; nobody is sure they may flip it at 3 a.m.",
            "Name the on-call role that owns the kill switch; then call plan_rollout.",
        )


@rule(
    "ROLL-002",
    "warning",
    "Shadow stage before exposure",
    area="rollout",
    reads=("io_contract", "evaluation", "context", "architecture"),
    source="Huyen ch.9 (shadow deployment); Breck Infra 6",
)
def _shadow_stage(d: Design, s: RuleSettings) -> Outcome:
    """The shadow must see at least the golden-set size and the largest canary n (ROLL-003)."""
    output = d.io_contract.output
    if not (output.user_facing and output.generated_text):
        return
    shadow, traffic = d.rollout.shadow, d.context.traffic.req_per_hour
    if shadow.fraction is None and shadow.duration_h is None:
        yield Violation(
            ["rollout.shadow"],
            "No shadow stage: user-facing generated output reaches users before it is "
            "scored on production traffic.",
            "Add a shadow stage whose outputs are scored with the eval metrics and judge, side "
            "effects off; then call plan_rollout.",
        )
        return
    arch = d.architecture
    stage_n = {k: v["n_required"] for k, v in stage_requirements(d, s).items() if "n_required" in v}
    golden = d.evaluation.golden_set.size
    needs = [
        path
        for path, value in (
            ("rollout.shadow.fraction", shadow.fraction),
            ("rollout.shadow.duration_h", shadow.duration_h),
            ("rollout.shadow.scored", shadow.scored),
            ("context.traffic.req_per_hour", traffic),
        )
        if value is None
    ]
    if shadow.side_effects_disabled is None and (arch.uses_tools or arch.side_effect_tools):
        needs.append("rollout.shadow.side_effects_disabled")
    if golden is None and not stage_n:
        needs.append("evaluation.golden_set.size")
    if needs:
        yield Missing(needs)
        return
    assert shadow.fraction is not None and shadow.duration_h is not None and traffic is not None
    sources = [(golden, "the golden-set size")] if golden is not None else []
    if stage_n:
        worst = max(stage_n, key=lambda k: stage_n[k])
        sources.append((stage_n[worst], f"the canary n of stage '{worst}'"))
    needed, what = max(sources, key=lambda pair: pair[0] or 0)
    assert needed is not None
    seen = shadow.fraction * traffic * shadow.duration_h
    if seen < needed:
        hours = needed / (shadow.fraction * traffic) if shadow.fraction * traffic else math.inf
        yield Violation(
            ["rollout.shadow.fraction", "rollout.shadow.duration_h"],
            f"Shadow sees {_count(seen)} requests; {_count(needed)} are needed ({what}).",
            f"Lengthen the shadow stage to ≥ {_sig(hours)} h or raise its fraction; then call "
            "plan_rollout.",
        )
    if shadow.scored is False:
        yield Violation(
            ["rollout.shadow.scored"],
            "Shadow outputs are not scored with the eval metrics and judge, so the shadow "
            "stage proves nothing.",
            "Score shadow outputs with the golden-set metrics and judge; then call plan_rollout.",
        )
    if shadow.side_effects_disabled is False and (arch.uses_tools or arch.side_effect_tools):
        yield Violation(
            ["rollout.shadow.side_effects_disabled"],
            "Shadow runs with side effects on; mirrored requests would act twice.",
            "Disable side effects in shadow; then call plan_rollout.",
        )


@rule(
    "ROLL-003",
    "error",
    "Canary stage is long enough to detect the regression",
    area="rollout",
    reads=("context", "monitoring"),
    source="SRE Workbook, Canarying Releases; Fleiss, Levin & Paik 2003",
)
def _canary_long_enough(d: Design, s: RuleSettings) -> Outcome:
    """Stages with a gate signal or p0/p1 are gated on a rate; samples per hour are
    req_per_hour · fraction · the gate signal's label rate (1 for per-request signals)."""
    rollout, traffic = d.rollout, d.context.traffic.req_per_hour
    if not rollout.stages:
        yield Missing(["rollout.stages"])
        return
    gated = [
        st for st in rollout.stages if st.gate_signal or st.p0 is not None or st.p1 is not None
    ]
    needs: list[str] = []
    if not gated:
        first = rollout.stages[0]
        needs = [_stage_path(first, f) for f in ("gate_signal", "p0", "p1")]
    for stage in gated:
        needs += [
            _stage_path(stage, f)
            for f in ("p0", "p1", "fraction", "duration_h")
            if getattr(stage, f) is None
        ]
    if rollout.control is None:
        needs.append("rollout.control")
    if traffic is None:
        needs.append("context.traffic.req_per_hour")
    if needs:
        yield Missing(needs)
        return
    assert traffic is not None
    alpha = _alpha(d, s)
    if not 0 < alpha < 1:
        yield Violation(
            ["rollout.alpha"],
            f"rollout.alpha is {alpha:g}; a canary test needs a level strictly between 0 and 1.",
            "Set rollout.alpha (e.g. the Šidák level of ROLL-008), or unset it to use the "
            f"default {s.alpha:g}; then call plan_rollout.",
        )
        return
    for stage in gated:
        p0, p1, f, hours = stage.p0, stage.p1, stage.fraction, stage.duration_h
        assert p0 is not None and p1 is not None and f is not None and hours is not None
        if p0 == p1:
            yield Violation(
                [_stage_path(stage, "p1")],
                f"Stage '{stage.id}' has p1 = p0 = {p0:g}; there is no regression to detect.",
                "Set p1 to the regressed rate the stage must catch; then call plan_rollout.",
            )
            continue
        n = _canary_n(d, stage, s)
        if f == 0 or n is None:  # n is None only for rest_of_fleet at 100%
            yield Violation(
                [_stage_path(stage, "fraction"), "rollout.control"],
                f"Stage '{stage.id}' exposes {_pct(f)} of traffic, so it cannot be compared "
                "with a concurrent control.",
                "Expose a share between 0 and 100% next to a concurrent baseline; then call "
                "plan_rollout.",
            )
            continue
        r = _signal_rate(d, stage.gate_signal)
        rate = traffic * f * r
        needed_h = n / rate if rate else math.inf
        if hours >= needed_h:
            continue
        k = control_ratio(d, f)
        assert k is not None
        labelled = f" at a label rate of {r:g}" if r < 1 else ""
        signal = f"'{stage.gate_signal}'" if stage.gate_signal else "the gate rate"
        alternatives = [f"Lengthen the stage to ≥ {_sig(needed_h)} h"]
        f_needed = n / (traffic * r * hours) if traffic * r * hours else math.inf
        if f_needed < 1 and rollout.control != "rest_of_fleet":
            alternatives.append(f"raise the fraction to ≥ {_pct(f_needed)}")
        if rollout.control != "rest_of_fleet" and 0 < f < 1 and rate > 0:
            k_fleet = (1 - f) / f
            n_fleet = n_two_prop(p0, p1, alpha=alpha, power=s.power, k=k_fleet)
            alternatives.append(
                f"compare against the whole remaining fleet (control=rest_of_fleet, "
                f"k={k_fleet:.3g} gives {_sig(n_fleet / rate)} h)"
            )
        alternatives.append("accept a larger regression")
        yield Violation(
            [_stage_path(stage, "duration_h"), _stage_path(stage, "fraction")],
            f"A {_pct(f)} stage '{stage.id}' for {hours:g} h sees {_count(rate * hours)} "
            f"samples{labelled}; detecting {signal} moving from {_pct(p0)} to {_pct(p1)} "
            f"(alpha={alpha:g} one-sided, power {s.power:g}, k={k:.3g}) needs {n:,} "
            f"({_sig(needed_h)} h).",
            f"{'; '.join(alternatives)}; then call plan_rollout.",
        )


# --------------------------------------------------------------------------- ROLL-004..006


@rule(
    "ROLL-004",
    "error",
    "Rollback triggers can fire inside their stage",
    area="rollout",
    reads=("context", "monitoring"),
    source="SRE Workbook (Alerting on SLOs; Canarying Releases); Argo Rollouts",
)
def _triggers_can_fire(d: Design, s: RuleSettings) -> Outcome:
    """Each trigger is checked against every stage; the message names the first stage (by
    fraction) where it cannot fire and the hours that stage would need."""
    rollout, traffic = d.rollout, d.context.traffic.req_per_hour
    needs: list[str] = []
    if not rollout.rollback_triggers:
        needs.append("rollout.rollback_triggers")
    if not rollout.stages:
        needs.append("rollout.stages")
    if traffic is None:
        needs.append("context.traffic.req_per_hour")
    for stage in rollout.stages:
        needs += [
            _stage_path(stage, f) for f in ("fraction", "duration_h") if getattr(stage, f) is None
        ]
    needs += [
        _trigger_path(t, "window_min") for t in rollout.rollback_triggers if t.window_min is None
    ]
    if needs:
        yield Missing(needs)
        return
    assert traffic is not None
    stages = sorted(rollout.stages, key=lambda st: st.fraction or 0.0)
    for trigger in rollout.rollback_triggers:
        if trigger.min_samples is None:
            yield Violation(
                [_trigger_path(trigger, "min_samples")],
                f"Trigger '{trigger.id}' has no min_samples, so it may fire (or pass) on a "
                "handful of requests.",
                "Set min_samples (e.g. enough for the threshold to be meaningful); then call "
                "plan_rollout.",
            )
            continue
        checks = [(st, _trigger_in_stage(d, trigger, st)) for st in stages]
        failing = [(st, c) for st, c in checks if c is not None and not c["feasible"]]
        if not failing:
            continue
        stage, check = failing[0]
        assert stage.fraction is not None and stage.duration_h is not None
        assert trigger.window_min is not None
        r = trigger_sample_rate(d, trigger)
        condition = (
            f"{trigger.signal_id or trigger.id} {trigger.comparator or '?'} "
            f"{trigger.threshold if trigger.threshold is not None else '?'}"
        )
        sampled = f", sample rate {r:g}" if r < 1 else ""
        window = (
            ""
            if check["window_fits"]
            else (f" Its {trigger.window_min:g}-min window is longer than the stage.")
        )
        others = [st.id for st, _ in failing[1:]]
        also = f" It cannot fire in {', '.join(others)} either." if others else ""
        per_window = traffic * (trigger.window_min / 60) * r
        f_min = trigger.min_samples / per_window if per_window else math.inf
        raise_fraction = ""
        if f_min <= 1 and check["window_fits"]:
            raise_fraction = f", raise the fraction to ≥ {_pct(f_min)}"
        yield Violation(
            [
                _trigger_path(trigger, "min_samples"),
                _trigger_path(trigger, "window_min"),
                _stage_path(stage, "duration_h"),
            ],
            f"Trigger '{trigger.id}' ({condition} over {trigger.window_min:g} min, min "
            f"{trigger.min_samples:,} samples{sampled}) at the {_pct(stage.fraction)} stage "
            f"'{stage.id}' of {_count(traffic)} req/h sees {_count(check['samples_in_window'])} "
            f"samples in its {_duration(stage.duration_h, trigger.window_min)}, so it can never "
            f"fire; the stage needs {_sig(check['min_stage_h'])} h.{window}{also}",
            f"Make the stage and window ≥ {_sig(check['min_stage_h'])} h{raise_fraction}, or use "
            "a denser signal; then call plan_rollout.",
        )


def _duration(stage_h: float, window_min: float) -> str:
    if window_min / 60 < stage_h:
        return f"{window_min:g}-min window"
    return f"{stage_h * 60:g}-min stage" if stage_h < 1 else f"{stage_h:g}-h stage"


@rule(
    "ROLL-005",
    "warning",
    "≥50 data points per metric per analysis",
    area="rollout",
    source="Spinnaker canary best practices; Kayenta NetflixACAJudge (Mann-Whitney)",
)
def _enough_points(d: Design, s: RuleSettings) -> Outcome:
    statistical = [st for st in d.rollout.stages if st.judgment == "statistical"]
    needs = [
        _stage_path(st, f)
        for st in statistical
        for f in ("duration_h", "metric_step_s")
        if getattr(st, f) is None
    ]
    if needs:
        yield Missing(needs)
        return
    minimum = s.min_analysis_points
    for stage in statistical:
        assert stage.duration_h is not None and stage.metric_step_s is not None
        seconds = stage.duration_h * 3600
        if not stage.metric_step_s:
            continue
        points = analysis_points(stage.duration_h * 60, stage.metric_step_s)
        if points >= minimum:
            continue
        length = f"{seconds / 60:g}-min" if stage.duration_h < 1 else f"{stage.duration_h:g}-h"
        yield Violation(
            [_stage_path(stage, "metric_step_s"), _stage_path(stage, "duration_h")],
            f"A {length} stage '{stage.id}' with a {stage.metric_step_s:g} s step yields "
            f"{points:,} points; statistical judgment needs ≥ {minimum}.",
            f"Use a step of ≤ {math.floor(seconds / minimum)} s or a stage of ≥ "
            f"{minimum * stage.metric_step_s / 60:.3g} min (Spinnaker's starting point is a "
            "3 h lifetime with a 1 h interval); then call plan_rollout.",
        )


@rule(
    "ROLL-006",
    "warning",
    "Concurrent control, not before/after",
    area="rollout",
    source="SRE Workbook, Canarying Releases; Spinnaker canary best practices",
)
def _concurrent_control(d: Design, s: RuleSettings) -> Outcome:
    control = d.rollout.control
    if control is None:
        yield Missing(["rollout.control"])
    elif control == "before_after":
        yield Violation(
            ["rollout.control"],
            "Before/after comparison is confounded by time of day, caches and traffic mix.",
            "Start a same-size baseline next to the canary (control=concurrent_baseline); "
            "then call plan_rollout.",
        )


# --------------------------------------------------------------------------- ROLL-007..009


@rule(
    "ROLL-007",
    "warning",
    "Canary risk fits the error budget",
    area="rollout",
    reads=("architecture", "context"),
    source="SRE Workbook, Canarying Releases; SRE book ch.3 (error budgets)",
)
def _canary_risk_in_budget(d: Design, s: RuleSettings) -> Outcome:
    """Budget = (1 - slo.availability) · req_per_month; each stage may burn β of it, with
    e_bad = `rollout.defect_rate` (default 1: every exposed request fails)."""
    rollout, traffic = d.rollout, d.context.traffic
    needs: list[str] = []
    if not rollout.stages:
        needs.append("rollout.stages")
    for path, value in (
        ("architecture.slo.availability", d.architecture.slo.availability),
        ("context.traffic.req_per_month", traffic.req_per_month),
        ("context.traffic.req_per_hour", traffic.req_per_hour),
    ):
        if value is None:
            needs.append(path)
    for stage in rollout.stages:
        needs += [
            _stage_path(stage, f) for f in ("fraction", "duration_h") if getattr(stage, f) is None
        ]
    if needs:
        yield Missing(needs)
        return
    budget = _error_budget(d)
    assert budget is not None and traffic.req_per_hour is not None
    e_bad = 1.0 if rollout.defect_rate is None else rollout.defect_rate
    share = s.canary_budget_share
    for stage in rollout.stages:
        f, hours = stage.fraction, stage.duration_h
        assert f is not None and hours is not None
        burned = canary_budget_burn(f, traffic.req_per_hour, hours, e_bad)
        if burned <= share * budget:
            continue
        used = burned / budget if budget else math.inf
        defect = (
            f"a {_pct(e_bad)} defect rate"
            if rollout.defect_rate is not None
            else ("every exposed request failing (no defect_rate stated)")
        )
        max_h = share * budget / (f * traffic.req_per_hour * e_bad) if f and e_bad else math.inf
        yield Violation(
            [
                _stage_path(stage, "fraction"),
                _stage_path(stage, "duration_h"),
                "architecture.slo.availability",
            ],
            f"A {_pct(f)} / {hours:g} h stage '{stage.id}' with {defect} would burn "
            f"{_count(burned)} of {_count(budget)} budgeted errors ({used * 100:.1f}%), above "
            f"the {share * 100:g}% one canary may use.",
            f"Start at a smaller fraction, shorten the stage to ≤ {_sig(max_h)} h, and "
            "auto-roll-back on a fast trigger; then call plan_rollout.",
        )


@rule(
    "ROLL-008",
    "warning",
    "Family-wise false-rollback rate",
    area="rollout",
    source="Davidovič & Beyer 2018 (CAS); Šidák 1967; Spinnaker scoreThresholds 95/75",
)
def _false_rollbacks(d: Design, s: RuleSettings) -> Outcome:
    rollout = d.rollout
    needs = [
        path
        for path, present in (
            ("rollout.stages", rollout.stages),
            ("rollout.rollback_triggers", rollout.rollback_triggers),
        )
        if not present
    ]
    if needs:
        yield Missing(needs)
        return
    fwer = false_rollback_rate(d, s)
    assert fwer is not None
    if fwer <= s.max_false_rollback:
        return
    tests, per_stage = _rollback_tests(d)
    alpha = _alpha(d, s)
    stages = len(rollout.stages)
    if per_stage is not None:
        plural = "s" if stages != 1 else ""
        counted = f"{per_stage} metrics x {stages} stage{plural}"
    else:
        counted = f"{tests} metric tests over {stages} stages"
    yield Violation(
        ["rollout.alpha", "rollout.rollback_triggers", "rollout.stages"],
        f"{counted} at alpha={alpha:g} give a {fwer:.3g} chance ({fwer * 100:.3g}%) of at least "
        "one spurious rollback on a healthy release.",
        f"Set rollout.alpha to {sidak_alpha(s.max_false_rollback, tests):.3g} (Šidák for "
        f"{tests} tests at {s.max_false_rollback:g}), use fewer metrics, and put critical "
        "metrics in their own group (Kayenta pass 95 / marginal 75); then call plan_rollout.",
    )


@rule(
    "ROLL-009",
    "error",
    "Triggers are fully specified and fail safe",
    area="rollout",
    source="Argo Rollouts analysis (DefaultConsecutiveErrorLimit = 4); Breck Infra 6",
)
def _triggers_fail_safe(d: Design, s: RuleSettings) -> Outcome:
    """The catalog's abort-after-N-consecutive-query-errors has no design field; not checked."""
    triggers = d.rollout.rollback_triggers
    if not triggers:
        yield Missing(["rollout.rollback_triggers"])
        return
    for trigger in triggers:
        unset = [f for f in TRIGGER_FIELDS if getattr(trigger, f) is None]
        if unset:
            yield Violation(
                [_trigger_path(trigger, f) for f in unset],
                f"Trigger '{trigger.id}' lacks {', '.join(unset)}, so it cannot be evaluated "
                "automatically.",
                "Give every trigger signal_id, comparator, threshold, window_min, min_samples, "
                "action (auto_rollback, pause or page) and on_no_data (fail or inconclusive); "
                "then call plan_rollout.",
            )
        if trigger.on_no_data == "pass":
            yield Violation(
                [_trigger_path(trigger, "on_no_data")],
                f"Trigger '{trigger.id}' treats missing data as success; a canary with zero "
                "traffic would be promoted.",
                "Guard with len(result) > 0 and set on_no_data: fail (or inconclusive, which "
                "pauses); then call plan_rollout.",
            )
