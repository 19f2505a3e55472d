"""I/O-contract rules IO-001..006: bounded typed inputs, machine-validatable capped output, the
failure-behaviour matrix, deadline arithmetic (§F16), untrusted content and the response
envelope."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from ml_systemization import stats
from ml_systemization.findings import Missing, Violation, rule
from ml_systemization.model import Design, InputField, IOContract, calls_llm
from ml_systemization.settings import RuleSettings

Outcome = Iterator[Violation | Missing]

REQUIRED_FAILURE_MODES = (
    "timeout",
    "provider_error",
    "rate_limited",
    "invalid_output",
    "safety_block",
    "out_of_scope",
)
MAX_RETRIES = 2
"""IO-003: retry(n ≤ 2)."""
MAX_INVALID_OUTPUT_RETRIES = 1
"""IO-002: an invalid output is retried at most once, then falls back."""

ENVELOPE_ALWAYS = ("request_id", "model_version", "fallback_used")
ENVELOPE_LLM = ("prompt_version", "finish_reason", "input_tokens", "output_tokens")
ENVELOPE_RETRIEVAL = ("index_version",)

_EMPTY_IO = IOContract()
_FIXED_SIZE = re.compile(
    r"^\s*(enum|literal|bool|int|float|double|decimal|number|date|time|uuid)", re.IGNORECASE
)
_VARIABLE_SIZE = re.compile(r"str|text|list|array|\[|seq|bytes|object|dict|map|json", re.I)


def _count(x: float) -> str:
    return f"{round(x):,}"


def _field_path(f: InputField, name: str) -> str:
    return f"io_contract.input_fields[{f.id}].{name}"


def _is_empty(d: Design) -> bool:
    return d.io_contract == _EMPTY_IO


def is_variable_length(type_: str | None) -> bool:
    """Whether a field type is a string or list that needs `max_len` (True when unknown)."""
    if not type_:
        return True
    return not _FIXED_SIZE.match(type_) and bool(_VARIABLE_SIZE.search(type_))


uses_llm = calls_llm


# --------------------------------------------------------------------------- IO-001


@rule(
    "IO-001",
    "error",
    "Typed, bounded, labelled input schema",
    area="io_contract",
    source="OWASP LLM10, LLM02; Breck Data 1, Data 5",
)
def _input_schema(d: Design, s: RuleSettings) -> Outcome:
    """Each input field has a type, `required`, a `max_len` (strings and lists), `pii` and
    `trust`; `input_max_tokens` is set."""
    io = d.io_contract
    if _is_empty(d):
        yield Missing(["io_contract.input_fields", "io_contract.input_max_tokens"])
        return
    if not io.input_fields:
        yield Violation(
            ["io_contract.input_fields"],
            "No input schema; input cost, latency and PII exposure are unbounded.",
            "List every input field with type, required, max_len, pii and trust "
            "(define_io_contract).",
        )
    for f in io.input_fields:
        gaps: list[tuple[str, str]] = []
        if f.type is None:
            gaps.append(("type", "no type"))
        if f.required is None:
            gaps.append(("required", "no required flag"))
        if f.max_len is None and is_variable_length(f.type):
            gaps.append(
                ("max_len", "no max length, so input cost and latency are unbounded (LLM10)")
            )
        if f.pii is None:
            gaps.append(("pii", "unknown PII status (LLM02)"))
        if f.trust is None:
            gaps.append(("trust", "unknown trust level"))
        if gaps:
            yield Violation(
                [_field_path(f, name) for name, _ in gaps],
                f"Field {f.id} has " + "; ".join(text for _, text in gaps) + ".",
                "Add max_len with a reject-or-truncate rule; set type and required; tag pii "
                "and trust per field (define_io_contract).",
            )
    if io.input_max_tokens is None:
        yield Violation(
            ["io_contract.input_max_tokens"],
            "No input token cap; one oversized request can exhaust latency and budget (LLM10).",
            "Set input_max_tokens with a reject-or-truncate rule (define_io_contract).",
        )


# --------------------------------------------------------------------------- IO-002


def _schema_problem(kind: str, schema: str | None) -> str | None:
    """Why the declared output schema is not machine-usable, or None."""
    if not (schema or "").strip():
        return f"schema_kind is {kind} but no {kind.replace('_', ' ')} is given"
    assert schema is not None
    if kind == "json_schema":
        try:
            parsed = json.loads(schema)
        except json.JSONDecodeError as exc:
            return f"the JSON Schema does not parse ({exc.msg} at line {exc.lineno})"
        except RecursionError:
            return "the JSON Schema is nested too deeply to parse"
        if not isinstance(parsed, dict):
            return "the JSON Schema is not an object"
    if kind == "regex":
        try:
            re.compile(schema)
        except re.error as exc:
            return f"the regex does not compile ({exc.msg})"
        except (RecursionError, OverflowError):
            return "the regex is nested too deeply to compile"
    return None


@rule(
    "IO-002",
    "error",
    "Machine-validatable output with a token cap",
    area="io_contract",
    source="OWASP LLM05; Breck Monitor 2",
)
def _output_validatable(d: Design, s: RuleSettings) -> Outcome:
    """The output is a JSON Schema, enum or regex (parsed), `max_tokens` is set, and an invalid
    output is retried at most once (whether it is mapped at all is IO-003's)."""
    io = d.io_contract
    out = io.output
    if _is_empty(d):
        yield Missing(["io_contract.output.schema_kind", "io_contract.output.max_tokens"])
        return
    fix = (
        "Use JSON Schema or structured outputs, validate on the server, and emit a "
        "schema-failure-rate signal (define_io_contract, define_monitoring)."
    )
    if out.schema_kind in (None, "free_text"):
        yield Violation(
            ["io_contract.output.schema_kind"],
            "Output is free text with no schema; invalid or truncated outputs cannot be detected.",
            fix,
        )
    elif problem := _schema_problem(out.schema_kind, out.output_schema):
        yield Violation(
            ["io_contract.output.output_schema"],
            f"Output is not machine-validatable: {problem}.",
            fix,
        )
    if out.max_tokens is None:
        yield Violation(
            ["io_contract.output.max_tokens"],
            "Output has no token cap; cost and latency per request are unbounded and "
            "truncation cannot be recognised.",
            "Set output.max_tokens and monitor finish_reason=length (define_io_contract).",
        )
    invalid = next((r for r in io.failure_behavior if r.id == "invalid_output"), None)
    if invalid is not None and invalid.action == "retry":
        retries = invalid.retries
        if retries is None or retries > MAX_INVALID_OUTPUT_RETRIES:
            shown = "an unstated number of" if retries is None else f"{retries}"
            yield Violation(
                ["io_contract.failure_behavior[invalid_output].retries"],
                f"Invalid output is retried {shown} times; at most "
                f"{MAX_INVALID_OUTPUT_RETRIES} retry, then the fallback.",
                "Retry an invalid output at most once, then serve the fallback "
                "(define_io_contract).",
            )


# --------------------------------------------------------------------------- IO-003


def failure_modes(design: Design) -> list[str]:
    """Failure modes that need an action: the six always, plus empty_retrieval with RAG and
    tool_error with tools."""
    modes = list(REQUIRED_FAILURE_MODES)
    if design.architecture.uses_retrieval:
        modes.append("empty_retrieval")
    if design.architecture.uses_tools:
        modes.append("tool_error")
    return modes


@rule(
    "IO-003",
    "error",
    "Complete failure-behaviour matrix",
    area="io_contract",
    reads=("architecture",),
    source="NIST AI RMF MANAGE 2.4; Google SRE book ch.22; Huyen ch.7",
)
def _failure_matrix(d: Design, s: RuleSettings) -> Outcome:
    """Every failure mode maps to fallback_baseline, abstain_with_message, error_code, or
    retry with n ≤ 2 (the model's action enum has no 'return raw text')."""
    io = d.io_contract
    if _is_empty(d):
        yield Missing(["io_contract.failure_behavior"])
        return
    defined = {r.id: r for r in io.failure_behavior}
    absent = [m for m in failure_modes(d) if m not in defined or defined[m].action is None]
    if absent:
        yield Violation(
            [f"io_contract.failure_behavior[{m}].action" for m in absent],
            f"No behaviour defined for {', '.join(absent)}.",
            "Map every mode: fallback_baseline for transient failures, abstain_with_message "
            "for safety and out-of-scope (define_io_contract).",
        )
    for r in io.failure_behavior:
        if r.action is None and r.id not in absent:
            yield Violation(
                [f"io_contract.failure_behavior[{r.id}].action"],
                f"Failure mode {r.id} has no action.",
                "Give it one of fallback_baseline, abstain_with_message, retry or error_code "
                "(define_io_contract).",
            )
        elif r.action == "retry" and (r.retries is None or r.retries > MAX_RETRIES):
            shown = "an unstated number of" if r.retries is None else f"{r.retries}"
            yield Violation(
                [f"io_contract.failure_behavior[{r.id}].retries"],
                f"Failure mode {r.id} retries {shown} times; at most {MAX_RETRIES} retries are "
                "valid before the fallback.",
                f"Set retries ≤ {MAX_RETRIES}, then fall back to the baseline "
                "(define_io_contract).",
            )


# --------------------------------------------------------------------------- IO-004


def call_retries(design: Design) -> int:
    """Retries of the model call: `io_contract.retries`, else the timeout rule's retries."""
    io = design.io_contract
    if io.retries is not None:
        return io.retries
    timeout = next((r for r in io.failure_behavior if r.id == "timeout"), None)
    if timeout is not None and timeout.action == "retry":
        return timeout.retries or 0
    return 0


def worst_case_ms(design: Design) -> float | None:
    """F16: `timeout·(1+retries) + Σbackoff + baseline p95` (4,350 ms in F16), or None."""
    io = design.io_contract
    fallback = design.baseline.p95_latency_ms
    if io.timeout_ms is None or fallback is None:
        return None
    return stats.deadline_worst_case_ms(
        io.timeout_ms, call_retries(design), io.backoff_ms, fallback
    )


def max_timeout_ms(design: Design) -> float | None:
    """F16: largest timeout that closes the deadline (1,325 ms in F16; 0 when none does)."""
    io = design.io_contract
    fallback = design.baseline.p95_latency_ms
    if io.deadline_ms is None or fallback is None:
        return None
    return stats.max_timeout_ms(io.deadline_ms, call_retries(design), io.backoff_ms, fallback)


@rule(
    "IO-004",
    "error",
    "Deadline arithmetic closes",
    area="io_contract",
    reads=("baseline", "architecture"),
    source="Google SRE book ch.22; AWS Builders' Library (timeouts, retries, backoff)",
)
def _deadline_closes(d: Design, s: RuleSettings) -> Outcome:
    """F16: the worst case (every attempt times out, then the fallback runs) fits the client
    deadline. Batch designs without a deadline are exempt."""
    io = d.io_contract
    if _is_empty(d):
        yield Missing(["io_contract.timeout_ms", "io_contract.deadline_ms"])
        return
    if d.architecture.mode == "batch" and io.deadline_ms is None:
        return
    needs = [
        path
        for path, value in (
            ("io_contract.timeout_ms", io.timeout_ms),
            ("io_contract.deadline_ms", io.deadline_ms),
            ("baseline.p95_latency_ms", d.baseline.p95_latency_ms),
        )
        if value is None
    ]
    worst, limit = worst_case_ms(d), max_timeout_ms(d)
    if needs or worst is None or limit is None or io.deadline_ms is None:
        yield Missing(needs)
        return
    if worst <= io.deadline_ms:
        return
    retries = call_retries(d)
    attempts = f"{retries} retr{'y' if retries == 1 else 'ies'}"
    remedy = (
        f"set timeout_ms ≤ {_count(limit)} ((deadline - Σbackoff - fallback p95)/(1+retries))"
        if limit > 0
        else "the deadline cannot even fit the backoff and the fallback: raise it"
    )
    yield Violation(
        ["io_contract.timeout_ms", "io_contract.retries", "io_contract.deadline_ms"],
        f"Worst case is {_count(worst)} ms (timeout {_count(io.timeout_ms or 0)} ms, "
        f"{attempts}, backoff {_count(sum(io.backoff_ms))} ms, fallback "
        f"{_count(d.baseline.p95_latency_ms or 0)} ms) against a {_count(io.deadline_ms)} ms "
        "deadline, so the fallback arrives after the client has given up.",
        f"Either {remedy}, drop the retry, or hedge the request (define_io_contract).",
    )


# --------------------------------------------------------------------------- IO-005


def untrusted_sources(design: Design) -> list[str]:
    """Untrusted inputs: fields with trust=untrusted, retrieved documents and tool results."""
    sources = [f.id for f in design.io_contract.input_fields if f.trust == "untrusted"]
    if design.architecture.uses_retrieval:
        sources.append("retrieved documents")
    if design.architecture.uses_tools:
        sources.append("tool results")
    return sources


@rule(
    "IO-005",
    "error",
    "Untrusted content is isolated and output is sanitized",
    area="io_contract",
    reads=("architecture",),
    source="OWASP LLM01, LLM05, LLM06",
)
def _untrusted_isolated(d: Design, s: RuleSettings) -> Outcome:
    """With untrusted content: (a) an injection mitigation, (b) output sanitization, and (c) a
    statement that model output cannot authorize a privileged action by itself."""
    io = d.io_contract
    if _is_empty(d):
        yield Missing(["io_contract.input_fields"])
        return
    sources = untrusted_sources(d)
    if not sources:
        return
    lacks = [
        (path, text)
        for path, value, text in (
            (
                "io_contract.injection_mitigation",
                io.injection_mitigation,
                "no prompt-injection mitigation (LLM01)",
            ),
            (
                "io_contract.output_sanitization",
                io.output_sanitization,
                "output is rendered or executed unsanitized (LLM05)",
            ),
            (
                "io_contract.privileged_actions",
                io.privileged_actions,
                "nothing stops model output from authorizing a privileged action (LLM06)",
            ),
        )
        if not (value or "").strip()
    ]
    if lacks:
        yield Violation(
            [path for path, _ in lacks],
            f"{', '.join(sources)} {'is' if len(sources) == 1 else 'are'} untrusted, but "
            + "; ".join(text for _, text in lacks)
            + ".",
            "Add channel separation, spotlighting or an injection classifier; escape or sandbox "
            "rendered output; require a human or policy check for privileged actions "
            "(define_io_contract); add red-team slices (build_evaluation).",
        )


# --------------------------------------------------------------------------- IO-006


def envelope_fields(design: Design) -> list[str]:
    """Fields the response envelope needs: always request_id, model_version and fallback_used;
    prompt_version, finish_reason and token counts with an LLM; index_version with retrieval."""
    fields = list(ENVELOPE_ALWAYS)
    if uses_llm(design):
        fields += ENVELOPE_LLM
    if design.architecture.uses_retrieval:
        fields += ENVELOPE_RETRIEVAL
    return fields


@rule(
    "IO-006",
    "info",
    "Traceable response envelope",
    area="io_contract",
    reads=("architecture",),
    source="Breck Infra 5, Monitor 3; Zinkevich #29",
)
def _traceable_envelope(d: Design, s: RuleSettings) -> Outcome:
    """The response or its log carries the versions, the fallback flag and the token counts."""
    if _is_empty(d):
        yield Missing(["io_contract.response_envelope"])
        return
    logged = {f.strip().lower() for f in d.io_contract.response_envelope}
    absent = [f for f in envelope_fields(d) if f not in logged]
    if absent:
        yield Violation(
            ["io_contract.response_envelope"],
            f"Response envelope lacks {', '.join(absent)}; outputs are not attributable to "
            "versions, and fallback rate and truncation cannot be monitored.",
            "Add these fields to the response or its log (define_io_contract).",
        )
