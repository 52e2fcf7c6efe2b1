"""Shared by the property tests of the types: replaying a history's batches into a fresh region
in a given order, and drawing one causal delivery order of them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from crdt.effects import Batch
from crdt.keyspace import Keyspace

from .test_semantics_rows import deliver, region


def replay(batches: list[Batch], order: list[int], name: str = "zz") -> Keyspace:
    ks = region(name)
    for i in order:
        deliver(ks, batches[i])
    return ks


def causal_order(batches: list[Batch], draw: Any) -> list[int]:
    """Any order a causal delivery could take: each step picks one batch that is ready."""
    probe = region("zz-probe")
    left = set(range(len(batches)))
    order: list[int] = []
    while left:
        ready = sorted(i for i in left if probe.ready(batches[i]))
        i = draw(st.sampled_from(ready))
        probe.apply_batch(batches[i])
        order.append(i)
        left.discard(i)
    return order
