"""Consumer groups (Redis 7.0's t_stream.c): XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
XAUTOCLAIM, and the XREAD/XREADGROUP argument parser.

XGROUP CREATE/SETID/DESTROY and XACK replicate (``XGroupSet``, ``XGroupDestroy``, ``XAck``);
what a region delivered — its last-delivered ID once it read, entries-read, the pending
entries list, consumers and delivery counts — is local to the region (SEMANTICS.md, "consumer
groups") and changed here directly on the group (``Group``), never shipped. XREADGROUP ``>``
skips entries acknowledged in any region, so an acknowledged entry is not delivered again
after a failover.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.types.stream import Stream, XAck, XGroupDestroy, XGroupSet, XLocal
from crdt.types.stream_groups import NO_ENTRIES_READ, SID, ZERO, Group
from server import errors
from server.blocking import Blocked
from server.commands.common import int_arg
from server.commands.registry import command
from server.commands.streams import (
    BLOCKED_DEFAULT_COUNT,
    INVALID_START,
    MAX64,
    MAX_ID,
    decr_id,
    fmt_id,
    incr_id,
    interval_id,
    keyed_reply,
    parse_id,
    parse_read_args,
    read_stream,
    strict_id,
    write_stream,
)
from server.resp import NULL_ARRAY, OK, Error
from server.scripting.engine import current_run

if TYPE_CHECKING:
    from server.connection import Client

XGROUP_NEEDS_KEY = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use "
    "the MKSTREAM option to create an empty stream automatically."
)
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
ENTRIESREAD_RANGE = "ERR value for ENTRIESREAD must be positive or -1"


def subcommand_syntax(sub: bytes) -> Error:
    return Error("ERR unknown subcommand or wrong number of arguments for '%s'. Try XGROUP HELP."
                 % errors._text(sub[:128]))


# -- entries-read and lag (streamRangeHasTombstones, streamEstimateDistanceFromFirstEverEntry) --
def has_tombstones(s: Stream, start: SID) -> bool:
    maxdel = s.max_deleted
    if not len(s) or maxdel == ZERO:
        return False
    if s.first_id() > maxdel:
        return False
    return start <= maxdel


def estimate_read(s: Stream, sid: SID) -> int:
    added = s.entries_added
    if not added:
        return 0
    last = s.last_id
    if not len(s) and sid <= last:
        return added
    if sid == last:
        return added
    if sid > last:
        return NO_ENTRIES_READ
    maxdel, first = s.max_deleted, s.first_id()
    if maxdel == ZERO or maxdel < first:
        if sid < first:
            return added - len(s)
        if sid == first:
            return added - len(s) + 1
    return NO_ENTRIES_READ


def long_long(n: int) -> int:
    """A uint64 as Redis replies with it (addReplyLongLong of the C value: 2^64 - 1 is -1)."""
    return (n + (1 << 63)) % (1 << 64) - (1 << 63)


def lag(s: Stream, g: Group) -> int | None:
    added = s.entries_added
    if not added:
        return 0
    if g.entries_read != NO_ENTRIES_READ and not has_tombstones(s, g.last_id):
        return long_long(added - g.entries_read)
    read = estimate_read(s, g.last_id)
    return None if read == NO_ENTRIES_READ else long_long(added - read)


def now_ms(c: Client) -> int:
    return c.ks.now_ms


def nogroup(key: bytes, group: bytes) -> Error:
    return Error("NOGROUP No such key '%s' or consumer group '%s'" % (errors.arg_text(key), errors.arg_text(group)))


def group_of(c: Client, key: bytes, name: bytes) -> tuple[Stream, Group]:
    """The stream and its group, or NOGROUP (WRONGTYPE for another type)."""
    s = read_stream(c, key)
    g = s.group(name) if s is not None else None
    if s is None or g is None:
        raise nogroup(key, name)
    return s, g


# -- XGROUP -----------------------------------------------------------------------------------
def _entries_read_arg(arg: bytes) -> int:
    n = int_arg(arg)
    if n < 0 and n != NO_ENTRIES_READ:
        raise Error(ENTRIESREAD_RANGE)
    return n


def _xgroup_target(c: Client, argv: list[bytes], mkstream: bool, needs_group: bool) -> tuple[Stream | None, Group | None]:
    s = write_stream(c, argv[2])
    g = s.group(argv[3]) if s is not None else None
    if not mkstream:
        if s is None:
            raise Error(XGROUP_NEEDS_KEY)
        if g is None and needs_group:
            raise Error("NOGROUP No such consumer group '%s' for key name '%s'"
                        % (errors.arg_text(argv[3]), errors.arg_text(argv[2])))
    return s, g


@command("xgroup|create")
def cmd_xgroup_create(c: Client, argv: list[bytes]) -> Any:
    mkstream = False
    entries_read = NO_ENTRIES_READ
    i = 5
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"mkstream":
            mkstream = True
            i += 1
        elif opt == b"entriesread" and i + 1 < len(argv):
            entries_read = _entries_read_arg(argv[i + 1])
            i += 2
        else:
            raise subcommand_syntax(argv[1])
    s, g = _xgroup_target(c, argv, mkstream, False)
    if len(argv) > 8:
        raise subcommand_syntax(argv[1])
    if argv[4] == b"$":
        sid = s.last_id if s is not None else ZERO
    else:
        sid = strict_id(argv[4])
    if g is not None:
        raise Error(BUSYGROUP)
    c.ks.emit(XGroupSet(c.db, argv[2], argv[3], sid, entries_read, s is None))
    return OK


@command("xgroup|setid")
def cmd_xgroup_setid(c: Client, argv: list[bytes]) -> Any:
    # Redis's xgroupCommand parses the options before the key lookup, counts them after it
    entries_read = NO_ENTRIES_READ
    i = 5
    while i < len(argv):
        if argv[i].lower() == b"entriesread" and i + 1 < len(argv):
            entries_read = _entries_read_arg(argv[i + 1])
            i += 2
        else:
            raise subcommand_syntax(argv[1])
    s, g = _xgroup_target(c, argv, False, True)
    if len(argv) not in (5, 7):
        raise subcommand_syntax(argv[1])
    assert s is not None
    sid = s.last_id if argv[4] == b"$" else parse_id(argv[4])[0]
    c.ks.emit(XGroupSet(c.db, argv[2], argv[3], sid, entries_read, False))
    return OK


@command("xgroup|destroy")
def cmd_xgroup_destroy(c: Client, argv: list[bytes]) -> Any:
    _, g = _xgroup_target(c, argv, False, False)
    if g is None:
        return 0
    c.ks.emit(XGroupDestroy(c.db, argv[2], argv[3]))
    return 1


@command("xgroup|createconsumer")
def cmd_xgroup_createconsumer(c: Client, argv: list[bytes]) -> Any:
    _, g = _xgroup_target(c, argv, False, True)
    assert g is not None
    if argv[4] in g.consumers:
        return 0
    g.touch(argv[4], now_ms(c))
    emit_local(c, argv[2], argv[3], g)
    return 1


@command("xgroup|delconsumer")
def cmd_xgroup_delconsumer(c: Client, argv: list[bytes]) -> Any:
    _, g = _xgroup_target(c, argv, False, True)
    assert g is not None
    if argv[4] not in g.consumers:
        return 0
    pending = g.delete_consumer(argv[4])
    emit_local(c, argv[2], argv[3], g)
    return pending


_XGROUP_HELP = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
]


@command("xgroup|help")
def cmd_xgroup_help(c: Client, argv: list[bytes]) -> Any:
    from server.resp import Status

    return [Status(line) for line in _XGROUP_HELP]


# -- XACK -----------------------------------------------------------------------------------
@command("xack")
def cmd_xack(c: Client, argv: list[bytes]) -> Any:
    s = write_stream(c, argv[1])
    g = s.group(argv[2]) if s is not None else None
    if g is None:
        return 0
    ids = [strict_id(arg) for arg in argv[3:]]
    pending = sum(1 for sid in dict.fromkeys(ids) if sid in g.pel)
    c.ks.emit(XAck(c.db, argv[1], argv[2], tuple(dict.fromkeys(ids))))
    return pending


# -- XREAD / XREADGROUP --------------------------------------------------------------------
def touch_consumer(c: Client, key: bytes, g: Group, consumer: bytes, now: int) -> None:
    """Refresh a consumer's seen-time, creating it if new: then, as Redis's
    streamCreateConsumer, the ``xgroup-createconsumer`` keyspace event (XREADGROUP, XCLAIM and
    XAUTOCLAIM create consumers implicitly when they deliver or claim something)."""
    if consumer not in g.consumers:
        c.ks.events.append(("t", "xgroup-createconsumer", c.db, key))
    g.touch(consumer, now)


def emit_local(c: Client, key: bytes, name: bytes, g: Group) -> None:
    """Emit the group's journaled local changes (``XLocal``: logged, applied only here)."""
    if g.journal:
        ops, g.journal = tuple(g.journal), []
        c.ks.emit(XLocal(c.db, key, name, ops))


