"""Adversarial checks of the step call's fast path (store cache, section writes, findings memo).

Each test pins one way the fast path could store or report something other than the
whole-document path: designs handed out by the store and modified later, a cache entry used
after the row changed under it, writers in other threads, stores or processes, awkward JSON
values, and the exactness of the pieces it assembles (the document text, the diff, the limit
checks).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from ml_systemization import designcache, history
from ml_systemization.artifacts import render_design
from ml_systemization.bundle import make_bundle
from ml_systemization.computed import compute_numbers
from ml_systemization.errors import LimitExceededError
from ml_systemization.examples import example_design, load_example
from ml_systemization.findings import FindingsMemo, evaluate
from ml_systemization.model import Design
from ml_systemization.patch import patch_model
from ml_systemization.quality import review
from ml_systemization.render import Renderer
from ml_systemization.server import build_server
from ml_systemization.settings import Limits, RuleSettings, Settings
from ml_systemization.steps import STEP_BY_KEY, STEPS, apply_change, next_step, step_status
from ml_systemization.store import SQLiteStore
from ml_systemization.views import build_view
from test_step_fast_path import raw_rows, section_class, set_problem, set_threshold

# --------------------------------------------------------------------------- helpers


def cache_is_consistent(store: SQLiteStore) -> None:
    """Every entry still describes what it was made from: its design dumps to its stored
    text, its field texts assemble to it, and its parsed JSON is that text parsed. A design
    modified in place after the store handed it out breaks the first."""
    for design_id, entry in store._cache._entries.items():
        assert entry.design.model_dump_json() == entry.doc, design_id
        assert designcache.assemble(entry.parts) == entry.doc, design_id
        assert tuple(json.loads(entry.doc)[f] for f in designcache.FIELDS) == entry.parsed


def stored_design(path: Path, design_id: str) -> Design:
    with SQLiteStore(path, cache_size=0) as fresh:
        return fresh.get(design_id, include_deleted=True).design


def history_rebuilds_every_revision(path: Path, design_id: str) -> None:
    """Each revision rebuilt from the diffs is the document stored at that revision (the diff
    chain agrees with the documents), checked against the checkpoints and the current row."""
    with SQLiteStore(path, cache_size=0) as fresh:
        current = fresh.get(design_id)
        assert fresh.design_at(design_id, current.revision) == current.design
        conn = sqlite3.connect(path)
        try:
            checkpoints = conn.execute(
                "SELECT revision, checkpoint FROM revisions WHERE design_id = ? "
                "AND checkpoint IS NOT NULL",
                (design_id,),
            ).fetchall()
            (doc,) = conn.execute("SELECT doc FROM designs WHERE id = ?", (design_id,)).fetchone()
        finally:
            conn.close()
        for number, checkpoint in checkpoints:
            assert fresh.design_at(design_id, number) == Design.model_validate_json(checkpoint)
        # Rebuilding the current revision from the nearest checkpoint before it, diff by diff:
        (base, checkpoint) = max(
            (c for c in checkpoints if c[0] < current.revision),
            default=(None, None),
        )
        if base is not None:
            rebuilt = json.loads(checkpoint)
            conn = sqlite3.connect(path)
            try:
                for (diff,) in conn.execute(
                    "SELECT diff FROM revisions WHERE design_id = ? AND revision > ? "
                    "ORDER BY revision",
                    (design_id, base),
                ):
                    rebuilt = history.apply_in_place(rebuilt, history.loads(diff))
            finally:
                conn.close()
            assert rebuilt == json.loads(doc)


@pytest.fixture
def opened_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[SQLiteStore]]:
    """The stores the code under test opens (the server's included), in order."""
    stores: list[SQLiteStore] = []
    init = SQLiteStore.__init__

    def recording(self: SQLiteStore, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        stores.append(self)

    monkeypatch.setattr(SQLiteStore, "__init__", recording)
    yield stores


# ------------------------------------------------------------------------ nobody modifies a design


def test_package_functions_given_a_design_do_not_modify_it(tmp_path: Path) -> None:
    """The cache hands the same Design object to every caller: every function of the package
    that takes a design (the ones the tools call) must leave it, and its lists, unchanged."""
    renderer = Renderer()
    for name in ("support_assistant", "fraud_scorer"):
        design = example_design(name)
        design = design.model_copy(
            update={"rule_settings": {"alpha": 0.01}},
        )
        before = design.model_dump_json()
        lists = {
            key: [id(v) for v in getattr(design, key).__dict__.values()]
            for key in designcache.SECTIONS
        }
        rules = RuleSettings(alpha=0.01)
        evaluate(design, rules)
        review(design, rules)
        compute_numbers(design, rules)
        render_design(renderer, design, design_id="d-1", revision=3, rules=rules)
        make_bundle(design, design_id="d-1", revision=3, artifacts={})
        for view in ("observability", "orchestration"):
            build_view(view, design, design_id="d-1", revision=3).model_dump(mode="json")
        for step in STEPS:
            step_status(design, step)
        next_step(design)
        for key in ("context", *(s.key for s in STEPS)):
            patch = patch_model(section_class(key)).model_validate({})
            apply_change(design, key, patch)  # type: ignore[arg-type]
        assert design.model_dump_json() == before
        assert lists == {
            key: [id(v) for v in getattr(design, key).__dict__.values()]
            for key in designcache.SECTIONS
        }


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        return {"error": text}
    assert result.structured_content is not None
    return result.structured_content


_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")


def normalized(value: Any, design_id: str) -> Any:
    """A result without what differs between two servers: the design id and the times."""
    if isinstance(value, dict):
        return {
            k: normalized(v, design_id)
            for k, v in value.items()
            if k not in ("created_at", "updated_at", "deleted_at", "at", "files")
        }
    if isinstance(value, list):
        return [normalized(v, design_id) for v in value]
    if isinstance(value, str):
        return _TIME.sub("<time>", value.replace(design_id, "<id>"))
    return value


async def a_session(client: Client, check: Any) -> list[Any]:
    """Every kind of tool call, interleaved with step calls (the cached path), on one design;
    ``check(design_id)`` runs after each call. Returns the normalized results."""
    example = load_example("support_assistant")
    started = await call(client, "start_design", {"feature": example.feature})
    design_id = started["design_id"]
    results: list[Any] = [started]

    async def do(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await call(client, tool, {"design_id": design_id, **arguments})
        results.append(normalized(result, design_id))
        await check(design_id)
        return result

    await do("update_context", {"context": example.context})
    for step in STEPS:
        await do(step.tool, {step.key: example.steps[step.key]})
    metric = example.steps["evaluation"]["metrics"][0]["id"]
    for threshold in (0.5, 0.55, 0.6):
        await do(
            "build_evaluation",
            {"evaluation": {"metrics": [{"id": metric, "threshold": threshold}]}},
        )
    await do("review_design", {})
    await do("render_artifacts", {})
    await do("get_design_view", {"view": "observability"})
    await do("get_design_view", {"view": "orchestration"})
    exported = await do("export_design", {"revision": 4})
    for uri in (f"design://{design_id}", f"design://{design_id}/artifacts/one_pager"):
        contents = (await client.read_resource(uri)).contents[0]
        results.append(normalized(getattr(contents, "text", ""), design_id))
        await check(design_id)
    await do(
        "configure_review",
        {"waive": [{"rule_id": "ROLL-006", "reason": "accepted for the pilot"}],
         "settings": {"alpha": 0.01}},
    )  # fmt: skip
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 0.7}]}})
    await do("design_architecture", {"architecture": {"slo": {"p95_ms": 1234}}})
    current = (await do("get_design", {}))["revision"]
    await do("revert_design", {"to_revision": 5, "expected_revision": current})
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 0.71}]}})
    await do("delete_design", {})
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 0.72}]}})
    await do("restore_design", {})
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 0.73}]}})
    current = (await do("get_design", {}))["revision"]
    bundle = {k: v for k, v in exported.items() if k != "files"}
    await do("import_design", {"bundle": bundle, "expected_revision": current})
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 0.74}]}})
    await do("update_context", {"remove": [f"guardrails/{example.context['guardrails'][0]['id']}"]})
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 7}]}})
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 0.75}]},
                                  "expected_revision": 2})  # fmt: skip
    await do("build_evaluation", {"evaluation": {"failure_taxonomy": ["x" * 30_000]}})
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 0.76}]}})
    await do("configure_review", {"unwaive": ["ROLL-006"], "settings": {"alpha": None}})
    await do("plan_rollout", {"rollout": {"stages": []}})
    await do("build_evaluation", {"evaluation": {"metrics": [{"id": metric, "threshold": 0.77}]}})
    await do("diff_design", {"from_revision": 1})
    await do("design_history", {"limit": 100})
    return results


