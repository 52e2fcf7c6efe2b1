"""``client-output-buffer-limit``: close a client whose unsent replies grow past its limit.

As Redis's ``checkClientOutputBufferLimits``: a client's class (``normal``, ``pubsub``;
``replica`` is the class of Redis's replicas, and no client connection of ours is one: peer
links have their own flow control) has a hard limit, a soft limit and soft seconds. The client
is closed as soon as its output buffer reaches the hard limit, or once it has stayed at or
above the soft limit for more than the soft seconds. A limit of 0 is no limit (``normal 0 0 0``
is the default). What is unsent is dropped (``abort``), so a client that stops reading cannot
make the server hold more than the limit plus one read's worth of replies.

The output buffer is what the transport holds unsent (``get_write_buffer_size``; bytes the
kernel accepted are not ours any more, as Redis's buffers do not include the socket's).
Replies are checked each time they are written, and clients above a soft limit also on the
server's 100 ms tick (a client that stopped reading sends no commands, so gets no more replies).
Pub/sub pushes (messages, invalidations) are checked where they are queued, by
``server/pubsub.py``, with the same classes; INFO counts both kinds of disconnection.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

# While a read's commands run, the replies built so far are checked against the hard limit
# once they pass this size (one comparison per command otherwise): a pipeline of large replies
# to a client that does not read is cut there, as Redis checks each reply it adds.
OBUF_CHECK_BYTES = 64 * 1024

if TYPE_CHECKING:
    from server.app import Server
    from server.connection import Client


class OutputLimits:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._soft: dict[Client, float] = {}  # clients at or above their soft limit: since when

    def check(self, client: Client, pending: int = 0) -> bool:
        """After replies were written to ``client`` (or while ``pending`` more bytes of replies
        are being built for it): close it if over its limit. True if closed."""
        cls = "pubsub" if client.subs is not None else "normal"  # (as server/pubsub.py's pushes)
        hard, soft, soft_seconds = self.server.config.client_output_buffer_limit[cls]
        if not hard and not soft:
            return False
        transport = client.transport
        if transport is None or client.closing:
            return False
        used = transport.get_write_buffer_size() + pending
        if hard and used >= hard:
            return self._close(client, used)
        if pending:
            return False  # the soft limit counts from when the replies are out
        if soft and used >= soft:
            now = time.monotonic()
            since = self._soft.setdefault(client, now)
            if now - since > soft_seconds:
                return self._close(client, used)
        else:
            self._soft.pop(client, None)
        return False

    def tick(self) -> None:
        """Every 100 ms: the clients over a soft limit (they may have stopped reading)."""
        for client in list(self._soft):
            if client.transport is None or client.closing:
                self._soft.pop(client, None)
            else:
                self.check(client)

    def _close(self, client: Client, used: int) -> bool:
        self._soft.pop(client, None)
        self.server.stats.obuf_disconnections += 1  # INFO stats
        self.server.log.warning(
            "Client id=%d addr=%s laddr=%s name=%s omem=%d closed for overcoming of output "
            "buffer limits.", client.id, client.addr, client.laddr,
            client.name.decode("ascii", "replace"), used)
        client.closing = True
        if client.transport is not None:
            client.transport.abort()  # drop what is unsent: that is the memory we bound
        return True