def deliver_new(s: Stream, g: Group, consumer: bytes, count: int, noack: bool, now: int) -> list[Any]:
    """streamReplyWithRange for a group and ``>``: entries after the group's last-delivered ID
    (skipping those acknowledged anywhere), which move the ID and enter the pending lists;
    first, entries that arrived from another region below that ID (``Group.late``)."""
    out: list[Any] = []
    for sid in sorted(g.late):  # arrived from another region below what was delivered here
        if count and len(out) >= count:
            break
        g.unlate(sid)
        if sid in g.acked:
            continue
        for k in s.range(sid, sid):
            out.append([fmt_id(k), list(s.fields[k])])
            if not noack:
                g.set_nack(sid, consumer, now, 1)
    start = incr_id(g.last_id)
    if start is None:
        return out
    last, read = g.last_id, g.entries_read
    for k in list(s.range(start, MAX_ID)):
        if count and len(out) == count:
            break
        sid = (k[0], k[1])
        if sid > last:
            if read != NO_ENTRIES_READ and not has_tombstones(s, sid):
                read += 1
            elif s.entries_added:
                read = estimate_read(s, sid)
            last = sid
        if sid in g.acked:
            continue
        out.append([fmt_id(k), list(s.fields[k])])
        if not noack:
            g.set_nack(sid, consumer, now, 1)
    g.set_local(last, read)
    return out


