"""SORT and SORT_RO (Redis's sort.c) over lists, sets and sorted sets.

The options are parsed first (syntax errors before WRONGTYPE), then the key is looked up. A BY
pattern without ``*`` means "don't sort": lists and sorted sets keep their order (reversed by
DESC, LIMIT taken from that order), a set keeps its iteration order — except with STORE or
called by a script, where Redis sorts it ALPHA by element so that the result is deterministic. Otherwise the elements
are weighed: numerically (strtod of the element or of its BY value, a missing BY value weighing
0, ties broken by the elements' bytes; anything not a whole double makes the reply
"One or more scores can't be converted into double") or with ALPHA by the bytes (strcoll, which
under the C.UTF-8 locale is strcmp up to the first NUL; STORE compares binary-safely), a
missing BY value sorting first; equal ALPHA weights keep the load order (glibc's qsort is
stable), except that BY with a LIMIT that narrows the range sorts with Redis's pqsort, whose
exchanges are reproduced so that ties come out as Redis's do. GET patterns (``#``, ``*`` substitution, ``->field``) give nil
for a missing key, a key of another type or a missing field (the empty string when stored).
STORE writes the destination as ``Delete`` + ``ListPush`` in one batch, or only deletes it when
the result is empty; SORT_RO does not know STORE (a syntax error, as in Redis).
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crdt.effects import Delete
from crdt.numbers import parse_int
from crdt.types.ormap import HASH
from crdt.types.orset import SET
from crdt.types.sequence import LIST, ListPush, between
from crdt.types.strings import STRING
from crdt.types.zset import ZSET
from server import errors
from server.commands.common import int_arg, lookup, prepare_write
from server.commands.registry import command
from server.commands.zsets import strtod
from server.resp import Error
from server.scripting.engine import current_run

if TYPE_CHECKING:
    from server.connection import Client

INTSET_MAX = 512  # set-max-intset-entries


def _cstr(data: bytes) -> bytes:
    return data.split(b"\0", 1)[0]


def _lookup_pattern(c: Client, pattern: bytes, subst: bytes) -> bytes | None:
    """lookupKeyByPattern: ``#`` is the element; the first ``*`` is replaced by it; a ``->``
    after the ``*`` (followed by something) names a hash field. No ``*``: nil."""
    spat = _cstr(pattern)
    if spat == b"#":
        return subst
    star = spat.find(b"*")
    if star < 0:
        return None
    arrow = spat.find(b"->", star + 1)
    field = None
    end = len(pattern)
    if arrow >= 0 and arrow + 2 < len(spat):
        field = pattern[arrow + 2 :]
        end = arrow
    key = pattern[:star] + subst + pattern[star + 1 : end]
    entry = lookup(c, key)
    if entry is None:
        return None
    if field is not None:
        content = entry.content()
        if content.type_name != HASH:
            return None
        value: bytes | None = content.get(field)
        return value
    if entry.kind != STRING:
        return None
    return entry.content().value()  # (the entry itself, or an HLL)


def _bincmp(a: bytes, b: bytes) -> int:
    return (a > b) - (a < b)


def _collcmp(a: bytes, b: bytes) -> int:
    return _bincmp(_cstr(a), _cstr(b))


def _score(data: bytes) -> float | None:
    """Redis's numeric weight: strtod of the C string, all of it, no ERANGE (overflow,
    underflow to zero or to a subnormal), not NaN."""
    text = _cstr(data)
    value, used, erange = strtod(text)
    if used != len(text) or erange or math.isnan(value):
        return None
    if value and abs(value) < sys.float_info.min:  # subnormal: glibc's strtod sets ERANGE
        return None
    return value


def _elements(content: Any) -> list[bytes]:
    """The elements in the order Redis loads them (a set: its iteration order; an intset's
    is ascending)."""
    kind = content.type_name
    if kind == LIST:
        return list(content)
    if kind == ZSET:
        return [m for _, m in content.index]
    members = list(content)
    ints = [parse_int(m) for m in members]
    if len(members) <= INTSET_MAX and all(i is not None for i in ints):
        return [m for _, m in sorted(zip(ints, members, strict=True))]
    return members


def _limits(limit_start: int, limit_count: int, n: int) -> tuple[int, int]:
    """sort.c's LIMIT sanity checks: the inclusive output range [start, end]."""
    start = min(max(limit_start, 0), n)
    count = min(max(limit_count, -1), n)
    end = n - 1 if count < 0 else start + count - 1
    if start >= n:
        start, end = n - 1, n - 2
    end = min(end, n - 1)
    return start, end


