"""Sorted set algebra (Redis 7.0's zunionInterDiffGenericCommand, t_zset.c): ZUNION, ZINTER,
ZDIFF, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE and ZINTERCARD.

The inputs may be sorted sets or plain sets (every member scoring 1). Redis checks, in this
order: numkeys (an integer, at least 1, no more than the arguments left), every input key's
type (WRONGTYPE, before any option is looked at), then the options one by one.

Scores are combined as Redis does, in double arithmetic and in Redis's order: the inputs of a
union or an intersection are sorted by cardinality (glibc's qsort is a stable merge sort: equal
sizes keep their order), the first one's weighted score starts the aggregate and each later
input's weighted score is folded in. A weighted score that is NaN (inf * 0) counts as 0 where
Redis resets it (a union's every term, an intersection's first); a SUM that is NaN (inf + -inf)
becomes 0; MIN and MAX keep the aggregate when the term is NaN (comparisons with NaN are
false). ZDIFF keeps the first input's scores, unweighted.

The STORE forms write the destination as ``Delete`` (when it existed) + ``ZAssign`` of the
result in one batch, as Redis's setKey replaces the key (its TTL included); an empty result
deletes the destination and replies 0. They look their inputs up for writing, as Redis does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from crdt.effects import Delete
from crdt.types.orset import SET, ORSet
from crdt.types.zset import ZSET, ZAssign, ZSet
from server import errors
from server.commands.common import int_arg, lookup, prepare_write
from server.commands.registry import command
from server.commands.sets import positive_count
from server.commands.zsets import range_reply, score_arg
from server.resp import Error

if TYPE_CHECKING:
    from server.connection import Client

Input = ZSet | ORSet | None
Aggregate = Callable[[float, float], float]


def _agg_sum(total: float, value: float) -> float:
    total = total + value
    return 0.0 if total != total else total


def _agg_min(total: float, value: float) -> float:
    return value if value < total else total


def _agg_max(total: float, value: float) -> float:
    return value if value > total else total


_AGGREGATES: dict[bytes, Aggregate] = {b"sum": _agg_sum, b"min": _agg_min, b"max": _agg_max}


def _input(c: Client, key: bytes, write: bool) -> Input:
    if write:
        prepare_write(c, key)  # an expired source is removed first, in the same batch
    entry = lookup(c, key)  # Redis 7.0 counts the sources' hits/misses (and keymiss) here too
    content = None if entry is None else entry.content()
    if content is not None and content.type_name not in (ZSET, SET):
        raise Error(errors.WRONGTYPE)
    result: Input = content
    return result


def _items(obj: Input) -> Iterable[tuple[bytes, float]]:
    if obj is None:
        return ()
    if isinstance(obj, ZSet):
        return ((m, s) for s, m in obj.index)
    return ((m, 1.0) for m in obj)


def _find(obj: Input, member: bytes) -> float | None:
    if obj is None:
        return None
    if isinstance(obj, ZSet):
        return obj.score(member)
    return 1.0 if member in obj else None


class _Args:
    """The parsed arguments: the inputs with their weights, and the options."""

    def __init__(self) -> None:
        self.inputs: list[Input] = []
        self.weights: list[float] = []
        self.aggregate: Aggregate = _agg_sum
        self.withscores = False
        self.limit = 0


def _parse(c: Client, argv: list[bytes], at: int, op: str, store: bool, card: bool) -> _Args:
    """``argv[at]`` is numkeys; ``op`` is "union", "inter" or "diff"; ``card``: ZINTERCARD."""
    numkeys = int_arg(argv[at])
    if numkeys < 1:
        raise Error(errors.ZSET_INPUT_KEYS % argv[0].lower().decode(errors="replace"))
    if numkeys > len(argv) - (at + 1):
        raise Error(errors.SYNTAX)
    args = _Args()
    j = at + 1
    args.inputs = [_input(c, key, store) for key in argv[j : j + numkeys]]
    args.weights = [1.0] * numkeys
    j += numkeys
    algebra = op != "diff" and not card
    while j < len(argv):
        remaining = len(argv) - j
        opt = argv[j].lower()
        if algebra and remaining >= numkeys + 1 and opt == b"weights":
            args.weights = [score_arg(w, errors.ZSET_WEIGHT_NOT_FLOAT) for w in argv[j + 1 : j + 1 + numkeys]]
            j += 1 + numkeys
        elif algebra and remaining >= 2 and opt == b"aggregate":
            aggregate = _AGGREGATES.get(argv[j + 1].lower())
            if aggregate is None:
                raise Error(errors.SYNTAX)
            args.aggregate = aggregate
            j += 2
        elif not store and not card and opt == b"withscores":
            args.withscores = True
            j += 1
        elif card and remaining >= 2 and opt == b"limit":
            args.limit = positive_count(argv[j + 1], errors.LIMIT_NEGATIVE)
            j += 2
        else:
            raise Error(errors.SYNTAX)
    return args


def _by_cardinality(args: _Args) -> list[tuple[Input, float]]:
    """The inputs with their weights, smallest first (a stable sort, as glibc's qsort)."""
    return sorted(zip(args.inputs, args.weights, strict=True), key=lambda x: 0 if x[0] is None else len(x[0]))


def _inter(args: _Args, limit: int = 0) -> list[tuple[bytes, float]]:
    srcs = _by_cardinality(args)
    first, weight = srcs[0]
    out: list[tuple[bytes, float]] = []
    if first is None or not len(first):
        return out
    aggregate = args.aggregate
    for member, s in _items(first):
        score = weight * s
        if score != score:
            score = 0.0
        for obj, w in srcs[1:]:
            found = _find(obj, member)
            if found is None:
                break
            score = aggregate(score, found * w)  # a NaN term is not reset here
        else:
            out.append((member, score))
            if limit and len(out) >= limit:
                break
    return out


def _union(args: _Args) -> list[tuple[bytes, float]]:
    acc: dict[bytes, float] = {}
    aggregate = args.aggregate
    for obj, w in _by_cardinality(args):
        for member, s in _items(obj):
            score = w * s
            if score != score:
                score = 0.0
            old = acc.get(member)
            acc[member] = score if old is None else aggregate(old, score)
    return list(acc.items())


def _diff(args: _Args) -> list[tuple[bytes, float]]:
    first, rest = args.inputs[0], args.inputs[1:]
    if first is None:
        return []
    return [(m, s) for m, s in _items(first) if all(_find(obj, m) is None for obj in rest)]


_OPS = {"union": _union, "inter": _inter, "diff": _diff}


def _result(argv: list[bytes], c: Client, at: int, store: bool) -> tuple[list[tuple[float, bytes]], _Args]:
    name = argv[0].lower()
    op = name[1:].decode().removesuffix("store")
    args = _parse(c, argv, at, op, store, False)
    return sorted((s, m) for m, s in _OPS[op](args)), args


@command("zunion", "zinter", "zdiff")
def cmd_zalgebra(c: Client, argv: list[bytes]) -> Any:
    items, args = _result(argv, c, 1, False)
    return range_reply(c, items, args.withscores)


@command("zunionstore", "zinterstore", "zdiffstore")
def cmd_zalgebra_store(c: Client, argv: list[bytes]) -> Any:
    items, _ = _result(argv, c, 2, True)
    dst = argv[1]
    if prepare_write(c, dst) is not None:
        c.ks.emit(Delete(c.db, dst))
    if items:
        c.ks.emit(ZAssign(c.db, dst, tuple((m, s) for s, m in items)))
    return len(items)


@command("zintercard")
def cmd_zintercard(c: Client, argv: list[bytes]) -> Any:
    args = _parse(c, argv, 1, "inter", False, True)
    return len(_inter(args, args.limit))
