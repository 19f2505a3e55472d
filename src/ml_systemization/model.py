"""Pydantic model of a design: the seed's inputs, one section per step, and the card-only fields.

The step tools' input schemas are derived from these models (patch.py), so every description
here is paid for in every conversation. A field has one only where its name does not say it,
in a few words: units are in the names (``_ms``, ``_usd``, ``_h``, ...), shares and rates are
0..1, and what every section shares (partial updates, ``remove``, ids) is said once in the
server instructions. No two tools may carry the same description (tests/test_context_size.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1

Probability = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0)]
Text = str
# The pattern already requires one character: no min_length, one keyword less in every schema.
Ident = Annotated[str, Field(max_length=120, pattern=r"^[A-Za-z0-9][\w.:-]*$")]

Direction = Literal["higher_is_better", "lower_is_better"]


def compact_schema(schema: dict[str, Any]) -> None:
    """Shrink a model's JSON Schema in place; every tool schema is paid for in the context window.

    Drops generated titles and `default: null`, and writes `anyOf: [X, null]` as `X` with a
    nullable type, which says the same thing in fewer bytes.
    """
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            del prop["default"]
        variants = prop.get("anyOf")
        if isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants:
            (other,) = [v for v in variants if v != {"type": "null"}]
            if isinstance(other.get("type"), str):
                del prop["anyOf"]
                prop.update(other)
                prop["type"] = [other["type"], "null"]
                if "enum" in prop:
                    prop["enum"] = [*prop["enum"], None]
            elif "$ref" in other or "enum" in other or "const" in other:
                prop["anyOf"] = [other, {"type": "null"}]


# Infinity and NaN are refused: JSON cannot carry them, so they would be stored as null.
MODEL_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=compact_schema)


class Model(BaseModel):
    """Base of every design model: unknown fields are errors, not silently dropped."""

    model_config = MODEL_CONFIG

    @model_validator(mode="after")
    def _ids_are_unique(self) -> Self:
        """Items are addressed by id (upsert, remove, cross-references): an id appears once."""
        for name in type(self).model_fields:
            items = getattr(self, name)
            if isinstance(items, list) and items and isinstance(items[0], Item):
                seen: set[str] = set()
                for item in items:
                    if item.id in seen:
                        raise ValueError(f"{name} has id {item.id!r} twice; ids must be unique")
                    seen.add(item.id)
        return self


class Item(Model):
    """A list item that is upserted and removed by its `id`."""

    id: Ident


# --------------------------------------------------------------------------- context


class Traffic(Model):
    req_per_hour: NonNegative | None = None
    peak_qps: NonNegative | None = None
    req_per_month: NonNegative | None = None
    ab_daily_eligible: NonNegative | None = Field(
        None, description="Units/day eligible for A/B tests"
    )


class SuccessMetric(Item):
    description: Text | None = None
    target: Text | None = None


class Guardrail(Item):
    description: Text | None = Field(None, description="What must not worsen, and its limit")


class Context(Model):
    feature: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    problem: Text | None = None
    user_outcome: Text | None = None
    business_outcome: Text | None = None
    success_metrics: list[SuccessMetric] = Field(default_factory=list)
    guardrails: list[Guardrail] = Field(default_factory=list)
    data_contracts: Text | None = None
    data_quality: Text | None = None
    feedback_plan: Text | None = None
    deployment_environment: Text | None = None
    operational_constraints: Text | None = None
    candidate_models: list[Text] = Field(default_factory=list)
    existing_eval_sets: list[Text] = Field(default_factory=list)
    traffic: Traffic = Field(default_factory=Traffic)
    cost_budget_month_usd: NonNegative | None = Field(None, description="For the AI path")


# --------------------------------------------------------------------------- step 1


BaselineType = Literal[
    "heuristic",
    "rules",
    "search_lookup",
    "existing_system",
    "human_process",
    "simple_model",
    "simplest_llm",
]


class Baseline(Model):
    id: Ident | None = Field(None, description="System name, e.g. 'faq_search'")
    type: BaselineType | None = None
    description: Text | None = Field(None, description="What it does, runnable today")
    proposed_approach: Text | None = None
    justification: Text | None = Field(None, description="Why ML/LLM over the baseline")
    scores: dict[str, float] = Field(
        default_factory=dict, description="Metric id -> score on the golden set"
    )
    scores_by_slice: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Slice id -> metric id -> score"
    )
    scored_on_golden_hash: Text | None = None
    cost_per_request_usd: NonNegative | None = None
    success_rate: Probability | None = None
    p95_latency_ms: NonNegative | None = None
    expected_lift: float | None = Field(
        None, description="AI's absolute lift on the primary metric"
    )
    expected_success_rate: Probability | None = Field(None, description="Of the AI path")
    value_per_success_usd: NonNegative | None = None


# --------------------------------------------------------------------------- step 2


class InputField(Item):
    type: Text | None = Field(None, description="e.g. string, enum, list[string]")
    required: bool | None = None
    max_len: PositiveCount | None = Field(None, description="Chars or items")
    pii: bool | None = None
    trust: Literal["trusted", "untrusted"] | None = None
    description: Text | None = None


FailureAction = Literal["fallback_baseline", "abstain_with_message", "retry", "error_code"]


class FailureRule(Item):
    """`id` is the failure mode: timeout, provider_error, rate_limited, invalid_output,
    safety_block, out_of_scope, empty_retrieval, tool_error, or your own."""

    action: FailureAction | None = None
    retries: Annotated[int, Field(ge=0, le=5)] | None = Field(None, description="For action=retry")
    detail: Text | None = None


class OutputSpec(Model):
    schema_kind: Literal["json_schema", "enum", "regex", "free_text"] | None = None
    output_schema: Text | None = Field(None, description="The JSON Schema, enum list or regex")
    description: Text | None = None
    max_tokens: PositiveCount | None = None
    user_facing: bool | None = None
    generated_text: bool | None = None


class IOContract(Model):
    input_fields: list[InputField] = Field(default_factory=list)
    input_max_tokens: PositiveCount | None = None
    output: OutputSpec = Field(default_factory=OutputSpec)
    failure_behavior: list[FailureRule] = Field(default_factory=list)
    fallback_target: Ident | None = None
    timeout_ms: NonNegative | None = Field(None, description="Per model call")
    retries: Annotated[int, Field(ge=0, le=5)] | None = None
    backoff_ms: list[NonNegative] = Field(default_factory=list, description="Per retry")
    deadline_ms: NonNegative | None = Field(None, description="Client's end-to-end deadline")
    injection_mitigation: Text | None = None
    output_sanitization: Text | None = None
    privileged_actions: Text | None = Field(
        None, description="Why model output alone cannot authorize them"
    )
    response_envelope: list[Text] = Field(
        default_factory=list, description="Fields logged with each response"
    )


# --------------------------------------------------------------------------- step 3


class GoldenSource(Item):
    kind: Literal["production", "synthetic", "expert", "adversarial", "public_benchmark"] | None = (
        None
    )
    share: Probability | None = Field(None, description="Of the golden set")
    date: dt.date | None = None
    description: Text | None = None


class Slice(Item):
    n: Count | None = Field(None, description="Scored items")
    metric_id: Ident | None = Field(None, description="Metric gated on it")
    threshold: float | None = Field(None, description="Slice gate; omit for report-only")
    description: Text | None = None


class GoldenSet(Model):
    size: Count | None = None
    hash: Text | None = None
    created_at: dt.date | None = None
    description: Text | None = None
    sources: list[GoldenSource] = Field(default_factory=list)
    slices: list[Slice] = Field(default_factory=list)
    holdout_fraction: Probability | None = Field(None, description="Frozen, never used for tuning")


class Calibration(Model):
    n: Count | None = Field(None, description="Human-labelled items")
    kappa: Annotated[float, Field(ge=-1, le=1)] | None = Field(
        None, description="Cohen's kappa vs humans"
    )
    sensitivity: Probability | None = None
    specificity: Probability | None = None


class Judge(Model):
    model: Text | None = None
    version: Text | None = None
    pairwise: bool | None = None
    both_orders: bool | None = None
    length_controlled: bool | None = None
    gate_on_corrected: bool | None = Field(
        None, description="Gate on the Rogan-Gladen corrected rate"
    )
    calibration: Calibration = Field(default_factory=Calibration)


class Metric(Item):
    description: Text | None = None
    kind: Literal["proportion", "continuous"] | None = None
    direction: Direction | None = None
    threshold: float | None = None
    n: Count | None = Field(None, description="Items scored on it (default: golden size)")
    regression_tolerance: NonNegative | None = Field(
        None, description="Allowed drop vs the current version"
    )
    gated: bool | None = Field(None, description="Pass/fail gate (default: has a threshold)")
    primary: bool | None = None
    scorer: Literal["programmatic", "llm_judge", "human"] | None = None
    judge: Judge = Field(default_factory=Judge, description="For scorer=llm_judge")
    bootstrap_ci: bool | None = None


class FailureCategory(Item):
    definition: Text | None = None
    severity: Literal["critical", "major", "minor"] | None = None
    slice_ids: list[Ident] = Field(default_factory=list)
    detector: Literal["programmatic", "judge", "human"] | None = None
    target_rate: Probability | None = Field(None, description="Max acceptable rate")
    allowed_failures: Annotated[int, Field(ge=0, le=5_000)] | None = Field(
        None, description="Allowed in its slice"
    )


class Evaluation(Model):
    golden_set: GoldenSet = Field(default_factory=GoldenSet)
    metrics: list[Metric] = Field(default_factory=list)
    failure_taxonomy: list[FailureCategory] = Field(default_factory=list)
    rubric: Text | None = None
    arms: list[Text] = Field(default_factory=list, description="Systems compared, e.g. baseline")
    comparison: Literal["paired", "unpaired"] | None = None
    multiplicity: Literal["none", "bonferroni", "holm"] | None = None
    runs_k: PositiveCount | None = Field(None, description="Runs per item")
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    leakage_check: Text | None = None
    leakage_overlap: Count | None = Field(
        None, description="Golden items found in prompts or training data"
    )


# --------------------------------------------------------------------------- step 4


class Component(Item):
    p95_ms: NonNegative | None = None
    parallel_group: Ident | None = Field(None, description="Runs in parallel with its group")
    is_llm: bool | None = Field(None, description="The LLM call (p95 from TTFT + N*TPOT)")
    description: Text | None = None


class LLMSpec(Model):
    model: Text | None = None
    ttft_p95_ms: NonNegative | None = None
    tpot_ms: NonNegative | None = None
    input_tokens: NonNegative | None = Field(None, description="Per call")
    cached_input_tokens: NonNegative | None = Field(
        None, description="Prefix-cached part of input_tokens"
    )
    output_tokens: NonNegative | None = None
    price_in_per_mtok: NonNegative | None = Field(None, description="USD per 1M input tokens")
    price_out_per_mtok: NonNegative | None = Field(None, description="USD per 1M output tokens")
    calls_per_request: NonNegative | None = None
    retry_rate: Probability | None = None
    tool_calls_per_request: NonNegative | None = Field(None, description="Paid tool calls")
    price_per_tool_call_usd: NonNegative | None = None
    judge_share: Probability | None = Field(None, description="Share of traffic judged online")
    judge_cost_usd: NonNegative | None = Field(None, description="Per judged request")
    quota_rpm: NonNegative | None = None
    quota_tpm: NonNegative | None = None


class Cache(Model):
    kind: Literal["none", "response", "semantic", "prefix"] | None = None
    key_fields: list[Text] = Field(default_factory=list)
    ttl_s: NonNegative | None = None
    hit_rate: Probability | None = Field(None, description="Used in the cost model")
    measured_duplicate_rate: Probability | None = Field(None, description="From logs")
    description: Text | None = None


class Versions(Model):
    model: Text | None = None
    prompt: Text | None = None
    index: Text | None = None
    tools: Text | None = None
    judge: Text | None = None
    guardrail: Text | None = None


class Dependency(Item):
    availability: Probability | None = None
    fallback: Text | None = None
    fallback_availability: Probability | None = None
    description: Text | None = None


class SLO(Model):
    p95_ms: NonNegative | None = Field(None, description="End-to-end")
    ttft_p95_ms: NonNegative | None = None
    availability: Probability | None = None
    window_d: PositiveCount | None = None


class Isolation(Model):
    circuit_breaker: bool | None = None
    bulkhead: bool | None = Field(None, description="AI path cannot starve the baseline")
    per_tenant_limits: Text | None = None
    max_tool_calls_per_request: Count | None = None
    description: Text | None = None


class SideEffectTool(Item):
    operations: list[Text] = Field(default_factory=list, description="Allowlisted")
    credentials: Text | None = None
    human_confirmation: bool | None = None
    irreversible: bool | None = None


class Architecture(Model):
    mode: Literal["online", "batch", "streaming"] | None = None
    invocation: Literal["sync", "async", "streaming"] | None = None
    description: Text | None = None
    uses_retrieval: bool | None = None
    uses_tools: bool | None = None
    components: list[Component] = Field(default_factory=list, description="The request path")
    llm: LLMSpec = Field(default_factory=LLMSpec)
    cache: Cache = Field(default_factory=Cache)
    versions: Versions = Field(default_factory=Versions)
    dependencies: list[Dependency] = Field(default_factory=list, description="Serial dependencies")
    slo: SLO = Field(default_factory=SLO)
    isolation: Isolation = Field(default_factory=Isolation)
    side_effect_tools: list[SideEffectTool] = Field(
        default_factory=list, description="Tools that write, send, pay or delete"
    )
    freshness_need_h: NonNegative | None = Field(None, description="Batch")


# --------------------------------------------------------------------------- step 5


class Flag(Model):
    name: Text | None = None
    default: Literal["off", "on"] | None = None
    runtime: bool | None = Field(None, description="Flips without a deploy")
    kill_switch_target: Ident | None = Field(None, description="What serves when killed")
    rollback_time_min: NonNegative | None = None
    owner: Text | None = None


class Shadow(Model):
    fraction: Probability | None = None
    duration_h: NonNegative | None = None
    scored: bool | None = Field(None, description="Outputs scored with the eval metrics")
    side_effects_disabled: bool | None = None


class Stage(Item):
    fraction: Probability | None = None
    duration_h: NonNegative | None = Field(None, description="Minimum")
    gate_signal: Ident | None = Field(None, description="Rate signal the stage is judged on")
    p0: Probability | None = Field(None, description="Gate signal's normal rate")
    p1: Probability | None = Field(None, description="Regressed rate to detect")
    judgment: Literal["threshold", "statistical"] | None = Field(
        None, description="statistical: Mann-Whitney/Kayenta"
    )
    metric_step_s: NonNegative | None = None


class RollbackTrigger(Item):
    signal_id: Ident | None = None
    comparator: Literal[">", ">=", "<", "<="] | None = None
    threshold: float | None = None
    window_min: NonNegative | None = None
    min_samples: Count | None = Field(None, description="Before it may fire")
    action: Literal["auto_rollback", "pause", "page"] | None = None
    on_no_data: Literal["fail", "inconclusive", "pass"] | None = None
    sample_rate: Probability | None = Field(
        None, description="Share of requests yielding a sample (1: all)"
    )


class Rollout(Model):
    flag: Flag = Field(default_factory=Flag)
    shadow: Shadow = Field(default_factory=Shadow)
    stages: list[Stage] = Field(default_factory=list, description="In order")
    control: Literal["concurrent_baseline", "rest_of_fleet", "before_after"] | None = None
    alpha: Probability | None = Field(None, description="Per canary check")
    defect_rate: Probability | None = Field(None, description="Assumed bad-response rate")
    rollback_triggers: list[RollbackTrigger] = Field(default_factory=list)


# --------------------------------------------------------------------------- step 6


SignalClass = Literal["system", "drift", "quality_proxy", "safety", "cost"]


class Alert(Model):
    owner: Text | None = None
    severity: Literal["page", "ticket"] | None = None
    runbook: Text | None = None


class Signal(Item):
    kind: SignalClass | None = None
    description: Text | None = None
    proxy_for: Ident | None = Field(None, description="Eval metric id it proxies")
    input_field: Ident | None = Field(None, description="I/O input field it watches")
    stat: Text | None = Field(None, description="psi, ks, rate, p95, sum, ...")
    comparator: Literal[">", ">=", "<", "<="] | None = None
    threshold: float | None = None
    window_h: NonNegative | None = None
    sample_rate: Probability | None = None
    label_rate: Probability | None = None
    label_delay_h: NonNegative | None = None
    baseline_rate: Probability | None = Field(None, description="Normal rate (p0)")
    detect_delta: float | None = Field(None, description="Change to detect")
    bins: PositiveCount | None = Field(None, description="PSI bins")
    n_ref: PositiveCount | None = Field(None, description="Reference sample size")
    alert: Alert = Field(default_factory=Alert)


class BurnAlert(Item):
    budget_fraction: Probability | None = Field(None, description="Error-budget share consumed")
    long_window_h: NonNegative | None = None
    severity: Literal["page", "ticket"] | None = None


class SLOSpec(Item):
    sli: Text | None = Field(None, description="Good events / valid events")
    target: Probability | None = None
    window_d: PositiveCount | None = None
    burn_alerts: list[BurnAlert] = Field(default_factory=list)


class CostMonitoring(Model):
    alert_pct: list[Annotated[float, Field(gt=0, le=10)]] = Field(
        default_factory=list, description="Budget fractions, e.g. [0.8, 1.0]"
    )
    daily_alert_usd: NonNegative | None = None
    per_tenant_cap: Text | None = None


class Monitoring(Model):
    signals: list[Signal] = Field(default_factory=list)
    slos: list[SLOSpec] = Field(default_factory=list)
    cost: CostMonitoring = Field(default_factory=CostMonitoring)
    decision_horizon_days: NonNegative | None = Field(
        None, description="To detect a quality drop within"
    )


# --------------------------------------------------------------------------- step 7


class Change(Item):
    """`id` is what changes: model, prompt, index, tools, guardrail, judge, or your own."""

    description: Text | None = None
    gates: list[Literal["golden_regression", "shadow", "canary", "ab_test"]] = Field(
        default_factory=list
    )


class IterationTrigger(Item):
    signal_id: Ident | None = None
    condition: Text | None = Field(None, description="e.g. 'PSI > 0.25 for 3 windows'")
    action: Text | None = None
    owner: Text | None = None


class ABPlan(Model):
    primary_metric: Ident | None = Field(None, description="OEC metric id")
    p0: Probability | None = Field(None, description="Its current rate")
    sigma: NonNegative | None = Field(None, description="SD, for continuous metrics")
    mde: Annotated[float, Field(gt=0)] | None = Field(None, description="Absolute")
    alpha: Probability | None = Field(None, description="Two-sided")
    power: Probability | None = None
    share_per_arm: Probability | None = None
    looks: PositiveCount | None = None
    method: Literal["fixed", "group_sequential", "msprt", "bayesian"] | None = None
    guardrails: list[Text] = Field(default_factory=list, description="Guardrail metric ids")
    srm_check: bool | None = Field(None, description="Sample-ratio-mismatch check")
    cadence_days: PositiveCount | None = None


class Iteration(Model):
    changes: list[Change] = Field(default_factory=list)
    triggers: list[IterationTrigger] = Field(default_factory=list)
    ab: ABPlan = Field(default_factory=ABPlan)
    golden_refresh_days: PositiveCount | None = None
    incidents_to_golden: bool | None = None


# --------------------------------------------------------------------------- card


class NonGoal(Item):
    description: Text | None = None
    enforcement: Text | None = Field(None, description="Detector, access control or notice")


class CardFailureMode(Item):
    """`id` should match a failure-taxonomy category."""

    description: Text | None = None
    mitigation: Text | None = None
    signal_id: Ident | None = None


class DataPrivacy(Model):
    sources: Text | None = None
    retention: Text | None = Field(None, description="Of prompts, outputs, logs")
    access: Text | None = None
    pii_categories: list[Text] = Field(default_factory=list)
    processors: Text | None = Field(None, description="Third parties and region")
    provider_training: Text | None = None
    redaction: Text | None = Field(None, description="Before logging")


class Card(Model):
    intended_use: Text | None = Field(None, description="Users, tasks and context")
    non_goals: list[NonGoal] = Field(default_factory=list)
    limitations: list[Text] = Field(default_factory=list)
    failure_modes: list[CardFailureMode] = Field(default_factory=list)
    data_privacy: DataPrivacy = Field(default_factory=DataPrivacy)
    owner: Text | None = None


# --------------------------------------------------------------------------- design


class Waiver(Item):
    """`id` is the waived rule id, e.g. ROLL-006."""

    reason: Annotated[str, Field(min_length=10, max_length=2000)] = Field(
        description="Why the warning is acceptable"
    )
    by: Text | None = Field(None, description="Who waived it")
    at: dt.datetime | None = Field(None, description="When (set by the server)")


class Design(Model):
    schema_version: int = Field(SCHEMA_VERSION, description="Design schema version")
    context: Context = Field(default_factory=Context, description="Seed inputs")
    baseline: Baseline = Field(default_factory=Baseline, description="Step 1")
    io_contract: IOContract = Field(default_factory=IOContract, description="Step 2")
    evaluation: Evaluation = Field(default_factory=Evaluation, description="Step 3")
    architecture: Architecture = Field(default_factory=Architecture, description="Step 4")
    rollout: Rollout = Field(default_factory=Rollout, description="Step 5")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Step 6")
    iteration: Iteration = Field(default_factory=Iteration, description="Step 7")
    card: Card = Field(default_factory=Card, description="Feature card fields")
    waivers: list[Waiver] = Field(default_factory=list, description="Waived warnings")
    rule_settings: dict[str, float] = Field(
        default_factory=dict, description="Per-design overrides of the rule settings"
    )

    @field_validator("rule_settings")
    @classmethod
    def _valid_rule_settings(cls, value: dict[str, float]) -> dict[str, float]:
        """Only known settings with valid values, so a design can always be reviewed."""
        from ml_systemization.settings import RuleSettings  # settings never imports model

        unknown = sorted(set(value) - set(RuleSettings.model_fields))
        if unknown:
            raise ValueError(
                f"unknown rule setting(s) {', '.join(unknown)}; known: "
                f"{', '.join(RuleSettings.model_fields)}"
            )
        try:
            RuleSettings.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{err['loc'][0]}: {err['msg']}" for err in exc.errors(include_url=False)
            )
            raise ValueError(f"invalid rule setting(s): {problems}") from None
        return value


def calls_llm(design: Design) -> bool:
    """Whether the proposed system calls an LLM: any `architecture.llm` field is set, a component
    is marked `is_llm`, or the output is model-generated text.

    The one definition used by every rule and by the quality bar, so they never disagree.
    """
    arch = design.architecture
    return (
        any(value is not None for value in arch.llm.__dict__.values())
        or any(c.is_llm for c in arch.components)
        or bool(design.io_contract.output.generated_text)
    )
