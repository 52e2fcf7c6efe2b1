"""Stream commands (Redis 7.0's t_stream.c), on the stream CRDT (SEMANTICS.md, "Streams"):
XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XSETID and XREAD (blocking too). Consumer groups
are in streams_groups.py, XINFO in streams_info.py.

XADD ships the entry with the ID the origin chose (``XAdd``); removes (XDEL, XTRIM, XADD's
MAXLEN/MINID) ship the entries they observed (``XRemove``). With peers, ``*`` IDs carry this
region's slot in the low ``SLOT_BITS`` bits of the sequence part, so two regions never generate
the same ID; without peers the IDs are exactly Redis's (``ms-0``, ``ms-1``, ...).

Approximate trimming (``~``) removes whole nodes as Redis does, with Redis's listpack node
boundaries modelled by ``crdt.types.stream_nodes`` (100 entries or 4 KB per node).
"""

from __future__ import annotations

import re
import zlib
from typing import TYPE_CHECKING, Any, NamedTuple

from crdt.effects import Expire
from crdt.types.stream import STREAM, Stream, XAdd, XRemove, XRestore, XSetId
from crdt.types.stream_groups import SID, ZERO, EKey, encode_local
from crdt.types.stream_nodes import LIMITS
from server import errors
from server.blocking import Blocked
from server.commands.common import TYPE_COMMANDS, TypeCommands, int_arg, prepare_write, read
from server.commands.registry import command
from server.resp import NULL_ARRAY, OK, Error, Map
from server.scripting.engine import current_run

if TYPE_CHECKING:
    from server.connection import Client

MAX64 = 2**64 - 1
MAX_ID: SID = (MAX64, MAX64)
SLOT_BITS = 10
BLOCKED_DEFAULT_COUNT = 1000

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
XADD_SMALLER = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
XADD_ZERO = "ERR The ID specified in XADD must be greater than 0-0"
EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items"
XADD_TOO_LARGE = "ERR Elements are too large to be stored"
MAXLEN_NEGATIVE = "ERR The MAXLEN argument must be >= 0."
LIMIT_NEGATIVE = "ERR The LIMIT argument must be >= 0."
MAXLEN_AND_MINID = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
LIMIT_WITHOUT_APPROX = "ERR syntax error, LIMIT cannot be used without the special ~ option"
LIMIT_WITHOUT_STRATEGY = "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
INVALID_START = "ERR invalid start ID for the interval"
INVALID_END = "ERR invalid end ID for the interval"
TIMEOUT_NOT_INT = "ERR timeout is not an integer or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"

_ULL = re.compile(rb"[ \t\n\v\f\r]*[+-]?[0-9]+\Z")


# -- IDs ------------------------------------------------------------------------------------
def parse_ull(data: bytes) -> int | None:
    """Redis's string2ull: a long long that is not negative, else strtoull of the whole
    string (leading spaces and a sign allowed, no overflow)."""
    if not data or b"\0" in data:
        return None
    if len(data) <= 20 and re.fullmatch(rb"-?[1-9][0-9]*|0", data):
        value = int(data)
        if -(2**63) <= value < 2**63:
            return value if value >= 0 else None
    if not _ULL.match(data):
        return None
    text = data.strip(b" \t\n\v\f\r")
    value = int(text)
    if abs(value) > MAX64:
        return None
    return value % 2**64


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False, xadd: bool = False) -> tuple[SID, bool]:
    """streamGenericParseIDOrReply: (ID, seq_given); ``ms-*`` only for XADD."""
    if len(arg) > 127:
        raise Error(INVALID_ID)
    if arg == b"-" or arg == b"+":
        if strict:
            raise Error(INVALID_ID)
        return (ZERO if arg == b"-" else MAX_ID), True
    ms_part, dash, seq_part = arg.partition(b"-")
    ms = parse_ull(ms_part)
    if ms is None:
        raise Error(INVALID_ID)
    if not dash:
        return (ms, missing_seq), True
    if xadd and seq_part == b"*":
        return (ms, 0), False
    seq = parse_ull(seq_part)
    if seq is None:
        raise Error(INVALID_ID)
    return (ms, seq), True


