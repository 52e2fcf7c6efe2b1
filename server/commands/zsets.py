"""Sorted set commands (Redis 7.0's t_zset.c), on the zset CRDT (SEMANTICS.md, "Sorted sets").

ZADD evaluates NX/XX/GT/LT/CH against the local state, member by member as Redis does, and
ships the resulting assignments (``ZAssign``; a member re-added at its current score is
shipped too, so that ``ZADD x ‖ ZREM x`` keeps ``x``); ZINCRBY and ZADD INCR ship the
increment (``ZIncr``), never the result. Removes (ZREM, ZPOPMIN/ZPOPMAX) emit ``ZRemove``, or
``Delete`` when they remove every member, since Redis then deletes the key (its TTL included).

Scores are parsed as Redis does: ``string2d`` (strtod, whole string, no leading space, no NaN,
no overflow or underflow to zero) for scores and increments, and ``zslParseRange``'s laxer
strtod (leading spaces, anything after a NUL ignored, overflow allowed) for range bounds.
Replies print scores as ``addReplyDouble`` (``%.17g``; RESP3 doubles); ZSCAN prints them as
strings, as the listpack stores them (``d2string``) or ``%.17g`` for a skiplist.

Range removes, ZRANDMEMBER, ZRANGESTORE and ZMPOP are in zsets_ranges.py; ZUNION, ZINTER,
ZDIFF, their STORE forms and ZINTERCARD in zsets_algebra.py.

Lex ranges (ZRANGE ... BYLEX, ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX) scan small zsets as
Redis's listpack code does and bisect large ones by member, which is Redis's result when every
member has the same score (the only case Redis defines for a skiplist).

OBJECT ENCODING is computed from the content (listpack up to 128 members of up to 64 bytes):
unlike Redis, a zset that shrinks back under those limits reads "listpack" again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crdt.effects import Delete, Expire
from crdt.types.zset import ZSET, ZAssign, ZIncr, ZRemove, ZSet
from server import errors
from server.commands.common import TYPE_COMMANDS, TypeCommands, int_arg, prepare_write, read
from server.commands.registry import command
from server.commands.scan import ScanArgs, parse_cursor, scan_collection
from server.commands.sets import positive_count
from server.resp import Error, format_double

if TYPE_CHECKING:
    from server.config import Config
    from server.connection import Client

_SPACE = b" \t\n\v\f\r"
_HEX = re.compile(rb"[ \t\n\v\f\r]*[+-]?0x([0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(p[+-]?[0-9]+)?", re.I)
_DEC = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([e][+-]?[0-9]+)?|inf(inity)?|nan(\([0-9a-z_]*\))?)", re.I,
)


def strtod(data: bytes) -> tuple[float, int, bool]:
    """C's strtod on ``data`` (no NUL in it): (value, bytes consumed, ERANGE)."""
    m = _HEX.match(data)
    if m is not None:
        text = m.group().decode().strip()
        try:
            value = float.fromhex(text)
        except OverflowError:
            return (-math.inf if text.startswith("-") else math.inf), m.end(), True
        return value, m.end(), value == 0 and any(ch not in "0.+-x" for ch in m.group(1).decode().lower())
    m = _DEC.match(data)
    if m is None:
        return 0.0, 0, False
    text = m.group().decode().strip()
    value = float(text)
    if m.group(2) is not None:  # a number, not inf/nan
        if math.isinf(value):
            return value, m.end(), True
        if value == 0 and any(ch in "123456789" for ch in m.group(2).decode()):
            return value, m.end(), True
    return value, m.end(), False


def score_arg(arg: bytes, message: str = errors.NOT_FLOAT) -> float:
    """Redis's getDoubleFromObject (string2d); ``message`` is the error reply."""
    if not arg or arg[0] in _SPACE:
        raise Error(message)
    value, used, erange = strtod(arg)
    if used != len(arg) or value != value or (erange and (math.isinf(value) or value == 0)):
        raise Error(message)
    return value