def _sort(c: Client, argv: list[bytes], readonly: bool) -> Any:
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    store: bytes | None = None
    by: bytes | None = None
    gets: list[bytes] = []
    j, argc = 2, len(argv)
    while j < argc:
        opt = argv[j].lower()
        left = argc - j - 1
        if opt == b"asc":
            desc = False
        elif opt == b"desc":
            desc = True
        elif opt == b"alpha":
            alpha = True
        elif opt == b"limit" and left >= 2:
            limit_start = int_arg(argv[j + 1])
            limit_count = int_arg(argv[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            store = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            by = argv[j + 1]
            if b"*" not in _cstr(by):
                dontsort = True  # never reset by a later BY, as in sort.c
            j += 1
        elif opt == b"get" and left >= 1:
            gets.append(argv[j + 1])
            j += 1
        else:
            raise Error(errors.SYNTAX)
        j += 1

    entry = lookup(c, argv[1])
    content = None if entry is None else entry.content()
    if content is not None and content.type_name not in (LIST, SET, ZSET):
        raise Error(errors.WRONGTYPE)
    kind = LIST if content is None else content.type_name
    elems = [] if content is None else _elements(content)
    if dontsort and kind == SET and (store is not None or current_run(c.server) is not None):
        # a set stored or returned to a script is sorted, for determinism (as sort.c)
        dontsort, alpha, by = False, True, None

    start, end = _limits(limit_start, limit_count, len(elems))
    if dontsort:
        if kind != SET and desc:
            elems.reverse()
        chosen = elems[start : end + 1] if end >= start else []
    else:
        chosen = _sorted(c, elems, by, alpha, desc, store is not None, (start, end))[start : end + 1]

    if store is None:
        if not gets:
            return chosen
        return [_lookup_pattern(c, g, e) for e in chosen for g in gets]
    if gets:
        values = [v if (v := _lookup_pattern(c, g, e)) is not None else b"" for e in chosen for g in gets]
    else:
        values = chosen
    if prepare_write(c, store) is not None:
        c.ks.emit(Delete(c.db, store))
    if values:
        prefix, digit = between(None, None)
        c.ks.emit(ListPush(c.db, store, prefix, digit, tuple(values)))
    return len(values)


def _sorted(
    c: Client, elems: list[bytes], by: bytes | None, alpha: bool, desc: bool, store: bool, limits: tuple[int, int],
) -> list[bytes]:
    """The elements weighed and sorted: stably, as glibc's qsort is, or with BY and a LIMIT
    that narrows the range, by Redis's pqsort."""
    weights: list[Any] = []
    bad = False
    for e in elems:
        byval = e if by is None else _lookup_pattern(c, by, e)
        if alpha:
            weights.append(byval)
        elif byval is None:
            weights.append(0.0)
        else:
            score = _score(byval)
            bad = bad or score is None
            weights.append(0.0 if score is None else score)
    if bad:
        raise Error(errors.SORT_NOT_DOUBLE)
    strcmp = _bincmp if store else _collcmp
    sign = -1 if desc else 1

    def compare(x: tuple[bytes, Any], y: tuple[bytes, Any]) -> int:
        if not alpha:
            cmp = (x[1] > y[1]) - (x[1] < y[1]) or _bincmp(x[0], y[0])
        elif by is not None:
            if x[1] is None or y[1] is None:
                cmp = (x[1] is not None) - (y[1] is not None)
            else:
                cmp = strcmp(x[1], y[1])
        else:
            cmp = strcmp(x[0], y[0])
        return sign * cmp

    pairs = list(zip(elems, weights, strict=True))
    if by is not None and limits != (0, len(pairs) - 1):
        _pqsort(pairs, compare, *limits)
    else:
        pairs.sort(key=functools.cmp_to_key(compare))
    return [e for e, _ in pairs]


_ES = 8  # pqsort compares byte addresses: an element's size, for its range checks


def _pqsort(v: list[Any], cmp: Callable[[Any, Any], int], lo: int, hi: int) -> None:
    """Redis's pqsort (NetBSD's qsort, Bentley & McIlroy, skipping the partitions outside
    [lo, hi]): what SORT ... BY ... LIMIT uses, so what equal weights come out as."""
    lrange, rrange = lo * _ES, (hi + 1) * _ES - 1

    def swap(i: int, j: int) -> None:
        v[i], v[j] = v[j], v[i]

    def med3(a: int, b: int, c: int) -> int:
        if cmp(v[a], v[b]) < 0:
            return b if cmp(v[b], v[c]) < 0 else (c if cmp(v[a], v[c]) < 0 else a)
        return b if cmp(v[b], v[c]) > 0 else (a if cmp(v[a], v[c]) < 0 else c)

    def insertion(a: int, n: int) -> None:
        for pm in range(a + 1, a + n):
            pl = pm
            while pl > a and cmp(v[pl - 1], v[pl]) > 0:
                swap(pl, pl - 1)
                pl -= 1

    def wanted(a: int, n: int) -> bool:
        first, last = a * _ES, (a + n) * _ES - 1
        return not ((lrange < first and rrange < first) or (lrange > last and rrange > last))

    work = [(0, len(v))]  # disjoint ranges: the order they are done in changes nothing
    while work:
        a, n = work.pop()
        if n < 7:
            insertion(a, n)
            continue
        pm = a + n // 2
        if n > 7:
            pl, pn = a, a + n - 1
            if n > 40:
                d = n // 8
                pl, pm, pn = med3(pl, pl + d, pl + 2 * d), med3(pm - d, pm, pm + d), med3(pn - 2 * d, pn - d, pn)
            pm = med3(pl, pm, pn)
        swap(a, pm)
        pa = pb = a + 1
        pc = pd = a + n - 1
        swapped = False
        while True:
            while pb <= pc and (r := cmp(v[pb], v[a])) <= 0:
                if r == 0:
                    swapped = True
                    swap(pa, pb)
                    pa += 1
                pb += 1
            while pb <= pc and (r := cmp(v[pc], v[a])) >= 0:
                if r == 0:
                    swapped = True
                    swap(pc, pd)
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            swap(pb, pc)
            swapped = True
            pb += 1
            pc -= 1
        if not swapped:
            insertion(a, n)
            continue
        pn = a + n
        r = min(pa - a, pb - pa)
        for k in range(r):
            swap(a + k, pb - r + k)
        r = min(pd - pc, pn - pd - 1)
        for k in range(r):
            swap(pb + k, pn - r + k)
        if (r := pb - pa) > 1 and wanted(a, r):
            work.append((a, r))
        if (r := pd - pc) > 1 and wanted(pn - r, r):
            work.append((pn - r, r))


@command("sort")
def cmd_sort(c: Client, argv: list[bytes]) -> Any:
    return _sort(c, argv, readonly=False)


@command("sort_ro")
def cmd_sort_ro(c: Client, argv: list[bytes]) -> Any:
    return _sort(c, argv, readonly=True)
