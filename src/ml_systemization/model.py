"""Pydantic model of a design: the seed's inputs, one section per step, and the card-only fields."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Probability = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0)]
Text = str
Ident = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][\w.:-]*$")]

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


MODEL_CONFIG = ConfigDict(extra="forbid", json_schema_extra=compact_schema)


class Model(BaseModel):
    """Base of every design model: unknown fields are errors, not silently dropped."""

    model_config = MODEL_CONFIG


class Item(Model):
    """A list item that is upserted and removed by its `id`."""

    id: Ident


# --------------------------------------------------------------------------- context


class Traffic(Model):
    req_per_hour: NonNegative | None = Field(None, description="Typical requests per hour")
    peak_qps: NonNegative | None = Field(None, description="Peak requests per second")
    req_per_month: NonNegative | None = Field(None, description="Requests per month")
    ab_daily_eligible: NonNegative | None = Field(
        None, description="Users (or units) per day eligible for an A/B test"
    )


class SuccessMetric(Item):
    description: Text | None = Field(None, description="What is measured and how")
    target: Text | None = Field(None, description="Target, e.g. '+10% resolved without agent'")


class Guardrail(Item):
    description: Text | None = Field(None, description="What must not get worse, with its limit")


class Context(Model):
    feature: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="Feature name, e.g. 'Support answer assistant'"
    )
    problem: Text | None = Field(None, description="The user problem this feature solves")
    user_outcome: Text | None = Field(None, description="What changes for the user")
    business_outcome: Text | None = Field(None, description="What changes for the business")
    success_metrics: list[SuccessMetric] = Field(
        default_factory=list, description="North-star and success metrics"
    )
    guardrails: list[Guardrail] = Field(default_factory=list, description="Guardrail metrics")
    data_contracts: Text | None = Field(None, description="Upstream data contracts and owners")
    data_quality: Text | None = Field(None, description="Known data-quality checks and issues")
    feedback_plan: Text | None = Field(None, description="How labels/feedback are collected")
    deployment_environment: Text | None = Field(None, description="Where and how it runs")
    operational_constraints: Text | None = Field(
        None, description="Latency, compliance, on-call and other constraints"
    )
    candidate_models: list[Text] = Field(
        default_factory=list, description="Candidate models or providers"
    )
    existing_eval_sets: list[Text] = Field(
        default_factory=list, description="Evaluation sets that already exist"
    )
    traffic: Traffic = Field(default_factory=Traffic, description="Expected volume")
    cost_budget_month_usd: NonNegative | None = Field(
        None, description="Monthly budget for the AI path, USD"
    )


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
    id: Ident | None = Field(None, description="Name of the baseline system, e.g. 'faq_search'")
    type: BaselineType | None = Field(None, description="Kind of baseline")
    description: Text | None = Field(None, description="What the baseline does, runnable today")
    proposed_approach: Text | None = Field(None, description="The ML/LLM approach proposed")
    justification: Text | None = Field(None, description="Why ML/LLM over the baseline")
    scores: dict[str, float] = Field(
        default_factory=dict,
        description="Baseline score per eval metric id, on the golden set",
    )
    scores_by_slice: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Per slice id: score per metric id"
    )
    scored_on_golden_hash: Text | None = Field(
        None, description="Golden-set hash the scores were computed on"
    )
    cost_per_request_usd: NonNegative | None = Field(None, description="Baseline cost/request")
    success_rate: Probability | None = Field(None, description="Baseline success rate")
    p95_latency_ms: NonNegative | None = Field(None, description="Baseline p95 latency, ms")
    expected_lift: float | None = Field(
        None, description="Expected absolute lift of the AI on the primary metric"
    )
    expected_success_rate: Probability | None = Field(
        None, description="Expected success rate of the AI path"
    )
    value_per_success_usd: NonNegative | None = Field(None, description="Value of one success")


# --------------------------------------------------------------------------- step 2


class InputField(Item):
    type: Text | None = Field(None, description="Type, e.g. string, enum, list[string]")
    required: bool | None = Field(None, description="Whether the field is required")
    max_len: PositiveCount | None = Field(None, description="Max length (chars or items)")
    pii: bool | None = Field(None, description="Contains personal data")
    trust: Literal["trusted", "untrusted"] | None = Field(None, description="Trust level")
    description: Text | None = Field(None, description="Meaning and source")


FailureAction = Literal["fallback_baseline", "abstain_with_message", "retry", "error_code"]


class FailureRule(Item):
    """`id` is the failure mode: timeout, provider_error, rate_limited, invalid_output,
    safety_block, out_of_scope, empty_retrieval, tool_error, or your own."""

    action: FailureAction | None = Field(None, description="What the system does")
    retries: Annotated[int, Field(ge=0, le=5)] | None = Field(None, description="For retry")
    detail: Text | None = Field(None, description="Message, code or fallback detail")


class OutputSpec(Model):
    schema_kind: Literal["json_schema", "enum", "regex", "free_text"] | None = Field(
        None, description="How the output is machine-validated"
    )
    output_schema: Text | None = Field(None, description="The JSON Schema, enum list or regex")
    description: Text | None = Field(None, description="What the output means")
    max_tokens: PositiveCount | None = Field(None, description="Output token cap")
    user_facing: bool | None = Field(None, description="Shown to end users")
    generated_text: bool | None = Field(None, description="Contains model-generated text")


class IOContract(Model):
    input_fields: list[InputField] = Field(default_factory=list, description="Input schema")
    input_max_tokens: PositiveCount | None = Field(None, description="Input token cap")
    output: OutputSpec = Field(default_factory=OutputSpec, description="Output schema")
    failure_behavior: list[FailureRule] = Field(
        default_factory=list, description="Action per failure mode"
    )
    fallback_target: Ident | None = Field(None, description="What serves on fallback")
    timeout_ms: NonNegative | None = Field(None, description="Model call timeout, ms")
    retries: Annotated[int, Field(ge=0, le=5)] | None = Field(None, description="Retries")
    backoff_ms: list[NonNegative] = Field(default_factory=list, description="Backoff per retry")
    deadline_ms: NonNegative | None = Field(None, description="Client deadline, ms")
    injection_mitigation: Text | None = Field(
        None, description="Prompt-injection defence for untrusted content"
    )
    output_sanitization: Text | None = Field(
        None, description="How output is escaped/sandboxed before render or execution"
    )
    privileged_actions: Text | None = Field(
        None, description="Why model output cannot authorize privileged actions alone"
    )
    response_envelope: list[Text] = Field(
        default_factory=list, description="Fields logged with each response"
    )


# --------------------------------------------------------------------------- step 3


class GoldenSource(Item):
    kind: Literal["production", "synthetic", "expert", "adversarial", "public_benchmark"] | None = (
        Field(None, description="Where the items come from")
    )
    share: Probability | None = Field(None, description="Share of the golden set")
    date: dt.date | None = Field(None, description="When collected")
    description: Text | None = Field(None, description="How they were sampled")


class Slice(Item):
    n: Count | None = Field(None, description="Scored items in the slice")
    metric_id: Ident | None = Field(None, description="Metric gated on this slice")
    threshold: float | None = Field(None, description="Slice gate; omit for report-only")
    description: Text | None = Field(None, description="Which items belong to it")


class GoldenSet(Model):
    size: Count | None = Field(None, description="Scored golden items")
    hash: Text | None = Field(None, description="Content hash of this version")
    created_at: dt.date | None = Field(None, description="Creation date of this version")
    description: Text | None = Field(None, description="What the golden tasks are")
    sources: list[GoldenSource] = Field(default_factory=list, description="Item sources")
    slices: list[Slice] = Field(default_factory=list, description="Slices")
    holdout_fraction: Probability | None = Field(
        None, description="Frozen holdout never used for tuning"
    )


class Calibration(Model):
    n: Count | None = Field(None, description="Human-labelled items")
    kappa: Annotated[float, Field(ge=-1, le=1)] | None = Field(None, description="Cohen's kappa")
    sensitivity: Probability | None = Field(None, description="Judge sensitivity vs humans")
    specificity: Probability | None = Field(None, description="Judge specificity vs humans")


class Judge(Model):
    model: Text | None = Field(None, description="Judge model")
    version: Text | None = Field(None, description="Pinned judge snapshot")
    pairwise: bool | None = Field(None, description="Pairwise comparisons")
    both_orders: bool | None = Field(None, description="Pairwise run in both orders")
    length_controlled: bool | None = Field(None, description="Controls for length")
    gate_on_corrected: bool | None = Field(
        None, description="Gate uses the Rogan-Gladen corrected rate"
    )
    calibration: Calibration = Field(default_factory=Calibration, description="Vs human labels")


class Metric(Item):
    description: Text | None = Field(None, description="What it measures")
    kind: Literal["proportion", "continuous"] | None = Field(None, description="Metric type")
    direction: Direction | None = Field(None, description="Which way is better")
    threshold: float | None = Field(None, description="Acceptance threshold (the gate)")
    n: Count | None = Field(None, description="Golden items scored on it (default: size)")
    regression_tolerance: NonNegative | None = Field(
        None, description="Allowed drop vs the current version"
    )
    gated: bool | None = Field(None, description="Pass/fail gate (default: has a threshold)")
    primary: bool | None = Field(None, description="The primary metric")
    scorer: Literal["programmatic", "llm_judge", "human"] | None = Field(
        None, description="How it is scored"
    )
    judge: Judge = Field(default_factory=Judge, description="For scorer=llm_judge")
    bootstrap_ci: bool | None = Field(None, description="Continuous: bootstrap CI reported")


class FailureCategory(Item):
    definition: Text | None = Field(None, description="What counts as this failure")
    severity: Literal["critical", "major", "minor"] | None = Field(None, description="Severity")
    slice_ids: list[Ident] = Field(default_factory=list, description="Slices that test it")
    detector: Literal["programmatic", "judge", "human"] | None = Field(
        None, description="How it is detected"
    )
    target_rate: Probability | None = Field(None, description="Max acceptable rate")
    allowed_failures: Count | None = Field(None, description="Failures allowed in its slice")


class Evaluation(Model):
    golden_set: GoldenSet = Field(default_factory=GoldenSet, description="Golden tasks")
    metrics: list[Metric] = Field(default_factory=list, description="Metrics and thresholds")
    failure_taxonomy: list[FailureCategory] = Field(
        default_factory=list, description="Failure categories"
    )
    rubric: Text | None = Field(None, description="Scoring rubric")
    arms: list[Text] = Field(default_factory=list, description="Systems compared, e.g. baseline")
    comparison: Literal["paired", "unpaired"] | None = Field(
        None, description="How versions are compared"
    )
    multiplicity: Literal["none", "bonferroni", "holm"] | None = Field(
        None, description="Correction across gates"
    )
    runs_k: PositiveCount | None = Field(None, description="Runs per item")
    temperature: Annotated[float, Field(ge=0, le=2)] | None = Field(None, description="Sampling")
    leakage_check: Text | None = Field(None, description="How overlap with prompts is checked")
    leakage_overlap: Count | None = Field(
        None, description="Golden items found in prompts or training data"
    )


# --------------------------------------------------------------------------- step 4


class Component(Item):
    p95_ms: NonNegative | None = Field(None, description="p95 latency, ms")
    parallel_group: Ident | None = Field(None, description="Runs in parallel with its group")
    is_llm: bool | None = Field(None, description="The LLM call (p95 from TTFT+N*TPOT)")
    description: Text | None = Field(None, description="What it does")


class LLMSpec(Model):
    model: Text | None = Field(None, description="Model name")
    ttft_p95_ms: NonNegative | None = Field(None, description="Time to first token p95, ms")
    tpot_ms: NonNegative | None = Field(None, description="Time per output token, ms")
    input_tokens: NonNegative | None = Field(None, description="Input tokens per call")
    cached_input_tokens: NonNegative | None = Field(None, description="Prefix-cached part")
    output_tokens: NonNegative | None = Field(None, description="Output tokens per call")
    price_in_per_mtok: NonNegative | None = Field(None, description="USD per 1M input tokens")
    price_out_per_mtok: NonNegative | None = Field(None, description="USD per 1M output tokens")
    calls_per_request: NonNegative | None = Field(None, description="LLM calls per request")
    retry_rate: Probability | None = Field(None, description="Share of calls retried")
    tool_calls_per_request: NonNegative | None = Field(None, description="Paid tool calls")
    price_per_tool_call_usd: NonNegative | None = Field(None, description="USD per tool call")
    judge_share: Probability | None = Field(None, description="Share of traffic judged online")
    judge_cost_usd: NonNegative | None = Field(None, description="USD per judged request")
    quota_rpm: NonNegative | None = Field(None, description="Provider requests/min quota")
    quota_tpm: NonNegative | None = Field(None, description="Provider tokens/min quota")


class Cache(Model):
    kind: Literal["none", "response", "semantic", "prefix"] | None = Field(
        None, description="Cache type"
    )
    key_fields: list[Text] = Field(default_factory=list, description="Response-cache key")
    ttl_s: NonNegative | None = Field(None, description="TTL, seconds")
    hit_rate: Probability | None = Field(None, description="Hit rate used in the cost model")
    measured_duplicate_rate: Probability | None = Field(None, description="From logs")
    description: Text | None = Field(None, description="Caching strategy")


class Versions(Model):
    model: Text | None = Field(None, description="Pinned model snapshot")
    prompt: Text | None = Field(None, description="Prompt version or hash")
    index: Text | None = Field(None, description="Index/corpus version")
    tools: Text | None = Field(None, description="Tool set version")
    judge: Text | None = Field(None, description="Judge version")
    guardrail: Text | None = Field(None, description="Guardrail version")


class Dependency(Item):
    availability: Probability | None = Field(None, description="Availability, e.g. 0.999")
    fallback: Text | None = Field(None, description="Fallback when it fails")
    fallback_availability: Probability | None = Field(None, description="Of the fallback")
    description: Text | None = Field(None, description="What it is")


class SLO(Model):
    p95_ms: NonNegative | None = Field(None, description="End-to-end p95 latency SLO, ms")
    ttft_p95_ms: NonNegative | None = Field(None, description="Streaming: TTFT p95 SLO, ms")
    availability: Probability | None = Field(None, description="Availability SLO")
    window_d: PositiveCount | None = Field(None, description="SLO window, days")


class Isolation(Model):
    circuit_breaker: bool | None = Field(None, description="Breaker on LLM/tool calls")
    bulkhead: bool | None = Field(None, description="AI path cannot starve the baseline")
    per_tenant_limits: Text | None = Field(None, description="Per-user/tenant rate/token caps")
    max_tool_calls_per_request: Count | None = Field(None, description="Agent call cap")
    description: Text | None = Field(None, description="Failure isolation")


class SideEffectTool(Item):
    operations: list[Text] = Field(default_factory=list, description="Allowlisted operations")
    credentials: Text | None = Field(None, description="Credential scope")
    human_confirmation: bool | None = Field(None, description="Irreversible actions confirmed")
    irreversible: bool | None = Field(None, description="Irreversible or high-value action")


class Architecture(Model):
    mode: Literal["online", "batch", "streaming"] | None = Field(None, description="Serving mode")
    invocation: Literal["sync", "async", "streaming"] | None = Field(
        None, description="How callers get results"
    )
    description: Text | None = Field(None, description="Architecture summary")
    uses_retrieval: bool | None = Field(None, description="Retrieval (RAG)")
    uses_tools: bool | None = Field(None, description="Tool calls / agent loop")
    components: list[Component] = Field(default_factory=list, description="Request path")
    llm: LLMSpec = Field(default_factory=LLMSpec, description="LLM call, tokens and prices")
    cache: Cache = Field(default_factory=Cache, description="Caching")
    versions: Versions = Field(default_factory=Versions, description="Pinned versions")
    dependencies: list[Dependency] = Field(default_factory=list, description="Serial deps")
    slo: SLO = Field(default_factory=SLO, description="Service-level objectives")
    isolation: Isolation = Field(default_factory=Isolation, description="Isolation and limits")
    side_effect_tools: list[SideEffectTool] = Field(
        default_factory=list, description="Tools that write, send, pay or delete"
    )
    freshness_need_h: NonNegative | None = Field(None, description="Batch: freshness need, h")


# --------------------------------------------------------------------------- step 5


class Flag(Model):
    name: Text | None = Field(None, description="Feature flag name")
    default: Literal["off", "on"] | None = Field(None, description="Default state")
    runtime: bool | None = Field(None, description="Flips without a deploy")
    kill_switch_target: Ident | None = Field(None, description="What serves when killed")
    rollback_time_min: NonNegative | None = Field(None, description="Time to roll back, min")
    owner: Text | None = Field(None, description="Who may flip it")


class Shadow(Model):
    fraction: Probability | None = Field(None, description="Share of traffic mirrored")
    duration_h: NonNegative | None = Field(None, description="Duration, hours")
    scored: bool | None = Field(None, description="Outputs scored with the eval metrics")
    side_effects_disabled: bool | None = Field(None, description="No side effects in shadow")


class Stage(Item):
    fraction: Probability | None = Field(None, description="Share of traffic exposed")
    duration_h: NonNegative | None = Field(None, description="Minimum duration, hours")
    gate_signal: Ident | None = Field(None, description="Rate signal the stage is judged on")
    p0: Probability | None = Field(None, description="Gate signal's normal rate")
    p1: Probability | None = Field(None, description="Regressed rate to detect")
    judgment: Literal["threshold", "statistical"] | None = Field(
        None, description="statistical = Mann-Whitney/Kayenta"
    )
    metric_step_s: NonNegative | None = Field(None, description="Metric interval, seconds")


class RollbackTrigger(Item):
    signal_id: Ident | None = Field(None, description="Monitoring signal id")
    comparator: Literal[">", ">=", "<", "<="] | None = Field(None, description="Comparison")
    threshold: float | None = Field(None, description="Threshold")
    window_min: NonNegative | None = Field(None, description="Evaluation window, minutes")
    min_samples: Count | None = Field(None, description="Samples needed before it may fire")
    action: Literal["auto_rollback", "pause", "page"] | None = Field(None, description="Action")
    on_no_data: Literal["fail", "inconclusive", "pass"] | None = Field(
        None, description="Missing data policy"
    )
    sample_rate: Probability | None = Field(
        None, description="Share of requests that yield a sample (1 = every request)"
    )


class Rollout(Model):
    flag: Flag = Field(default_factory=Flag, description="Flag and kill switch")
    shadow: Shadow = Field(default_factory=Shadow, description="Shadow stage")
    stages: list[Stage] = Field(default_factory=list, description="Canary stages in order")
    control: Literal["concurrent_baseline", "rest_of_fleet", "before_after"] | None = Field(
        None, description="What the canary is compared with"
    )
    alpha: Probability | None = Field(None, description="Per-test alpha of canary checks")
    defect_rate: Probability | None = Field(None, description="Assumed bad-response rate")
    rollback_triggers: list[RollbackTrigger] = Field(
        default_factory=list, description="Rollback triggers"
    )


# --------------------------------------------------------------------------- step 6


SignalClass = Literal["system", "drift", "quality_proxy", "safety", "cost"]


class Alert(Model):
    owner: Text | None = Field(None, description="Owner")
    severity: Literal["page", "ticket"] | None = Field(None, description="Severity")
    runbook: Text | None = Field(None, description="Runbook link or steps")


class Signal(Item):
    kind: SignalClass | None = Field(None, description="Signal class")
    description: Text | None = Field(None, description="What is measured")
    proxy_for: Ident | None = Field(None, description="Eval metric id this proxies")
    input_field: Ident | None = Field(None, description="I/O input field it watches")
    stat: Text | None = Field(None, description="Statistic: psi, ks, rate, p95, sum, ...")
    comparator: Literal[">", ">=", "<", "<="] | None = Field(None, description="Alert side")
    threshold: float | None = Field(None, description="Alert threshold")
    window_h: NonNegative | None = Field(None, description="Window, hours")
    sample_rate: Probability | None = Field(None, description="Share of traffic sampled")
    label_rate: Probability | None = Field(None, description="Share of requests labelled")
    label_delay_h: NonNegative | None = Field(None, description="Hours until a label arrives")
    baseline_rate: Probability | None = Field(None, description="Normal rate (p0)")
    detect_delta: float | None = Field(None, description="Change to detect")
    bins: PositiveCount | None = Field(None, description="PSI bins")
    n_ref: PositiveCount | None = Field(None, description="Reference sample size")
    alert: Alert = Field(default_factory=Alert, description="Routing")


class BurnAlert(Item):
    budget_fraction: Probability | None = Field(None, description="Budget share consumed")
    long_window_h: NonNegative | None = Field(None, description="Long window, hours")
    severity: Literal["page", "ticket"] | None = Field(None, description="Severity")


class SLOSpec(Item):
    sli: Text | None = Field(None, description="Good events / valid events")
    target: Probability | None = Field(None, description="Target, e.g. 0.999")
    window_d: PositiveCount | None = Field(None, description="Window, days")
    burn_alerts: list[BurnAlert] = Field(default_factory=list, description="Burn-rate alerts")


class CostMonitoring(Model):
    alert_pct: list[Annotated[float, Field(gt=0, le=10)]] = Field(
        default_factory=list, description="Budget alert levels, e.g. [0.8, 1.0]"
    )
    daily_alert_usd: NonNegative | None = Field(None, description="Daily spend alert, USD")
    per_tenant_cap: Text | None = Field(None, description="Per-tenant spend/token cap")


class Monitoring(Model):
    signals: list[Signal] = Field(default_factory=list, description="Monitored signals")
    slos: list[SLOSpec] = Field(default_factory=list, description="SLOs with burn alerts")
    cost: CostMonitoring = Field(default_factory=CostMonitoring, description="Cost alerts")
    decision_horizon_days: NonNegative | None = Field(
        None, description="Days within which a quality drop must be detected"
    )


# --------------------------------------------------------------------------- step 7


class Change(Item):
    """`id` is what changes: model, prompt, index, tools, guardrail, judge, or your own."""

    description: Text | None = Field(None, description="What changes and how often")
    gates: list[Literal["golden_regression", "shadow", "canary", "ab_test"]] = Field(
        default_factory=list, description="Gates it must pass"
    )


class IterationTrigger(Item):
    signal_id: Ident | None = Field(None, description="Monitoring signal id")
    condition: Text | None = Field(None, description="e.g. 'PSI > 0.25 for 3 windows'")
    action: Text | None = Field(None, description="What is updated or retrained")
    owner: Text | None = Field(None, description="Owner")


class ABPlan(Model):
    primary_metric: Ident | None = Field(None, description="Primary metric (OEC) id")
    p0: Probability | None = Field(None, description="Primary metric's current rate")
    sigma: NonNegative | None = Field(None, description="SD, for continuous metrics")
    mde: Annotated[float, Field(gt=0)] | None = Field(None, description="Absolute MDE")
    alpha: Probability | None = Field(None, description="Two-sided alpha")
    power: Probability | None = Field(None, description="Power")
    share_per_arm: Probability | None = Field(None, description="Traffic share per arm")
    looks: PositiveCount | None = Field(None, description="Interim looks")
    method: Literal["fixed", "group_sequential", "msprt", "bayesian"] | None = Field(
        None, description="Analysis method"
    )
    guardrails: list[Text] = Field(default_factory=list, description="Guardrail metrics")
    srm_check: bool | None = Field(None, description="Sample-ratio-mismatch check")
    cadence_days: PositiveCount | None = Field(None, description="Days between experiments")


class Iteration(Model):
    changes: list[Change] = Field(default_factory=list, description="What changes")
    triggers: list[IterationTrigger] = Field(default_factory=list, description="Update triggers")
    ab: ABPlan = Field(default_factory=ABPlan, description="A/B test plan")
    golden_refresh_days: PositiveCount | None = Field(None, description="Golden-set refresh")
    incidents_to_golden: bool | None = Field(None, description="Incidents become golden items")


# --------------------------------------------------------------------------- card


class NonGoal(Item):
    description: Text | None = Field(None, description="What it must not be used for")
    enforcement: Text | None = Field(None, description="Detector, access control or notice")


class CardFailureMode(Item):
    """`id` should match a failure-taxonomy category."""

    description: Text | None = Field(None, description="How it fails")
    mitigation: Text | None = Field(None, description="Mitigation")
    signal_id: Ident | None = Field(None, description="Monitoring signal id")


class DataPrivacy(Model):
    sources: Text | None = Field(None, description="Data sources")
    retention: Text | None = Field(None, description="Retention of prompts, outputs, logs")
    access: Text | None = Field(None, description="Who can access what")
    pii_categories: list[Text] = Field(default_factory=list, description="PII categories")
    processors: Text | None = Field(None, description="Third-party processors and region")
    provider_training: Text | None = Field(None, description="Provider training use / opt-out")
    redaction: Text | None = Field(None, description="Redaction before logging")


class Card(Model):
    intended_use: Text | None = Field(None, description="Users, tasks and context")
    non_goals: list[NonGoal] = Field(default_factory=list, description="Out-of-scope uses")
    limitations: list[Text] = Field(default_factory=list, description="Known limitations")
    failure_modes: list[CardFailureMode] = Field(default_factory=list, description="Failures")
    data_privacy: DataPrivacy = Field(default_factory=DataPrivacy, description="Data + privacy")
    owner: Text | None = Field(None, description="Accountable owner")


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
