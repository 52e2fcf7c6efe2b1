"""Writes refused while the disk fails, as Redis's ``writeCommandsDeniedByDiskError``.

* A failed op log write or fsync (``replication/oplog.py``; Redis: the AOF) refuses every
  command flagged ``write`` — and ``PING``, as Redis does, so a health check notices — with
  ``-MISCONF Errors writing to the AOF file: <strerror>`` until a retry (once a second)
  succeeds. Inside MULTI the refused command aborts the transaction (``EXECABORT``); ``EXEC`` of
  a transaction that queued a write is refused; a script's first write (``redis.call``) and a
  script with flags that may write are refused (``server/scripting/engine.py``).
* A failed background snapshot (BGSAVE, a ``save`` point) with ``stop-writes-on-bgsave-error
  yes`` and ``save`` points configured refuses them with Redis's RDB ``-MISCONF`` text until a
  snapshot succeeds (the next ``save`` point retries after 5 s, as Redis; SAVE/BGSAVE now).
* With ``appendfsync always`` the replies of a client whose last write could not be written or
  fsynced are held until it is (Redis exits instead): a client is never told "OK" for a write a
  crash could lose. Other clients' replies (reads, refused writes) go out.
* ``DEBUG SET-DISK-FAULT eio|enospc|edquot|fsync-eio|snapshot-eio|off`` injects a failure into
  the op log's and snapshots' writes/fsyncs (``replication/diskio.py``): only when the server
  was started with ``debug-disk-faults yes`` (tests), else it is an unknown DEBUG subcommand.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from crdt.clock import vv_leq
from replication import diskio
from replication.diskio import DiskStatus
from server import errors

if TYPE_CHECKING:
    from server.app import Server
    from server.commands.registry import Command
    from server.connection import Client


class DiskGuard:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.held: list[Client] = []  # appendfsync always: replies waiting for the disk
        rep = server.replicator
        self._status = rep.disk_status if rep is not None else DiskStatus()

    def denied(self) -> str | None:
        """The MISCONF text when writes are refused, else None (Redis's order: RDB first)."""
        server = self.server
        cfg = server.config
        if cfg.stop_writes_on_bgsave_error and cfg.save and not server.persistence.last_bgsave_ok:
            return errors.MISCONF_RDB
        rep = server.replicator
        if rep is not None:
            code = rep.disk_error
            if code:
                return errors.MISCONF_AOF % os.strerror(code)
        return None

    def clear(self) -> bool:
        """No disk error stands (the dispatch fast path's check: then nothing is refused)."""
        status = self._status
        return not status.write_errno and not status.fsync_errno and self.server.persistence.last_bgsave_ok

    def refuses(self, client: Client, cmd: Command) -> str | None:
        """Before a command (processCommand): the error for a write (or PING) now."""
        status = self._status
        if not status.write_errno and not status.fsync_errno and self.server.persistence.last_bgsave_ok:
            return None  # the common case, cheaply
        message = self.denied()
        if message is None:
            return None
        if cmd.write or cmd.name == "ping":
            return message
        if cmd.name == "exec" and client.multi is not None and any(q.write for q, _ in client.multi):
            return message
        return None

    # -- replies with appendfsync always ------------------------------------------------------
    def write_replies(self, queue: list[Client]) -> None:
        """After the log flush: write the replies of ``queue``. With ``always`` and a log that
        failed, a client whose last write is not in the log yet keeps its replies (in order,
        with those it is sent later) until it is; the others are written."""
        server = self.server
        rep = server.replicator
        if rep is None or server.config.appendfsync != "always" or (not self.held and rep.disk_ok):
            if self.held:  # appendfsync changed meanwhile: nothing waits any longer
                queue, self.held = self.held + queue, []
            for client in queue:
                client.write_out()
            return
        durable = rep.durable_vv
        held: list[Client] = []
        for client in self.held + [c for c in queue if c not in self.held]:
            if client in held:
                continue
            if vv_leq(client.last_write_vv, durable):
                client.write_out()
            else:
                held.append(client)
        self.held = held

    def tick(self) -> None:
        """Every 100 ms: held replies go out once the log has their writes."""
        if self.held:
            self.server.write_replies()


def debug_set_disk_fault(server: Server, name: bytes) -> bool:
    """DEBUG SET-DISK-FAULT: False when it is not enabled or ``name`` is unknown."""
    if not server.config.debug_disk_faults:
        return False
    key = name.decode("utf-8", "replace").lower()
    if key != "off" and key not in diskio.FAULTS:
        return False
    diskio.inject(key)
    server.log.warning("DEBUG SET-DISK-FAULT %s", key)
    return True
