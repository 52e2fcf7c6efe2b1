"""List commands (Redis's t_list.c), on the sequence CRDT (SEMANTICS.md, "Lists").

Inserts (LPUSH, RPUSH, LINSERT, LMOVE's destination) emit ``ListPush`` with the position the
origin computed between the neighbours it sees (``sequence.between``); removes (LPOP, RPOP,
LREM, LTRIM, LMOVE's source) emit ``ListRemove`` of the positions they observed, or ``Delete``
of the key when nothing would be left, as Redis then deletes the key (its TTL included);
LSET emits ``ListSet`` of one position. Argument checks follow t_list.c's order exactly.
LPUSHX/RPUSHX are LPUSH/RPUSH onto an existing list only; RPOPLPUSH is LMOVE RIGHT LEFT;
LMPOP pops from the first of its keys that holds a list. The blocking commands (BLPOP, BRPOP,
BLMOVE, BRPOPLPUSH, BLMPOP) are in blocking_pops.py, on these pops and moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.effects import Delete, Expire
from crdt.types.sequence import LIST, ListPush, ListRemove, ListSet, Pos, Sequence, between
from server import errors
from server.commands.common import (
    TYPE_COMMANDS,
    TypeCommands,
    greater_than_zero,
    int_arg,
    mpop_count,
    prepare_write,
    read,
)
from server.commands.registry import command
from server.resp import BULK_HEADERS, CRLF, NULL_ARRAY, OK, Error, Raw, bulk_header

if TYPE_CHECKING:
    from server.config import Config
    from server.connection import Client

HEAD, TAIL = 0, 1


def _recreate(db: int, key: bytes, seq: Sequence, at: int) -> list[Any]:
    return [ListPush(db, key, (), 0, tuple(seq)), *([Expire(db, key, at)] if at else [])]


def _encoding(seq: Sequence, cfg: Config | None = None) -> bytes:
    return b"quicklist"  # Redis 7.0 lists are always quicklists (listpack lists came in 7.2)


TYPE_COMMANDS[LIST] = TypeCommands(_recreate, _encoding)


def _read(c: Client, key: bytes) -> Sequence | None:
    seq: Sequence | None = read(c, key, LIST)
    return seq


def _write(c: Client, key: bytes) -> Sequence | None:
    seq: Sequence | None = prepare_write(c, key, LIST)
    return seq


def _push_at(c: Client, key: bytes, seq: Sequence | None, where: int, values: tuple[bytes, ...]) -> None:
    """Push ``values`` (in list order) at the head or the tail of ``seq`` (None: no list)."""
    order = seq.order if seq is not None else []
    if not order:
        prefix, digit = between(None, None)
    elif where == HEAD:
        prefix, digit = between(None, order[0])
    else:
        prefix, digit = between(order[-1], None)
    c.ks.emit(ListPush(c.db, key, prefix, digit, values))


def _remove(c: Client, key: bytes, seq: Sequence, positions: list[Pos]) -> None:
    """Remove ``positions`` (all present); the whole key when nothing would be left."""
    if len(positions) >= len(seq):
        c.ks.emit(Delete(c.db, key))
    elif positions:
        c.ks.emit(ListRemove(c.db, key, tuple(positions)))


def _normalize_range(start: int, end: int, llen: int) -> tuple[int, int] | None:
    """LRANGE/LTRIM's index arithmetic: the inclusive range, or None when empty."""
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        return None
    return start, min(end, llen - 1)


# -- pushes ---------------------------------------------------------------------------------


def _push_generic(c: Client, argv: list[bytes], where: int, xx: bool = False) -> Any:
    """LPUSH/RPUSH; with ``xx`` (LPUSHX/RPUSHX) only onto an existing list (else 0)."""
    key = argv[1]
    seq = _write(c, key)
    if seq is None and xx:
        return 0
    values = tuple(argv[2:])
    if where == HEAD:
        values = values[::-1]  # LPUSH a b c leaves c b a
    length = (0 if seq is None else len(seq)) + len(values)
    _push_at(c, key, seq, where, values)
    return length


@command("lpush")
def cmd_lpush(c: Client, argv: list[bytes]) -> Any:
    return _push_generic(c, argv, HEAD)


@command("rpush")
def cmd_rpush(c: Client, argv: list[bytes]) -> Any:
    return _push_generic(c, argv, TAIL)


@command("lpushx")
def cmd_lpushx(c: Client, argv: list[bytes]) -> Any:
    return _push_generic(c, argv, HEAD, xx=True)


@command("rpushx")
def cmd_rpushx(c: Client, argv: list[bytes]) -> Any:
    return _push_generic(c, argv, TAIL, xx=True)


# -- pops -----------------------------------------------------------------------------------


