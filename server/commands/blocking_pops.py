"""Blocking pops (Redis's blockingPopGenericCommand, blmoveGenericCommand, blockingGenericZpop):
BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.

A key that already holds data answers at once, as the non-blocking form. Otherwise (outside
MULTI, where the answer is the null reply at once) the handler returns a ``Blocked`` waiting on
its keys (server/blocking.py): when one of them changes, locally or by a replicated batch, the
server retries the pop, first blocked first served. The pop is then an ordinary local write of
this region (its ``ListRemove``/``ZRemove`` replicate), never a replicated wait. As in Redis
7.0, a key that meanwhile holds another type leaves the client blocked; BLMOVE's destination of
another type is WRONGTYPE when the client is served.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from crdt.types.sequence import LIST
from crdt.types.zset import ZSET
from server import errors
from server.blocking import Blocked
from server.commands.common import greater_than_zero, mpop_count, prepare_write
from server.commands.floats import ld_arg, long_double
from server.commands.lists import HEAD, TAIL, move, pop_range, where_arg
from server.commands.registry import command
from server.commands.zsets import remove_members
from server.keyevents import begin, derive
from server.resp import NULL_ARRAY, Error

if TYPE_CHECKING:
    from server.connection import Client

TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
_LLONG = 1 << 63

# (the keys to try, serving a blocked client) -> reply, or None: nothing to pop
Attempt = Callable[[list[bytes], bool], Any]


def timeout_arg(arg: bytes) -> float:
    """getTimeoutFromObjectOrReply(UNIT_SECONDS) of Redis 7.0.15: the long double times 1000,
    rounded up to a whole millisecond (out of range: LLONG_MIN, so "negative"); seconds,
    0 = forever. Rounded up, as redis-server 7.0.15 does: 0.001 or 1e-9 time out at once
    (truncation once made them block forever), -0.0001 is 0, forever."""
    value = ld_arg(arg)
    if value is None:
        raise Error(TIMEOUT_NOT_FLOAT)
    ms = long_double(value * 1000) if value.is_finite() else Decimal(-_LLONG)
    up = ms.to_integral_value(rounding=ROUND_CEILING)
    tval = int(up) if -_LLONG <= up < _LLONG else -_LLONG
    if tval < 0:
        raise Error(TIMEOUT_NEGATIVE)
    return tval / 1000


def _content(c: Client, key: bytes, kind: str, serving: bool) -> Any:
    """The key's content to pop from, or None; WRONGTYPE unless serving a blocked client (it
    then stays blocked)."""
    if not serving:
        return prepare_write(c, key, kind)
    content = prepare_write(c, key)
    return content if content is not None and content.type_name == kind else None


def _block(c: Client, keys: list[bytes], attempt: Attempt, timeout_s: float, in_multi: Any = NULL_ARRAY) -> Any:
    """Pop at once, or block on ``keys``. At the timeout every one of these replies with the
    null array (replyToBlockedClientTimedOut), BLMOVE and BRPOPLPUSH too; in MULTI with nothing
    to pop the reply is ``in_multi`` (the null bulk for those two)."""
    reply = attempt(keys, False)
    if reply is not None:
        return reply
    if c.in_exec:
        return in_multi
    argv = c.argv or []
    cmd = c.table.get(argv[0].lower()) if argv else None

    def check() -> Any:
        mark = begin(c, cmd, argv) if cmd is not None else None
        try:
            # Served after a change: only from the key that changed (serveClientsBlockedOnKey).
            ready = blocked.ready_key
            result = attempt(keys if ready is None else [ready[1]], True)
        except Error as exc:
            result = exc
        if cmd is not None and mark is not None:
            derive(c, cmd.name, argv, mark)
        batch = c.ks.commit()
        if batch is not None:  # the pop is this region's write: it replicates as a remove
            c.server.ship(batch)
            c.last_batch = batch
            if batch.events:
                c.server.notifier.fire(batch.events)
        return result

    db = c.db
    blocked = Blocked(check, timeout_s, lambda: NULL_ARRAY, tuple((db, k) for k in dict.fromkeys(keys)))
    blocked.client = c
    return blocked


# -- lists ----------------------------------------------------------------------------------


def _bpop(c: Client, argv: list[bytes], where: int) -> Any:
    timeout = timeout_arg(argv[-1])
    keys = argv[1:-1]

    def attempt(candidates: list[bytes], serving: bool) -> Any:
        for key in candidates:
            seq = _content(c, key, LIST, serving)
            if seq is not None:
                return [key, pop_range(c, key, seq, where, 1)[0]]
        return None

    return _block(c, keys, attempt, timeout)


@command("blpop")
def cmd_blpop(c: Client, argv: list[bytes]) -> Any:
    return _bpop(c, argv, HEAD)


@command("brpop")
def cmd_brpop(c: Client, argv: list[bytes]) -> Any:
    return _bpop(c, argv, TAIL)


def _bmove(c: Client, src: bytes, dst: bytes, wherefrom: int, whereto: int, timeout_s: float) -> Any:
    def attempt(candidates: list[bytes], serving: bool) -> Any:
        if _content(c, src, LIST, serving) is None:
            return None
        return move(c, src, dst, wherefrom, whereto)

    return _block(c, [src], attempt, timeout_s, None)


@command("blmove")
def cmd_blmove(c: Client, argv: list[bytes]) -> Any:
    wherefrom, whereto = where_arg(argv[3]), where_arg(argv[4])
    return _bmove(c, argv[1], argv[2], wherefrom, whereto, timeout_arg(argv[5]))


@command("brpoplpush")
def cmd_brpoplpush(c: Client, argv: list[bytes]) -> Any:
    return _bmove(c, argv[1], argv[2], TAIL, HEAD, timeout_arg(argv[3]))


def _mpop_args(argv: list[bytes], sides: dict[bytes, int] | None) -> tuple[list[bytes], int, int]:
    """``timeout numkeys key [key ...] side [COUNT count]`` (lmpopGenericCommand's order):
    (keys, side, count); the timeout is parsed after these."""
    numkeys = greater_than_zero(argv[2], errors.NUMKEYS_POSITIVE)
    where_idx = 3 + numkeys
    if where_idx >= len(argv):
        raise Error(errors.SYNTAX)
    if sides is None:
        side = where_arg(argv[where_idx])
    elif (found := sides.get(argv[where_idx].lower())) is not None:
        side = found
    else:
        raise Error(errors.SYNTAX)
    return argv[3:where_idx], side, mpop_count(argv, where_idx + 1)


@command("blmpop")
def cmd_blmpop(c: Client, argv: list[bytes]) -> Any:
    keys, where, count = _mpop_args(argv, None)
    timeout = timeout_arg(argv[1])

    def attempt(candidates: list[bytes], serving: bool) -> Any:
        for key in candidates:
            seq = _content(c, key, LIST, serving)
            if seq is not None:
                return [key, pop_range(c, key, seq, where, count)]
        return None

    return _block(c, keys, attempt, timeout)


# -- sorted sets ----------------------------------------------------------------------------


def _zpop_items(c: Client, key: bytes, highest: bool, count: int, serving: bool) -> list[tuple[float, bytes]] | None:
    z = _content(c, key, ZSET, serving)
    if z is None:
        return None
    n = min(len(z), count)
    index = z.index
    items = list(reversed(index[-n:])) if highest else list(index[:n])
    remove_members(c, key, z, [m for _, m in items])
    return items


def _bzpop(c: Client, argv: list[bytes], highest: bool) -> Any:
    timeout = timeout_arg(argv[-1])
    keys = argv[1:-1]

    def attempt(candidates: list[bytes], serving: bool) -> Any:
        for key in candidates:
            items = _zpop_items(c, key, highest, 1, serving)
            if items is not None:
                score, member = items[0]
                return [key, member, score]
        return None

    return _block(c, keys, attempt, timeout)


@command("bzpopmin")
def cmd_bzpopmin(c: Client, argv: list[bytes]) -> Any:
    return _bzpop(c, argv, False)


@command("bzpopmax")
def cmd_bzpopmax(c: Client, argv: list[bytes]) -> Any:
    return _bzpop(c, argv, True)


_ZSIDES = {b"min": 0, b"max": 1}


@command("bzmpop")
def cmd_bzmpop(c: Client, argv: list[bytes]) -> Any:
    keys, side, count = _mpop_args(argv, _ZSIDES)
    timeout = timeout_arg(argv[1])

    def attempt(candidates: list[bytes], serving: bool) -> Any:
        for key in candidates:
            items = _zpop_items(c, key, side == 1, count, serving)
            if items is not None:
                return [key, [[m, s] for s, m in items]]
        return None

    return _block(c, keys, attempt, timeout)