def strict_id(arg: bytes, missing_seq: int = 0) -> SID:
    return parse_id(arg, missing_seq, strict=True)[0]


def interval_id(arg: bytes, missing_seq: int) -> tuple[SID, bool]:
    """streamParseIntervalIDOrReply: (ID, exclusive) for ``(``-prefixed bounds."""
    if len(arg) > 1 and arg[:1] == b"(":
        return parse_id(arg[1:], missing_seq, strict=True)[0], True
    return parse_id(arg, missing_seq)[0], False


def incr_id(sid: SID) -> SID | None:
    ms, seq = sid
    if seq == MAX64:
        return None if ms == MAX64 else (ms + 1, 0)
    return (ms, seq + 1)


def decr_id(sid: SID) -> SID | None:
    ms, seq = sid
    if seq == 0:
        return None if ms == 0 else (ms - 1, MAX64)
    return (ms, seq - 1)


def fmt_id(sid: SID | EKey) -> bytes:
    return b"%d-%d" % (sid[0], sid[1])


def entry_reply(s: Stream, key: EKey) -> list[Any]:
    return [fmt_id(key), list(s.fields[key])]


def id_slot(region: str) -> int:
    """This region's slot in generated IDs (the low SLOT_BITS bits of the sequence part)."""
    return zlib.crc32(region.encode()) & ((1 << SLOT_BITS) - 1)


def next_id(c: Client, last: SID) -> SID:
    """streamNextID; with peers, the smallest greater ID in this region's slot."""
    ms = c.ks.now_ms  # the server's clock for this command
    if not c.ks.has_peers:
        return (ms, 0) if ms > last[0] else incr_id(last) or MAX_ID
    slot = id_slot(c.ks.region.split("/")[0])
    if ms > last[0]:
        return (ms, slot)
    seq = ((last[1] >> SLOT_BITS) + 1) << SLOT_BITS | slot
    if seq > MAX64:
        return (last[0] + 1, slot)
    return (last[0], seq)


# -- reading ---------------------------------------------------------------------------------
def read_stream(c: Client, key: bytes) -> Stream | None:
    s: Stream | None = read(c, key, STREAM)
    return s


def write_stream(c: Client, key: bytes) -> Stream | None:
    s: Stream | None = prepare_write(c, key, STREAM)
    return s


def _recreate(db: int, key: bytes, s: Stream, at: int) -> list[Any]:
    groups = tuple((name, *g.regs[-1][3:6], tuple(sorted(g.acked))) for name, g in s.live_groups())
    entries = tuple((k[0], k[1], s.fields[k]) for k in s.keys)
    local = tuple((name, encode_local(g)) for name, g in s.live_groups())
    effect = XRestore(db, key, entries, s.last_id, s.entries_added, s.max_deleted, groups, local)
    return [effect, *([Expire(db, key, at)] if at else [])]


TYPE_COMMANDS[STREAM] = TypeCommands(_recreate, lambda s, cfg=None: b"stream")


# -- trimming ---------------------------------------------------------------------------------
class TrimArgs:
    __slots__ = ("strategy", "approx", "maxlen", "minid", "limit", "nomkstream", "id", "seq_given", "id_given")

    def __init__(self) -> None:
        self.strategy: str | None = None
        self.approx = False
        self.maxlen = 0
        self.minid: SID = ZERO
        self.limit = -1
        self.nomkstream = False
        self.id: SID = ZERO
        self.seq_given = True
        self.id_given = False


