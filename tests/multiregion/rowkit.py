"""Helpers for the SEMANTICS.md row tests: conflicting writes made while regions are split.

``Rows`` wraps a ``Cluster``: ``split()`` partitions every pair of regions (so writes made
afterwards in different regions are concurrent: neither observed the other), ``heal()`` heals
every link and waits until all regions have the same VV and digest, ``same(cmd)`` runs a read
in every region and asserts the replies are equal.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from server.harness.regions import Cluster

# Two writes in different regions separated by this much wall-clock time are ordered by it:
# timestamps are HLCs over the (shared) wall clock.
LATER_S = 0.02


class Rows:
    def __init__(self, cluster: Cluster) -> None:
        self.c = cluster
        self.n = cluster.n

    # -- faults -------------------------------------------------------------------------
    def split(self) -> None:
        for i in range(self.n):
            for j in range(i + 1, self.n):
                self.c.partition(i, j)

    def heal(self) -> bytes:
        self.c.heal_all()
        return self.c.wait_converged()

    @contextmanager
    def partitioned(self) -> Iterator[None]:
        """Writes inside are concurrent across regions; on exit heal and converge."""
        self.c.wait_converged()
        self.split()
        yield
        self.heal()

    def later(self) -> None:
        """Let the wall clock move on, so the next write has a greater timestamp."""
        time.sleep(LATER_S)

    # -- commands -----------------------------------------------------------------------
    def call(self, i: int, *cmd: Any, db: int = 0) -> Any:
        if db == 0:
            return self.c.call(i, *cmd)
        with self.c.client(i, db=db) as r:
            return r.execute_command(*cmd)

    def all(self, *cmd: Any, db: int = 0) -> list[Any]:
        return [self.call(i, *cmd, db=db) for i in range(self.n)]

    def same(self, *cmd: Any, db: int = 0, key: Callable[[Any], Any] | None = None) -> Any:
        """The reply of ``cmd``, asserted equal in every region (after ``key``)."""
        replies = self.all(*cmd, db=db)
        if key is not None:
            replies = [key(r) for r in replies]
        assert all(r == replies[0] for r in replies), f"{cmd!r} differs between regions: {replies!r}"
        return replies[0]

    def digests_equal(self) -> None:
        digests = self.c.digests()
        assert len(set(digests)) == 1, digests

    # -- observation --------------------------------------------------------------------
    def info(self, i: int) -> dict[str, Any]:
        with self.c.client(i) as r:
            return r.info("crdt")

    def counts(self, i: int) -> dict[str, int]:
        info = self.info(i)
        return {k[len("conflicts_"):]: int(v) for k, v in info.items() if k.startswith("conflicts_")}

    def all_counts(self) -> list[dict[str, int]]:
        return [self.counts(i) for i in range(self.n)]

    def conflicts_for(self, i: int, key: bytes, kind: str | None = None) -> list[dict[str, Any]]:
        rows = [as_dict(row) for row in self.call(i, "CRDT.CONFLICTS", "COUNT", 1024)]
        return [r for r in rows if r["key"] == key and (kind is None or _s(r["kind"]) == kind)]

    def vv(self, i: int) -> str:
        return str(self.info(i).get("vv", ""))

    def own_seq(self, i: int) -> int:
        """How many effects region ``i`` has made (its own entry in its VV)."""
        info = self.info(i)
        vv = info.get("vv") or {}
        if not isinstance(vv, dict):  # redis-py parses "a=1,b=2" into a dict, "" not
            vv = dict(part.rpartition("=")[::2] for part in str(vv).split(",") if part)
        return int(vv.get(str(info["origin"]), 0))


def as_dict(row: Any) -> dict[str, Any]:
    if isinstance(row, dict):
        return {_s(k): v for k, v in row.items()}
    items = list(row)
    return {_s(k): v for k, v in zip(items[::2], items[1::2], strict=True)}


def _s(x: Any) -> Any:
    return x.decode() if isinstance(x, bytes) else x


def grew(before: list[dict[str, int]], after: list[dict[str, int]], kind: str) -> list[int]:
    """How much each region's counter of ``kind`` grew."""
    return [a[kind] - b[kind] for b, a in zip(before, after, strict=True)]


def poll(pred: Callable[[], bool], timeout: float = 10.0, every: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(every)
    return pred()


def make_fixtures() -> tuple[Any, Any]:
    """A module-scoped cluster and an autouse finalizer that heals every link after each test."""

    @pytest.fixture(scope="module")
    def cluster() -> Iterator[Cluster]:
        with Cluster(3) as c:
            c.wait_linked()
            yield c

    @pytest.fixture(autouse=True)
    def rows(cluster: Cluster) -> Iterator[Rows]:
        r = Rows(cluster)
        try:
            yield r
        finally:
            cluster.heal_all()

    return cluster, rows
