"""Big lists: beyond ``sequence.BIG`` elements the order is a SortedList, so that pushes and
pops at either end stay O(log n). The same semantics must hold in either representation: the
random-history property test runs again here with ``BIG`` lowered so that its lists cross the
boundary both ways, and a long queue is checked against a deque."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator

import pytest
from sortedcontainers import SortedList

from crdt.types import sequence
from crdt.types.sequence import Sequence, between

from .test_sequence_semantics import test_random_concurrent_histories_converge_in_any_causal_order  # noqa: F401


@pytest.fixture(autouse=True, scope="module")
def small_big() -> Iterator[None]:
    old = sequence.BIG
    sequence.BIG = 3  # lists of the property test cross it in both directions
    yield
    sequence.BIG = old


def test_a_long_queue_behaves_as_a_deque_across_both_representations() -> None:
    rng = random.Random(5)
    s, model = Sequence(), deque[bytes]()
    kinds: set[type] = set()
    for i in range(3000):
        op = rng.random()
        if op < 0.55 or not model:
            head = rng.random() < 0.5
            prefix, digit = between(None, s.order[0]) if head and model else (
                between(s.order[-1], None) if model else between(None, None))
            values = [b"%d" % i] if rng.random() < 0.8 else [b"%d.%d" % (i, j) for j in range(5)]
            s.insert(prefix, digit, values, (i + 1, "us", i + 1))
            if head:
                model.extendleft(reversed(values))
            else:
                model.extend(values)
        else:
            n = min(len(model), rng.choice((1, 1, 2, 40)))
            head = rng.random() < 0.5
            gone = list(s.order[:n]) if head else list(s.order[len(s.order) - n:])
            s.remove(gone)
            for _ in range(n):
                model.popleft() if head else model.pop()
        kinds.add(type(s.order))
        assert len(s) == len(model)
        if model:
            assert s.value_at(0) == model[0] and s.value_at(-1) == model[-1]
    assert s.visible() == list(model)
    assert kinds == {list, SortedList}
