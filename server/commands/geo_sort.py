"""Redis's pqsort (pqsort.c: NetBSD's Bentley-McIlroy quicksort, sorting only what overlaps a
range of positions), used by GEOSEARCH/GEORADIUS when COUNT returns fewer than all matches:
points at the same distance come out in the order this exact algorithm leaves them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
Cmp = Callable[[T, T], int]


def _med3(v: list[T], a: int, b: int, c: int, cmp: Cmp[T]) -> int:
    if cmp(v[a], v[b]) < 0:
        return b if cmp(v[b], v[c]) < 0 else (c if cmp(v[a], v[c]) < 0 else a)
    return b if cmp(v[b], v[c]) > 0 else (a if cmp(v[a], v[c]) < 0 else c)


def _insertion(v: list[T], a: int, n: int, cmp: Cmp[T]) -> None:
    for pm in range(a + 1, a + n):
        pl = pm
        while pl > a and cmp(v[pl - 1], v[pl]) > 0:
            v[pl], v[pl - 1] = v[pl - 1], v[pl]
            pl -= 1


def _vecswap(v: list[T], i: int, j: int, n: int) -> None:
    for k in range(n):
        v[i + k], v[j + k] = v[j + k], v[i + k]


def _outside(lo: int, hi: int, first: int, last: int) -> bool:
    return (lo < first and hi < first) or (lo > last and hi > last)


def _pqsort(v: list[T], a: int, n: int, cmp: Cmp[T], lo: int, hi: int) -> None:
    while True:
        if n < 7:
            _insertion(v, a, n, cmp)
            return
        pm = a + n // 2
        if n > 7:
            pl, pn = a, a + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(v, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(v, pm - d, pm, pm + d, cmp)
                pn = _med3(v, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(v, pl, pm, pn, cmp)
        v[a], v[pm] = v[pm], v[a]
        pa = pb = a + 1
        pc = pd = a + n - 1
        swapped = False
        while True:
            while pb <= pc:
                r = cmp(v[pb], v[a])
                if r > 0:
                    break
                if r == 0:
                    swapped = True
                    v[pa], v[pb] = v[pb], v[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(v[pc], v[a])
                if r < 0:
                    break
                if r == 0:
                    swapped = True
                    v[pc], v[pd] = v[pd], v[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            v[pb], v[pc] = v[pc], v[pb]
            swapped = True
            pb += 1
            pc -= 1
        if not swapped:
            _insertion(v, a, n, cmp)
            return
        pn = a + n
        r = min(pa - a, pb - pa)
        _vecswap(v, a, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(v, pb, pn - r, r)
        r = pb - pa
        if r > 1 and not _outside(lo, hi, a, a + r - 1):
            _pqsort(v, a, r, cmp, lo, hi)
        r = pd - pc
        if r <= 1:
            return
        a, n = pn - r, r
        if _outside(lo, hi, a, a + r - 1):
            return


def pqsort(v: list[T], cmp: Cmp[T], lo: int, hi: int) -> None:
    """Sort ``v`` in place so that positions ``lo``..``hi`` hold what a full sort would put there
    (as Redis's pqsort arranges them)."""
    _pqsort(v, 0, len(v), cmp, lo, hi)
