"""MCP transport benchmarks: ml-systemization against a bare MCPServer, as ratios from one run.

Usage::

    python tools/bench.py                    # all four parts, a markdown report on stdout
    python tools/bench.py step startup       # only some parts
    python tools/bench.py --json             # machine-readable output
    python tools/bench.py --check            # exit 1 when a ratio misses its goal
    python tools/bench.py seed               # only build the cached big database (part 3)
    python tools/bench.py scale --designs 500 --revisions 20   # a smaller part 3

Every number that has a goal is a ratio measured in one run, on this machine, against the
reference server ``tools/bench_noop_server.py`` (the same SDK, one no-op tool) over the same
transport, with the two sides interleaved (A, B, B, A, ...) so drift of a shared machine hits
both. Progress goes to stderr.

Parts:

``step``
    A step-tool call over stdio: ``ml-systemization serve --db <tmp>`` as a subprocess driven by
    the SDK ``Client(StdioServerParameters(...))``; a design is created with the context of the
    ``support_assistant`` example and every step filled once, then N calls of a realistic small
    change (``build_evaluation`` changing one metric's threshold, alternating two values) are
    timed against N calls of the no-op tool. Goal: median at most 1.25x the no-op. Then a
    breakdown in-process, so the gap can be attributed: the same calls over the in-memory
    transport, and each piece of the step call timed alone (store.update with and without
    fsync, its validation, size checks and history diff, the rules, the result).
    ``--profile FILE`` also runs the server under cProfile (every thread) and writes FILE.
``startup``
    Cold start: spawn, connect and an answered ``tools/list``, K runs of each server,
    interleaved. Goal: median at most 1.15x. Also the start-up phases timed in fresh
    processes, and ``python -X importtime`` of both servers (stdin closed, so they exit):
    what our server imports beyond what the bare one does.
``scale``
    The step call on a server whose database holds ``--designs`` designs of ``--revisions``
    revisions each, against a server on an empty database, interleaved. Goal: at most 1.1x.
    The big database is seeded once through the public store API (``SQLiteStore.create`` and
    ``update``, with ``PRAGMA synchronous=OFF`` on the seeding connection only) and cached
    under ``.ci-cache/bench/``, keyed by the store's schema ``user_version`` (and the design
    ``schema_version``, the seeding recipe and the sizes); every run works on a copy.
    Seeding the default 10,000 x 50 takes about 40 minutes on a 2-core machine, once
    (``seed`` does only that).
``render``
    In-process ``quality.review`` and ``artifacts.render_design`` (all seven artifacts) of both
    shipped examples, in ms: no goal, no reference.

Developer script: never imported by the package. Performance targets are checked here, never
by timed assertions in the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOOP_SERVER = Path(__file__).resolve().parent / "bench_noop_server.py"
DEFAULT_CACHE = ROOT / ".ci-cache" / "bench"
PARTS = ("step", "startup", "scale", "render")
EXAMPLE = "support_assistant"
# Bump when the seeding recipe changes, so an old cached database is not reused.
SEED_RECIPE = 1
PROFILE_FLAG = "--profiled-serve"

GOALS = {"step": 1.25, "startup": 1.15, "scale": 1.10}


class BenchError(Exception):
    """A benchmark could not run (a tool call failed, a server did not start...)."""


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Series:
    """Timings of one operation, in ms."""

    name: str
    runs: int
    median_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    first_ms: float | None = None

    @classmethod
    def of(cls, name: str, samples_ms: list[float], first_ms: float | None = None) -> Series:
        ordered = sorted(samples_ms)
        return cls(
            name=name,
            runs=len(ordered),
            median_ms=statistics.median(ordered),
            p90_ms=_percentile(ordered, 90),
            p99_ms=_percentile(ordered, 99),
            min_ms=ordered[0],
            first_ms=first_ms,
        )


@dataclass(frozen=True)
class Comparison:
    """Ours against the reference, measured interleaved in one run."""

    part: str
    ours: Series
    reference: Series
    ratio_median: float
    ratio_p99: float
    goal: float
    met: bool

    @classmethod
    def of(cls, part: str, ours: Series, reference: Series) -> Comparison:
        ratio = ours.median_ms / reference.median_ms
        return cls(
            part=part,
            ours=ours,
            reference=reference,
            ratio_median=ratio,
            ratio_p99=ours.p99_ms / reference.p99_ms,
            goal=GOALS[part],
            met=ratio <= GOALS[part],
        )


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile (q in (0, 100]) of an ascending list."""
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _timer() -> Iterator[Callable[[], float]]:
    """``with _timer() as ms: ...`` then ``ms()`` is the elapsed time of the block in ms."""
    start = time.perf_counter_ns()
    end: list[int] = []
    yield lambda: ((end[0] if end else time.perf_counter_ns()) - start) / 1e6
    end.append(time.perf_counter_ns())


async def _interleaved(
    label: str,
    runs: int,
    ours: Callable[[int], Awaitable[Any]],
    reference: Callable[[int], Awaitable[Any]],
) -> tuple[list[float], list[float]]:
    """Run ``ours(i)`` and ``reference(i)`` alternately (A B, B A, ...), timing each in ms."""
    a: list[float] = []
    b: list[float] = []
    step = max(runs // 5, 1)
    for i in range(runs):
        order = ((ours, a), (reference, b)) if i % 2 == 0 else ((reference, b), (ours, a))
        for fn, out in order:
            start = time.perf_counter_ns()
            await fn(i)
            out.append((time.perf_counter_ns() - start) / 1e6)
        if (i + 1) % step == 0:
            _progress(f"{label}: {i + 1}/{runs}")
    return a, b


# --------------------------------------------------------------------------- servers


def _our_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("ml-systemization")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "ml_systemization"]


