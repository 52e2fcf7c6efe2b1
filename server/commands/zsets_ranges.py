"""Sorted set commands on ranges and several keys (Redis 7.0's t_zset.c), beside zsets.py.

The range removes (ZREMRANGEBYRANK/BYSCORE/BYLEX) are observed removes of the members in
range, as ZREM is (``ZRemove``, or ``Delete`` when they empty the key, since Redis then deletes
it).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from crdt.numbers import INT64_MAX
from server import errors
from server.commands.common import int_arg
from server.commands.registry import command
from server.commands.sets import random_count
from server.commands.zsets import (
    lex_positions,
    lex_range,
    range_item,
    range_reply,
    rank_positions,
    read_zset,
    remove_members,
    score_positions,
    write_zset,
)
from server.resp import Error

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
    members = list(z)
    if count < 0:
        chosen = random.choices(members, k=-count)
    else:
        chosen = members if count >= len(members) else random.sample(members, count)
    return range_reply(c, [(z.members[m].value, m) for m in chosen], withscores)