def parse_add_or_trim(argv: list[bytes], xadd: bool) -> tuple[TrimArgs, int]:
    """streamParseAddOrTrimArgsOrReply: the options and the ID's position (XADD)."""
    a = TrimArgs()
    limit_given = False
    i = 2
    argc = len(argv)
    while i < argc:
        more = argc - 1 - i
        opt = argv[i].lower()
        if xadd and argv[i] == b"*":
            break
        if opt in (b"maxlen", b"minid") and more:
            if a.strategy is not None:
                raise Error(MAXLEN_AND_MINID)
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            if opt == b"maxlen":
                a.maxlen = int_arg(argv[i + 1])
                if a.maxlen < 0:
                    raise Error(MAXLEN_NEGATIVE)
            else:
                a.minid = strict_id(argv[i + 1])
            i += 1
            a.strategy = opt.decode()
        elif opt == b"limit" and more:
            a.limit = int_arg(argv[i + 1])
            if a.limit < 0:
                raise Error(LIMIT_NEGATIVE)
            limit_given = True
            i += 1
        elif xadd and opt == b"nomkstream":
            a.nomkstream = True
        elif xadd:
            a.id, a.seq_given = parse_id(argv[i], 0, strict=True, xadd=True)
            a.id_given = True
            break
        else:
            raise Error(errors.SYNTAX)
        i += 1
    if limit_given:
        if a.strategy is None:
            raise Error(LIMIT_WITHOUT_STRATEGY)
        if not a.approx:
            raise Error(LIMIT_WITHOUT_APPROX)
    else:
        # streamParseAddOrTrimArgsOrReply: 100 nodes' worth, 10000 without a node limit,
        # at most a million
        a.limit = min(100 * LIMITS["entries"] or 10000, 1000000) if a.approx else 0
    return a, i


def trim_victims(s: Stream, a: TrimArgs) -> list[EKey]:
    """streamTrim: the entries to remove, oldest first. With ``~`` only whole nodes go, and at
    most ``limit`` entries (0: no limit)."""
    keys = s.keys
    if not a.approx:
        n = max(len(keys) - a.maxlen, 0) if a.strategy == "maxlen" else keys.bisect_left(a.minid)
        return list(keys.islice(0, n))
    nodes = s.nodes
    remaining = len(keys)
    n = 0
    for i in range(len(nodes)):
        entries = nodes.live[i]
        if a.limit and n + entries > a.limit:
            break
        if a.strategy == "maxlen":
            whole = remaining - entries >= a.maxlen
        else:
            last = keys[n + entries - 1]
            whole = (last[0], last[1]) < a.minid
        if not whole:
            break
        n += entries
        remaining -= entries
    return list(keys.islice(0, n))


def emit_trim(c: Client, key: bytes, s: Stream, a: TrimArgs) -> int:
    victims = trim_victims(s, a)
    if victims:
        c.ks.emit(XRemove(c.db, key, tuple(victims), None))
    return len(victims)


# -- commands ---------------------------------------------------------------------------------
@command("xadd")
def cmd_xadd(c: Client, argv: list[bytes]) -> Any:
    a, idpos = parse_add_or_trim(argv, True)
    nfields = len(argv) - idpos - 1
    if nfields < 2 or nfields % 2:
        raise Error(errors.wrong_arity("xadd"))
    if a.id_given and a.seq_given and a.id == ZERO:
        raise Error(XADD_ZERO)
    key = argv[1]
    s = write_stream(c, key)
    if s is None and a.nomkstream:
        return None
    last = s.last_id if s is not None else ZERO
    if last == MAX_ID:
        raise Error(EXHAUSTED)
    if not a.id_given:
        new = next_id(c, last)
    elif a.seq_given:
        new = a.id
    elif a.id[0] == last[0]:
        if last[1] == MAX64:
            # Redis 7.0.15's reply to an ``ms-*`` whose sequence would overflow (newer
            # versions answer "equal or smaller"; the oracle is 7.0.15).
            raise Error(XADD_TOO_LARGE)
        new = (a.id[0], last[1] + 1)
    else:
        new = a.id
    if a.id_given and new <= last:
        raise Error(XADD_SMALLER)
    c.ks.emit(XAdd(c.db, key, new[0], new[1], tuple(argv[idpos + 1:])))
    if a.strategy is not None:
        s = write_stream(c, key)
        assert s is not None
        emit_trim(c, key, s, a)
    return fmt_id(new)


