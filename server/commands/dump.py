"""DUMP and RESTORE (Redis's cluster.c), in Redis 7.0's own serialization (``server/rdb``).

RESTORE is an ordinary local write: with REPLACE the old key is deleted (an observed-remove),
then the value is written through its type's normal effects (a string assignment, set adds,
...), with the TTL as an absolute expire time, all in one batch; peers apply those effects.
IDLETIME and FREQ set this region's access statistics for the key (local, never replicated).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.effects import Delete
from crdt.numbers import INT64_MAX
from server import errors
from server.commands.common import int_arg, lookup
from server.commands.registry import command
from server.rdb import builtin as _builtin  # noqa: F401  (registers the built-in codecs)
from server.rdb import streams as _streams  # noqa: F401  (registers the stream codec)
from server.rdb.listpack import FormatError
from server.rdb.objects import (
    AFTER_RESTORE,
    NoDumper,
    dump_payload,
    load_payload,
    restore_effects,
    verify_payload,
)
from server.resp import OK, Error

if TYPE_CHECKING:
    from server.connection import Client


@command("dump")
def cmd_dump(c: Client, argv: list[bytes]) -> Any:
    entry = lookup(c, argv[1])
    if entry is None:
        return None
    try:
        return dump_payload(entry.content())
    except NoDumper as exc:  # activekv's own error: Redis dumps every type
        raise Error(f"ERR DUMP of a {exc} is not supported yet") from None


@command("restore", "restore-asking")
def cmd_restore(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    replace = absttl = False
    freq = idle = -1
    j = 4
    while j < len(argv):
        opt = argv[j].lower()
        more = j + 1 < len(argv)
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more and freq == -1:
            idle = int_arg(argv[j + 1])
            if idle < 0:
                raise Error(errors.INVALID_IDLETIME)
            j += 1
        elif opt == b"freq" and more and idle == -1:
            freq = int_arg(argv[j + 1])
            if freq < 0 or freq > 255:
                raise Error(errors.INVALID_FREQ)
            j += 1
        else:
            raise Error(errors.SYNTAX)
        j += 1
    c.server.expire_if_needed(c.db, key)
    db = c.ks.dbs[c.db]
    exists = db.exists(key, c.ks.now_ms)
    if not replace and exists:
        raise Error(errors.BUSYKEY)
    ttl = int_arg(argv[2])
    if ttl < 0:
        raise Error(errors.INVALID_TTL)
    payload = argv[3]
    if not verify_payload(payload, c.server.skip_checksum_validation):
        raise Error(errors.DUMP_PAYLOAD)
    try:
        loaded = load_payload(payload)
    except FormatError:
        raise Error(errors.BAD_DATA_FORMAT) from None
    if replace and exists:
        c.ks.emit(Delete(c.db, key))
    at = ttl if absttl or not ttl else ttl + c.ks.now_ms
    if at > INT64_MAX:  # Redis's long long addition wraps: the key is already expired
        at -= 1 << 64
    if at and at <= c.ks.now_ms:  # already expired: only the delete (if any) happens
        return OK
    for effect in restore_effects(c.db, key, loaded, at):
        c.ks.emit(effect)
    after = AFTER_RESTORE.get(loaded[0])
    restored = db.get(key, c.ks.now_ms) if after is not None else None
    content = restored.part(loaded[0]) if restored is not None else None
    if after is not None and content is not None:
        after(content, loaded[1])
    c.server.access.restored(c.db, key, idle, freq)
    return OK
