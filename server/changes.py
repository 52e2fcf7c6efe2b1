"""What a changed key sets off in the server (the keyspace's ``on_change``): the memory
accounting, the access statistics, the stream to Redis replicas, client-side caching, blocked
clients' keys and WATCH.

Called for every key every applied batch changes, local or replicated (``key`` None: a flush
of database ``db``, or of every database when ``db`` is -1), so it is compiled with the hot
modules; it reads the server's parts at each call (they may be replaced while it runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.access import AccessStats

if TYPE_CHECKING:
    from server.app import Server


class ChangeHook:
    __slots__ = ("server", "access")

    def __init__(self, server: Server, access: AccessStats) -> None:
        self.server: Any = server
        self.access = access

    def __call__(self, db: int, key: bytes | None) -> None:
        server = self.server
        memory = server.memory
        if memory.tracking:
            memory.on_change(db, key)
        if key is not None:
            self.access.written(db, key)
        if server.ks.quiet:  # a re-add that changed nothing visible: Redis signals nothing
            return
        replicas = server.replicas
        if replicas.links:  # stock Redis replicas attached: the key goes in their stream
            replicas.changed(db, key)
        tracking = server.tracking
        if tracking.clients:  # client-side caching: local and replicated changes alike
            if key is not None:
                tracking.invalidate(key)
            else:
                tracking.flush()
        key_waiters = server._key_waiters
        if key_waiters:
            if key is not None:
                if (db, key) in key_waiters:
                    server.ready_keys[(db, key)] = None
            else:
                server.ready_keys.update(dict.fromkeys(k for k in key_waiters if db < 0 or k[0] == db))
        watchers = server._watchers
        if not watchers:
            return
        if key is not None:
            for client in watchers.get((db, key), ()):
                if (db, key) in client.watch_expired:
                    # Redis's touchWatchedKey: a key already expired at WATCH whose touch is
                    # its removal is logically unchanged (the flag goes; a later touch counts).
                    client.watch_expired.discard((db, key))
                    if not server.ks.dbs[db].exists(key, server.ks.now_ms):
                        continue
                client.watch_dirty = True
            return
        for (wdb, wkey), clients in watchers.items():
            if db < 0 or wdb == db:
                for client in clients:
                    # Redis touches only watched keys that existed: a key missing at WATCH
                    # time that still is (else its creation made the client dirty) is not.
                    if (wdb, wkey) not in client.watch_absent:
                        client.watch_dirty = True
