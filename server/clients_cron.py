"""Redis's clientsCronHandleTimeout for ``timeout``: a client idle for longer than ``timeout``
seconds is closed, unless it is blocked (its command's own timeout applies) or its connection
was handed over to a peer link (CRDT.SYNC). Checked about once a second."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.app import Server

CHECK_EVERY_S = 1.0


class IdleClients:
    def __init__(self) -> None:
        self._last = 0.0

    def tick(self, server: Server) -> int:
        """Close idle clients; returns how many."""
        limit = server.config.timeout
        now = time.monotonic()
        if not limit or now - self._last < CHECK_EVERY_S:
            return 0
        self._last = now
        closed = 0
        for c in list(server.clients.values()):
            t = c.transport
            if t is None or c.closing or c.blocked is not None:
                continue
            if t.get_protocol() is not c:  # a peer link now
                continue
            if now - c.last_interaction > limit:
                server.log.debug("Closing idle client (id=%d)", c.id)
                c.kill()
                closed += 1
        return closed
