"""Generic key commands (Redis's db.c and expire.c).

Deletes are observed-removes (``Delete``); RENAME and COPY read the source and write the
destination's whole content, in one batch, so a peer sees them together (G6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.effects import Delete, Expire
from crdt.entry import Entry
from crdt.numbers import INT64_MAX, INT64_MIN
from server import errors
from server.commands.common import TYPE_COMMANDS, int32_arg, int_arg, lookup
from server.commands.registry import command
from server.commands.scan import ScanArgs, parse_cursor, scan
from server.glob import matches
from server.lazyfree import lazily_freed
from server.resp import OK, Error, Status

if TYPE_CHECKING:
    from server.connection import Client


def _visible(c: Client, key: bytes) -> Entry | None:
    return c.ks.dbs[c.db].get(key, c.ks.now_ms)


@command("del", "unlink")
def cmd_del(c: Client, argv: list[bytes]) -> Any:
    deleted = 0
    cfg = c.server.config
    lazy = argv[0].lower() == b"unlink" or bool(cfg.get("lazyfree-lazy-user-del"))
    for key in argv[1:]:
        c.server.expire_if_needed(c.db, key)
        entry = _visible(c, key)
        if entry is not None:
            if lazy and lazily_freed(entry, cfg):  # INFO lazyfreed_objects (server/lazyfree.py)
                c.server.stats.lazyfreed_objects += 1
            c.ks.emit(Delete(c.db, key))
            deleted += 1
    return deleted


@command("exists")
def cmd_exists(c: Client, argv: list[bytes]) -> Any:
    return sum(1 for key in argv[1:] if lookup(c, key, touch=False) is not None)


@command("touch")
def cmd_touch(c: Client, argv: list[bytes]) -> Any:
    return sum(1 for key in argv[1:] if lookup(c, key) is not None)


@command("type")
def cmd_type(c: Client, argv: list[bytes]) -> Any:
    entry = lookup(c, argv[1], touch=False)
    return Status("none" if entry is None else entry.kind)


@command("keys")
def cmd_keys(c: Client, argv: list[bytes]) -> Any:
    pattern = argv[1]
    db = c.ks.dbs[c.db]
    now = c.ks.now_ms
    match_all = pattern == b"*"
    return [
        k for k in db.entries
        if (match_all or matches(pattern, k, False)) and not db.is_expired(k, now)
    ]


@command("scan")
def cmd_scan(c: Client, argv: list[bytes]) -> Any:
    cursor = parse_cursor(argv[1])
    args = ScanArgs(argv, 2, allow_type=True)
    db = c.ks.dbs[c.db]
    now = c.ks.now_ms
    wanted = args.type.decode("utf-8", "replace").lower() if args.type is not None else None

    expired: list[bytes] = []

    def keep(key: bytes) -> bool:
        entry = db.peek(key)
        if entry is None or not args.accepts(key):
            return False
        if db.is_expired(key, now):
            expired.append(key)
            return False
        return wanted is None or entry.kind == wanted

    next_cursor, keys = scan(
        db.entries, cursor, args.count, cache_id=id(db), generation=db.generation, keep=keep
    )
    for key in expired:  # as Redis's SCAN: the keys it visits past their time are reclaimed
        c.server.reclaim_expired(c.db, key)
    return [b"%d" % next_cursor, keys]


@command("randomkey")
def cmd_randomkey(c: Client, argv: list[bytes]) -> Any:
    return c.server.random_key(c.db)


# -- rename / copy ----------------------------------------------------------------------


def write_copy(c: Client, db: int, key: bytes, entry: Entry) -> None:
    """Emit effects that make ``key`` in ``db`` hold exactly ``entry``'s visible content."""
    c.ks.emit(Delete(db, key))
    for effect in TYPE_COMMANDS[entry.kind].recreate(db, key, entry.content(), entry.expire_at()):
        c.ks.emit(effect)


