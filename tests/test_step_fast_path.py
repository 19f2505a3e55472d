"""The store's design cache and section-only writes, and the findings memo, change nothing.

Every sequence of changes is applied twice: through a store with its cache (the fast path
step calls take) and through a store without one (whole documents read, validated, checked
and diffed, as before the cache existed). Both must store the same documents, diffs and
checkpoints, rebuild the same revisions, and raise the same errors with the same messages.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st
from pydantic import ValidationError

from ml_systemization import designcache, history
from ml_systemization.errors import LimitExceededError, StaleRevisionError
from ml_systemization.examples import example_design
from ml_systemization.findings import FindingsMemo, evaluate, step_feedback
from ml_systemization.model import Design
from ml_systemization.patch import patch_model, removable_paths
from ml_systemization.settings import Limits, RuleSettings, effective_rule_settings
from ml_systemization.steps import STEP_BY_KEY, STEPS, apply_change
from ml_systemization.store import SQLiteStore
from ml_systemization.waivers import apply_review_options
from test_history import _json, _keys

EXAMPLES = ("support_assistant", "fraud_scorer")
KEYS = ("context", *(step.key for step in STEPS))
# Small enough that some changes of the sequences exceed them; larger than the examples.
LIMITS = Limits(max_text_chars=3_000, max_list_items=40, max_design_bytes=62_000)

Apply = Callable[[Design], Design]


def section_class(key: str) -> type[Any]:
    return type(getattr(Design(), key))


def raw_rows(path: Path, design_id: str) -> tuple[Any, list[Any]]:
    """What the database holds for a design, without the timestamps (they differ per store)."""
    conn = sqlite3.connect(path)
    try:
        doc = conn.execute(
            "SELECT revision, feature, doc FROM designs WHERE id = ?", (design_id,)
        ).fetchone()
        revisions = conn.execute(
            "SELECT revision, tool, actor, change, diff, checkpoint FROM revisions "
            "WHERE design_id = ? ORDER BY revision",
            (design_id,),
        ).fetchall()
    finally:
        conn.close()
    return doc, revisions


def outcome(run: Callable[[], Any], design_id: str) -> tuple[str, Any]:
    try:
        record = run()
    except Exception as exc:  # compared: same type, same message (the ids differ per store)
        return type(exc).__name__, str(exc).replace(design_id, "<id>")
    return "ok", (record.revision, record.design.model_dump_json())


# --------------------------------------------------------------------------- random changes


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Paths to the scalar leaves of a section's JSON, through objects and keyed lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        if all(isinstance(item, dict) and "id" in item for item in value):
            for item in value:
                yield from _leaves(item, (*path, history.ItemKey(item["id"])))
    elif value is not None:
        yield path, value


def _nested_patch(path: tuple[Any, ...], value: Any) -> Any:
    """The partial update that sets one leaf: objects nest, keyed list items carry their id."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, history.ItemKey):
        inner = _nested_patch(rest, value)
        return [{"id": head.id, **inner}]
    if rest and isinstance(rest[0], history.ItemKey):
        return {head: _nested_patch(rest, value)}
    return {head: _nested_patch(rest, value)}