def _ours_params(db: Path, *, profile_out: Path | None = None) -> Any:
    from mcp import StdioServerParameters

    if profile_out is not None:
        args = [str(Path(__file__).resolve()), PROFILE_FLAG, str(profile_out), "--"]
        return StdioServerParameters(command=sys.executable, args=[*args, "serve", "--db", str(db)])
    command = _our_command()
    return StdioServerParameters(command=command[0], args=[*command[1:], "serve", "--db", str(db)])


def _noop_params() -> Any:
    from mcp import StdioServerParameters

    return StdioServerParameters(command=sys.executable, args=[str(NOOP_SERVER)])


async def _call(client: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise BenchError(f"{tool} failed: {text}")
    structured: dict[str, Any] = result.structured_content or {}
    return structured


def _small_change(example: Any) -> tuple[str, list[float]]:
    """A gated metric of the example with a threshold, and two values to alternate."""
    metrics = [m for m in example.steps["evaluation"]["metrics"] if m.get("threshold") is not None]
    metric = metrics[-1]
    threshold = float(metric["threshold"])
    other = round(threshold - 0.01, 4) if threshold > 0.5 else round(threshold + 0.01, 4)
    return str(metric["id"]), [threshold, other]


def _step_arguments(design_id: str, metric: str, values: list[float], i: int) -> dict[str, Any]:
    return {
        "design_id": design_id,
        "evaluation": {"metrics": [{"id": metric, "threshold": values[i % 2]}]},
    }


async def _fill_design(client: Any, example: Any) -> str:
    """start_design with the example's context, then every step once; returns the id."""
    from ml_systemization.steps import STEPS

    started = await _call(
        client, "start_design", {"feature": example.feature, "context": example.context}
    )
    design_id = str(started["design_id"])
    for step in STEPS:
        await _call(client, step.tool, {"design_id": design_id, step.key: example.steps[step.key]})
    return design_id


# --------------------------------------------------------------------------- part 1: step call


async def bench_step(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from mcp import Client

    from ml_systemization.examples import load_example

    example = load_example(EXAMPLE)
    metric, values = _small_change(example)
    profile_out = Path(args.profile).resolve() if args.profile else None
    _progress("step: starting both servers over stdio")
    async with (
        Client(_ours_params(tmp / "step.sqlite3", profile_out=profile_out)) as ours,
        Client(_noop_params()) as bare,
    ):
        design_id = await _fill_design(ours, example)

        async def step_call(i: int) -> None:
            await _call(ours, "build_evaluation", _step_arguments(design_id, metric, values, i))

        async def noop_call(i: int) -> None:
            await _call(bare, "noop", {"key": "bench", "value": i})

        await _interleaved("step warm-up", args.warmups, step_call, noop_call)
        a, b = await _interleaved("step (stdio)", args.calls, step_call, noop_call)
    comparison = Comparison.of(
        "step", Series.of("build_evaluation (stdio)", a), Series.of("noop (stdio)", b)
    )
    result: dict[str, Any] = {
        "comparison": asdict(comparison),
        "change": {"tool": "build_evaluation", "metric": metric, "thresholds": values},
    }
    if profile_out is not None:
        result["profile"] = _profile_summary(profile_out)
    if not args.no_breakdown:
        result["breakdown"] = await step_breakdown(args, tmp)
    return result


async def step_breakdown(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Where the time of a step call goes, measured in-process."""
    runs = min(args.calls, args.breakdown_runs)
    inmemory = await _inmemory_comparison(runs, args.warmups, tmp)
    pieces = _piece_timings(runs, args.warmups, tmp)
    return {"inmemory": inmemory, "pieces": pieces}


async def _inmemory_comparison(runs: int, warmups: int, tmp: Path) -> dict[str, Any]:
    """The same two calls through the SDK's in-memory transport (no subprocess, no pipes)."""
    sys.path.insert(0, str(NOOP_SERVER.parent))
    from mcp import Client

    import bench_noop_server
    from ml_systemization.examples import load_example
    from ml_systemization.server import build_server
    from ml_systemization.settings import Settings

    example = load_example(EXAMPLE)
    metric, values = _small_change(example)
    server = build_server(Settings(db_path=tmp / "inmemory.sqlite3"))
    _progress("breakdown: in-memory transport")
    async with Client(server) as ours, Client(bench_noop_server.server) as bare:
        design_id = await _fill_design(ours, example)

        async def step_call(i: int) -> None:
            await _call(ours, "build_evaluation", _step_arguments(design_id, metric, values, i))

        async def noop_call(i: int) -> None:
            await _call(bare, "noop", {"key": "bench", "value": i})

        await _interleaved("in-memory warm-up", warmups, step_call, noop_call)
        a, b = await _interleaved("in-memory", runs, step_call, noop_call)
    ours_s = Series.of("build_evaluation (in-memory)", a)
    bare_s = Series.of("noop (in-memory)", b)
    return {"ours": asdict(ours_s), "reference": asdict(bare_s)}


STORE_FULL = "store.update, synchronous=FULL (as served)"
STORE_OFF = "store.update, synchronous=OFF"
STORE_UNCACHED = "store.update without its cache (cache_size=0), FULL: the whole-document path"
# The pieces of a cached store.update (a section write), in the order it runs them; the rest
# is SQL and bookkeeping.
STORE_PIECES = (
    "  apply_change (dump the section, merge, validate the section)",
    "  section: model_dump_json + model_validate_json + json.loads",
    "  limits.check_document_fields (walk of the section)",
    "  history.diff of the section + dumps",
    "  assemble the document + its size, model_copy, re-dump check",
)
RULES_MEMO = "rules: findings.step_feedback, memo (the before side reused)"


def _piece_timings(runs: int, warmups: int, tmp: Path) -> dict[str, Any]:
    """Each piece of a step call, timed alone in this process, all pieces once per round.

    The pieces mirror what the build_evaluation tool does (server._apply, store.update and
    server._step_result) on the transition the served store.update of the same round just
    made; they call the package's modules, not the tool, so a piece whose function was renamed
    shows as an error instead of stopping the benchmark.
    """
    import pydantic_core

    from ml_systemization import designcache, findings, history, limits, steps
    from ml_systemization.examples import example_design, load_example
    from ml_systemization.patch import patch_model
    from ml_systemization.settings import Limits, RuleSettings
    from ml_systemization.store import SQLiteStore

    try:
        from ml_systemization.results import StepResult
    except ImportError:  # before the result models moved out of server.py
        from ml_systemization.server import StepResult

    _progress("breakdown: pieces in-process")
    example = load_example(EXAMPLE)
    metric, values = _small_change(example)
    step = steps.STEP_BY_KEY["evaluation"]
    section = designcache.SECTIONS["evaluation"]
    at = designcache.FIELDS.index("evaluation")
    patch_cls = patch_model(step.model)
    rules = RuleSettings()
    lims = Limits()
    memo = findings.FindingsMemo()
    full = SQLiteStore(tmp / "pieces-full.sqlite3")
    off = SQLiteStore(tmp / "pieces-off.sqlite3")
    off._conn.execute("PRAGMA synchronous = OFF")  # type: ignore[union-attr]  # bench only
    uncached = SQLiteStore(tmp / "pieces-uncached.sqlite3", cache_size=0)
    start = example_design(EXAMPLE)
    ids = {
        store: store.create(start, tool="start_design", actor=None, change={}).id
        for store in (full, off, uncached)
    }
    # The transition the latest served update made: designs, its cache entry before, and the
    # new section's JSON text and parsed JSON.
    s: dict[str, Any] = {"old": start, "new": start}

    def arguments(i: int) -> dict[str, Any]:
        return _step_arguments(ids[full], metric, values, i)

    def patch(i: int) -> Any:
        return patch_cls.model_validate(arguments(i)["evaluation"])

    def update(store: SQLiteStore, i: int) -> Any:
        p = patch(i)
        return store.update(
            ids[store],
            lambda d: steps.apply_change(d, "evaluation", p),
            tool="build_evaluation",
            actor=None,
            change={"section": "evaluation", "set": arguments(i)["evaluation"]},
        )

    def served(i: int) -> None:
        record = update(full, i)
        s["old"], s["new"] = s["new"], record.design
        # Untimed: what the store held before this update, and the new section's texts.
        s["entry"] = designcache.entry_for(0, "", s["old"].model_dump_json(), s["old"], within=lims)
        s["part"] = s["new"].evaluation.model_dump_json()
        s["parsed"] = json.loads(s["part"])
        s["parts"] = (*s["entry"].parts[:at], s["part"], *s["entry"].parts[at + 1 :])
        s["bytes"] = len(designcache.assemble(s["parts"]).encode("utf-8"))

    def section_json(i: int) -> None:
        part = s["new"].evaluation.model_dump_json()
        section.model_validate_json(part)
        json.loads(part)

    def assemble(i: int) -> None:
        doc = designcache.assemble(s["parts"])
        len(doc.encode("utf-8"))
        s["old"].model_copy(update={"evaluation": s["new"].evaluation})
        s["new"].evaluation.model_dump_json()

    def result_out(i: int) -> None:
        result = StepResult(
            design_id=ids[full],
            revision=i + 10,
            step="evaluation",
            status="complete",
            missing=[],
            findings=[],
            resolved=[],
            not_evaluable=[],
            next_step="review_design",
        )
        # What the SDK does with a returned model: validate, dump, and a JSON text block.
        validated = StepResult.model_validate(result.model_dump())
        validated.model_dump(mode="json", by_alias=True)
        pydantic_core.to_json(result, fallback=str, indent=2)

    def request_checks(i: int) -> None:
        limits.check_arguments(arguments(i), lims)
        patch(i)

    disk = (tmp / "fsync-probe").open("ab")

    def disk_sync(i: int) -> None:
        disk.write(b"x" * 4096)
        disk.flush()
        os.fdatasync(disk.fileno()) if hasattr(os, "fdatasync") else os.fsync(disk.fileno())

    apply_, dumps, check, diff, doc = STORE_PIECES
    pieces: dict[str, Callable[[int], Any]] = {
        STORE_FULL: served,
        STORE_OFF: lambda i: update(off, i),
        STORE_UNCACHED: lambda i: update(uncached, i),
        apply_: lambda i: steps.apply_change(s["old"], "evaluation", patch(i)),
        dumps: section_json,
        check: lambda i: limits.check_document_fields(
            [("evaluation", s["parsed"])], s["bytes"], lims
        ),
        diff: lambda i: history.dumps(
            history.diff(s["entry"].parsed[at], s["parsed"], at=("evaluation",))
        ),
        doc: assemble,
        "disk alone: write 4 KB + fdatasync": disk_sync,
        RULES_MEMO: lambda i: findings.step_feedback(
            s["old"], s["new"], rules, touching="evaluation", settings_before=rules, memo=memo
        ),
        "rules: findings.step_feedback without the memo (before and after)": lambda i: (
            findings.step_feedback(
                s["old"], s["new"], rules, touching="evaluation", settings_before=rules
            )
        ),
        "step_status + next_step": lambda i: (
            steps.step_status(s["new"], step),
            steps.next_step(s["new"]),
        ),
        "result: StepResult + SDK-style dump": result_out,
        "request: check_arguments + patch validation": request_checks,
    }
    samples: dict[str, list[float]] = {name: [] for name in pieces}
    errors: dict[str, str] = {}
    for i in range(warmups + runs):
        for name, fn in pieces.items():
            if name in errors:
                continue
            try:
                with _timer() as ms:
                    fn(i)
            except Exception as exc:  # report the piece as failed, go on with the others
                errors[name] = f"{type(exc).__name__}: {exc}"
                continue
            if i >= warmups:
                samples[name].append(ms())
    for store in (full, off, uncached):
        store.close()
    disk.close()
    medians = {name: statistics.median(v) for name, v in samples.items() if v}
    derived = {}
    if STORE_FULL in medians and STORE_OFF in medians:
        derived["fsync wait, incl. wake-up (FULL - OFF)"] = medians[STORE_FULL] - medians[STORE_OFF]
    if STORE_OFF in medians and all(p in medians for p in STORE_PIECES):
        derived["SQL and bookkeeping (OFF - pieces)"] = medians[STORE_OFF] - sum(
            medians[p] for p in STORE_PIECES
        )
    return {
        "runs": runs,
        "doc_bytes": len(s["new"].model_dump_json().encode("utf-8")),
        "series": [asdict(Series.of(name, v)) for name, v in samples.items() if v],
        "derived_ms": derived,
        "errors": errors,
    }


# --------------------------------------------------------------------------- profiling


def _profiled_serve(argv: list[str]) -> int:
    """Run ``ml-systemization <argv>`` under cProfile, every thread, and dump to a file.

    ``bench.py --profiled-serve FILE -- serve --db X``: started by ``--profile``; the SDK runs
    sync tools in worker threads, which cProfile does not follow by itself, so each new thread
    gets its own profiler and all are merged when the server exits.
    """
    import cProfile
    import pstats
    import threading

    out, rest = argv[0], argv[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    from ml_systemization import cli, server  # noqa: F401 - imports are start-up, not calls

    profiles: list[cProfile.Profile] = []

    def start_thread_profile(*_: object) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()  # replaces this hook for the current thread

    threading.setprofile(start_thread_profile)
    main_profile = cProfile.Profile()
    profiles.append(main_profile)
    main_profile.enable()
    try:
        return cli.main(rest)
    finally:
        main_profile.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(out)


def _profile_summary(path: Path, top: int = 25) -> dict[str, Any]:
    """The functions of the package and of the SDK with the most cumulative time."""
    import io
    import pstats

    if not path.exists():
        return {"file": str(path), "error": "the server wrote no profile"}
    stream = io.StringIO()
    stats = pstats.Stats(str(path), stream=stream)
    stats.sort_stats("cumulative").print_stats(r"ml_systemization|pydantic|sqlite3", top)
    return {"file": str(path), "top_cumulative": stream.getvalue()}


# --------------------------------------------------------------------------- part 2: start-up


async def _cold_start(params: Any) -> tuple[float, int, int]:
    """ms from spawn to an answered tools/list; number of tools and size of the listing."""
    from mcp import Client

    start = time.perf_counter_ns()
    async with Client(params) as client:
        listing = await client.list_tools()
        elapsed = (time.perf_counter_ns() - start) / 1e6
    return elapsed, len(listing.tools), len(listing.model_dump_json(by_alias=True))


async def bench_startup(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    db = tmp / "startup.sqlite3"
    ours, bare = _ours_params(db), _noop_params()
    _progress("startup: one untimed start of each (creates the database, warms the OS cache)")
    _, our_tools, our_bytes = await _cold_start(ours)
    _, bare_tools, bare_bytes = await _cold_start(bare)

    async def ours_run(i: int) -> None:
        samples_a.append((await _cold_start(ours))[0])

    async def bare_run(i: int) -> None:
        samples_b.append((await _cold_start(bare))[0])

    samples_a: list[float] = []
    samples_b: list[float] = []
    await _interleaved("startup", args.starts, ours_run, bare_run)
    comparison = Comparison.of(
        "startup",
        Series.of("ml-systemization serve", samples_a),
        Series.of("bench_noop_server.py", samples_b),
    )
    _progress("startup: phases in fresh processes")
    phases = _startup_phases(args.phase_runs, tmp)
    _progress("startup: -X importtime")
    imports = _import_breakdown(args.importtime_runs, tmp)
    return {
        "comparison": asdict(comparison),
        "tools_list": {
            "ours": {"tools": our_tools, "bytes": our_bytes},
            "reference": {"tools": bare_tools, "bytes": bare_bytes},
        },
        "phases": phases,
        "imports": imports,
    }


_PHASES_OURS = """
import json, sys, time
t0 = time.perf_counter()
import mcp.server
t1 = time.perf_counter()
import ml_systemization.cli, ml_systemization.server
from pathlib import Path
from ml_systemization.settings import Settings
t2 = time.perf_counter()
server = ml_systemization.server.build_server(Settings(db_path=Path(sys.argv[1])))
t3 = time.perf_counter()
import anyio
from mcp import Client
async def listing():
    async with Client(server) as client:
        t = time.perf_counter()
        await client.list_tools()
        t_listed = time.perf_counter()
        await client.call_tool("start_design", {"feature": "first"})
        t_first = time.perf_counter()
        await client.call_tool("start_design", {"feature": "second"})
        return t, t_listed, t_first, time.perf_counter()
t4, t5, t6, t7 = anyio.run(listing)
print(json.dumps({"import mcp.server": t1 - t0, "import the package (beyond mcp)": t2 - t1,
                  "build the server": t3 - t2,
                  "connect in-memory (lifespan)": t4 - t3,
                  "tools/list in-memory": t5 - t4,
                  "first tool call (start_design: registers the tools, opens the store)": t6 - t5,
                  "second tool call (start_design)": t7 - t6}))
"""

_PHASES_BARE = """
import json, sys, time
t0 = time.perf_counter()
import mcp.server
t1 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import bench_noop_server
t2 = time.perf_counter()
import anyio
from mcp import Client
async def listing():
    async with Client(bench_noop_server.server) as client:
        t = time.perf_counter()
        await client.list_tools()
        return t, time.perf_counter()
t4, t5 = anyio.run(listing)
print(json.dumps({"import mcp.server": t1 - t0, "import and build the server": t2 - t1,
                  "connect in-memory (no lifespan)": t4 - t2, "tools/list in-memory": t5 - t4}))
"""


def _startup_phases(runs: int, tmp: Path) -> dict[str, Any]:
    """Start-up phases timed inside fresh interpreters, alternating the two servers."""
    ours: dict[str, list[float]] = {}
    bare: dict[str, list[float]] = {}
    db = tmp / "phases.sqlite3"
    for _ in range(runs):
        for script, arg, out in (
            (_PHASES_OURS, str(db), ours),
            (_PHASES_BARE, str(NOOP_SERVER.parent), bare),
        ):
            done = subprocess.run(
                [sys.executable, "-c", script, arg],
                capture_output=True,
                text=True,
                check=True,
                cwd=tmp,
            )
            for name, seconds in json.loads(done.stdout).items():
                out.setdefault(name, []).append(seconds * 1000)
    return {
        "runs": runs,
        "ours": {name: statistics.median(v) for name, v in ours.items()},
        "reference": {name: statistics.median(v) for name, v in bare.items()},
    }


def _importtime(command: list[str], tmp: Path) -> dict[str, tuple[int, int, int]]:
    """module -> (self us, cumulative us, depth) from one ``-X importtime`` run."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp,
        timeout=120,
    )
    modules: dict[str, tuple[int, int, int]] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        modules[name.strip()] = (int(self_us), int(cumulative_us), depth)
    if not modules:
        raise BenchError(f"-X importtime printed nothing for {command}: {done.stderr[-500:]}")
    return modules


def _import_breakdown(runs: int, tmp: Path) -> dict[str, Any]:
    """What our server imports beyond the bare one, from ``-X importtime`` (median of runs)."""
    db = tmp / "importtime.sqlite3"
    ours_runs = []
    bare_runs = []
    for _ in range(runs):
        ours_runs.append(_importtime(["-m", "ml_systemization", "serve", "--db", str(db)], tmp))
        bare_runs.append(_importtime([str(NOOP_SERVER)], tmp))

    def medians(all_runs: list[dict[str, tuple[int, int, int]]]) -> dict[str, dict[str, float]]:
        names = set().union(*all_runs)
        out = {}
        for name in names:
            seen = [r[name] for r in all_runs if name in r]
            out[name] = {
                "self_ms": statistics.median(s for s, _, _ in seen) / 1000,
                "cumulative_ms": statistics.median(c for _, c, _ in seen) / 1000,
                "depth": seen[0][2],
            }
        return out

    ours = medians(ours_runs)
    bare = medians(bare_runs)
    extra = {name: v for name, v in ours.items() if name not in bare}
    by_package: dict[str, float] = {}
    for name, v in extra.items():
        # Our own package by module (its rule modules together), anything else by package.
        parts = name.split(".")
        top = ".".join(parts[:2]) if parts[0] == "ml_systemization" else parts[0]
        by_package[top] = by_package.get(top, 0.0) + v["self_ms"]
    top_level = sorted(
        ((name, v["cumulative_ms"]) for name, v in ours.items() if v["depth"] <= 1),
        key=lambda kv: -kv[1],
    )
    return {
        "runs": runs,
        "ours_total_ms": sum(v["self_ms"] for v in ours.values()),
        "reference_total_ms": sum(v["self_ms"] for v in bare.values()),
        "ours_modules": len(ours),
        "reference_modules": len(bare),
        "extra_total_ms": sum(v["self_ms"] for v in extra.values()),
        "extra_modules": len(extra),
        "extra_by_package_ms": dict(sorted(by_package.items(), key=lambda kv: -kv[1])),
        "extra_top_modules_ms": dict(
            sorted(((n, v["self_ms"]) for n, v in extra.items()), key=lambda kv: -kv[1])[:15]
        ),
        "ours_top_level_cumulative_ms": dict(top_level[:15]),
    }


# --------------------------------------------------------------------------- part 3: scale


def _user_version() -> int:
    """The schema version (PRAGMA user_version) a freshly migrated store has."""
    from ml_systemization.store import SQLiteStore

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "probe.sqlite3"
        SQLiteStore(path).close()
        with contextlib.closing(sqlite3.connect(path)) as conn:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


def cached_db_path(args: argparse.Namespace) -> Path:
    from ml_systemization.model import SCHEMA_VERSION

    name = (
        f"designs-uv{_user_version()}-schema{SCHEMA_VERSION}-recipe{SEED_RECIPE}"
        f"-{args.designs}x{args.revisions}.sqlite3"
    )
    return Path(args.cache_dir) / name


def seed_database(path: Path, designs: int, revisions: int) -> float:
    """Fill a new database through the public store API; returns the seconds it took.

    Design i follows example i % 2: start_design with its context (revision 1), then each
    step's section in procedure order (revisions 2-9), then small changes alternating one
    metric's threshold up to ``revisions``. Written to a temporary file renamed at the end, so
    an interrupted seeding leaves no cache behind.
    """
    from ml_systemization.examples import EXAMPLES, load_example
    from ml_systemization.model import Context, Design
    from ml_systemization.patch import patch_model
    from ml_systemization.steps import STEP_BY_KEY, STEPS, apply_change
    from ml_systemization.store import SQLiteStore

    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)

    recipes = []
    for name in EXAMPLES:
        example = load_example(name)
        context_patch = patch_model(Context)
        sections = [
            (step, patch_model(step.model).model_validate(example.steps[step.key]))
            for step in STEPS
            if step.key in example.steps
        ]
        metric, values = _small_change(example)
        evaluation = patch_model(STEP_BY_KEY["evaluation"].model)
        small = [
            evaluation.model_validate({"metrics": [{"id": metric, "threshold": v}]}) for v in values
        ]
        recipes.append((example, context_patch, sections, small))

    started = time.perf_counter()
    total = designs * revisions
    done = 0
    last_report = started
    with SQLiteStore(partial) as store:
        # Seeding only: a power cut may lose this file, which is a cache. The served store
        # keeps synchronous=FULL.
        store._conn.execute("PRAGMA synchronous = OFF")  # type: ignore[union-attr]
        for i in range(designs):
            example, context_patch, sections, small = recipes[i % len(recipes)]
            feature = f"{example.feature} #{i}"
            context = context_patch.model_validate({**example.context, "feature": feature})
            design = apply_change(Design(), "context", context)
            record = store.create(
                design, tool="start_design", actor="bench-seed", change={"feature": feature}
            )
            changes = [(step.key, step.tool, p) for step, p in sections]
            while len(changes) < revisions - 1:
                changes.append(("evaluation", "build_evaluation", small[len(changes) % 2]))
            for key, tool, p in changes[: revisions - 1]:
                store.update(
                    record.id,
                    lambda d, key=key, p=p: apply_change(d, key, p),
                    tool=tool,
                    actor="bench-seed",
                    change={"section": key, "set": p.model_dump(mode="json", exclude_unset=True)},
                )
            done += revisions
            now = time.perf_counter()
            if now - last_report > 15 or i + 1 == designs:
                last_report = now
                rate = done / (now - started)
                eta = (total - done) / rate
                _progress(
                    f"seed: {i + 1}/{designs} designs, {rate:.0f} revisions/s, "
                    f"{eta / 60:.1f} min left"
                )
    os.replace(partial, path)
    return time.perf_counter() - started


async def bench_scale(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from mcp import Client

    from ml_systemization.examples import load_example

    cached = cached_db_path(args)
    seeded_seconds = None
    if not cached.exists():
        _progress(
            f"scale: seeding {args.designs} designs x {args.revisions} revisions into {cached} "
            "(once; the default size takes about 40 minutes)"
        )
        seeded_seconds = seed_database(cached, args.designs, args.revisions)
    big, empty = tmp / "big.sqlite3", tmp / "empty.sqlite3"
    with _timer() as copy_ms:
        shutil.copyfile(cached, big)
        # Flush the copy now: gigabytes of dirty pages written back during the timed calls
        # would slow every fsync of both servers.
        with big.open("rb+") as copied:
            os.fsync(copied.fileno())
    _progress(f"scale: copied the cached database ({cached.stat().st_size / 1e6:.0f} MB)")
    example = load_example(EXAMPLE)
    metric, values = _small_change(example)
    async with Client(_ours_params(big)) as on_big, Client(_ours_params(empty)) as on_empty:
        big_id = await _fill_design(on_big, example)
        empty_id = await _fill_design(on_empty, example)

        async def big_call(i: int) -> None:
            await _call(on_big, "build_evaluation", _step_arguments(big_id, metric, values, i))

        async def empty_call(i: int) -> None:
            await _call(on_empty, "build_evaluation", _step_arguments(empty_id, metric, values, i))

        await _interleaved("scale warm-up", args.warmups, big_call, empty_call)
        a, b = await _interleaved("scale (stdio)", args.calls, big_call, empty_call)
    comparison = Comparison.of(
        "scale",
        Series.of(f"build_evaluation, {args.designs} designs x {args.revisions} revisions", a),
        Series.of("build_evaluation, empty store", b),
    )
    return {
        "comparison": asdict(comparison),
        "database": {
            "cache": str(cached),
            "designs": args.designs,
            "revisions": args.revisions,
            "bytes": cached.stat().st_size,
            "copy_ms": copy_ms(),
            "seeded_seconds": seeded_seconds,
        },
    }


# --------------------------------------------------------------------------- part 4: render


def bench_render(args: argparse.Namespace) -> dict[str, Any]:
    from ml_systemization.artifacts import render_design
    from ml_systemization.examples import EXAMPLES, example_design
    from ml_systemization.findings import registry
    from ml_systemization.quality import review
    from ml_systemization.render import Renderer
    from ml_systemization.settings import RuleSettings

    rules = RuleSettings()
    renderer = Renderer()
    registry()
    designs = {name: example_design(name) for name in EXAMPLES}

    def ops(design: Any) -> dict[str, Callable[[], Any]]:
        def both() -> None:
            review(design, rules)
            render_design(renderer, design, design_id="bench", revision=1, rules=rules)

        return {
            "review": lambda: review(design, rules),
            "render (7 artifacts)": lambda: render_design(
                renderer, design, design_id="bench", revision=1, rules=rules
            ),
            "review + render": both,
        }

    by_design = {name: ops(d) for name, d in designs.items()}
    first: dict[tuple[str, str], float] = {}
    for name, by_op in by_design.items():
        for op, fn in by_op.items():
            with _timer() as ms:
                fn()
            first[name, op] = ms()
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in first}
    _progress(f"render: {args.render_runs} rounds")
    for i in range(args.warmups + args.render_runs):
        for name, by_op in by_design.items():
            for op, fn in by_op.items():
                with _timer() as ms:
                    fn()
                if i >= args.warmups:
                    samples[name, op].append(ms())
    return {
        "runs": args.render_runs,
        "series": [
            {"design": name, **asdict(Series.of(op, s, first_ms=first[name, op]))}
            for (name, op), s in samples.items()
        ],
    }


# --------------------------------------------------------------------------- report


def _git_state() -> str:
    """The commit measured, and whether the work tree had uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{commit or 'unknown'}{' + uncommitted changes in src/' if dirty else ''}"


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("mcp", "pydantic", "jinja2", "anyio"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return {
        "git": _git_state(),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "sqlite": sqlite3.sqlite_version,
        "loadavg_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def _row(series: dict[str, Any]) -> str:
    return (
        f"{series['median_ms']:.2f} | {series['p90_ms']:.2f} | {series['p99_ms']:.2f}"
        if series
        else "- | - | -"
    )


def report(payload: dict[str, Any]) -> str:
    m = payload["machine"]
    lines = [
        f"Machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, "
        f"{', '.join(f'{k} {v}' for k, v in m['packages'].items())}, SQLite {m['sqlite']}; "
        f"load average {m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end.",
        f"Command: {payload['command']}",
        f"Code: {m['git']}",
        "",
    ]
    parts = payload["parts"]
    comparisons = [parts[p]["comparison"] for p in ("step", "startup", "scale") if p in parts]
    if comparisons:
        lines += [
            "| part | ours | reference | runs | ours median / p99 ms "
            "| ref median / p99 ms | ratio median (p99) | goal | met |",
            "|---|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for c in comparisons:
            o, r = c["ours"], c["reference"]
            lines.append(
                f"| {c['part']} | {o['name']} | {r['name']} | {o['runs']} "
                f"| {o['median_ms']:.2f} / {o['p99_ms']:.2f} "
                f"| {r['median_ms']:.2f} / {r['p99_ms']:.2f} "
                f"| {c['ratio_median']:.2f}x ({c['ratio_p99']:.2f}x) "
                f"| <= {c['goal']:.2f}x | {'met' if c['met'] else 'NOT MET'} |"
            )
        lines.append("")
    if "step" in parts:
        lines += _report_step(parts["step"])
    if "startup" in parts:
        lines += _report_startup(parts["startup"])
    if "scale" in parts:
        db = parts["scale"]["database"]
        lines += [
            f"Scale: {db['designs']} designs x {db['revisions']} revisions, "
            f"{db['bytes'] / 1e6:.0f} MB ({db['cache']}); "
            f"copy and fsync {db['copy_ms'] / 1000:.1f} s"
            + (
                f"; seeded in this run in {db['seeded_seconds'] / 60:.1f} min"
                if db["seeded_seconds"]
                else ""
            )
            + ".",
            "",
        ]
    if "seed" in parts:
        seed = parts["seed"]
        took = seed["seeded_seconds"]
        lines += [
            f"Seeded database: {seed['cache']}"
            + (f", seeded in {took / 60:.1f} min." if took else " (cached already)."),
            "",
        ]
    if "render" in parts:
        lines += [
            f"In-process review and render ({parts['render']['runs']} runs):",
            "",
            "| design | operation | first ms | median ms | p90 ms | p99 ms |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for s in parts["render"]["series"]:
            lines.append(f"| {s['design']} | {s['name']} | {s['first_ms']:.1f} | {_row(s)} |")
        lines.append("")
    return "\n".join(lines)


def _report_step(step: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    breakdown = step.get("breakdown")
    if breakdown:
        inmem = breakdown["inmemory"]
        lines += [
            "Step call, in-process breakdown (ms):",
            "",
            "| what | median | p90 | p99 |",
            "|---|---:|---:|---:|",
            f"| {inmem['ours']['name']} | {_row(inmem['ours'])} |",
            f"| {inmem['reference']['name']} | {_row(inmem['reference'])} |",
        ]
        for s in breakdown["pieces"]["series"]:
            lines.append(f"| {s['name']} | {_row(s)} |")
        for name, value in breakdown["pieces"].get("derived_ms", {}).items():
            lines.append(f"|   {name} | {value:.2f} | | |")
        for name, error in breakdown["pieces"]["errors"].items():
            lines.append(f"| {name} | failed: {error} | | |")
        lines += ["", f"Stored design: {breakdown['pieces']['doc_bytes']} bytes of JSON.", ""]
    if "profile" in step:
        lines += [
            f"Server profile: {step['profile']['file']}",
            "",
            "```",
            step["profile"].get("top_cumulative", step["profile"].get("error", "")).strip(),
            "```",
            "",
        ]
    return lines


def _report_startup(startup: dict[str, Any]) -> list[str]:
    tl = startup["tools_list"]
    ph = startup["phases"]
    im = startup["imports"]
    lines = [
        f"tools/list: ours {tl['ours']['tools']} tools, {tl['ours']['bytes']} bytes; "
        f"reference {tl['reference']['tools']} tool, {tl['reference']['bytes']} bytes.",
        "",
        f"Start-up phases in fresh processes (median of {ph['runs']}, ms):",
        "",
        "| phase | ours | reference |",
        "|---|---:|---:|",
    ]
    for name, value in ph["ours"].items():
        ref = ph["reference"].get(name)
        lines.append(f"| {name} | {value:.1f} | {'' if ref is None else f'{ref:.1f}'} |")
    for name, value in ph["reference"].items():
        if name not in ph["ours"]:
            lines.append(f"| {name} | | {value:.1f} |")
    lines += [
        "",
        f"-X importtime (median of {im['runs']} runs, self times summed): ours "
        f"{im['ours_total_ms']:.0f} ms in {im['ours_modules']} modules, reference "
        f"{im['reference_total_ms']:.0f} ms in {im['reference_modules']}; the "
        f"{im['extra_modules']} modules only ours imports: {im['extra_total_ms']:.0f} ms.",
        "",
        "| package or module (imported only by ours) | self ms |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {v:.1f} |" for k, v in im["extra_by_package_ms"].items() if v >= 0.5]
    lines += ["", "| module (imported only by ours) | self ms |", "|---|---:|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in im["extra_top_modules_ms"].items()]
    lines += ["", "| top-level import in ours | cumulative ms |", "|---|---:|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in im["ours_top_level_cumulative_ms"].items()]
    lines.append("")
    return lines


# --------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Parts: step, startup, scale, render (default: all four); seed only builds the "
        "cached big database of part 3. Goals: step <= 1.25x, startup <= 1.15x, scale <= 1.1x.",
    )
    parser.add_argument(
        "parts",
        nargs="*",
        metavar="PART",
        help="step, startup, scale, render or seed (default: step startup scale render)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument(
        "-n", "--calls", type=int, default=300, help="timed calls per side (default 300)"
    )
    parser.add_argument(
        "-k", "--starts", type=int, default=15, help="cold starts per side (default 15)"
    )
    parser.add_argument(
        "-w", "--warmups", type=int, default=20, help="untimed calls first (default 20)"
    )
    parser.add_argument(
        "--designs", type=int, default=10_000, help="designs in the big store (default 10000)"
    )
    parser.add_argument("--revisions", type=int, default=50, help="revisions of each (default 50)")
    parser.add_argument(
        "--cache-dir",
        default=str(DEFAULT_CACHE),
        help="where the seeded database is cached (default .ci-cache/bench)",
    )
    parser.add_argument(
        "--render-runs", type=int, default=200, help="runs of the render part (default 200)"
    )
    parser.add_argument(
        "--breakdown-runs",
        type=int,
        default=200,
        help="runs of each in-process breakdown piece (default 200, at most --calls)",
    )
    parser.add_argument("--no-breakdown", action="store_true", help="skip the step breakdown")
    parser.add_argument(
        "--phase-runs", type=int, default=5, help="fresh processes per start-up phase (default 5)"
    )
    parser.add_argument(
        "--importtime-runs", type=int, default=3, help="-X importtime runs (default 3)"
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="step part: run our server under cProfile (all threads), write pstats to FILE",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == PROFILE_FLAG:
        return _profiled_serve(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = [p for p in args.parts if p not in (*PARTS, "seed")]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}, seed")
    for name in ("calls", "starts", "designs", "revisions", "render_runs", "breakdown_runs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmups < 0 or args.phase_runs < 1 or args.importtime_runs < 1:
        parser.error("--warmups must be >= 0; --phase-runs and --importtime-runs >= 1")
    parts = list(dict.fromkeys(args.parts or PARTS))
    payload: dict[str, Any] = {
        "machine": machine(),
        "command": "python tools/bench.py " + " ".join(argv) if argv else "python tools/bench.py",
        "parts": {},
    }
    import anyio

    with tempfile.TemporaryDirectory(prefix="ml-systemization-bench-") as folder:
        tmp = Path(folder)
        for part in parts:
            _progress(f"--- {part}")
            if part == "seed":
                path = cached_db_path(args)
                if path.exists():
                    _progress(f"seed: {path} exists already")
                    seconds = None
                else:
                    seconds = seed_database(path, args.designs, args.revisions)
                payload["parts"]["seed"] = {"cache": str(path), "seeded_seconds": seconds}
            elif part == "step":
                payload["parts"]["step"] = anyio.run(bench_step, args, tmp)
            elif part == "startup":
                payload["parts"]["startup"] = anyio.run(bench_startup, args, tmp)
            elif part == "scale":
                payload["parts"]["scale"] = anyio.run(bench_scale, args, tmp)
            elif part == "render":
                payload["parts"]["render"] = bench_render(args)
    payload["machine"]["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    missed = [
        name
        for name, part in payload["parts"].items()
        if "comparison" in part and not part["comparison"]["met"]
    ]
    payload["goals_missed"] = missed
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(report(payload))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
