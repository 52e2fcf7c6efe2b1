"""Sorted set commands on ranges and several keys (Redis 7.0's t_zset.c), beside zsets.py.

The range removes (ZREMRANGEBYRANK/BYSCORE/BYLEX) are observed removes of the members in
range, as ZREM is (``ZRemove``, or ``Delete`` when they empty the key, since Redis then deletes
it).

ZRANGESTORE writes the destination as ``Delete`` (when it existed) + ``ZAssign`` of the range
in one batch, as Redis's setKey replaces the key (its TTL included); an empty range deletes
the destination. ZMPOP pops from the first key that exists, as ZPOPMIN/ZPOPMAX do.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from crdt.effects import Delete
from crdt.numbers import INT64_MAX
from crdt.types.zset import ZAssign
from server import errors
from server.commands.common import greater_than_zero, int_arg, mpop_count, prepare_write
from server.commands.registry import command
from server.commands.sets import random_count, random_pick
from server.commands.zsets import (
    lex_positions,
    lex_range,
    range_item,
    range_query,
    range_reply,
    rank_positions,
    read_zset,
    remove_members,
    score_positions,
    write_zset,
)
from server.resp import NULL_ARRAY, Error
from server.streamed import random_repeats

if TYPE_CHECKING:
    from server.connection import Client


@command("zremrangebyrank", "zremrangebyscore", "zremrangebylex")
def cmd_zremrange(c: Client, argv: list[bytes]) -> Any:
    kind = argv[0].lower()[len(b"zremrangeby"):]
    if kind == b"rank":
        start, end = int_arg(argv[2]), int_arg(argv[3])
    elif kind == b"score":
        lo, hi = range_item(argv[2]), range_item(argv[3])
    else:
        llo, lhi = lex_range(argv[2], argv[3])
    key = argv[1]
    z = write_zset(c, key)
    if z is None:
        return 0
    if kind == b"rank":
        first, stop = rank_positions(len(z), start, end)
    elif kind == b"score":
        first, stop = score_positions(z, lo, hi)
    else:
        first, stop = lex_positions(z, llo, lhi, False)
    if first >= stop:
        return 0
    remove_members(c, key, z, [m for _, m in z.index.islice(first, stop)])
    return stop - first


@command("zrandmember")
def cmd_zrandmember(c: Client, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        z = read_zset(c, argv[1])
        return None if z is None else random.choice(list(z))
    count = random_count(argv[2])
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
        raise Error(errors.SYNTAX)
    withscores = len(argv) == 4
    if withscores and (count < -(INT64_MAX // 2) or count > INT64_MAX // 2):  # C: -LONG_MAX/2
        raise Error(errors.OUT_OF_RANGE)
    z = read_zset(c, argv[1])
    if z is None or count == 0:
        return []
    if count < 0:
        return random_repeats(c, list(z), -count, (lambda m: [m, z.score_of(m)]) if withscores else None)
    chosen = random_pick(list(z), count)
    return range_reply(c, [(z.score_of(m), m) for m in chosen], withscores)


@command("zrangestore")
def cmd_zrangestore(c: Client, argv: list[bytes]) -> Any:
    items, _ = range_query(c, argv, 2, None, None, True)
    dst = argv[1]
    if prepare_write(c, dst) is not None:
        c.ks.emit(Delete(c.db, dst))
    if items:
        c.ks.emit(ZAssign(c.db, dst, tuple((m, s) for s, m in items)))
    return len(items or ())


@command("zmpop")
def cmd_zmpop(c: Client, argv: list[bytes]) -> Any:
    numkeys = greater_than_zero(argv[1], errors.NUMKEYS_POSITIVE)
    where = numkeys + 2
    if where >= len(argv):
        raise Error(errors.SYNTAX)
    side = argv[where].lower()
    if side not in (b"min", b"max"):
        raise Error(errors.SYNTAX)
    count = mpop_count(argv, where + 1)
    for key in argv[2:where]:
        z = write_zset(c, key)  # WRONGTYPE stops at the first key that exists
        if z is None:
            continue
        n = min(len(z), count)
        index = z.index
        items = list(reversed(index[-n:])) if side == b"max" else list(index[:n])
        remove_members(c, key, z, [m for _, m in items])
        return [key, [[m, s] for s, m in items]]
    return NULL_ARRAY