def _pop_generic(c: Client, argv: list[bytes], where: int) -> Any:
    if len(argv) > 3:
        raise Error(errors.wrong_arity(argv[0].lower().decode("utf-8", "replace")))
    has_count = len(argv) == 3
    count = 0
    if has_count:
        count = int_arg(argv[2], errors.NOT_POSITIVE)
        if count < 0:
            raise Error(errors.NOT_POSITIVE)
    key = argv[1]
    seq = _write(c, key)
    if seq is None:
        return NULL_ARRAY if has_count else None
    if has_count and count == 0:
        return []
    values = pop_range(c, key, seq, where, count if has_count else 1)
    return values if has_count else values[0]


def pop_range(c: Client, key: bytes, seq: Sequence, where: int, count: int) -> list[bytes]:
    """Pop up to ``count`` (> 0) elements from one end, in pop order (RPOP's: tail first)."""
    order = seq.order
    n = min(count, len(order))
    if n == 1:  # the usual pop: no slice (a big list's order is a SortedList)
        chosen = [order[0] if where == HEAD else order[-1]]
    else:
        chosen = order[:n] if where == HEAD else order[len(order) - n :][::-1]  # copies only what goes
    values = [seq.elems[p][1] for p in chosen]
    _remove(c, key, seq, chosen)
    return values


@command("lpop")
def cmd_lpop(c: Client, argv: list[bytes]) -> Any:
    return _pop_generic(c, argv, HEAD)


@command("rpop")
def cmd_rpop(c: Client, argv: list[bytes]) -> Any:
    return _pop_generic(c, argv, TAIL)


# -- reads ----------------------------------------------------------------------------------


@command("llen")
def cmd_llen(c: Client, argv: list[bytes]) -> Any:
    seq = _read(c, argv[1])
    return 0 if seq is None else len(seq)


@command("lindex")
def cmd_lindex(c: Client, argv: list[bytes]) -> Any:
    seq = _read(c, argv[1])
    if seq is None:
        return None
    index = int_arg(argv[2])
    if index < 0:
        index += len(seq)
    if index < 0 or index >= len(seq):
        return None
    return seq.value_at(index)


@command("lrange")
def cmd_lrange(c: Client, argv: list[bytes]) -> Any:
    start, end = int_arg(argv[2]), int_arg(argv[3])
    seq = _read(c, argv[1])
    if seq is None:
        return []
    r = _normalize_range(start, end, len(seq))
    if r is None:
        return []
    return _range_reply(seq.elems, seq.order[r[0] : r[1] + 1])


def _range_reply(elems: dict[Pos, tuple[Any, bytes]], positions: list[Pos]) -> Raw:
    """The elements at ``positions`` as a pre-encoded array of bulk strings (``bulk_array``,
    fused with the lookups: one pass, no list of values in between)."""
    parts = [b"*%d\r\n" % len(positions)]
    for p in positions:
        value = elems[p][1]
        n = len(value)
        parts.append(BULK_HEADERS[n] if n < len(BULK_HEADERS) else bulk_header(n))
        parts.append(value)
        parts.append(CRLF)
    return Raw(b"".join(parts))


# -- in-place writes ------------------------------------------------------------------------


@command("lset")
def cmd_lset(c: Client, argv: list[bytes]) -> Any:
    key = argv[1]
    seq = _write(c, key)
    if seq is None:
        raise Error(errors.NO_SUCH_KEY)
    index = int_arg(argv[2])
    if index < 0:
        index += len(seq)
    if index < 0 or index >= len(seq):
        raise Error(errors.INDEX_OUT_OF_RANGE)
    c.ks.emit(ListSet(c.db, key, seq.order[index], argv[3]))
    return OK


@command("linsert")
def cmd_linsert(c: Client, argv: list[bytes]) -> Any:
    side = argv[2].lower()
    if side == b"after":
        after = True
    elif side == b"before":
        after = False
    else:
        raise Error(errors.SYNTAX)
    key, pivot = argv[1], argv[3]
    seq = _write(c, key)
    if seq is None:
        return 0
    order, elems = seq.order, seq.elems
    i = next((i for i, p in enumerate(order) if elems[p][1] == pivot), -1)
    if i < 0:
        return -1
    left: Pos | None
    right: Pos | None
    if after:
        left, right = order[i], (order[i + 1] if i + 1 < len(order) else None)
    else:
        left, right = (order[i - 1] if i > 0 else None), order[i]
    length = len(order) + 1
    prefix, digit = between(left, right)
    c.ks.emit(ListPush(c.db, key, prefix, digit, (argv[4],)))
    return length


@command("lrem")
def cmd_lrem(c: Client, argv: list[bytes]) -> Any:
    count = int_arg(argv[2])
    key, value = argv[1], argv[3]
    seq = _write(c, key)
    if seq is None:
        return 0
    elems = seq.elems
    order = seq.order if count >= 0 else reversed(seq.order)
    limit = abs(count)
    chosen: list[Pos] = []
    for p in order:
        if elems[p][1] == value:
            chosen.append(p)
            if limit and len(chosen) >= limit:
                break
    _remove(c, key, seq, chosen)
    return len(chosen)