def _tweak(value: Any, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice((1, 2, 5))
    if isinstance(value, float):
        return round(value * rng.choice((0.5, 0.9, 0.99)), 4)
    if isinstance(value, str):
        return value + rng.choice((" (revised)", "", " v2"))
    return value


def random_change(
    rng: random.Random, design: Design, sources: list[Design]
) -> tuple[str, Apply, int | None]:
    """One change of the kinds step calls make, some valid and some not: (label, apply,
    expected_revision offset from the current revision, or None)."""
    key = rng.choice(KEYS)
    cls = section_class(key)
    patch_cls = patch_model(cls)
    current = getattr(design, key).model_dump(mode="json")
    kind = rng.choice(
        (
            *("replace", "tweak", "tweak", "tweak", "remove", "clear", "bad_remove"),
            *("long_text", "stale", "waive", "corrupt", "noop"),
        )
    )
    patch: Any = None
    remove: list[str] = []
    expected: int | None = None
    if kind == "replace":
        source = getattr(rng.choice(sources), key)
        patch = source.model_dump(mode="json", exclude_defaults=True)
    elif kind in ("tweak", "long_text", "stale"):
        leaves = [(p, v) for p, v in _leaves(current) if p[-1] != "id"]
        if not leaves:
            return random_change(rng, design, sources)
        path, value = rng.choice(leaves)
        if kind == "long_text":
            value = "x" * (LIMITS.max_text_chars + 1) if isinstance(value, str) else value
        else:
            value = _tweak(value, rng)
        patch = _nested_patch(path, value)
        expected = -1 if kind == "stale" else 0
    elif kind in ("remove", "bad_remove"):
        options = []
        for where in removable_paths(cls):
            node: Any = current
            for part in where.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            ids = list(node) if isinstance(node, dict) else [i["id"] for i in node or []]
            options += [f"{where}/{entry}" for entry in ids]
        if kind == "bad_remove" or not options:
            remove = [f"{rng.choice(removable_paths(cls) or ['metrics'])}/no-such-id"]
        else:
            remove = [rng.choice(options)]
    elif kind == "clear":
        names = [n for n, v in current.items() if v not in (None, [], {})]
        patch = {rng.choice(names): None} if names else {}
    elif kind == "waive":
        rule_id = rng.choice(("ROLL-006", "EVAL-001", "MON-002", "NOT-A-RULE"))
        alpha = rng.choice((0.05, 0.01))
        return (
            f"waive {rule_id}",
            lambda d: apply_review_options(
                d,
                waive={rule_id: "accepted for the pilot"},
                unwaive=[],
                settings={"alpha": alpha},
                actor="t",
                now=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
            ),
            None,
        )
    elif kind == "corrupt":

        def corrupt(d: Design) -> Design:
            section = getattr(d, key).model_copy(deep=True)
            section.__dict__[next(iter(type(section).model_fields))] = object()
            return d.model_copy(update={key: section})

        return f"corrupt {key}", corrupt, None
    elif kind == "noop":
        return "noop", lambda d: d.model_copy(), None
    try:
        validated = patch_cls.model_validate(patch) if patch is not None else None
    except ValidationError:  # the tool's schema refuses it before any store is involved
        return random_change(rng, design, sources)

    def apply(d: Design) -> Design:
        return apply_change(d, key, validated, remove=remove)  # type: ignore[arg-type]

    return f"{kind} {key} {json.dumps(patch)[:80]} {remove}", apply, expected


@pytest.mark.parametrize("seed", range(6))
def test_a_random_sequence_of_changes_stores_the_same_as_without_the_cache(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    sources = [example_design(name) for name in EXAMPLES]
    start = sources[seed % 2]
    fast_path, slow_path = tmp_path / "fast.sqlite3", tmp_path / "slow.sqlite3"
    with (
        SQLiteStore(fast_path, limits=LIMITS) as fast,
        SQLiteStore(slow_path, limits=LIMITS, cache_size=0) as slow,
    ):
        fast_id = fast.create(start, tool="start_design", actor="t", change={}).id
        slow_id = slow.create(start, tool="start_design", actor="t", change={}).id
        kinds: set[str] = set()
        for _ in range(60):
            design = fast.get(fast_id).design
            label, apply, expected = random_change(rng, design, sources)
            revision = fast.get(fast_id).revision
            want = None if expected is None else revision + expected

            def write(store: SQLiteStore, design_id: str) -> Any:
                return store.update(
                    design_id,
                    apply,  # noqa: B023 - called right away
                    tool="build_evaluation",
                    actor="t",
                    change={"label": label},  # noqa: B023
                    expected_revision=want,  # noqa: B023
                )

            result = outcome(lambda: write(fast, fast_id), fast_id)
            assert result == outcome(lambda: write(slow, slow_id), slow_id), label
            kinds.add(result[0])
            assert fast.get(fast_id).design == slow.get(slow_id).design, label

        fast_doc, fast_revisions = raw_rows(fast_path, fast_id)
        slow_doc, slow_revisions = raw_rows(slow_path, slow_id)
        assert fast_doc == slow_doc
        assert fast_revisions == slow_revisions
        last = fast.get(fast_id).revision
        for number in range(1, last + 1):
            assert fast.design_at(fast_id, number) == slow.design_at(slow_id, number)
        assert fast.diff(fast_id, 1) == slow.diff(slow_id, 1)
        # The sequence did exercise the cache, and some changes were refused.
        assert fast._cache.hits > 10
        assert "ok" in kinds and len(kinds) > 1


def test_section_writes_are_taken_and_store_what_a_whole_dump_stores(tmp_path: Path) -> None:
    design = example_design("support_assistant")
    waived = apply_review_options(
        design,
        waive={"ROLL-006": "accepted for the pilot"},
        unwaive=[],
        settings={"alpha": 0.01},
        actor="ana",
        now=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )
    patch = patch_model(STEP_BY_KEY["evaluation"].model).model_validate(
        {"metrics": [{"id": "citation_precision", "threshold": 0.85}]}
    )
    with SQLiteStore(tmp_path / "d.sqlite3") as store:
        design_id = store.create(waived, tool="t", actor=None, change={}).id
        for _ in range(3):
            record = store.update(
                design_id,
                lambda d: apply_change(d, "evaluation", patch),
                tool="t",
                actor=None,
                change={},
            )
        doc, revisions = raw_rows(tmp_path / "d.sqlite3", design_id)
    # Revision 2 read the row (a miss), 3 and 4 started from the cached design.
    assert store._cache.hits == 2
    assert doc[2] == record.design.model_dump_json()
    assert [json.loads(r[4]) for r in revisions[1:]] == [
        [
            {
                "p": ["evaluation", "metrics", {"id": "citation_precision"}, "threshold"],
                "op": "changed",
                "v": 0.85,
            }
        ],
        [],
        [],
    ]


def test_field_texts_assemble_to_the_serialized_design() -> None:
    for name in EXAMPLES:
        design = apply_review_options(
            example_design(name),
            waive={"ROLL-006": "accepted for the pilot"},
            unwaive=[],
            settings={"alpha": 0.01},
            actor="ana",
            now=dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        )
        parts = [designcache.field_json(f, getattr(design, f)) for f in designcache.FIELDS]
        assert designcache.assemble(parts) == design.model_dump_json()
    assert (
        designcache.assemble(
            [designcache.field_json(f, getattr(Design(), f)) for f in designcache.FIELDS]
        )
        == Design().model_dump_json()
    )


def test_an_apply_that_modifies_its_input_in_place_is_still_stored_whole(tmp_path: Path) -> None:
    """Callers must not modify designs the store hands out; if one does, what it returns is
    stored as before (the whole-document path), and the cache forgets the design."""

    def in_place(d: Design) -> Design:
        d.context.problem = "changed in place"
        return d.model_copy()

    def same_object(d: Design) -> Design:
        d.card.owner = "changed in place too"
        return d

    path = tmp_path / "d.sqlite3"
    with SQLiteStore(path) as store:
        design_id = store.create(example_design("fraud_scorer"), tool="t", actor=None, change={}).id
        store.update(
            design_id,
            set_threshold_for(store.get(design_id).design),
            tool="t",
            actor=None,
            change={},
        )
        for apply in (in_place, same_object):
            store.update(design_id, apply, tool="t", actor=None, change={})
        record = store.get(design_id)
    with SQLiteStore(path, cache_size=0) as fresh:
        assert fresh.get(design_id).design == record.design
        assert record.design.context.problem == "changed in place"
        assert record.design.card.owner == "changed in place too"
        assert [c.where for c in fresh.diff(design_id, 2, 3)[0]] == ["context.problem"]


# --------------------------------------------------------------------------- other writers


def set_threshold(value: float) -> Apply:
    patch = patch_model(STEP_BY_KEY["evaluation"].model).model_validate(
        {"metrics": [{"id": "citation_precision", "threshold": value}]}
    )
    return lambda d: apply_change(d, "evaluation", patch)


def set_problem(text: str) -> Apply:
    patch = patch_model(section_class("context")).model_validate({"problem": text})
    return lambda d: apply_change(d, "context", patch)


def test_a_write_by_another_store_on_the_same_file_is_seen_by_the_next_update(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.sqlite3"
    with SQLiteStore(path) as first, SQLiteStore(path) as second:
        design_id = first.create(
            example_design("support_assistant"), tool="t", actor=None, change={}
        ).id
        first.update(design_id, set_threshold(0.8), tool="t", actor=None, change={})
        first.update(design_id, set_threshold(0.81), tool="t", actor=None, change={})
        assert first._cache.hits == 1  # cached at revision 3

        second.update(design_id, set_problem("Changed elsewhere"), tool="t", actor=None, change={})
        assert first.get(design_id).design.context.problem == "Changed elsewhere"
        record = first.update(design_id, set_threshold(0.82), tool="t", actor=None, change={})

        assert record.revision == 5
        assert record.design.context.problem == "Changed elsewhere"
        metric = next(m for m in record.design.evaluation.metrics if m.id == "citation_precision")
        assert metric.threshold == 0.82
        # The diff of revision 5 is against what the other store wrote, not the stale cache.
        _, revisions = raw_rows(path, design_id)
        assert json.loads(revisions[-1][4]) == [
            {
                "p": ["evaluation", "metrics", {"id": "citation_precision"}, "threshold"],
                "op": "changed",
                "v": 0.82,
            }
        ]
        with SQLiteStore(path, cache_size=0) as fresh:
            assert fresh.get(design_id).design == record.design


def test_refused_changes_leave_the_cache_consistent(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    with SQLiteStore(path, limits=LIMITS) as store:
        design_id = store.create(
            example_design("support_assistant"), tool="t", actor=None, change={}
        ).id
        store.update(design_id, set_threshold(0.8), tool="t", actor=None, change={})

        with pytest.raises(LimitExceededError, match=r"context\.problem"):
            store.update(design_id, set_problem("x" * 4_000), tool="t", actor=None, change={})
        limitations = patch_model(section_class("card")).model_validate(
            {"limitations": ["l" * 2_500] * 4}
        )
        with pytest.raises(LimitExceededError, match="max_design_bytes"):
            store.update(
                design_id,
                lambda d: apply_change(d, "card", limitations),
                tool="t",
                actor=None,
                change={},
            )
        with pytest.raises(StaleRevisionError):
            store.update(
                design_id, set_threshold(0.7), tool="t", actor=None, change={}, expected_revision=1
            )
        record = store.update(design_id, set_threshold(0.75), tool="t", actor=None, change={})

    assert record.revision == 3
    with SQLiteStore(path, cache_size=0) as fresh:
        assert fresh.get(design_id).design == record.design
        assert fresh.design_at(design_id, 2) != record.design


def test_limits_lowered_since_a_write_are_enforced_on_unchanged_sections(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    with SQLiteStore(path) as roomy:
        design_id = roomy.create(example_design("fraud_scorer"), tool="t", actor=None, change={}).id
        roomy.update(design_id, set_problem("p" * 5_000), tool="t", actor=None, change={})
        patch = set_threshold_for(roomy.get(design_id).design)
        roomy.update(design_id, patch, tool="t", actor=None, change={})  # cached, roomy limits

    errors = []
    for cache_size in (16, 0):
        with SQLiteStore(path, limits=LIMITS, cache_size=cache_size) as strict:
            for _ in range(2):
                with pytest.raises(LimitExceededError) as caught:
                    strict.update(design_id, patch, tool="t", actor=None, change={})
                errors.append(str(caught.value))
    assert len(set(errors)) == 1 and "context.problem" in errors[0]


def set_threshold_for(design: Design) -> Apply:
    metric = next(m for m in design.evaluation.metrics if m.threshold is not None)
    patch = patch_model(STEP_BY_KEY["evaluation"].model).model_validate(
        {"metrics": [{"id": metric.id, "threshold": 0.5}]}
    )
    return lambda d: apply_change(d, "evaluation", patch)


# --------------------------------------------------------------------------- findings memo


@pytest.mark.parametrize("seed", range(3))
def test_step_feedback_with_the_memo_equals_step_feedback_without_it(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    sources = [example_design(name) for name in EXAMPLES]
    server_rules = RuleSettings()
    memo = FindingsMemo()
    with SQLiteStore(tmp_path / "d.sqlite3") as store:
        design_id = store.create(sources[seed % 2], tool="t", actor=None, change={}).id
        key = "evaluation"
        for _ in range(40):
            if rng.random() < 0.2:
                key = rng.choice(KEYS)
            design = store.get(design_id).design
            label, apply, _ = random_change(rng, design, sources)
            seen: list[Design] = []

            def change(d: Design, seen: list[Design] = seen, apply: Apply = apply) -> Design:
                seen.append(d)
                return apply(d)

            try:
                record = store.update(design_id, change, tool="t", actor=None, change={})
            except Exception:
                continue
            before, after = seen[-1], record.design
            for touching in (key, label.split()[1] if " " in label else key):
                if touching not in KEYS:
                    continue
                args = (before, after, effective_rule_settings(server_rules, after.rule_settings))
                kwargs: dict[str, Any] = {
                    "touching": touching,
                    "settings_before": effective_rule_settings(server_rules, before.rule_settings),
                }
                assert step_feedback(*args, **kwargs, memo=memo) == step_feedback(*args, **kwargs)
    assert memo.hits > 0


def test_the_memo_keys_on_the_design_object_the_section_and_the_settings() -> None:
    design = example_design("support_assistant")
    memo = FindingsMemo()
    strict = RuleSettings(alpha=0.01)
    first = memo.evaluate(design, RuleSettings(), touching="evaluation")
    assert memo.evaluate(design, RuleSettings(), touching="evaluation") is first
    assert memo.hits == 1
    assert memo.evaluate(design, strict, touching="evaluation") == evaluate(
        design, strict, touching="evaluation"
    )
    assert memo.evaluate(design, RuleSettings(), touching="rollout") == evaluate(
        design, RuleSettings(), touching="rollout"
    )
    assert memo.evaluate(design.model_copy(), RuleSettings(), touching="evaluation") == first
    assert memo.hits == 1


# --------------------------------------------------------------------------- diff shortcut


def _perturb(value: Any, rng: random.Random) -> Any:
    """A copy of a JSON value with a few changes, some of which == does not see (1 vs 1.0 vs
    true, key order)."""
    roll = rng.random()
    if isinstance(value, dict):
        items = [(k, _perturb(v, rng)) for k, v in value.items()]
        if roll < 0.1:
            items.reverse()
        return dict(items)
    if isinstance(value, list):
        items = [_perturb(v, rng) for v in value]
        if roll < 0.1:
            items.reverse()
        return items
    if roll < 0.1 and isinstance(value, bool):
        return int(value)
    if roll < 0.1 and isinstance(value, int):
        return float(value)
    if roll < 0.05:
        return "changed"
    return value


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(before=st.dictionaries(_keys, _json, max_size=4), seed=st.integers(0, 2**32 - 1))
def test_the_diff_shortcut_for_equal_parts_changes_no_diff(
    before: dict[str, Any], seed: int
) -> None:
    after = _perturb(before, random.Random(seed))
    fast = history.diff(before, after)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(history, "_identical", lambda a, b: False)
        slow = history.diff(before, after)
    assert fast == slow
    # JSON types included (key order inside plain lists is not diffed, before or now).
    assert history._same(history.apply(before, fast), after)
    # One field at a time, at its path, is the whole diff when the keys are the same.
    if list(before) == list(after):
        assert fast == [c for k in before for c in history.diff(before[k], after[k], at=(k,))]