def deliver_history(s: Stream, g: Group, consumer: bytes, gt: SID, count: int, now: int) -> list[Any]:
    """streamReplyWithRangeFromConsumerPEL: the consumer's pending entries after ``gt``."""
    cons = g.consumers[consumer]
    start = incr_id(gt)
    if start is None:
        return []
    out: list[Any] = []
    for sid in list(cons.pel.irange(start)):
        if count and len(out) == count:
            break
        found = list(s.range(sid, sid))
        if not found:
            out.append([fmt_id(sid), NULL_ARRAY])
            continue
        for k in found:
            out.append([fmt_id(k), list(s.fields[k])])
        g.set_nack(sid, consumer, now, cons.pel[sid].delivery_count + 1)
    return out


@command("xreadgroup")
def cmd_xreadgroup(c: Client, argv: list[bytes]) -> Any:
    r = parse_read_args(argv, True, current_run(c.server) is not None)
    assert r.group is not None and r.consumer is not None
    group, consumer = r.group, r.consumer
    keys = argv[r.streams_arg:r.streams_arg + r.nstreams]
    ids: list[SID | None] = []  # None: ">"
    for key, arg in zip(keys, argv[r.streams_arg + r.nstreams:], strict=True):
        s = read_stream(c, key)
        if s is None or s.group(group) is None:
            raise Error("NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option"
                        % (errors.arg_text(key), errors.arg_text(group)))
        if arg == b"$":
            raise Error(
                "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
                "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would "
                "just return an empty result set.")
        ids.append(None if arg == b">" else strict_id(arg))
    now = now_ms(c)
    items = []
    for key, gt in zip(keys, ids, strict=True):
        s = read_stream(c, key)
        assert s is not None
        g = s.group(group)
        assert g is not None
        if gt is not None:
            touch_consumer(c, key, g, consumer, now)
            items.append((key, deliver_history(s, g, consumer, gt, r.limit, now)))
        elif (len(s) and s.top_id() > g.last_id) or g.late:
            touch_consumer(c, key, g, consumer, now)
            entries = deliver_new(s, g, consumer, r.limit, r.noack, now)
            if entries:
                items.append((key, entries))
        emit_local(c, key, group, g)
    if items:
        return keyed_reply(c, items)
    if r.timeout is None or c.in_exec:
        return NULL_ARRAY
    count = r.limit or BLOCKED_DEFAULT_COUNT
    # served when an XADD raises the stream's last ID (or an entry arrives late from another
    # region); as Redis 7.0.15, the key deleted or of another type, or the group destroyed,
    # end the wait with an error
    waits: dict[bytes, SID] = {}
    for key in keys:
        s = read_stream(c, key)
        waits.setdefault(key, s.last_id if s is not None else ZERO)

    def check() -> Any:
        ready = blocked.ready_key
        if ready is None:
            return None
        key = ready[1]
        content = write_stream_quiet(c, key)
        if content is None:
            return Error("UNBLOCKED the stream key no longer exists")
        g = content.group(group)
        if g is None:
            return Error("NOGROUP the consumer group this client was blocked on no longer exists")
        if content.last_id <= waits[key] and not g.late:
            return None
        waits[key] = content.last_id
        t = now_ms(c)
        touch_consumer(c, key, g, consumer, t)
        entries = deliver_new(content, g, consumer, count, r.noack, t)
        emit_local(c, key, group, g)
        batch = c.ks.commit()
        if batch is not None:  # the delivery is this region's (local) write
            c.server.ship(batch)
            c.last_batch = batch
            if batch.events:
                c.server.notifier.fire(batch.events)
        return keyed_reply(c, [(key, entries)]) if entries else None

    db = c.db
    blocked = Blocked(check, r.timeout, lambda: NULL_ARRAY, tuple((db, k) for k in waits))
    blocked.client = c
    return blocked