def _rename(c: Client, argv: list[bytes], nx: bool) -> Any:
    src, dst = argv[1], argv[2]
    c.server.expire_if_needed(c.db, src)
    entry = _visible(c, src)
    if entry is None:
        raise Error(errors.NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    c.server.expire_if_needed(c.db, dst)
    if nx and _visible(c, dst) is not None:
        return 0
    write_copy(c, c.db, dst, entry)
    c.ks.emit(Delete(c.db, src))
    return 1 if nx else OK


@command("rename")
def cmd_rename(c: Client, argv: list[bytes]) -> Any:
    return _rename(c, argv, nx=False)


@command("renamenx")
def cmd_renamenx(c: Client, argv: list[bytes]) -> Any:
    return _rename(c, argv, nx=True)


@command("copy")
def cmd_copy(c: Client, argv: list[bytes]) -> Any:
    src, dst = argv[1], argv[2]
    dbid = c.db
    replace = False
    i = 3
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and i + 1 < len(argv):
            dbid = int32_arg(argv[i + 1])
            if dbid < 0 or dbid >= len(c.ks.dbs):
                raise Error(errors.DB_INDEX)  # checked at once, before later options
            i += 1
        else:
            raise Error(errors.SYNTAX)
        i += 1
    if src == dst and dbid == c.db:
        raise Error(errors.SOURCE_DEST_SAME)
    entry = lookup(c, src)
    if entry is None:
        return 0
    target = c.ks.dbs[dbid]
    c.server.expire_if_needed(dbid, dst)
    if target.get(dst, c.ks.now_ms) is not None and not replace:
        return 0
    write_copy(c, dbid, dst, entry)
    return 1


# -- expiry -----------------------------------------------------------------------------


def _expire_flags(argv: list[bytes]) -> set[bytes]:
    flags: set[bytes] = set()
    for arg in argv[3:]:
        opt = arg.lower()
        if opt not in (b"nx", b"xx", b"gt", b"lt"):
            # the option ends the message, whose CR/LF at the end Redis trims (addReplyErrorFormat)
            raise Error(errors.EXPIRE_UNSUPPORTED_OPTION % errors.arg_text(arg.split(b"\0", 1)[0].rstrip(b"\r\n")))
        flags.add(opt)
    if b"nx" in flags and flags & {b"xx", b"gt", b"lt"}:
        raise Error(errors.EXPIRE_NX_AND_XX_GT_LT)
    if b"gt" in flags and b"lt" in flags:
        raise Error(errors.EXPIRE_GT_AND_LT)
    return flags


def _expire_generic(c: Client, argv: list[bytes], unit: int, absolute: bool) -> Any:
    name = argv[0].lower().decode()
    flags = _expire_flags(argv)
    when = int_arg(argv[2])
    if unit == 1000:
        # C's LLONG_MIN / 1000 truncates toward zero: -9223372036854775 (Python's // floors).
        if when > INT64_MAX // 1000 or when < -(-INT64_MIN // 1000):
            raise Error(errors.INVALID_EXPIRE % name)
        when *= 1000
    base = 0 if absolute else c.ks.now_ms
    if when > INT64_MAX - base:
        raise Error(errors.INVALID_EXPIRE % name)
    when += base
    key = argv[1]
    c.server.expire_if_needed(c.db, key)
    entry = _visible(c, key)
    if entry is None:
        return 0
    current = entry.expire_at() or -1
    if b"nx" in flags and current != -1:
        return 0
    if b"xx" in flags and current == -1:
        return 0
    if b"gt" in flags and (current == -1 or when <= current):
        return 0
    if b"lt" in flags and current != -1 and when >= current:
        return 0
    if when <= c.ks.now_ms:
        c.ks.emit(Delete(c.db, key))
    else:
        c.ks.emit(Expire(c.db, key, when))
    return 1


@command("expire")
def cmd_expire(c: Client, argv: list[bytes]) -> Any:
    return _expire_generic(c, argv, 1000, False)


@command("pexpire")
def cmd_pexpire(c: Client, argv: list[bytes]) -> Any:
    return _expire_generic(c, argv, 1, False)


@command("expireat")
def cmd_expireat(c: Client, argv: list[bytes]) -> Any:
    return _expire_generic(c, argv, 1000, True)


@command("pexpireat")
def cmd_pexpireat(c: Client, argv: list[bytes]) -> Any:
    return _expire_generic(c, argv, 1, True)


def _ttl(c: Client, key: bytes, ms: bool, absolute: bool) -> int:
    entry = lookup(c, key, touch=False)
    if entry is None:
        return -2
    at = entry.expire_at()
    if not at:
        return -1
    ttl = at if absolute else max(at - c.ks.now_ms, 0)
    return ttl if ms else (ttl + 500) // 1000


@command("ttl")
def cmd_ttl(c: Client, argv: list[bytes]) -> Any:
    return _ttl(c, argv[1], False, False)


@command("pttl")
def cmd_pttl(c: Client, argv: list[bytes]) -> Any:
    return _ttl(c, argv[1], True, False)


@command("expiretime")
def cmd_expiretime(c: Client, argv: list[bytes]) -> Any:
    return _ttl(c, argv[1], False, True)


@command("pexpiretime")
def cmd_pexpiretime(c: Client, argv: list[bytes]) -> Any:
    return _ttl(c, argv[1], True, True)


@command("persist")
def cmd_persist(c: Client, argv: list[bytes]) -> Any:
    entry = _visible(c, argv[1])
    if entry is None or not entry.expire_at():
        return 0
    c.ks.emit(Expire(c.db, argv[1], 0))
    return 1


# -- OBJECT -----------------------------------------------------------------------------


@command("object|encoding")
def cmd_object_encoding(c: Client, argv: list[bytes]) -> Any:
    entry = lookup(c, argv[2], touch=False, notify=False)  # objectCommandLookup
    if entry is None:
        return None
    return TYPE_COMMANDS[entry.kind].encoding(entry.content(), c.server.config)
