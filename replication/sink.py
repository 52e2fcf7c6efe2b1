"""Where committed effect batches go after they were applied locally.

The server hands every committed batch to one sink, in commit order. ``replication.replicator.Replicator``
(op log and peer links) is the real one; ``RecordingSink`` serves tests.
"""

from __future__ import annotations

from typing import Protocol

from crdt.effects import Batch


class ReplicationSink(Protocol):
    def append(self, batch: Batch) -> None:
        """Take a committed batch (already applied locally). Must not block."""

    def flush(self) -> None:
        """Called before replies are written: make what was appended durable per policy."""

    def close(self) -> None:
        """Flush and release resources at shutdown."""


class RecordingSink:
    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def append(self, batch: Batch) -> None:
        self.batches.append(batch)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass
