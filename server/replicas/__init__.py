"""Stock Redis replicas and RDB backups of a region: SYNC/PSYNC (always a full resync) with
REPLCONF, as Redis 7.0's replication.c speaks them to ``redis-cli --rdb``, ``redis-cli
--functions-rdb`` and ``redis-server --replicaof``. ``registry.Replicas`` holds what the
REPLCONFs before a SYNC asked for and the attached replicas; ``link.ReplicaLink`` is the
connection's protocol once SYNC took it over: it sends the snapshot (``server/rdb/snapshot.py``)
a piece per loop turn, as the socket drains."""