@command("xtrim")
def cmd_xtrim(c: Client, argv: list[bytes]) -> Any:
    a, _ = parse_add_or_trim(argv, False)
    s = write_stream(c, argv[1])
    if s is None:
        return 0
    if a.strategy is None:
        return 0
    return emit_trim(c, argv[1], s, a)


@command("xdel")
def cmd_xdel(c: Client, argv: list[bytes]) -> Any:
    s = write_stream(c, argv[1])
    if s is None:
        return 0
    ids = [strict_id(arg) for arg in argv[2:]]
    victims: list[EKey] = []
    maxdel = s.max_deleted
    raise_to: SID | None = None
    deleted = 0
    for sid in dict.fromkeys(ids):  # a repeated ID finds nothing the second time
        found = list(s.range(sid, sid))
        if found:
            victims += found
            deleted += 1
            if sid > maxdel:
                maxdel = raise_to = sid
    if victims:
        c.ks.emit(XRemove(c.db, argv[1], tuple(victims), raise_to))
    return deleted


@command("xlen")
def cmd_xlen(c: Client, argv: list[bytes]) -> Any:
    s = read_stream(c, argv[1])
    return 0 if s is None else len(s)


def _range(c: Client, argv: list[bytes], rev: bool) -> Any:
    first, second = (argv[3], argv[2]) if rev else (argv[2], argv[3])
    start, startex = interval_id(first, 0)
    end, endex = interval_id(second, MAX64)
    if startex:
        nxt = incr_id(start)
        if nxt is None:
            raise Error(INVALID_START)
        start = nxt
    if endex:
        prv = decr_id(end)
        if prv is None:
            raise Error(INVALID_END)
        end = prv
    count = -1
    j = 4
    while j < len(argv):
        if argv[j].lower() == b"count" and j + 1 < len(argv):
            count = max(int_arg(argv[j + 1]), 0)
            j += 2
        else:
            raise Error(errors.SYNTAX)
    s = read_stream(c, argv[1])
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    out: list[Any] = []
    for k in s.range(start, end, rev):
        if len(out) == count:
            break
        out.append(entry_reply(s, k))
    return out


@command("xrange")
def cmd_xrange(c: Client, argv: list[bytes]) -> Any:
    return _range(c, argv, False)


@command("xrevrange")
def cmd_xrevrange(c: Client, argv: list[bytes]) -> Any:
    return _range(c, argv, True)


@command("xsetid")
def cmd_xsetid(c: Client, argv: list[bytes]) -> Any:
    new = strict_id(argv[2])
    added = -1
    maxdel: SID | None = None
    i = 3
    while i < len(argv):
        more = len(argv) - 1 - i
        opt = argv[i].lower()
        if opt == b"entriesadded" and more:
            added = int_arg(argv[i + 1])
            if added < 0:
                raise Error("ERR entries_added must be positive")
        elif opt == b"maxdeletedid" and more:
            maxdel = strict_id(argv[i + 1])
            if new < maxdel:
                raise Error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
        else:
            raise Error(errors.SYNTAX)
        i += 2
    s = write_stream(c, argv[1])
    if s is None:
        raise Error(errors.NO_SUCH_KEY)
    if len(s):
        if new < s.top_id():
            raise Error("ERR The ID specified in XSETID is smaller than the target stream top item")
        if added != -1 and len(s) > added:
            raise Error("ERR The entries_added specified in XSETID is smaller than the target stream length")
    c.ks.emit(XSetId(c.db, argv[1], new, added, maxdel if maxdel not in (None, ZERO) else None))
    return OK


# -- XREAD ------------------------------------------------------------------------------------
def block_timeout(arg: bytes) -> float:
    """getTimeoutFromObjectOrReply(UNIT_MILLISECONDS): seconds (0 = forever)."""
    ms = int_arg(arg, TIMEOUT_NOT_INT)
    if ms < 0:
        raise Error(TIMEOUT_NEGATIVE)
    return ms / 1000


