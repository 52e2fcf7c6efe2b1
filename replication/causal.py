"""The causal buffer: batches that arrived before something their origin had observed.

A batch is applied only once every dot its origin had observed is applied here (G2). Batches
that arrive early wait here, per origin in seq order; every application may make others ready.
The buffer is bounded: past its limit the caller drops the link and catches up again later
from the peer's log, instead of holding memory without bound.
"""

from __future__ import annotations

from crdt.effects import Batch
from crdt.keyspace import Keyspace


class CausalBuffer:
    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.pending: dict[tuple[str, int], tuple[Batch, bytes]] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self.pending)

    def full(self) -> bool:
        return self.bytes > self.max_bytes

    def add(self, batch: Batch, raw: bytes) -> None:
        key = (batch.origin, batch.first_seq)
        if key not in self.pending:
            self.pending[key] = (batch, raw)
            self.bytes += len(raw)

    def pop_ready(self, ks: Keyspace) -> tuple[Batch, bytes] | None:
        """One buffered batch that can be applied now (drops ones already applied)."""
        for key, (batch, raw) in list(self.pending.items()):
            last = batch.last_seq
            if ks.vv.get(batch.origin, 0) >= last:
                del self.pending[key]
                self.bytes -= len(raw)
                continue
            if ks.ready(batch):
                del self.pending[key]
                self.bytes -= len(raw)
                return batch, raw
        return None

    def clear(self) -> None:
        self.pending.clear()
        self.bytes = 0