def range_item(arg: bytes) -> tuple[float, bool]:
    """One bound of zslParseRange: (value, exclusive)."""
    exclusive = arg[:1] == b"("
    text = arg[1:] if exclusive else arg
    text = text.split(b"\0", 1)[0]
    value, used, _ = strtod(text)
    if used != len(text) or value != value:
        raise Error(errors.ZSET_MIN_MAX_NOT_FLOAT)
    return value, exclusive


def score_positions(z: ZSet, lo: tuple[float, bool], hi: tuple[float, bool]) -> tuple[int, int]:
    """The index positions [start, stop) of the members within the score range."""
    index = z.index
    (mn, minex), (mx, maxex) = lo, hi
    if minex:
        start = len(index) if mn == math.inf else index.bisect_left((math.nextafter(mn, math.inf), b""))
    else:
        start = index.bisect_left((mn, b""))
    if maxex:
        stop = index.bisect_left((mx, b""))
    else:
        stop = len(index) if mx == math.inf else index.bisect_left((math.nextafter(mx, math.inf), b""))
    return start, max(start, stop)


# A lex bound: (kind, value, exclusive), kind -1 for "-", 1 for "+", 0 for a string.
LexBound = tuple[int, bytes, bool]


def _lex_item(arg: bytes) -> LexBound:
    first = arg[:1]
    if first in (b"+", b"-"):
        if len(arg) > 1 and arg[1] != 0:
            raise Error(errors.ZSET_LEX_RANGE)
        return (1 if first == b"+" else -1), b"", True
    if first == b"(":
        return 0, arg[1:], True
    if first == b"[":
        return 0, arg[1:], False
    raise Error(errors.ZSET_LEX_RANGE)


def _cmplex(a: LexBound, b: LexBound) -> int:
    """sdscmplex, on bounds."""
    if a[0] == b[0] and (a[0] != 0 or a[1] == b[1]):
        return 0
    if a[0] == -1 or b[0] == 1:
        return -1
    if a[0] == 1 or b[0] == -1:
        return 1
    return -1 if a[1] < b[1] else 1


def _bisect(n: int, pred: Callable[[int], bool]) -> int:
    """The first position in [0, n) where ``pred`` holds (it holds from there on), or n."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# Up to this many members, lex ranges scan like Redis's listpack code, which defines the result
# even when the members' scores differ; above, they bisect (Redis's skiplist search gives
# structure-dependent results then: only equal scores are defined).
_LEX_SCAN_MAX = 128


def lex_range(lo: bytes, hi: bytes) -> tuple[LexBound, LexBound]:
    """zslParseLexRange."""
    return _lex_item(lo), _lex_item(hi)


def rank_positions(n: int, start: int, end: int) -> tuple[int, int]:
    """[start, stop) of a rank range (negative ranks count from the end), as Redis clamps it."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    if start > end or start >= n:
        return 0, 0
    return start, min(end, n - 1) + 1


def lex_positions(z: ZSet, lo: LexBound, hi: LexBound, reverse: bool) -> tuple[int, int]:
    """[first, stop): the members of the lex range, walked from ``first`` forward (or from
    ``stop - 1`` backward when ``reverse``)."""
    cmp = _cmplex(lo, hi)
    if cmp > 0 or (cmp == 0 and (lo[2] or hi[2])):
        return 0, 0
    index = z.index
    n = len(index)

    def gte_min(i: int) -> bool:
        c = _cmplex((0, index[i][1], False), lo)
        return c > 0 if lo[2] else c >= 0

    def lte_max(i: int) -> bool:
        c = _cmplex((0, index[i][1], False), hi)
        return c < 0 if hi[2] else c <= 0

    if n == 0 or not gte_min(n - 1) or not lte_max(0):  # zslIsInLexRange
        return 0, 0
    if n > _LEX_SCAN_MAX:
        start = _bisect(n, gte_min)
        stop = _bisect(n, lambda i: not lte_max(i))
        return start, max(start, stop)
    if not reverse:
        start = next((i for i in range(n) if gte_min(i)), n)
        stop = start
        while stop < n and lte_max(stop):
            stop += 1
        return start, stop
    last = next((i for i in range(n - 1, -1, -1) if lte_max(i)), -1)
    first = last + 1
    while first > 0 and gte_min(first - 1):
        first -= 1
    return first, last + 1


