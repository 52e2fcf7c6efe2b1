"""Blocking commands (WAIT, CRDT.WAITTOKEN): a reply that is not ready yet.

A handler returns ``Blocked(check, timeout_s, on_timeout)``. The connection stops running its
later commands (replies stay in order) and the server re-evaluates ``check`` whenever
something it may depend on changes (a peer's acknowledgement, a replicated batch) and on a
timer; ``check`` returns the reply once it is ready, ``None`` meanwhile. At the deadline the
reply is ``on_timeout()``. Inside MULTI/EXEC the handlers answer at once instead, as Redis's
blocking commands do in a transaction.

``keys`` (BLPOP and the other blocking pops): the (db, key) pairs the waiter waits on. When one
of them changes (a local write or a replicated batch: the keyspace's ``on_change``), the server
re-evaluates the waiters on it after the command (or the batch): key by key in the order they
became ready, on each the waiters in the order they blocked, with ``ready_key`` set to that
key while ``check`` runs (Redis serves a client from the key that became ready, not the first
of its keys); on the timer ``ready_key`` is None.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class Blocked:
    __slots__ = ("check", "deadline", "on_timeout", "client", "keys", "ready_key", "timed_out")
    # False: not a blocked client as Redis counts them (MIGRATE's transfer, synchronous in Redis):
    # CLIENT UNBLOCK, CLIENT LIST's b flag and INFO's blocked_clients leave it out
    unblockable = True

    def __init__(self, check: Callable[[], Any], timeout_s: float | None, on_timeout: Callable[[], Any],
                 keys: tuple[tuple[int, bytes], ...] = ()) -> None:
        self.check = check
        self.keys = keys
        self.ready_key: tuple[int, bytes] | None = None
        self.deadline = None if not timeout_s else time.monotonic() + timeout_s
        self.on_timeout = on_timeout
        self.client: Any = None
        self.timed_out = False  # answered by on_timeout at the deadline

    def poll(self, now: float) -> tuple[bool, Any]:
        """(done, reply)."""
        reply = self.check()
        if reply is not None:
            return True, reply
        if self.deadline is not None and now >= self.deadline:
            self.timed_out = True
            return True, self.on_timeout()
        return False, None