def keyed_reply(c: Client, items: list[tuple[bytes, Any]]) -> Any:
    """XREAD/XREADGROUP's reply: an array of [key, entries] (RESP2), a map (RESP3)."""
    return Map(items) if c.resp3 else [[k, v] for k, v in items]


def read_after(s: Stream, gt: SID, count: int) -> list[Any]:
    start = incr_id(gt)
    if start is None:
        return []
    out: list[Any] = []
    for k in s.range(start, MAX_ID):
        if count and len(out) == count:
            break
        out.append(entry_reply(s, k))
    return out


class ReadArgs(NamedTuple):
    timeout: float | None
    limit: int
    streams_arg: int
    nstreams: int
    group: bytes | None
    consumer: bytes | None
    noack: bool


def parse_read_args(argv: list[bytes], xreadgroup: bool, script: bool = False) -> ReadArgs:
    """``script``: called by a script, where Redis refuses BLOCK as soon as it parses it."""
    timeout: float | None = None
    count = 0
    streams_arg = 0
    nstreams = 0
    group = consumer = None
    noack = False
    i = 1
    argc = len(argv)
    while i < argc:
        more = argc - i - 1
        opt = argv[i].lower()
        if opt == b"block" and more:
            if script:
                raise Error("ERR %s command is not allowed with BLOCK option from scripts"
                            % argv[0].decode("utf-8", "replace"))
            i += 1
            timeout = block_timeout(argv[i])
        elif opt == b"count" and more:
            i += 1
            count = max(int_arg(argv[i]), 0)
        elif opt == b"streams" and more:
            streams_arg = i + 1
            nstreams = argc - streams_arg
            if nstreams % 2:
                symbol = ">" if xreadgroup else "$"
                raise Error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '%s' must be "
                            "specified." % symbol)
            nstreams //= 2
            break
        elif opt == b"group" and more >= 2:
            if not xreadgroup:
                raise Error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
            group, consumer = argv[i + 1], argv[i + 2]
            i += 2
        elif opt == b"noack":
            if not xreadgroup:
                raise Error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
            noack = True
        else:
            raise Error(errors.SYNTAX)
        i += 1
    if streams_arg == 0:
        raise Error(errors.SYNTAX)
    if xreadgroup and group is None:
        raise Error("ERR Missing GROUP option for XREADGROUP")
    return ReadArgs(timeout, count, streams_arg, nstreams, group, consumer, noack)


@command("xread")
def cmd_xread(c: Client, argv: list[bytes]) -> Any:
    r = parse_read_args(argv, False, current_run(c.server) is not None)
    keys = argv[r.streams_arg:r.streams_arg + r.nstreams]
    ids: list[SID] = []
    for key, arg in zip(keys, argv[r.streams_arg + r.nstreams:], strict=True):
        s = read_stream(c, key)
        if arg == b"$":
            ids.append(s.last_id if s is not None else ZERO)
        elif arg == b">":
            raise Error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
        else:
            ids.append(strict_id(arg))
    items = []
    for key, gt in zip(keys, ids, strict=True):
        s = read_stream(c, key)
        if s is not None and len(s) and s.top_id() > gt:
            items.append((key, read_after(s, gt, r.limit)))
    if items:
        return keyed_reply(c, items)
    if r.timeout is None or c.in_exec:
        return NULL_ARRAY
    count = r.limit or BLOCKED_DEFAULT_COUNT
    waits: dict[bytes, SID] = {}
    for key, gt in zip(keys, ids, strict=True):
        waits.setdefault(key, gt)  # a key given twice waits on its first ID, as blockForKeys

    def check() -> Any:
        ready = blocked.ready_key
        if ready is None:
            return None
        key = ready[1]
        content = prepare_write(c, key)
        if content is None or content.type_name != STREAM:
            return None
        gt = waits[key]
        if content.last_id > gt:
            entries = read_after(content, gt, count)
            if entries:
                return keyed_reply(c, [(key, entries)])
        return None

    db = c.db
    blocked = Blocked(check, r.timeout, lambda: NULL_ARRAY, tuple((db, k) for k in waits))
    blocked.client = c
    return blocked