@pytest.mark.anyio
async def test_no_tool_modifies_a_design_the_store_cached(
    tmp_path: Path, opened_stores: list[SQLiteStore]
) -> None:
    """After every call of a session using every tool, the server's cached designs still dump
    to the text they were stored with, and what the server reads equals the database."""
    settings = Settings(db_path=tmp_path / "d.sqlite3")

    async with Client(build_server(settings)) as client:

        async def check(design_id: str) -> None:
            server_store = opened_stores[0]
            cache_is_consistent(server_store)
            served = await call(client, "get_design", {"design_id": design_id})
            if "error" not in served:  # deleted
                assert Design.model_validate(served["design"]) == stored_design(
                    settings.db_path, design_id
                )
            cache_is_consistent(server_store)

        await a_session(client, check)
        server_store = opened_stores[0]
        assert server_store._cache.hits > 10


@pytest.mark.anyio
async def test_a_server_with_cache_and_memo_answers_as_one_without_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every result of the session (step results with findings and resolved rules, reviews,
    renders, views, exports, diffs, errors) and every stored row are the same."""

    async def nothing(_: str) -> None:
        return None

    fast_settings = Settings(db_path=tmp_path / "fast.sqlite3")
    async with Client(build_server(fast_settings)) as client:
        fast = await a_session(client, nothing)

    init = SQLiteStore.__init__

    def uncached(self: SQLiteStore, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **{**kwargs, "cache_size": 0})

    monkeypatch.setattr(SQLiteStore, "__init__", uncached)
    monkeypatch.setattr(
        FindingsMemo,
        "evaluate",
        lambda self, design, settings, touching=None: evaluate(design, settings, touching=touching),
    )
    slow_settings = Settings(db_path=tmp_path / "slow.sqlite3")
    async with Client(build_server(slow_settings)) as client:
        slow = await a_session(client, nothing)

    fast[0], slow[0] = (
        normalized(fast[0], fast[0]["design_id"]),
        normalized(slow[0], slow[0]["design_id"]),
    )
    assert len(fast) == len(slow)
    for number, (f, s) in enumerate(zip(fast, slow, strict=True)):
        assert f == s, number
    errors = [r for r in fast if isinstance(r, dict) and "error" in r]
    assert len(errors) >= 4  # deleted, invalid, stale, over a limit: refused alike

    def rows(path: Path) -> Any:
        conn = sqlite3.connect(path)
        try:
            (design_id,) = conn.execute("SELECT id FROM designs").fetchone()
        finally:
            conn.close()
        return normalized(json.loads(json.dumps(raw_rows(path, design_id))), design_id)

    assert rows(fast_settings.db_path) == rows(slow_settings.db_path)


# --------------------------------------------------------------------------- other writers


def _backup(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def test_a_design_rewritten_to_the_same_revision_by_an_online_restore_is_not_read_from_cache(
    tmp_path: Path,
) -> None:
    """An online restore of a backup (SQLite's backup API into the live file) takes a design
    back to an earlier revision; writes by another process then reach the revision this store
    has cached, with the same created_at but another content. The revision alone does not
    tell them apart; the row's updated_at (unique per write) does."""
    path, backup = tmp_path / "d.sqlite3", tmp_path / "backup.sqlite3"
    with SQLiteStore(path) as store:
        design_id = store.create(
            example_design("support_assistant"), tool="t", actor=None, change={}
        ).id
        store.update(design_id, set_problem("two"), tool="t", actor=None, change={})
        _backup(path, backup)
        store.update(design_id, set_threshold(0.61), tool="t", actor=None, change={})
        store.update(design_id, set_threshold(0.62), tool="t", actor=None, change={})
        assert store._cache.hits == 2  # revision 4 is cached

        _backup(backup, path)  # the restore: revision 2 again
        with SQLiteStore(path, cache_size=0) as other:
            other.update(design_id, set_problem("three"), tool="t", actor=None, change={})
            other.update(design_id, set_problem("four"), tool="t", actor=None, change={})

        assert store.get(design_id).design == stored_design(path, design_id)
        record = store.update(design_id, set_problem("five"), tool="t", actor=None, change={})
    assert record.revision == 5
    assert record.design == stored_design(path, design_id)
    metric = next(m for m in record.design.evaluation.metrics if m.id == "citation_precision")
    assert metric.threshold != 0.62  # the other timeline never set it
    history_rebuilds_every_revision(path, design_id)


def test_a_failure_after_commit_before_the_cache_update_leaves_no_stale_entry_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.sqlite3"
    with SQLiteStore(path) as store:
        design_id = store.create(
            example_design("support_assistant"), tool="t", actor=None, change={}
        ).id
        store.update(design_id, set_threshold(0.61), tool="t", actor=None, change={})
        store.update(design_id, set_threshold(0.62), tool="t", actor=None, change={})
        remember = SQLiteStore._remember

        def failing(*args: Any, **kwargs: Any) -> None:
            raise KeyboardInterrupt

        monkeypatch.setattr(SQLiteStore, "_remember", failing)
        with pytest.raises(KeyboardInterrupt):
            store.update(design_id, set_threshold(0.63), tool="t", actor=None, change={})
        monkeypatch.setattr(SQLiteStore, "_remember", remember)
        assert store.get(design_id).revision == 4  # committed
        record = store.update(design_id, set_problem("after"), tool="t", actor=None, change={})
        cache_is_consistent(store)
    assert record.design == stored_design(path, design_id)
    metric = next(m for m in record.design.evaluation.metrics if m.id == "citation_precision")
    assert metric.threshold == 0.63
    history_rebuilds_every_revision(path, design_id)


def test_writers_in_threads_on_one_store_and_on_two_stores_lose_nothing(tmp_path: Path) -> None:
    """Threads share one store (its lock orders them around its cache) or have a store each
    on the same file (each cache checked against the row in the write transaction)."""
    path = tmp_path / "d.sqlite3"
    design = example_design("support_assistant")
    metrics = [m.id for m in design.evaluation.metrics][:4]
    with SQLiteStore(path) as shared, SQLiteStore(path) as second:
        design_id = shared.create(design, tool="t", actor=None, change={}).id
        written: dict[int, str] = {}
        failures: list[BaseException] = []

        def writer(store: SQLiteStore, metric: str) -> None:
            patch_cls = patch_model(STEP_BY_KEY["evaluation"].model)
            try:
                for i in range(12):
                    patch = patch_cls.model_validate(
                        {"metrics": [{"id": metric, "threshold": round(0.5 + i / 100, 2)}]}
                    )
                    record = store.update(
                        design_id,
                        lambda d, p=patch: apply_change(d, "evaluation", p),
                        tool="t",
                        actor=None,
                        change={},
                    )
                    written[record.revision] = record.design.model_dump_json()
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [
            threading.Thread(target=writer, args=(store, metric))
            for store, metric in zip((shared, shared, second, second), metrics, strict=False)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        assert sorted(written) == list(range(2, 2 + 12 * len(threads)))
        final = stored_design(path, design_id)
        assert shared.get(design_id).design == final == second.get(design_id).design
        for metric in metrics:
            assert next(m for m in final.evaluation.metrics if m.id == metric).threshold == 0.61
        with SQLiteStore(path, cache_size=0) as fresh:
            for revision, text in written.items():
                assert fresh.design_at(design_id, revision).model_dump_json() == text
        cache_is_consistent(shared)
        cache_is_consistent(second)
    history_rebuilds_every_revision(path, design_id)


def test_two_cached_stores_with_different_limits_on_one_file_each_enforce_their_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.sqlite3"
    strict_limits = Limits(max_text_chars=3_000)
    with SQLiteStore(path) as roomy, SQLiteStore(path, limits=strict_limits) as strict:
        design_id = roomy.create(
            example_design("support_assistant"), tool="t", actor=None, change={}
        ).id
        for store in (roomy, strict, roomy, strict):  # both cached at some point
            store.update(design_id, set_threshold(0.6), tool="t", actor=None, change={})
        strict.update(design_id, set_threshold(0.61), tool="t", actor=None, change={})
        assert strict._cache.hits >= 1
        roomy.update(design_id, set_problem("p" * 4_000), tool="t", actor=None, change={})
        roomy.update(design_id, set_threshold(0.62), tool="t", actor=None, change={})
        for _ in range(2):
            with pytest.raises(LimitExceededError, match=r"context\.problem"):
                strict.update(design_id, set_threshold(0.63), tool="t", actor=None, change={})
        strict.update(design_id, set_problem("short again"), tool="t", actor=None, change={})
        strict.update(design_id, set_threshold(0.64), tool="t", actor=None, change={})
        with pytest.raises(LimitExceededError, match=r"context\.problem"):
            strict.update(design_id, set_problem("q" * 3_001), tool="t", actor=None, change={})
        roomy.update(design_id, set_problem("q" * 3_001), tool="t", actor=None, change={})
    history_rebuilds_every_revision(path, design_id)


# --------------------------------------------------------------------------- exact text and diffs


AWKWARD_TEXTS = (
    'quotes " and \\ backslashes',
    "unicode: é ß 日本 🚀 \u2028 \u2029 \x00\x01\x1f control",
    "</script> & <b>",
)
AWKWARD_NUMBERS = (1e-7, 0.1 + 0.2, 1e20, 123456789.123456789, 5e-324, 1.7976931348623157e308)


@pytest.mark.parametrize("cache_size", [16])
def test_section_writes_of_awkward_values_store_what_a_whole_dump_stores(
    tmp_path: Path, cache_size: int
) -> None:
    """Texts that JSON escapes, floats whose shortest form is an exponent, huge counts,
    negative zero: the assembled text is byte for byte the whole dump, and the revisions and
    diffs are those of a store without the cache."""
    evaluation = patch_model(STEP_BY_KEY["evaluation"].model)
    context = patch_model(section_class("context"))
    changes = []
    for number in AWKWARD_NUMBERS:
        changes.append(
            ("evaluation", evaluation.model_validate(
                {"metrics": [{"id": "citation_precision", "threshold": number}]}
            ))
        )  # fmt: skip
    changes.append(("evaluation", evaluation.model_validate({"golden_set": {"size": 10**30}})))
    changes.append(
        ("evaluation", evaluation.model_validate(
            {"metrics": [{"id": "citation_precision", "threshold": -0.0}]}
        ))
    )  # fmt: skip
    for text in AWKWARD_TEXTS:
        changes.append(("context", context.model_validate({"problem": text})))
    changes.append(("context", context.model_validate({"traffic": {"peak_qps": 1}})))
    changes.append(("context", context.model_validate({"traffic": {"peak_qps": 1.0}})))

    ids = {}
    for name, size in (("fast", cache_size), ("slow", 0)):
        with SQLiteStore(tmp_path / f"{name}.sqlite3", cache_size=size) as store:
            design_id = store.create(
                example_design("support_assistant"), tool="t", actor=None, change={}
            ).id
            ids[name] = design_id
            for key, patch in changes:
                record = store.update(
                    design_id,
                    lambda d, k=key, p=patch: apply_change(d, k, p),
                    tool="t",
                    actor=None,
                    change={},
                )
                assert (
                    record.design.model_dump_json()
                    == raw_rows(tmp_path / f"{name}.sqlite3", design_id)[0][2]
                    or name == "slow"
                )
            if size:
                assert store._cache.hits >= len(changes) - 1
                cache_is_consistent(store)
    fast = raw_rows(tmp_path / "fast.sqlite3", ids["fast"])
    slow = raw_rows(tmp_path / "slow.sqlite3", ids["slow"])
    assert fast == slow
    history_rebuilds_every_revision(tmp_path / "fast.sqlite3", ids["fast"])


def test_the_diff_tells_json_types_and_key_order_apart() -> None:
    """``==`` takes 1 for 1.0 and True, and ignores key order: the shortcut must not."""
    pairs = [
        ({"a": [1]}, {"a": [1.0]}),
        ({"a": {"b": 1}}, {"a": {"b": True}}),
        ({"a": [0]}, {"a": [False]}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": 2, "x": 1}}),
        ({"a": [{"id": "p", "v": 1}, {"id": "q", "v": 1}]},
         {"a": [{"id": "q", "v": 1}, {"id": "p", "v": 1}]}),
        ({"a": [{"id": "p", "v": 1}]}, {"a": [{"id": "p", "v": 1.0}]}),
        ({"a": [[1, 2]]}, {"a": [[1, 2.0]]}),
    ]  # fmt: skip
    for before, after in pairs:
        changes = history.diff(before, after)
        assert changes, (before, after)
        assert history.apply(before, changes) == after
        assert json.dumps(history.apply(before, changes)) == json.dumps(after)
        # The same change seen from one field of a larger document:
        assert history.diff(before["a"], after["a"], at=("a",)) == changes


def test_the_diff_of_each_changed_field_is_the_diff_of_the_whole_documents() -> None:
    """What a section write stores (the diffs of the replaced fields, at their paths) is
    what the whole-document diff gives, on pairs of real designs."""
    designs = [
        example_design(n).model_dump(mode="json") for n in ("support_assistant", "fraud_scorer")
    ]
    designs.append(Design().model_dump(mode="json"))
    for before in designs:
        for after in designs:
            whole = history.diff(before, after)
            fields = [
                c for f in designcache.FIELDS for c in history.diff(before[f], after[f], at=(f,))
            ]
            assert fields == whole


def test_the_memo_never_answers_for_another_object_at_a_reused_address() -> None:
    """Keyed by identity, but it holds the designs it remembers, so their ids cannot be
    reused while an entry can match; an evicted design no longer matches anything."""
    memo = FindingsMemo(size=2)
    settings = RuleSettings()
    empty = evaluate(Design(), settings, touching="evaluation")
    for _ in range(50):
        design = example_design("support_assistant")
        memo.evaluate(design, settings, touching="evaluation")
        del design
        other = Design()
        assert memo.evaluate(other, settings, touching="evaluation") == empty
    assert memo.hits == 0


# --------------------------------------------------------------------------- override templates


@pytest.mark.anyio
async def test_an_override_template_that_reorders_a_list_in_place_changes_nothing_stored(
    tmp_path: Path,
) -> None:
    """An operator's template printing the stages newest first with ``reverse()`` modifies
    the list it is given. Before the cache that was a throw-away copy; now it is the design
    the store hands to the next calls, so the reorder leaks into later reads and writes."""
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "rollout_plan.md.j2").write_text(
        "{% set stages = design.rollout.stages %}{{ stages.reverse() or '' }}"
        "{% for s in stages %}{{ s.id }} {% endfor %}\n",
        encoding="utf-8",
    )
    settings = Settings(db_path=tmp_path / "d.sqlite3", templates_dir=overrides)
    example = load_example("fraud_scorer")
    async with Client(build_server(settings)) as client:
        design_id = (await call(client, "start_design", {"feature": example.feature}))["design_id"]
        for step in STEPS:
            await call(
                client, step.tool, {"design_id": design_id, step.key: example.steps[step.key]}
            )
        metric = example.steps["evaluation"]["metrics"][0]["id"]
        change = {"evaluation": {"metrics": [{"id": metric, "threshold": 0.5}]}}
        await call(client, "build_evaluation", {"design_id": design_id, **change})
        await call(client, "render_artifacts", {"design_id": design_id, "names": ["rollout_plan"]})
        served = await call(client, "get_design", {"design_id": design_id})
        assert Design.model_validate(served["design"]) == stored_design(settings.db_path, design_id)
