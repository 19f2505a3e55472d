"""Revision history: field-level diffs, rebuilding any revision, revert, stale writes, migration."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import Implementation

from ml_systemization import history
from ml_systemization import store as store_module
from ml_systemization.errors import RevisionError, StaleRevisionError
from ml_systemization.examples import load_example
from ml_systemization.history import Change, ItemKey
from ml_systemization.model import Context, Design, SuccessMetric
from ml_systemization.server import build_server
from ml_systemization.settings import Settings
from ml_systemization.steps import STEPS
from ml_systemization.store import CHECKPOINT_EVERY, MIGRATIONS, SQLiteStore

pytestmark = pytest.mark.anyio


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def error_text(client: Client, tool: str, arguments: dict[str, Any]) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


def with_metric(metric_id: str, threshold: float | None = None) -> Any:
    def apply(current: Design) -> Design:
        metrics = [m for m in current.context.success_metrics if m.id != metric_id]
        metrics.append(SuccessMetric(id=metric_id))  # upsert: ids are unique in a list
        if threshold is not None:
            metrics = [
                m.model_copy(update={"target": f">= {threshold}"}) if m.id == metric_id else m
                for m in metrics
            ]
        context = current.context.model_copy(update={"success_metrics": metrics})
        return current.model_copy(update={"context": context})

    return apply


# --------------------------------------------------------------------------- the pure diff


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"a": 1}, {"a": 2}, [("a", "changed", 1, 2)]),
        ({"a": None}, {"a": 0.9}, [("a", "changed", None, 0.9)]),
        ({"a": True}, {"a": 1}, [("a", "changed", True, 1)]),  # JSON types, not Python ==
        ({"m": {"x": 1}}, {"m": {}}, [("m.x", "removed", 1, None)]),
        ({"m": {}}, {"m": {"x": 1}}, [("m.x", "added", None, 1)]),
        ({"tags": ["a"]}, {"tags": ["a", "b"]}, [("tags", "changed", ["a"], ["a", "b"])]),
        (
            {"e": {"metrics": [{"id": "g", "threshold": 0.9}]}},
            {"e": {"metrics": [{"id": "g", "threshold": 0.92}]}},
            [("e.metrics[g].threshold", "changed", 0.9, 0.92)],
        ),
        (
            {"metrics": [{"id": "g"}, {"id": "r"}]},
            {"metrics": [{"id": "g"}]},
            [("metrics[r]", "removed", {"id": "r"}, None)],
        ),
        (
            {"metrics": []},
            {"metrics": [{"id": "bleu", "n": 3}]},
            [("metrics[bleu]", "added", None, {"id": "bleu", "n": 3})],
        ),
        (
            {"metrics": [{"id": "a"}, {"id": "b"}]},
            {"metrics": [{"id": "b"}, {"id": "a"}]},
            [("metrics", "reordered", ["a", "b"], ["b", "a"])],
        ),
        ({"a": 1}, {"a": 1}, []),
    ],
)
def test_the_diff_names_each_changed_field_by_a_readable_path(
    before: dict[str, Any], after: dict[str, Any], expected: list[tuple[str, str, Any, Any]]
) -> None:
    changes = history.diff(before, after)

    assert [(c.where, c.op, c.before, c.after) for c in changes] == expected
    assert history.apply(before, changes) == after


def test_paths_render_list_items_by_id() -> None:
    path = ("evaluation", "metrics", ItemKey("groundedness"), "threshold")

    assert history.render_path(path) == "evaluation.metrics[groundedness].threshold"


@pytest.mark.parametrize(
    ("change", "summary"),
    [
        (Change(("a", "b"), "changed", 0.9, 0.92), "a.b: 0.9 → 0.92"),
        (Change(("a",), "changed", None, "x"), 'a: set to "x"'),
        (Change(("a",), "changed", "x", None), 'a: cleared (was "x")'),
        (
            Change(("m", ItemKey("bleu")), "added", None, {"id": "bleu", "n": None}),
            'm[bleu]: added {"id":"bleu"}',
        ),
        (
            Change(("m", ItemKey("r")), "removed", {"id": "r"}, None),
            'm[r]: removed (was {"id":"r"})',
        ),
        (Change(("m",), "reordered", ["a", "b"], ["b", "a"]), "m: order a, b → b, a"),
    ],
)
def test_each_change_has_a_one_line_summary(change: Change, summary: str) -> None:
    assert change.summary() == summary


def test_stored_changes_round_trip_through_json() -> None:
    before = {"x": {"items": [{"id": "a", "v": 1}, {"id": "b", "v": 2}]}, "y": None}
    after = {"x": {"items": [{"id": "b", "v": 3}, {"id": "c", "v": 4}]}, "y": "set"}

    stored = history.loads(history.dumps(history.diff(before, after)))

    assert history.apply(before, stored) == after


_keys = st.sampled_from(["a", "b", "c", "d"])
_ids = st.sampled_from(["g", "r", "s", "t"])
_scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(0, 1) | st.text(max_size=3)


def _items(children: st.SearchStrategy[Any]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(
        st.fixed_dictionaries({"id": _ids}, optional={"v": children, "w": children}),
        max_size=4,
        unique_by=lambda item: item["id"],
    )


_json = st.recursive(
    _scalars,
    lambda children: (
        st.dictionaries(_keys, children, max_size=3)
        | st.lists(children, max_size=3)
        | _items(children)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    before=st.dictionaries(_keys, _json, max_size=4),
    after=st.dictionaries(_keys, _json, max_size=4),
)
def test_applying_the_diff_of_two_documents_gives_the_second_exactly(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    original = copy.deepcopy(before)

    rebuilt = history.apply(before, history.loads(history.dumps(history.diff(before, after))))

    assert json.dumps(rebuilt) == json.dumps(after)  # item order and JSON types included
    assert before == original


# --------------------------------------------------------------------------- the store


def test_every_revision_is_rebuilt_exactly_from_the_nearest_checkpoint(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "db.sqlite3") as store:
        created = store.create(
            Design(context=Context(feature="F")), tool="t", actor=None, change={}
        )
        seen = {1: created.design}
        for i in range(2, 41):
            record = store.update(
                created.id, with_metric(f"m{i % 7}", i), tool="t", actor=None, change={}
            )
            seen[record.revision] = record.design

        for revision, design in seen.items():
            assert store.design_at(created.id, revision) == design

    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        checkpoints = [
            r for (r,) in conn.execute(
                "SELECT revision FROM revisions WHERE checkpoint IS NOT NULL ORDER BY revision"
            )
        ]  # fmt: skip
    finally:
        conn.close()
    # At most CHECKPOINT_EVERY - 1 diffs separate any revision from its checkpoint.
    assert checkpoints == [1, 17, 33]
    assert CHECKPOINT_EVERY == 16


def test_reading_the_current_design_reads_one_row_whatever_the_history(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "db.sqlite3") as store:
        created = store.create(Design(), tool="t", actor=None, change={})
        for i in range(40):
            store.update(created.id, with_metric(f"m{i}"), tool="t", actor=None, change={})
        statements: list[str] = []
        assert store._conn is not None
        store._conn.set_trace_callback(statements.append)

        store.get(created.id)

    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert "FROM designs" in selects[0]
    assert "revisions" not in " ".join(statements)


def test_a_stale_write_names_the_current_revision_and_the_fields_changed_since(
    tmp_path: Path,
) -> None:
    with SQLiteStore(tmp_path / "db.sqlite3") as store:
        created = store.create(Design(), tool="t", actor=None, change={})
        store.update(created.id, with_metric("resolution"), tool="t", actor=None, change={})
        store.update(created.id, with_metric("csat"), tool="t", actor=None, change={})
        before = store.get(created.id)

        with pytest.raises(StaleRevisionError) as caught:
            store.update(
                created.id, with_metric("x"), tool="t", actor=None, change={}, expected_revision=1
            )

        assert store.get(created.id) == before
    message = str(caught.value)
    assert "is at revision 3, not 1" in message
    assert "context.success_metrics[resolution], context.success_metrics[csat]" in message
    assert "get_design" in message
    assert caught.value.changed == [
        "context.success_metrics[resolution]",
        "context.success_metrics[csat]",
    ]


def test_revisions_that_do_not_exist_are_a_clear_error(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "db.sqlite3") as store:
        created = store.create(Design(), tool="t", actor=None, change={})
        with pytest.raises(RevisionError, match="revisions 1 to 1; there is no revision 5"):
            store.design_at(created.id, 5)


def _old_database(path: Path) -> str:
    """A database as the previous release wrote it: two migrations, no diffs or checkpoints."""
    design = Design(context=Context(feature="Legacy", problem="Old problem"))
    doc = design.model_dump_json()
    conn = sqlite3.connect(path)
    try:
        for _, sql in MIGRATIONS[:2]:
            conn.executescript(sql)
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO designs VALUES ('d-legacy0001', 3, '2026-01-01T00:00:00.000000+00:00', "
            "'2026-01-03T00:00:00.000000+00:00', 'Legacy', ?)",
            (doc,),
        )
        for revision in (1, 2, 3):
            conn.execute(
                "INSERT INTO revisions VALUES ('d-legacy0001', ?, ?, 'update_context', 'ana', ?)",
                (
                    revision,
                    f"2026-01-0{revision}T00:00:00.000000+00:00",
                    json.dumps({"n": revision}),
                ),
            )
        conn.commit()
    finally:
        conn.close()
    return "d-legacy0001"


def test_a_database_of_the_previous_release_is_upgraded_and_keeps_its_history(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    design_id = _old_database(path)

    with SQLiteStore(path) as store:
        entries, total = store.revisions(design_id)
        # Older rows keep their request; what they changed was never recorded.
        assert total == 3
        assert [(e.number, e.change, e.paths) for e in entries] == [
            (3, {"n": 3}, None),
            (2, {"n": 2}, None),
            (1, {"n": 1}, None),
        ]
        assert store.design_at(design_id, 3).context.problem == "Old problem"
        with pytest.raises(RevisionError, match="earliest revision with content is 3"):
            store.design_at(design_id, 2)
        store.update(design_id, with_metric("m1"), tool="t", actor=None, change={})
        changes, target = store.diff(design_id, 3)
        assert target == 4
        assert [c.where for c in changes] == ["context.success_metrics[m1]"]
        reverted, _ = store.revert(design_id, 3, actor=None)
        assert reverted.design.context.success_metrics == []
        with pytest.raises(StaleRevisionError, match="not recorded"):
            store.update(
                design_id, with_metric("m2"), tool="t", actor=None, change={}, expected_revision=2
            )
    conn = sqlite3.connect(path)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    finally:
        conn.close()
    assert version == len(store_module.MIGRATIONS)


# --------------------------------------------------------------------------- through the tools


async def test_history_lists_time_tool_actor_and_changed_fields(settings: Settings) -> None:
    async with Client(
        build_server(settings), client_info=Implementation(name="ana-laptop", version="1")
    ) as client:
        started = await call(client, "start_design", {"feature": "Support assistant"})
        design_id = started["design_id"]
        await call(
            client,
            "build_evaluation",
            {"design_id": design_id, "evaluation": {"metrics": [{"id": "g", "threshold": 0.9}]}},
        )
        await call(
            client,
            "build_evaluation",
            {"design_id": design_id, "evaluation": {"metrics": [{"id": "g", "threshold": 0.92}]}},
        )

        page = await call(client, "design_history", {"design_id": design_id, "limit": 2})
        detailed = await call(
            client, "design_history", {"design_id": design_id, "offset": 2, "details": True}
        )

    assert page["revision"] == 3
    assert [e["revision"] for e in page["revisions"]] == [3, 2]
    newest = page["revisions"][0]
    assert newest["tool"] == "build_evaluation"
    assert newest["actor"] == "ana-laptop"
    assert newest["paths"] == ["evaluation.metrics[g].threshold"]
    assert newest["change"] is None
    (first,) = detailed["revisions"]
    assert first["tool"] == "start_design"
    assert first["change"]["feature"] == "Support assistant"
    assert first["paths"] == ["context.feature"]


async def test_diff_design_reports_field_changes_between_any_two_revisions(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = (await call(client, "start_design", {"feature": "F"}))["design_id"]
        await call(
            client,
            "build_evaluation",
            {
                "design_id": design_id,
                "evaluation": {
                    "metrics": [
                        {"id": "groundedness", "threshold": 0.9},
                        {"id": "resolution", "threshold": 0.6},
                    ]
                },
            },
        )
        await call(
            client,
            "build_evaluation",
            {
                "design_id": design_id,
                "evaluation": {"metrics": [{"id": "groundedness", "threshold": 0.92}]},
                "remove": ["metrics/resolution"],
            },
        )

        diff = await call(
            client, "diff_design", {"design_id": design_id, "from_revision": 2, "to_revision": 3}
        )
        to_current = await call(client, "diff_design", {"design_id": design_id, "from_revision": 1})
        backwards = await call(
            client, "diff_design", {"design_id": design_id, "from_revision": 3, "to_revision": 2}
        )
        missing = await error_text(
            client, "diff_design", {"design_id": design_id, "from_revision": 9}
        )

    assert diff["to_revision"] == 3
    assert [(c["path"], c["op"], c["before"], c["after"]) for c in diff["changes"]] == [
        ("evaluation.metrics[groundedness].threshold", "changed", 0.9, 0.92),
        ("evaluation.metrics[resolution]", "removed", diff["changes"][1]["before"], None),
    ]
    assert diff["changes"][0]["summary"] == "evaluation.metrics[groundedness].threshold: 0.9 → 0.92"
    assert diff["changes"][1]["summary"].startswith("evaluation.metrics[resolution]: removed")
    assert [c["path"] for c in to_current["changes"]] == ["evaluation.metrics[groundedness]"]
    assert to_current["changes"][0]["op"] == "added"
    assert {c["op"] for c in backwards["changes"]} == {"changed", "added"}
    assert "there is no revision 9" in missing


async def test_revert_writes_the_old_content_as_a_new_revision_and_deletes_nothing(
    settings: Settings,
) -> None:
    example = load_example("support_assistant")
    async with Client(build_server(settings)) as client:
        started = await call(
            client, "start_design", {"feature": example.feature, "context": example.context}
        )
        design_id = started["design_id"]
        for step in STEPS:
            await call(
                client, step.tool, {"design_id": design_id, step.key: example.steps[step.key]}
            )
        complete = (await call(client, "get_design", {"design_id": design_id}))["design"]
        await call(
            client,
            "plan_rollout",
            {"design_id": design_id, "rollout": {"stages": None, "control": "before_after"}},
        )

        reverted = await call(
            client,
            "revert_design",
            {"design_id": design_id, "to_revision": 9, "expected_revision": 10},
        )
        after = await call(client, "get_design", {"design_id": design_id})
        history_page = await call(client, "design_history", {"design_id": design_id})
        stale = await error_text(
            client,
            "revert_design",
            {"design_id": design_id, "to_revision": 1, "expected_revision": 10},
        )

    assert reverted["revision"] == 11
    assert set(reverted["changed"]) >= {"rollout.control"}
    assert after["design"] == complete
    assert [e["revision"] for e in history_page["revisions"]][:3] == [11, 10, 9]
    assert history_page["revisions"][0]["tool"] == "revert_design"
    assert "is at revision 11, not 10" in stale
    assert "rollout.control" in stale


async def test_a_stale_expected_revision_in_a_tool_lists_what_changed_since(
    settings: Settings,
) -> None:
    async with Client(build_server(settings)) as client:
        design_id = (await call(client, "start_design", {"feature": "F"}))["design_id"]
        await call(
            client,
            "choose_baseline",
            {"design_id": design_id, "baseline": {"id": "faq_search", "type": "search_lookup"}},
        )
        text = await error_text(
            client,
            "choose_baseline",
            {"design_id": design_id, "baseline": {"id": "rules"}, "expected_revision": 1},
        )
        current = await call(client, "get_design", {"design_id": design_id})

    assert "is at revision 2, not 1; nothing was written" in text
    assert "Changed since revision 1: baseline.id, baseline.type" in text
    assert "expected_revision=2" in text
    assert current["design"]["baseline"]["id"] == "faq_search"