def read_zset(c: Client, key: bytes) -> ZSet | None:
    z: ZSet | None = read(c, key, ZSET)
    return z


def write_zset(c: Client, key: bytes) -> ZSet | None:
    z: ZSet | None = prepare_write(c, key, ZSET)
    return z


def _recreate(db: int, key: bytes, z: ZSet, at: int) -> list[Any]:
    pairs = tuple((m, s) for s, m in z.index)
    return [ZAssign(db, key, pairs), *([Expire(db, key, at)] if at else [])]


def _encoding(z: ZSet, cfg: Config | None = None) -> bytes:
    """listpack while within zset-max-listpack-entries/-value (Redis 7.0's defaults without
    a config), else skiplist."""
    entries, value = (cfg.zset_max_listpack_entries, cfg.zset_max_listpack_value) if cfg else (128, 64)
    if len(z) <= entries and all(len(m) <= value for m in z.members):
        return b"listpack"
    return b"skiplist"


TYPE_COMMANDS[ZSET] = TypeCommands(_recreate, _encoding)


def remove_members(c: Client, key: bytes, z: ZSet, members: list[bytes]) -> None:
    if len(members) >= len(z):
        c.ks.emit(Delete(c.db, key))
    else:
        c.ks.emit(ZRemove(c.db, key, tuple(members)))


def range_reply(c: Client, items: list[tuple[float, bytes]], withscores: bool) -> list[Any]:
    """A range reply: members, or member-score pairs (nested in RESP3)."""
    if not withscores:
        return [m for _, m in items]
    if c.resp3:
        return [[m, s] for s, m in items]
    return [x for s, m in items for x in (m, s)]


# -- writes ---------------------------------------------------------------------------------