@command("ltrim")
def cmd_ltrim(c: Client, argv: list[bytes]) -> Any:
    start, end = int_arg(argv[2]), int_arg(argv[3])
    key = argv[1]
    seq = _write(c, key)
    if seq is None:
        return OK
    order = seq.order
    r = _normalize_range(start, end, len(order))
    chosen = list(order) if r is None else order[: r[0]] + order[r[1] + 1 :]
    if chosen:
        _remove(c, key, seq, chosen)
    elif c.ks.on_change is not None:  # Redis signals the key modified even when nothing goes
        c.ks.on_change(c.db, key)
    return OK


# -- LPOS -----------------------------------------------------------------------------------


def _positive(arg: bytes, message: str) -> int:
    value = int_arg(arg, message)
    if value < 0:
        raise Error(message)
    return value


def _wrap(value: int) -> int:
    """``value`` as a C long computes it (two's complement wrap-around)."""
    return (value + 2**63) % 2**64 - 2**63


@command("lpos")
def cmd_lpos(c: Client, argv: list[bytes]) -> Any:
    value = argv[2]
    rank, count, maxlen = 1, -1, 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        more = j + 1 < len(argv)
        if opt == b"rank" and more:
            j += 1
            rank = int_arg(argv[j])  # 7.0 takes LONG_MIN too (see _wrap)
            if rank == 0:
                raise Error(errors.LPOS_RANK_ZERO)
        elif opt == b"count" and more:
            j += 1
            count = _positive(argv[j], errors.LPOS_COUNT_NEGATIVE)
        elif opt == b"maxlen" and more:
            j += 1
            maxlen = _positive(argv[j], errors.LPOS_MAXLEN_NEGATIVE)
        else:
            raise Error(errors.SYNTAX)
        j += 1
    reverse = rank < 0
    if reverse:
        rank = _wrap(-rank)  # C: -LONG_MIN is LONG_MIN again, which every match reaches
    seq = _read(c, argv[1])
    if seq is None:
        return [] if count != -1 else None
    llen = len(seq)
    elems = seq.elems
    order = reversed(seq.order) if reverse else seq.order
    found: list[int] = []
    matches = 0
    for index, p in enumerate(order):
        if maxlen and index >= maxlen:
            break
        if elems[p][1] == value:
            matches += 1
            if matches >= rank:
                found.append(llen - index - 1 if reverse else index)
                if count == -1 or (count and _wrap(matches - rank + 1) >= count):
                    break
    if count != -1:
        return found
    return found[0] if found else None


# -- LMOVE ---------------------------------------------------------------------------------


def where_arg(arg: bytes) -> int:
    side = arg.lower()
    if side == b"left":
        return HEAD
    if side == b"right":
        return TAIL
    raise Error(errors.SYNTAX)


def move(c: Client, src: bytes, dst: bytes, wherefrom: int, whereto: int) -> Any:
    source = _write(c, src)
    if source is None:
        return None
    destination = _write(c, dst)
    order = source.order
    pos = order[0] if wherefrom == HEAD else order[-1]
    value = source.elems[pos][1]
    if src == dst:  # push first: the key never empties (its TTL stays)
        _push_at(c, dst, destination, whereto, (value,))
        c.ks.emit(ListRemove(c.db, src, (pos,)))
        return value
    _remove(c, src, source, [pos])
    _push_at(c, dst, destination, whereto, (value,))
    return value


@command("lmove")
def cmd_lmove(c: Client, argv: list[bytes]) -> Any:
    wherefrom, whereto = where_arg(argv[3]), where_arg(argv[4])
    return move(c, argv[1], argv[2], wherefrom, whereto)


@command("rpoplpush")
def cmd_rpoplpush(c: Client, argv: list[bytes]) -> Any:
    return move(c, argv[1], argv[2], TAIL, HEAD)


# -- LMPOP ---------------------------------------------------------------------------------


@command("lmpop")
def cmd_lmpop(c: Client, argv: list[bytes]) -> Any:
    """LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] (lmpopGenericCommand)."""
    numkeys = greater_than_zero(argv[1], errors.NUMKEYS_POSITIVE)
    where_idx = 2 + numkeys
    if where_idx >= len(argv):
        raise Error(errors.SYNTAX)
    where = where_arg(argv[where_idx])
    count = mpop_count(argv, where_idx + 1)
    for key in argv[2:where_idx]:
        seq = _write(c, key)
        if seq is None:
            continue
        return [key, pop_range(c, key, seq, where, count)]
    return NULL_ARRAY
