"""Random sequences of stream commands (fixed seeds) against redis-server 7.0.15, RESP2 and
RESP3: explicit, partial, special and invalid IDs, trimming, groups, claims, XINFO, another type
on the key. Every reply must match, with clock readings masked (see the group tests)."""

from __future__ import annotations

import random

import pytest

from tests.compat.test_stream_groups_vs_redis import _mask
from tests.conftest import Differential


def _id(r: random.Random) -> str:
    return r.choice(["-", "+", "0", "1", "2-1", "3", "(2-1", "(3", "5-*", "x", "$", ">", "0-0",
                     f"{r.randint(1, 9)}-{r.randint(0, 3)}", "18446744073709551615-18446744073709551615"])


def _cmd(r: random.Random) -> list[str]:
    key, grp, cons = r.choice(["s", "t"]), r.choice(["g", "h"]), r.choice(["a", "b"])

    def n() -> str:
        return str(r.choice([0, 1, 2, 3, -1, 10]))

    add = ["XADD", key, *r.choice([[], ["NOMKSTREAM"], ["MAXLEN", "~", n()], ["MAXLEN", n()], ["MINID", _id(r)],
                                   ["MAXLEN", "~", n(), "LIMIT", n()]]),
           r.choice([f"{r.randint(1, 12)}-{r.randint(0, 3)}", f"{r.randint(1, 12)}-*", f"{r.randint(1, 12)}"]), "f", "v"]
    readgroup = ["XREADGROUP", "GROUP", grp, cons, *r.choice([[], ["COUNT", n()], ["NOACK"]]), "STREAMS", key,
                 r.choice([">", ">", _id(r)])]
    roll = r.random()
    if roll < 0.3:
        return add
    if roll < 0.45:
        return readgroup
    if roll < 0.48:
        return ["SET", key, "x"]
    return r.choice([
        ["XDEL", key, _id(r), _id(r)],
        ["XRANGE", key, _id(r), _id(r), *r.choice([[], ["COUNT", n()]])],
        ["XREVRANGE", key, _id(r), _id(r), *r.choice([[], ["COUNT", n()]])],
        ["XLEN", key],
        ["XTRIM", key, r.choice(["MAXLEN", "MINID"]), *r.choice([[], ["~"], ["="]]), r.choice([n(), _id(r)])],
        ["XSETID", key, _id(r), *r.choice([[], ["ENTRIESADDED", n()], ["MAXDELETEDID", _id(r)]])],
        ["XREAD", *r.choice([[], ["COUNT", n()]]), "STREAMS", key, _id(r)],
        ["XGROUP", "CREATE", key, grp, _id(r), *r.choice([[], ["MKSTREAM"], ["ENTRIESREAD", n()]])],
        ["XGROUP", "SETID", key, grp, _id(r), *r.choice([[], ["ENTRIESREAD", n()]])],
        ["XGROUP", "DESTROY", key, grp],
        ["XGROUP", "CREATECONSUMER", key, grp, cons],
        ["XGROUP", "DELCONSUMER", key, grp, cons],
        ["XACK", key, grp, _id(r), _id(r)],
        ["XPENDING", key, grp, *r.choice([[], ["-", "+", n()], [_id(r), _id(r), n(), cons]])],
        ["XCLAIM", key, grp, cons, "0", _id(r), _id(r),
         *r.choice([[], ["JUSTID"], ["FORCE"], ["RETRYCOUNT", n()], ["LASTID", _id(r)]])],
        ["XAUTOCLAIM", key, grp, cons, "0", _id(r), *r.choice([[], ["COUNT", r.choice(["1", "2"])], ["JUSTID"]])],
        ["XINFO", "STREAM", key, *r.choice([[], ["FULL"]])],
        ["XINFO", "GROUPS", key],
        ["XINFO", "CONSUMERS", key, grp],
        ["DEL", key],
    ])


@pytest.mark.parametrize("seed", range(12))
def test_random_command_sequences(diff: Differential, seed: int) -> None:
    r = random.Random(seed * 2 + diff.protocol)
    history: list[list[str]] = []
    for _ in range(60):
        cmd = _cmd(r)
        history.append(cmd)
        ref, ours = diff.both(*cmd)
        idle_at = 2 if cmd[0] == "XPENDING" else None
        assert _mask(ours, idle_at) == _mask(ref, idle_at), (
            f"RESP{diff.protocol} {cmd!r}\n  redis:    {ref!r}\n  activekv: {ours!r}\n  after {history[-8:]!r}")