def _zadd(c: Client, argv: list[bytes], incr: bool) -> Any:
    key = argv[1]
    nx = xx = gt = lt = ch = False
    i = 2
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        elif opt == b"incr":
            incr = True
        elif opt == b"gt":
            gt = True
        elif opt == b"lt":
            lt = True
        else:
            break
        i += 1
    rest = argv[i:]
    if not rest or len(rest) % 2:
        raise Error(errors.SYNTAX)
    if nx and xx:
        raise Error(errors.ZADD_XX_NX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise Error(errors.ZADD_GT_LT_NX)
    if incr and len(rest) > 2:
        raise Error(errors.ZADD_INCR_PAIR)
    scores = [score_arg(s) for s in rest[::2]]
    z = write_zset(c, key)
    if z is None and xx:
        return None if incr else 0
    current: dict[bytes, float] = {}
    assigned: dict[bytes, float] = {}
    added = updated = 0
    score = 0.0
    processed = False
    for given, member in zip(scores, rest[1::2], strict=True):
        cur = current[member] if member in current else (None if z is None else z.score(member))
        if cur is None:
            if xx:
                continue
            added += 1
            new = given
        else:
            if nx:
                continue
            new = cur + given if incr else given
            if new != new:
                raise Error(errors.ZADD_NAN)
            if (lt and new >= cur) or (gt and new <= cur):
                continue
            if new != cur:
                updated += 1
        processed = True
        score = new
        changed = cur is None or new != cur
        stored = cur if cur is not None and not changed else new  # equal: the stored one stays
        current[member] = stored
        if not incr:
            assigned[member] = stored
        elif changed:
            c.ks.emit(ZIncr(c.db, key, member, given))
    if assigned and not incr:
        effect = ZAssign(c.db, key, tuple(assigned.items()))
        if added or updated:
            c.ks.emit(effect)
        else:
            c.ks.emit_quiet(effect)  # equal scores: nothing visible changed (Redis signals nothing)
    if incr:
        return score if processed else None
    return added + updated if ch else added


@command("zadd")
def cmd_zadd(c: Client, argv: list[bytes]) -> Any:
    return _zadd(c, argv, False)


@command("zincrby")
def cmd_zincrby(c: Client, argv: list[bytes]) -> Any:
    return _zadd(c, argv, True)


@command("zrem")
def cmd_zrem(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    z = write_zset(c, key)
    if z is None:
        return 0
    present = [m for m in dict.fromkeys(argv[2:]) if m in z]
    if present:
        remove_members(c, key, z, present)
    return len(present)


def _zpop(c: Client, argv: list[bytes], highest: bool) -> Any:
    if len(argv) > 3:
        raise Error(errors.SYNTAX)
    count = positive_count(argv[2]) if len(argv) == 3 else -1
    key = argv[1]
    z = write_zset(c, key)
    if z is None or count == 0:
        return []
    n = min(len(z), 1 if count == -1 else count)
    index = z.index
    items = list(reversed(index[-n:])) if highest else list(index[:n])
    remove_members(c, key, z, [m for _, m in items])
    if c.resp3 and count != -1:
        return [[m, s] for s, m in items]
    return [x for s, m in items for x in (m, s)]


@command("zpopmin")
def cmd_zpopmin(c: Client, argv: list[bytes]) -> Any:
    return _zpop(c, argv, False)


@command("zpopmax")
def cmd_zpopmax(c: Client, argv: list[bytes]) -> Any:
    return _zpop(c, argv, True)


# -- reads ----------------------------------------------------------------------------------


@command("zcard")
def cmd_zcard(c: Client, argv: list[bytes]) -> Any:
    z = read_zset(c, argv[1])
    return 0 if z is None else len(z)


@command("zscore")
def cmd_zscore(c: Client, argv: list[bytes]) -> Any:
    z = read_zset(c, argv[1])
    return None if z is None else z.score(argv[2])


@command("zmscore")
def cmd_zmscore(c: Client, argv: list[bytes]) -> Any:
    z = read_zset(c, argv[1])
    return [None if z is None else z.score(m) for m in argv[2:]]


@command("zrank", "zrevrank")
def cmd_zrank(c: Client, argv: list[bytes]) -> Any:
    z = read_zset(c, argv[1])
    if z is None:
        return None
    rank = z.rank(argv[2])
    if rank is None:
        return None
    return len(z) - 1 - rank if argv[0].lower() == b"zrevrank" else rank


@command("zcount")
def cmd_zcount(c: Client, argv: list[bytes]) -> Any:
    lo, hi = range_item(argv[2]), range_item(argv[3])
    z = read_zset(c, argv[1])
    if z is None:
        return 0
    start, stop = score_positions(z, lo, hi)
    return stop - start


# ZRANGE and its older forms: (range type, direction) fixed by the command, None = by options.
_RANGE_FORMS: dict[bytes, tuple[str | None, bool | None]] = {
    b"zrange": (None, None),
    b"zrevrange": ("rank", True),
    b"zrangebyscore": ("score", False),
    b"zrevrangebyscore": ("score", True),
    b"zrangebylex": ("lex", False),
    b"zrevrangebylex": ("lex", True),
}


def range_query(
    c: Client, argv: list[bytes], first: int, kind: str | None, reverse: bool | None, store: bool,
) -> tuple[list[tuple[float, bytes]] | None, bool]:
    """Redis's zrangeGenericCommand: the source key is ``argv[first]``, its min and max follow,
    then the options (WITHSCORES only when not ``store``). Returns the range's (score, member)
    items in reply order (None when the source is missing) and WITHSCORES."""
    withscores = False
    offset, limit = 0, -1
    j = first + 3
    while j < len(argv):
        opt = argv[j].lower()
        if not store and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and len(argv) - j - 1 >= 2:
            offset = int_arg(argv[j + 1])
            limit = int_arg(argv[j + 2])
            j += 2
        elif reverse is None and opt == b"rev":
            reverse = True
        elif kind is None and opt == b"bylex":
            kind = "lex"
        elif kind is None and opt == b"byscore":
            kind = "score"
        else:
            raise Error(errors.SYNTAX)
        j += 1
    kind = kind or "rank"
    reverse = bool(reverse)
    if limit != -1 and kind == "rank":
        raise Error(errors.ZRANGE_LIMIT_RANK)
    if withscores and kind == "lex":
        raise Error(errors.ZRANGE_WITHSCORES_LEX)
    lo_arg, hi_arg = argv[first + 1], argv[first + 2]
    if reverse and kind != "rank":
        lo_arg, hi_arg = hi_arg, lo_arg
    if kind == "rank":
        start, end = int_arg(lo_arg), int_arg(hi_arg)
    elif kind == "score":
        lo, hi = range_item(lo_arg), range_item(hi_arg)
    else:
        llo, lhi = lex_range(lo_arg, hi_arg)
    z = read_zset(c, argv[first])
    if z is None:
        return None, withscores
    index = z.index
    n = len(index)
    if kind == "rank":
        start, stop = rank_positions(n, start, end)
        if start >= stop:
            return [], withscores
        if reverse:
            return list(index.islice(n - stop, n - start, reverse=True)), withscores
        return list(index.islice(start, stop)), withscores
    lo_pos, stop = score_positions(z, lo, hi) if kind == "score" else lex_positions(z, llo, lhi, reverse)
    if offset < 0 or (offset > 0 and offset >= n):
        return [], withscores
    count = stop - lo_pos - offset
    if limit >= 0:
        count = min(count, limit)
    if count <= 0:
        return [], withscores
    if reverse:
        return list(index.islice(stop - offset - count, stop - offset, reverse=True)), withscores
    return list(index.islice(lo_pos + offset, lo_pos + offset + count)), withscores


@command("zrange", "zrevrange", "zrangebyscore", "zrevrangebyscore", "zrangebylex", "zrevrangebylex")
def cmd_zrange(c: Client, argv: list[bytes]) -> Any:
    kind, reverse = _RANGE_FORMS[argv[0].lower()]
    items, withscores = range_query(c, argv, 1, kind, reverse, False)
    return [] if items is None else range_reply(c, items, withscores)


@command("zlexcount")
def cmd_zlexcount(c: Client, argv: list[bytes]) -> Any:
    lo, hi = lex_range(argv[2], argv[3])
    z = read_zset(c, argv[1])
    if z is None:
        return 0
    start, stop = lex_positions(z, lo, hi, False)
    return stop - start


_HALF_LLONG = float((1 << 62) - 1)  # (double)(LLONG_MAX/2), that is 2^62


def d2string(value: float) -> bytes:
    """Redis 7.0's d2string (how a listpack stores a score, so how ZSCAN prints it there):
    integers within LLONG_MAX/2 (double2ll) as integers, else ``%.17g``."""
    if -_HALF_LLONG <= value <= _HALF_LLONG and value == int(value):
        return b"%d" % int(value)
    return format_double(value)


@command("zscan")
def cmd_zscan(c: Client, argv: list[bytes]) -> Any:
    parse_cursor(argv[2])  # an invalid cursor is an error even for a missing key
    z = read_zset(c, argv[1])
    if z is None:
        return [b"0", []]
    if _encoding(z, c.server.config) == b"listpack":  # returned whole, in score order, whatever the cursor
        args = ScanArgs(argv, 3, allow_type=False)
        names = [m for _, m in z.index if args.accepts(m)]
        next_cursor = b"0"
        fmt = d2string
    else:  # the skiplist's dict: scores printed %.17g
        next_cursor, names = scan_collection(argv, z.members)
        fmt = format_double
    out: list[bytes] = []
    for m in names:
        out += (m, fmt(z.score_of(m)))
    return [next_cursor, out]