def write_stream_quiet(c: Client, key: bytes) -> Stream | None:
    """The key's stream for a blocked client being served; another type: None (it stays blocked)."""
    try:
        return write_stream(c, key)
    except Error:
        return None


# -- XPENDING -------------------------------------------------------------------------------
@command("xpending")
def cmd_xpending(c: Client, argv: list[bytes]) -> Any:
    argc = len(argv)
    justinfo = argc == 3
    if argc != 3 and (argc < 6 or argc > 9):
        raise Error(errors.SYNTAX)
    minidle = 0
    count = 0
    start, end = ZERO, MAX_ID
    consumer_name = None
    if argc >= 6:
        startidx = 3
        if argv[3].lower() == b"idle":
            minidle = int_arg(argv[4])
            if argc < 8:
                raise Error(errors.SYNTAX)
            startidx += 2
        count = max(int_arg(argv[startidx + 2]), 0)
        start, startex = interval_id(argv[startidx], 0)
        if startex:
            nxt = incr_id(start)
            if nxt is None:
                raise Error(INVALID_START)
            start = nxt
        end, endex = interval_id(argv[startidx + 1], MAX64)
        if endex:
            prv = decr_id(end)
            if prv is None:
                raise Error("ERR invalid end ID for the interval")
            end = prv
        if startidx + 3 < argc:
            consumer_name = argv[startidx + 3]
    s = read_stream(c, argv[1])
    g = s.group(argv[2]) if s is not None else None
    if g is None:
        raise nogroup(argv[1], argv[2])
    if justinfo:
        if not g.pel:
            return [0, None, None, NULL_ARRAY]
        owners = [[name, b"%d" % len(cons.pel)] for name, cons in sorted(g.consumers.items()) if cons.pel]
        return [len(g.pel), fmt_id(g.pel.keys()[0]), fmt_id(g.pel.keys()[-1]), owners]
    pel = g.pel
    if consumer_name is not None:
        cons = g.consumers.get(consumer_name)
        if cons is None:
            return []
        pel = cons.pel
    now = now_ms(c)
    out = []
    for sid in pel.irange(start, end):
        if not count:
            break
        nack = pel[sid]
        if minidle and now - nack.delivery_time < minidle:
            continue
        count -= 1
        out.append([fmt_id(sid), nack.consumer, max(now - nack.delivery_time, 0), nack.delivery_count])
    return out
