"""Where committed effect batches go after they were applied locally.

The server hands every committed batch to one sink, in commit order. This issue ships two:
``NullSink`` (a single region) and ``RecordingSink`` (tests). The op log and the peer links
of the replication issue are one more implementation of the same small interface.
"""

from __future__ import annotations

from typing import Protocol

from crdt.effects import Batch


class ReplicationSink(Protocol):
    def append(self, batch: Batch) -> None:
        """Take a committed batch (already applied locally). Must not block."""

    def close(self) -> None:
        """Flush and release resources at shutdown."""


class NullSink:
    def append(self, batch: Batch) -> None:
        pass

    def close(self) -> None:
        pass


class RecordingSink:
    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def append(self, batch: Batch) -> None:
        self.batches.append(batch)

    def close(self) -> None:
        pass
