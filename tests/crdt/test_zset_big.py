"""Sorted sets in both representations: up to ``zset.BIG`` members the index is a plain sorted
list (``SmallIndex``), beyond a SortedList; a member with one assignment and no contribution is a
plain tuple, any other a ``Member``. The random-history property test runs again here with
``BIG`` lowered so that its sets cross the boundary both ways, and a long random sequence of
changes is checked against a model."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from sortedcontainers import SortedList

from crdt.types import zset
from crdt.types.zset import Member, SmallIndex, ZSet

from .test_zset_semantics import test_random_histories_converge_in_any_causal_order  # noqa: F401


@pytest.fixture(autouse=True, scope="module")
def small_big() -> Iterator[None]:
    old = zset.BIG
    zset.BIG = 4
    yield
    zset.BIG = old


def test_changes_keep_index_and_scores_true_across_both_representations() -> None:
    rng = random.Random(3)
    z, model = ZSet(), dict[bytes, float]()
    kinds: set[type] = set()
    shapes: set[type] = set()
    for i in range(1, 3000):
        tag = (i, "us", i)
        ctx = {"us": i - 1}  # a local write observes everything before it
        name = b"m%d" % rng.randrange(40)
        op = rng.random()
        if op < 0.45:
            score = float(rng.randrange(-5, 5))
            z.assign([(name, score)], tag, ctx)
            model[name] = score
        elif op < 0.7:
            z.add(name, tag, 1.5, {"us": i - 1})
            model[name] = model.get(name, 0.0) + 1.5
        else:
            z.remove([name], ctx)
            model.pop(name, None)
        kinds.add(type(z.index))
        shapes.update(type(m) for m in z.members.values())
        assert {n: z.score_of(n) for n in z.members} == model
        assert list(z.index) == sorted((s, n) for n, s in model.items())
        for n in model:
            assert z.rank(n) == sorted((s, m) for m, s in model.items()).index((model[n], n))
    assert kinds == {SmallIndex, SortedList} and shapes == {tuple, Member}


def test_small_index_speaks_the_sortedlist_interface_the_commands_use() -> None:
    values = [(float(i % 7), b"%d" % i) for i in range(30)]
    small, big = SmallIndex(), SortedList()
    for v in values:
        small.add(v)
        big.add(v)
    assert list(small) == list(big)
    for v in values[::3]:
        assert small.index(v) == big.index(v)
        assert small.bisect_left(v) == big.bisect_left(v)
        assert small.bisect_right(v) == big.bisect_right(v)
    for start, stop, rev in [(0, 5, False), (3, 100, True), (None, None, True), (10, 2, False)]:
        assert list(small.islice(start, stop, rev)) == list(big.islice(start, stop, rev))
    small.remove(values[4])
    big.remove(values[4])
    assert list(small) == list(big)
    with pytest.raises(ValueError):
        small.remove(values[4])
