"""Architecture rules ARCH-001..008: latency, generation mode, quota, availability, pins, cache,
isolation and tool side effects, with the numbers of catalog §F16-F17."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from ml_systemization.findings import Missing, Violation, rule
from ml_systemization.model import Component, Dependency, Design
from ml_systemization.settings import RuleSettings
from ml_systemization.stats import (
    llm_latency_ms,
    max_output_tokens,
    quota_rpm,
    quota_tpm,
    serial_availability,
    serial_latency_ms,
    with_fallback,
)

Outcome = Iterator[Violation | Missing]

BATCH_WINDOW_H = 24.0
"""Provider batch APIs (OpenAI, Anthropic) complete within 24 h."""

PREFIX_CACHE_MIN_TOKENS = 1024
"""Smallest cacheable prompt prefix (Anthropic and OpenAI prompt-caching docs)."""


# --------------------------------------------------------------------------- formatting


def _count(x: float) -> str:
    return f"{round(x):,}"


def _sig(x: float) -> str:
    """3 significant figures, keeping trailing zeros (5.00); whole numbers from 100 up."""
    if abs(x) >= 100:
        return _count(x)
    return f"{x:#.3g}".rstrip(".")


def _tokens(x: float) -> str:
    return f"{x / 1e6:.3g} M" if x >= 1e6 else _count(x)


def _avail(a: float) -> str:
    text = f"{a:.3g}"
    return f"{a:.6g}" if text == "1" else text


# --------------------------------------------------------------------------- computed numbers


def _llm_components(d: Design) -> list[Component]:
    return [c for c in d.architecture.components if c.is_llm]


def _is_llm_design(d: Design) -> bool:
    llm = d.architecture.llm
    return bool(_llm_components(d)) or llm.ttft_p95_ms is not None or llm.tpot_ms is not None


def llm_p95_ms(design: Design) -> float | None:
    """F16: p95 of one LLM call, `ttft_p95_ms + output.max_tokens x tpot_ms`, or None if unset."""
    llm, max_tokens = design.architecture.llm, design.io_contract.output.max_tokens
    if llm.ttft_p95_ms is None or llm.tpot_ms is None or max_tokens is None:
        return None
    return llm_latency_ms(llm.ttft_p95_ms, max_tokens, llm.tpot_ms)


def _latency_needs(d: Design) -> list[str]:
    arch = d.architecture
    if not arch.components:
        return ["architecture.components"]
    needs = [
        f"architecture.components[{c.id}].p95_ms"
        for c in arch.components
        if not c.is_llm and c.p95_ms is None
    ]
    if _llm_components(d):
        needs += [
            path
            for path, value in (
                ("architecture.llm.ttft_p95_ms", arch.llm.ttft_p95_ms),
                ("architecture.llm.tpot_ms", arch.llm.tpot_ms),
                ("io_contract.output.max_tokens", d.io_contract.output.max_tokens),
            )
            if value is None
        ]
    return needs


def latency_budget(design: Design) -> dict[str, Any] | None:
    """F16: the request path's p95 budget, or None while a component or LLM input is unset.

    Sequential components add up; each `parallel_group` contributes its slowest member once.
    The LLM component (`is_llm=True`) counts `llm_p95_ms` (TTFT + max_tokens x TPOT) whatever
    p95 it states. Summing p95s is a conservative bound.

    Returns:
        A dict with `e2e_p95_ms` (whole path), `llm_p95_ms` (None without an LLM component),
        `other_ms` (e2e minus the LLM, when the LLM runs sequentially), `first_token_ms`
        (components before the LLM plus TTFT; None without an LLM), `max_output_tokens`
        (largest max_tokens meeting `slo.p95_ms`, None when not computable),
        `llm_stated_p95_ms` (the p95 the LLM component states, if any) and `slowest` (id of
        the slowest component).
    """
    if _latency_needs(design):
        return None
    arch, components = design.architecture, design.architecture.components
    llm_ms = llm_p95_ms(design)

    def cost(component: Component) -> float:
        return llm_ms if component.is_llm and llm_ms is not None else component.p95_ms or 0.0

    e2e = serial_latency_ms([(cost(c), c.parallel_group) for c in components])
    slowest = max(components, key=cost).id
    llm_index = next((i for i, c in enumerate(components) if c.is_llm), None)
    first_token = other = max_tokens = None
    tpot, ttft, slo = arch.llm.tpot_ms, arch.llm.ttft_p95_ms, arch.slo.p95_ms
    if llm_index is not None and llm_ms is not None and ttft is not None:
        llm_group = components[llm_index].parallel_group
        before = [
            (cost(c), c.parallel_group)
            for c in components[:llm_index]
            if llm_group is None or c.parallel_group != llm_group
        ]
        first_token = serial_latency_ms(before) + ttft
        if llm_group is None:
            other = max(0.0, e2e - llm_ms)
            if slo is not None and tpot:
                max_tokens = max_output_tokens(slo, other, ttft, tpot)
    stated = next((c.p95_ms for c in _llm_components(design)), None)
    return {
        "e2e_p95_ms": e2e,
        "llm_p95_ms": llm_ms if llm_index is not None else None,
        "other_ms": other,
        "first_token_ms": first_token,
        "max_output_tokens": max_tokens,
        "llm_stated_p95_ms": stated,
        "slowest": slowest,
    }


def _output_tokens(d: Design) -> float | None:
    llm = d.architecture.llm
    return llm.output_tokens if llm.output_tokens is not None else d.io_contract.output.max_tokens


def quota_usage(design: Design, settings: RuleSettings) -> dict[str, float] | None:
    """F17: peak provider load against the usable quota, or None while an input is unset.

    Returns:
        A dict with `peak_rpm` (peak_qps·60·calls_per_request·(1+retry_rate)), `peak_tpm`
        (peak_rpm x (input_tokens + output tokens)), `tokens_per_call`, and `rpm_limit` /
        `tpm_limit` (quota x `settings.quota_margin`).
    """
    llm, qps = design.architecture.llm, design.context.traffic.peak_qps
    out = _output_tokens(design)
    if None in (qps, llm.calls_per_request, llm.input_tokens, out, llm.quota_rpm, llm.quota_tpm):
        return None
    assert qps is not None and llm.calls_per_request is not None and llm.input_tokens is not None
    assert out is not None and llm.quota_rpm is not None and llm.quota_tpm is not None
    rpm = quota_rpm(qps, calls_per_request=llm.calls_per_request, retry_rate=llm.retry_rate or 0.0)
    tokens = llm.input_tokens + out
    return {
        "peak_rpm": rpm,
        "peak_tpm": quota_tpm(rpm, tokens),
        "tokens_per_call": tokens,
        "rpm_limit": settings.quota_margin * llm.quota_rpm,
        "tpm_limit": settings.quota_margin * llm.quota_tpm,
    }


def _availability_needs(d: Design) -> list[str]:
    arch = d.architecture
    needs = [] if arch.slo.availability is not None else ["architecture.slo.availability"]
    if not arch.dependencies:
        return [*needs, "architecture.dependencies"]
    for dep in arch.dependencies:
        if dep.availability is None:
            needs.append(f"architecture.dependencies[{dep.id}].availability")
        if dep.fallback and dep.fallback_availability is None:
            needs.append(f"architecture.dependencies[{dep.id}].fallback_availability")
    return needs


def composite_availability(design: Design) -> dict[str, Any] | None:
    """F17: availability of the serial dependencies, or None while an availability is unset.

    A dependency with a fallback counts as `1 - (1 - A_dep)(1 - A_fallback)`.

    Returns:
        A dict with `availability` (product with fallbacks), `without_fallbacks` (plain
        product), `weakest` (id of the dependency with the lowest effective availability) and
        `weakest_availability` (that value).
    """
    deps = design.architecture.dependencies
    if not deps or any(n != "architecture.slo.availability" for n in _availability_needs(design)):
        return None
    effective = [_effective_availability(dep) for dep in deps]
    weakest = min(range(len(deps)), key=effective.__getitem__)
    return {
        "availability": serial_availability(effective),
        "without_fallbacks": serial_availability([dep.availability or 0.0 for dep in deps]),
        "weakest": deps[weakest].id,
        "weakest_availability": effective[weakest],
    }


def _effective_availability(dep: Dependency) -> float:
    availability = dep.availability or 0.0
    if dep.fallback and dep.fallback_availability is not None:
        return with_fallback(availability, dep.fallback_availability)
    return availability


def architecture_numbers(design: Design, settings: RuleSettings) -> dict[str, float]:
    """The one-pager's computed architecture numbers, for those that can be computed.

    Returns:
        A dict with any of `llm_p95_ms`, `e2e_p95_ms`, `availability`, `peak_rpm`, `peak_tpm`.
    """
    numbers: dict[str, float] = {}
    budget = latency_budget(design)
    if budget is not None:
        if budget["llm_p95_ms"] is not None:
            numbers["llm_p95_ms"] = budget["llm_p95_ms"]
        numbers["e2e_p95_ms"] = budget["e2e_p95_ms"]
    avail = composite_availability(design)
    if avail is not None:
        numbers["availability"] = avail["availability"]
    quota = quota_usage(design, settings) if _is_llm_design(design) else None
    if quota is not None:
        numbers["peak_rpm"] = quota["peak_rpm"]
        numbers["peak_tpm"] = quota["peak_tpm"]
    return numbers


# --------------------------------------------------------------------------- ARCH-001..004


def _streams_with_ttft_slo(d: Design) -> bool:
    arch = d.architecture
    streams = arch.invocation == "streaming" and arch.slo.ttft_p95_ms is not None
    return streams and bool(_llm_components(d))


@rule(
    "ARCH-001",
    "error",
    "Latency budget closes",
    area="architecture",
    reads=("io_contract",),
    source="Google SRE book ch.4; Dean & Barroso 2013 (The Tail at Scale)",
)
def _latency_budget_closes(d: Design, s: RuleSettings) -> Outcome:
    """Streaming with a TTFT SLO checks the first-token path (components before the LLM plus
    TTFT) against `slo.ttft_p95_ms`; every other online design checks the whole path against
    `slo.p95_ms`. Batch designs have no request latency (ARCH-002 checks freshness)."""
    arch = d.architecture
    if arch.mode == "batch":
        return
    streaming = _streams_with_ttft_slo(d)
    needs = _latency_needs(d)
    if not streaming and arch.slo.p95_ms is None:
        needs.append("architecture.slo.p95_ms")
    if needs:
        yield Missing(needs)
        return
    budget = latency_budget(d)
    assert budget is not None
    llm_ms, llm = budget["llm_p95_ms"], arch.llm
    llm_path = next((f"architecture.components[{c.id}].p95_ms" for c in _llm_components(d)), None)
    mismatch = ""
    stated = budget["llm_stated_p95_ms"]
    if llm_ms is not None and stated is not None and stated != llm_ms:
        mismatch = (
            f" The LLM component states {_count(stated)} ms, but TTFT + max_tokens x TPOT gives "
            f"{_count(llm_ms)} ms; the computed value is used."
        )
    if streaming:
        first, limit = budget["first_token_ms"], arch.slo.ttft_p95_ms
        assert first is not None and limit is not None and llm.ttft_p95_ms is not None
        if first > limit:
            yield Violation(
                ["architecture.slo.ttft_p95_ms", "architecture.llm.ttft_p95_ms"],
                f"Time to first token is {_count(first)} ms (components before the LLM "
                f"{_count(first - llm.ttft_p95_ms)} ms + TTFT {_count(llm.ttft_p95_ms)} ms) "
                f"against a TTFT SLO of {_count(limit)} ms.{mismatch}",
                "Parallelize or drop the steps before the LLM call, use a model or provider "
                "with a lower TTFT, or relax slo.ttft_p95_ms; then call design_architecture.",
            )
        return
    e2e, slo = budget["e2e_p95_ms"], arch.slo.p95_ms
    assert slo is not None
    if e2e <= slo:
        return
    paths = ["architecture.components", "architecture.slo.p95_ms"]
    if llm_ms is None:
        yield Violation(
            paths,
            f"Component budgets sum to {_count(e2e)} ms against an SLO of {_count(slo)} ms; "
            f"the slowest component is '{budget['slowest']}'.",
            "Parallelize independent components (parallel_group), cache, use faster "
            "components, or relax slo.p95_ms; then call design_architecture.",
        )
        return
    assert llm.ttft_p95_ms is not None and llm.tpot_ms is not None and llm_path is not None
    max_tokens = d.io_contract.output.max_tokens
    cap, remedy = budget["max_output_tokens"], ""
    if cap is not None and cap > 0:
        remedy = f"cap output.max_tokens at {cap:,} (define_io_contract), "
    elif cap is not None:
        remedy = "remove or parallelize components (even an empty output misses the SLO), "
    yield Violation(
        [*paths, llm_path, "io_contract.output.max_tokens"],
        f"Component budgets sum to {_count(e2e)} ms against an SLO of {_count(slo)} ms; "
        f"the LLM alone takes {_count(llm_ms)} ms (TTFT {_count(llm.ttft_p95_ms)} ms + "
        f"{max_tokens:,} tokens x {llm.tpot_ms:g} ms).{mismatch}",
        f"Stream with a TTFT SLO (invocation=streaming, slo.ttft_p95_ms), {remedy}use a "
        "smaller model, parallelize retrieval, or cache; then call design_architecture.",
    )


@rule(
    "ARCH-002",
    "error",
    "Generation latency and mode are feasible",
    area="architecture",
    reads=("io_contract",),
    source="NVIDIA NIM / AWS Neuron LLM benchmarking (e2e = TTFT + TPOTxN); "
    "OpenAI/Anthropic Batch APIs; Huyen ch.7",
)
def _generation_feasible(d: Design, s: RuleSettings) -> Outcome:
    arch = d.architecture
    if not _is_llm_design(d):
        return
    if arch.mode == "batch":
        if arch.freshness_need_h is None:
            yield Missing(["architecture.freshness_need_h"])
        elif arch.freshness_need_h < BATCH_WINDOW_H:
            yield Violation(
                ["architecture.mode", "architecture.freshness_need_h"],
                f"Batch mode on a provider batch API may take up to {BATCH_WINDOW_H:g} h plus "
                f"processing, but results are needed within {arch.freshness_need_h:g} h.",
                "Run online (sync or async) for fresh results, or relax freshness_need_h to "
                f"at least {BATCH_WINDOW_H:g} h plus processing; then call design_architecture.",
            )
        return
    needs = [
        path
        for path, value in (
            ("architecture.llm.ttft_p95_ms", arch.llm.ttft_p95_ms),
            ("architecture.llm.tpot_ms", arch.llm.tpot_ms),
            ("io_contract.output.max_tokens", d.io_contract.output.max_tokens),
        )
        if value is None
    ]
    if arch.invocation == "async":
        if needs:
            yield Missing(needs)
        return
    if arch.invocation == "streaming":
        if arch.slo.ttft_p95_ms is None:
            needs.append("architecture.slo.ttft_p95_ms")
    elif arch.slo.p95_ms is None:
        needs.append("architecture.slo.p95_ms")
    if needs:
        yield Missing(needs)
        return
    ttft, tpot = arch.llm.ttft_p95_ms, arch.llm.tpot_ms
    n_out = d.io_contract.output.max_tokens
    llm_ms = llm_p95_ms(d)
    assert ttft is not None and tpot is not None and n_out is not None and llm_ms is not None
    if arch.invocation == "streaming":
        limit = arch.slo.ttft_p95_ms
        assert limit is not None
        if ttft > limit:
            yield Violation(
                ["architecture.llm.ttft_p95_ms", "architecture.slo.ttft_p95_ms"],
                f"Streaming TTFT p95 is {_count(ttft)} ms against a TTFT SLO of "
                f"{_count(limit)} ms.",
                "Use a model, region or provider with a lower TTFT, shorten the prompt, or "
                "relax slo.ttft_p95_ms; then call design_architecture.",
            )
        return
    slo = arch.slo.p95_ms
    assert slo is not None
    if llm_ms <= slo:
        return
    cap = max_output_tokens(slo, 0.0, ttft, tpot) if tpot else None
    shrink = f"shrink output.max_tokens to ≤ {cap:,}" if cap and cap > 0 else "use a faster model"
    yield Violation(
        ["architecture.invocation", "architecture.slo.p95_ms", "io_contract.output.max_tokens"],
        f"Sync path with {n_out:,} output tokens at {tpot:g} ms/token takes {_count(llm_ms)} ms "
        f"at p95 (TTFT {_count(ttft)} ms + {n_out:,} x {tpot:g} ms), so it cannot meet the "
        f"p95 SLO of {_count(slo)} ms.",
        "Stream (invocation=streaming with slo.ttft_p95_ms), go async (job plus callback or "
        f"poll), or {shrink} (define_io_contract); then call design_architecture.",
    )


@rule(
    "ARCH-003",
    "error",
    "Provider quota headroom",
    area="architecture",
    reads=("context", "io_contract"),
    source="OWASP LLM10; Google SRE book ch.21 (handling overload)",
)
def _quota_headroom(d: Design, s: RuleSettings) -> Outcome:
    if not _is_llm_design(d):
        return
    llm = d.architecture.llm
    needs = [
        path
        for path, value in (
            ("context.traffic.peak_qps", d.context.traffic.peak_qps),
            ("architecture.llm.calls_per_request", llm.calls_per_request),
            ("architecture.llm.input_tokens", llm.input_tokens),
            ("architecture.llm.output_tokens", _output_tokens(d)),
            ("architecture.llm.quota_rpm", llm.quota_rpm),
            ("architecture.llm.quota_tpm", llm.quota_tpm),
        )
        if value is None
    ]
    if needs:
        yield Missing(needs)
        return
    usage = quota_usage(d, s)
    assert usage is not None and llm.quota_rpm is not None and llm.quota_tpm is not None
    margin = f"{s.quota_margin * 100:g}%"
    fix_tail = (
        "buy provisioned throughput, queue or shed load at peak, cache, or trim the prompt; "
        "then call design_architecture."
    )
    if usage["peak_rpm"] > usage["rpm_limit"]:
        yield Violation(
            ["architecture.llm.quota_rpm", "context.traffic.peak_qps"],
            f"Peak is {_count(usage['peak_rpm'])} RPM, above {margin} of the "
            f"{_count(llm.quota_rpm)} RPM quota ({_count(usage['rpm_limit'])}), so expect "
            "429s at peak.",
            f"Raise quota_rpm to ≥ {_count(usage['peak_rpm'] / s.quota_margin)}, {fix_tail}",
        )
    if usage["peak_tpm"] > usage["tpm_limit"]:
        yield Violation(
            ["architecture.llm.quota_tpm", "context.traffic.peak_qps"],
            f"Peak is {_tokens(usage['peak_tpm'])} TPM ({_count(usage['peak_rpm'])} RPM x "
            f"{_count(usage['tokens_per_call'])} tokens), above {margin} of the "
            f"{_tokens(llm.quota_tpm)} TPM quota ({_tokens(usage['tpm_limit'])}), so expect "
            "429s at peak.",
            f"Raise quota_tpm to ≥ {_tokens(usage['peak_tpm'] / s.quota_margin)}, {fix_tail}",
        )


@rule(
    "ARCH-004",
    "warning",
    "Composite availability meets the SLO",
    area="architecture",
    source="Treynor et al. 2017 (The Calculus of Service Availability); Google SRE book ch.3",
)
def _availability_meets_slo(d: Design, s: RuleSettings) -> Outcome:
    needs = _availability_needs(d)
    if needs:
        yield Missing(needs)
        return
    avail = composite_availability(d)
    slo = d.architecture.slo.availability
    assert avail is not None and slo is not None
    total = avail["availability"]
    if total >= slo:
        return
    weakest = next(dep for dep in d.architecture.dependencies if dep.id == avail["weakest"])
    others = total / avail["weakest_availability"] if avail["weakest_availability"] else 0.0
    leg = f"'{weakest.id}' {_avail(avail['weakest_availability'])}"
    leg += " with its fallback" if weakest.fallback else " without a fallback"
    if others > slo and weakest.availability is not None and weakest.availability < 1:
        needed = 1 - (1 - slo / others) / (1 - weakest.availability)
        what = "a better fallback" if weakest.fallback else "a fallback (e.g. the baseline)"
        fix = (
            f"Give '{weakest.id}' {what} with availability ≥ {_avail(max(needed, 0.0))}, which "
            f"lifts the total to ≥ {_avail(slo)}"
        )
    else:
        fix = (
            f"Even a perfect fallback on '{weakest.id}' leaves {_avail(others)}; add "
            "fallbacks on the other serial dependencies"
        )
    yield Violation(
        ["architecture.dependencies", "architecture.slo.availability"],
        f"Serial availability {_avail(total)} < SLO {_avail(slo)} (weakest leg {leg}).",
        f"{fix}, or relax slo.availability; then call design_architecture.",
    )


# --------------------------------------------------------------------------- ARCH-005..008

_FLOATING = re.compile(r"\b(latest|preview|nightly|stable|current)\b", re.IGNORECASE)
_PINNED = re.compile(
    r"\d{4}-\d{2}-\d{2}"  # dated snapshot
    r"|(?<!\d)20\d{6}(?!\d)"  # dated snapshot, compact
    r"|sha\d*:[0-9a-f]{6,}"  # content hash
    r"|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,64}\b"  # commit or hash
    r"|\bv?\d+\.\d+\.\d+\b"  # full release version
    r"|\bv\d+\b",  # numbered registry version (prompt v17)
    re.IGNORECASE,
)
_VERSION_LABELS = {
    "model": "Model",
    "prompt": "Prompt",
    "index": "Index",
    "tools": "Tool set",
    "judge": "Judge",
    "guardrail": "Guardrail",
}


@functools.lru_cache(maxsize=1024)
def is_pinned(version: str) -> bool:
    """Whether every `+`-joined part of `version` names an immutable artifact.

    Immutable: a dated snapshot, a commit or content hash, a full release version (1.3.0) or a
    numbered registry version (v17). Floating: `latest`, `preview`, `nightly`, `stable`,
    `current`, or a bare family name such as `gpt-4o`.
    """
    parts = [p.strip() for p in version.split("+")]
    return all(p and not _FLOATING.search(p) and _PINNED.search(p) for p in parts)


@rule(
    "ARCH-005",
    "error",
    "Every artifact is pinned to an immutable version",
    area="architecture",
    reads=("evaluation",),
    source="Breck Infra 1/Infra 7, Monitor 1; Sculley et al. 2015",
)
def _versions_pinned(d: Design, s: RuleSettings) -> Outcome:
    """Required: the model always; the prompt for LLM designs; the index with retrieval; the
    tool set with tools; the judge when a metric is LLM-judged. Any version given is checked."""
    arch = d.architecture
    required = {
        "model": True,
        "prompt": _is_llm_design(d),
        "index": bool(arch.uses_retrieval),
        "tools": bool(arch.uses_tools),
        "judge": any(m.scorer == "llm_judge" for m in d.evaluation.metrics),
        "guardrail": False,
    }
    versions = arch.versions
    needs = [
        f"architecture.versions.{key}"
        for key, needed in required.items()
        if needed and getattr(versions, key) is None
    ]
    if needs:
        yield Missing(needs)
        return
    for key, label in _VERSION_LABELS.items():
        value: str | None = getattr(versions, key)
        if value is None or is_pinned(value):
            continue
        yield Violation(
            [f"architecture.versions.{key}"],
            f"{label} is referenced as alias '{value}'; provider or registry updates will "
            "silently change behaviour.",
            "Pin a dated snapshot, commit or content hash (e.g. 'gpt-4o-2024-08-06', "
            "'prompt v17 (sha256:…)'), record it in the card (CARD-006), and keep the previous "
            "pinned set as the rollback target; then call design_architecture.",
        )


_SCOPE_WORDS = ("tenant", "user", "account", "customer", "org", "merchant", "session")


@rule(
    "ARCH-006",
    "warning",
    "Cache is correct and its hit rate is justified",
    area="architecture",
    reads=("io_contract",),
    source="OWASP LLM02 (cross-tenant leakage); Anthropic/OpenAI prompt-caching docs",
)
def _cache_correct(d: Design, s: RuleSettings) -> Outcome:
    """The key must carry the model, prompt (LLM designs) and index (retrieval) versions, and a
    tenant/user scope when an input field holds PII; the normalized input itself cannot be
    told from free-text key names and is not checked."""
    arch = d.architecture
    cache, llm = arch.cache, arch.llm
    response = cache.kind in ("response", "semantic")
    cached_prefix = llm.cached_input_tokens or 0
    if not response and cached_prefix <= 0:
        return
    if response:
        needs = [] if cache.key_fields else ["architecture.cache.key_fields"]
        if cache.hit_rate and cache.measured_duplicate_rate is None:
            needs.append("architecture.cache.measured_duplicate_rate")
        if needs:
            yield Missing(needs)
            return
        keys = " ".join(cache.key_fields).lower()
        wanted = {"model_version": "model"}
        if _is_llm_design(d) or arch.versions.prompt:
            wanted["prompt_version"] = "prompt"
        if arch.uses_retrieval or arch.versions.index:
            wanted["index_version"] = "index"
        for name, word in wanted.items():
            if word not in keys:
                yield Violation(
                    ["architecture.cache.key_fields"],
                    f"Cache key omits {name}; users will get stale outputs after "
                    f"{'an' if word[0] in 'aeiou' else 'a'} {word} change.",
                    f"Add {name} to cache.key_fields (or flush the cache on every version bump); "
                    "then call design_architecture.",
                )
        pii = [f.id for f in d.io_contract.input_fields if f.pii]
        if pii and not any(word in keys for word in _SCOPE_WORDS):
            yield Violation(
                ["architecture.cache.key_fields", "io_contract.input_fields"],
                f"Cache key has no tenant or user scope although {', '.join(pii)} carry PII; "
                "one customer could be served another's cached output.",
                "Add the tenant/account id to cache.key_fields, or do not cache PII-bearing "
                "requests; then call design_architecture.",
            )
        fresh_h = arch.freshness_need_h
        if cache.ttl_s is not None and fresh_h is not None and cache.ttl_s > fresh_h * 3600:
            yield Violation(
                ["architecture.cache.ttl_s", "architecture.freshness_need_h"],
                f"Cache TTL is {cache.ttl_s / 3600:g} h but results must be fresh within "
                f"{fresh_h:g} h.",
                f"Set cache.ttl_s ≤ {_count(fresh_h * 3600)}; then call design_architecture.",
            )
        measured = cache.measured_duplicate_rate
        if cache.hit_rate and measured is not None and cache.hit_rate > measured:
            yield Violation(
                ["architecture.cache.hit_rate", "architecture.cache.measured_duplicate_rate"],
                f"Cost assumes a {cache.hit_rate:.0%} hit rate; the logs show "
                f"{measured:.0%} duplicates.",
                f"Use the measured rate (hit_rate ≤ {measured:g}) in the cost model; then call "
                "design_architecture.",
            )
    if 0 < cached_prefix < PREFIX_CACHE_MIN_TOKENS:
        yield Violation(
            ["architecture.llm.cached_input_tokens"],
            f"The prompt-cached prefix is {_count(cached_prefix)} tokens, below the providers' "
            f"{PREFIX_CACHE_MIN_TOKENS:,}-token minimum, so it is never cached.",
            "Put the static instructions and examples first and make the prefix ≥ "
            f"{PREFIX_CACHE_MIN_TOKENS:,} tokens, or set cached_input_tokens to 0; then call "
            "design_architecture.",
        )


@rule(
    "ARCH-007",
    "warning",
    "Isolation and consumption limits",
    area="architecture",
    source="OWASP LLM10 (denial of wallet); Google SRE book ch.22; Nygard, Release It!",
)
def _isolation_limits(d: Design, s: RuleSettings) -> Outcome:
    """The kill switch half of the catalog's check is ROLL-001's."""
    iso = d.architecture.isolation
    needs = [
        f"architecture.isolation.{name}"
        for name in ("circuit_breaker", "bulkhead")
        if getattr(iso, name) is None
    ]
    if needs:
        yield Missing(needs)
        return
    fix = "Add the caps, the breaker and the bulkhead; then call design_architecture."
    if not iso.circuit_breaker:
        yield Violation(
            ["architecture.isolation.circuit_breaker"],
            "No circuit breaker on LLM and tool calls; a slow provider ties up every worker.",
            fix,
        )
    if not iso.bulkhead:
        yield Violation(
            ["architecture.isolation.bulkhead"],
            "No bulkhead; the AI path can starve the baseline path it falls back to.",
            fix,
        )
    if not iso.per_tenant_limits:
        yield Violation(
            ["architecture.isolation.per_tenant_limits"],
            "No per-tenant token cap; one client can exhaust quota and budget.",
            fix,
        )


_IRREVERSIBLE = re.compile(
    r"send|e-?mail|pay|refund|transfer|purchase|charge|delete|remove|drop|cancel|publish|post",
    re.IGNORECASE,
)
_BROAD_CREDENTIALS = re.compile(r"service account|admin|root|shared|global", re.IGNORECASE)


@rule(
    "ARCH-008",
    "error",
    "Tool and agent side effects are bounded",
    area="architecture",
    reads=("rollout",),
    source="OWASP LLM06 Excessive Agency; NIST MANAGE 2.4",
)
def _side_effects_bounded(d: Design, s: RuleSettings) -> Outcome:
    """A tool is irreversible when `irreversible=True`, or, left unset, when its name or an
    operation says send, pay, refund, delete and the like."""
    arch = d.architecture
    tools = arch.side_effect_tools
    if not tools and not arch.uses_tools:
        return
    fix = "Add the scopes, the confirmation step and a call cap; then call design_architecture."
    if arch.isolation.max_tool_calls_per_request is None:
        yield Violation(
            ["architecture.isolation.max_tool_calls_per_request"],
            "No max_tool_calls_per_request; an agent loop can call tools without bound.",
            fix,
        )
    for tool in tools:
        path = f"architecture.side_effect_tools[{tool.id}]"
        problems: list[str] = []
        if not tool.operations:
            problems.append("with no allowlisted operations")
        if not tool.credentials:
            problems.append("with no stated credential scope")
        elif _BROAD_CREDENTIALS.search(tool.credentials):
            problems.append(f"under broad credentials ('{tool.credentials}')")
        irreversible = tool.irreversible
        if irreversible is None:
            irreversible = bool(_IRREVERSIBLE.search(" ".join([tool.id, *tool.operations])))
        unconfirmed = irreversible and tool.human_confirmation is not True
        if problems or unconfirmed:
            verb = "runs without confirmation" if unconfirmed else "runs"
            yield Violation(
                [path],
                " ".join([f"Tool '{tool.id}' {verb}", " and ".join(problems)]).strip() + ".",
                "Allowlist its operations, scope credentials to the end user, and require "
                "human confirmation for irreversible or high-value actions; then call "
                "design_architecture.",
            )
    if tools and d.rollout.shadow.side_effects_disabled is False:
        yield Violation(
            ["rollout.shadow.side_effects_disabled", "architecture.side_effect_tools"],
            "Shadow mode runs with side effects enabled; mirrored traffic would act twice.",
            "Disable side effects in shadow (stub the tools); then call plan_rollout.",
        )
