"""GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO forms: Redis 7.0's
georadiusGeneric (geo.c), on geohash.py's search boxes.

The candidates are collected as Redis collects them: the centre cell and its 8 neighbours
(the excluded ones skipped, a box equal to the previous one processed skipped), each scanned
in score order over [min, max), kept when within the circle or the box; ANY stops as soon as
COUNT are found. ASC/DESC sort by distance: all of them with glibc's qsort (a stable merge
sort), or with Redis's pqsort (geo_sort.py) when COUNT keeps fewer, so that points at the same
distance come out as Redis leaves them. STORE/STOREDIST and GEOSEARCHSTORE replace
the destination (``Delete`` + ``ZAssign``, as Redis's setKey), or delete it when nothing
matched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crdt.effects import Delete
from crdt.types.zset import ZAssign, ZSet
from server import errors
from server.commands import geohash
from server.commands.common import int_arg, prepare_write
from server.commands.geo import distance_reply, human_double, lonlat_arg, unit_arg
from server.commands.geo_sort import pqsort
from server.commands.registry import command
from server.commands.zsets import read_zset, score_arg, score_positions
from server.resp import Error

if TYPE_CHECKING:
    from server.connection import Client


def _double(arg: bytes, message: str) -> float:
    try:
        return score_arg(arg)
    except Error:
        raise Error(message) from None


def _distance_arg(argv: list[bytes], i: int) -> tuple[float, float]:
    """extractDistanceOrReply: (radius in its unit, meters per unit)."""
    radius = _double(argv[i], errors.GEO_NEED_RADIUS)
    if radius < 0:
        raise Error(errors.GEO_RADIUS_NEGATIVE)
    return radius, unit_arg(argv[i + 1])


def _box_arg(argv: list[bytes], i: int) -> tuple[float, float, float]:
    """extractBoxOrReply: (width, height, meters per unit)."""
    width = _double(argv[i], errors.GEO_NEED_WIDTH)
    height = _double(argv[i + 1], errors.GEO_NEED_HEIGHT)
    if height < 0 or width < 0:
        raise Error(errors.GEO_BOX_NEGATIVE)
    return width, height, unit_arg(argv[i + 2])


def _member_position(z: ZSet, member: bytes) -> tuple[float, float]:
    score = z.score(member)
    if score is None:
        raise Error(errors.GEO_MEMBER)
    return geohash.decode_score(score)


class _Shape:
    __slots__ = ("lon", "lat", "radius", "width", "height", "conversion", "box")

    def __init__(self) -> None:
        self.lon = self.lat = self.radius = self.width = self.height = 0.0
        self.conversion = 1.0
        self.box = False

    def contains(self, lon: float, lat: float) -> float | None:
        """geoWithinShape: the distance in meters, or None outside."""
        if self.box:
            return geohash.in_rectangle(self.width * self.conversion, self.height * self.conversion,
                                        self.lon, self.lat, lon, lat)
        d = geohash.distance(self.lon, self.lat, lon, lat)
        return None if d > self.radius * self.conversion else d


# (member, distance in meters, score, longitude, latitude)
_Point = tuple[bytes, float, float, float, float]


def _collect(z: ZSet, shape: _Shape, limit: int) -> list[_Point]:
    """membersOfAllNeighbors."""
    if shape.box:
        half_w = shape.conversion * (shape.width / 2)
        half_h = shape.conversion * (shape.height / 2)
        radius = ((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2)) ** 0.5
    else:
        half_w = half_h = shape.conversion * shape.radius
        radius = shape.radius
    boxes = geohash.search_boxes(shape.lon, shape.lat, half_w, half_h, radius * shape.conversion)
    found: list[_Point] = []
    last: tuple[int, int] | None = None
    index = z.index
    for box in boxes:
        if box is None:
            continue
        if last is not None and box == last:
            continue
        lo, hi = geohash.box_scores(*box)
        start, stop = score_positions(z, (float(lo), False), (float(hi), True))
        for score, member in index.islice(start, stop):
            lon, lat = geohash.decode_score(score)
            d = shape.contains(lon, lat)
            if d is not None:
                found.append((member, d, score, lon, lat))
                if limit and len(found) >= limit:
                    break
        last = box
        if limit and found and len(found) >= limit:
            break
    return found


_COORDS, _MEMBER, _SEARCH = 1, 2, 3


def _georadius(c: Client, argv: list[bytes], src: int, kind: int, store_ok: bool, search_store: bool) -> Any:
    z = read_zset(c, argv[src])
    name = argv[0].decode("utf-8", "replace")
    shape = _Shape()
    if kind == _COORDS:
        base = 6
        shape.lon, shape.lat = lonlat_arg(argv[2], argv[3])
        shape.radius, shape.conversion = _distance_arg(argv, 4)
    elif kind == _MEMBER:
        base = 5
        if z is not None:
            shape.lon, shape.lat = _member_position(z, argv[2])
            shape.radius, shape.conversion = _distance_arg(argv, 3)
    else:
        base = src + 1
    storekey = argv[1] if search_store else None
    storedist = withdist = withhash = withcoord = any_ = False
    frommember = fromloc = byradius = bybox = False
    sort = 0  # 1 ASC, 2 DESC
    count = 0
    remaining = len(argv) - base
    i = 0
    while i < remaining:
        arg = argv[base + i].split(b"\0", 1)[0].lower()
        more = remaining - i - 1
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoord = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = 1
        elif arg == b"desc":
            sort = 2
        elif arg == b"count" and more >= 1:
            count = int_arg(argv[base + i + 1])
            if count <= 0:
                raise Error(errors.GEO_COUNT)
            i += 1
        elif arg in (b"store", b"storedist") and more >= 1 and store_ok and kind != _SEARCH:
            storekey = argv[base + i + 1]
            storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and search_store:
            storedist = True
        elif arg == b"frommember" and more >= 1 and kind == _SEARCH and not fromloc:
            if z is not None:
                shape.lon, shape.lat = _member_position(z, argv[base + i + 1])
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and more >= 2 and kind == _SEARCH and not frommember:
            shape.lon, shape.lat = lonlat_arg(argv[base + i + 1], argv[base + i + 2])
            fromloc = True
            i += 2
        elif arg == b"byradius" and more >= 2 and kind == _SEARCH and not bybox:
            shape.radius, shape.conversion = _distance_arg(argv, base + i + 1)
            shape.box = False
            byradius = True
            i += 2
        elif arg == b"bybox" and more >= 3 and kind == _SEARCH and not byradius:
            shape.width, shape.height, shape.conversion = _box_arg(argv, base + i + 1)
            shape.box = True
            bybox = True
            i += 3
        else:
            raise Error(errors.SYNTAX)
        i += 1
    if storekey is not None and (withdist or withhash or withcoord):
        raise Error(errors.GEO_STORE_WITH % ("GEOSEARCHSTORE" if search_store else "STORE option in GEORADIUS"))
    if kind == _SEARCH and not (frommember or fromloc):
        raise Error(errors.GEO_FROM % name)
    if kind == _SEARCH and not (byradius or bybox):
        raise Error(errors.GEO_BY % name)
    if any_ and not count:
        raise Error(errors.GEO_ANY_COUNT)
    if z is None:
        if storekey is None:
            return []
        if prepare_write(c, storekey) is not None:
            c.ks.emit(Delete(c.db, storekey))
        return 0
    if count and not sort and not any_:
        sort = 1
    found = _collect(z, shape, count if any_ else 0)
    if not found and storekey is None:
        return []
    returned = len(found) if not count or len(found) < count else count
    if sort:
        if returned == len(found):  # glibc's qsort: a stable merge sort
            found.sort(key=lambda p: p[1], reverse=sort == 2)
        else:
            sign = 1 if sort == 1 else -1
            pqsort(found, lambda x, y: sign * ((x[1] > y[1]) - (x[1] < y[1])), 0, returned - 1)
    found = found[:returned]
    if storekey is None:
        out: list[Any] = []
        for member, d, score, lon, lat in found:
            if not (withdist or withhash or withcoord):
                out.append(member)
                continue
            item: list[Any] = [member]
            if withdist:
                item.append(distance_reply(d / shape.conversion))
            if withhash:
                item.append(int(score))
            if withcoord:
                item.append([human_double(c, lon), human_double(c, lat)])
            out.append(item)
        return out
    if prepare_write(c, storekey) is not None:
        c.ks.emit(Delete(c.db, storekey))
    if found:
        pairs = {m: (d / shape.conversion if storedist else score) for m, d, score, _, _ in found}
        c.ks.emit(ZAssign(c.db, storekey, tuple(pairs.items())))
    return len(found)


@command("geosearch")
def cmd_geosearch(c: Client, argv: list[bytes]) -> Any:
    return _georadius(c, argv, 1, _SEARCH, False, False)


@command("geosearchstore")
def cmd_geosearchstore(c: Client, argv: list[bytes]) -> Any:
    return _georadius(c, argv, 2, _SEARCH, False, True)


@command("georadius")
def cmd_georadius(c: Client, argv: list[bytes]) -> Any:
    return _georadius(c, argv, 1, _COORDS, True, False)


@command("georadius_ro")
def cmd_georadius_ro(c: Client, argv: list[bytes]) -> Any:
    return _georadius(c, argv, 1, _COORDS, False, False)


@command("georadiusbymember")
def cmd_georadiusbymember(c: Client, argv: list[bytes]) -> Any:
    return _georadius(c, argv, 1, _MEMBER, True, False)


@command("georadiusbymember_ro")
def cmd_georadiusbymember_ro(c: Client, argv: list[bytes]) -> Any:
    return _georadius(c, argv, 1, _MEMBER, False, False)
