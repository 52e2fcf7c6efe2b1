"""GEO commands (Redis 7.0's geo.c) on sorted sets: a member's score is its 52-bit geohash
(geohash.py). GEOADD is Redis's rewrite into ZADD (its NX, XX and CH, the scores computed from
the coordinates), so it replicates as ZADD does (SEMANTICS.md: GEOADD assigns the score).

Positions are printed as addReplyHumanLongDouble (``%.17Lf`` without trailing zeros, a RESP3
double), distances as addReplyDoubleDistance (``%.4f``, a bulk string in both protocols).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server import errors
from server.commands import geohash
from server.commands.registry import command
from server.commands.zsets import cmd_zadd, read_zset, score_arg
from server.resp import NULL_ARRAY, Error, Raw

if TYPE_CHECKING:
    from server.connection import Client

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}


def lonlat_arg(lon: bytes, lat: bytes) -> tuple[float, float]:
    """extractLongLatOrReply."""
    x, y = score_arg(lon), score_arg(lat)
    if not geohash.valid(x, y):
        raise Error(errors.GEO_INVALID_PAIR % (x, y))
    return x, y


def unit_arg(arg: bytes) -> float:
    """extractUnitOrReply: meters per unit (strcasecmp: the argument up to a NUL)."""
    to_meter = _UNITS.get(arg.split(b"\0", 1)[0].lower())
    if to_meter is None:
        raise Error(errors.GEO_UNIT)
    return to_meter


def human_double(c: Client, value: float) -> Any:
    """addReplyHumanLongDouble: ``%.17Lf`` with the trailing zeros (and '.') removed."""
    text = "%.17f" % value
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    data = text.encode()
    return Raw(b",%s\r\n" % data) if c.resp3 else data


def distance_reply(meters: float) -> bytes:
    """addReplyDoubleDistance."""
    return b"%.4f" % meters


@command("geoadd")
def cmd_geoadd(c: Client, argv: list[bytes]) -> Any:
    nx = xx = False
    first = 2
    while first < len(argv):
        opt = argv[first].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        first += 1
    rest = argv[first:]
    if len(rest) % 3 or (nx and xx):
        raise Error(errors.SYNTAX)
    zargv = [b"zadd", *argv[1:first]]
    for i in range(0, len(rest), 3):
        lon, lat = lonlat_arg(rest[i], rest[i + 1])
        zargv += (b"%d" % geohash.encode(lon, lat), rest[i + 2])
    return cmd_zadd(c, zargv)


@command("geopos")
def cmd_geopos(c: Client, argv: list[bytes]) -> Any:
    z = read_zset(c, argv[1])
    out: list[Any] = []
    for member in argv[2:]:
        score = None if z is None else z.score(member)
        if score is None:
            out.append(NULL_ARRAY)
            continue
        lon, lat = geohash.decode_score(score)
        out.append([human_double(c, lon), human_double(c, lat)])
    return out


@command("geodist")
def cmd_geodist(c: Client, argv: list[bytes]) -> Any:
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = unit_arg(argv[4])
    elif len(argv) > 5:
        raise Error(errors.SYNTAX)
    z = read_zset(c, argv[1])
    if z is None:
        return None
    s1, s2 = z.score(argv[2]), z.score(argv[3])
    if s1 is None or s2 is None:
        return None
    lon1, lat1 = geohash.decode_score(s1)
    lon2, lat2 = geohash.decode_score(s2)
    return distance_reply(geohash.distance(lon1, lat1, lon2, lat2) / to_meter)


@command("geohash")
def cmd_geohash(c: Client, argv: list[bytes]) -> Any:
    z = read_zset(c, argv[1])
    out: list[Any] = []
    for member in argv[2:]:
        score = None if z is None else z.score(member)
        if score is None:
            out.append(None)
            continue
        out.append(geohash.hash_string(*geohash.decode_score(score)))
    return out
