"""GEO commands against a real redis-server (RESP2 and RESP3): GEOADD, GEOPOS, GEODIST and
GEOHASH: scores, printed coordinates and distances, reply types, errors and the order Redis
checks arguments in."""

from __future__ import annotations

import random

from tests.conftest import Differential

PLACES = [
    ("13.361389", "38.115556", "Palermo"), ("15.087269", "37.502669", "Catania"),
    ("-122.4194", "37.7749", "sf"), ("2.3522", "48.8566", "paris"), ("151.2093", "-33.8688", "sydney"),
    ("180", "85.05112878", "ne"), ("-180", "-85.05112878", "sw"), ("180", "-85.05112878", "se"),
    ("-180", "85.05112878", "nw"), ("0", "0", "origin"), ("179.9999999", "0.5", "east"),
    ("-179.9999999", "-0.5", "west"), ("0", "85.05112878", "north"), ("0", "-85.05112878", "south"),
    ("-0.0000001", "0.0000001", "tiny"), ("90", "45", "ninety"), ("1e-300", "-0", "small"),
    ("0x10", "+1.5e1", "hex"), ("180.0", "85.0511287799", "edge"), ("-73.9857", "40.7484", "nyc"),
]
NAMES = [p[2] for p in PLACES]


def load(diff: Differential) -> None:
    args = [x for p in PLACES for x in p]
    diff.check("GEOADD", "g", *args)
    diff.check("SET", "str", "x")


def test_geoadd_scores(diff: Differential) -> None:
    load(diff)
    diff.check("ZRANGE", "g", "0", "-1", "WITHSCORES")
    diff.check("GEOADD", "g", *[x for p in PLACES for x in p])


def test_geoadd_options(diff: Differential) -> None:
    diff.check_all(
        ("GEOADD", "g", "XX", "1", "2", "a"), ("EXISTS", "g"),
        ("GEOADD", "g", "NX", "1", "2", "a"), ("GEOADD", "g", "NX", "3", "4", "a", "5", "6", "b"),
        ("GEOADD", "g", "1", "2", "a"), ("GEOADD", "g", "CH", "1", "2", "a"), ("GEOADD", "g", "CH", "1", "2.5", "a"),
        ("GEOADD", "g", "ch", "xx", "7", "8", "a", "9", "10", "c"), ("GEOADD", "g", "XX", "CH", "CH", "0", "0", "b"),
        ("GEOADD", "g", "nx", "ch", "0", "0", "b", "1", "1", "d"), ("ZRANGE", "g", "0", "-1", "WITHSCORES"),
        ("GEOADD", "g", "1", "2", "m", "3", "4", "m"), ("ZRANGE", "g", "0", "-1", "WITHSCORES"),
        ("GEOADD", "g", "CH", "1", "2", "m", "3", "4", "m"),
    )


def test_geoadd_errors(diff: Differential) -> None:
    load(diff)
    diff.check_all(
        ("GEOADD", "g", "NX", "XX", "1", "2", "a"), ("GEOADD", "g", "XX", "NX", "CH"),
        ("GEOADD", "g", "NX", "CH", "CH"), ("GEOADD", "g", "1", "2", "a", "3"), ("GEOADD", "g", "1", "2", "a", "3", "4"),
        ("GEOADD", "g", "GT", "1", "2"), ("GEOADD", "g", "GT", "1", "2", "a"), ("GEOADD", "g", "INCR", "1", "2", "a"),
        ("GEOADD", "g", "x", "2", "a"), ("GEOADD", "g", "1", "x", "a"), ("GEOADD", "g", " 1", "2", "a"),
        ("GEOADD", "g", "1", "2 ", "a"), ("GEOADD", "g", "nan", "2", "a"), ("GEOADD", "g", "1", "", "a"),
        ("GEOADD", "g", "200", "1", "a"), ("GEOADD", "g", "-180.0000001", "1", "a"), ("GEOADD", "g", "1", "85.05112879", "a"),
        ("GEOADD", "g", "1", "-85.0511288", "a"), ("GEOADD", "g", "inf", "1", "a"), ("GEOADD", "g", "1", "-inf", "a"),
        ("GEOADD", "g", "1e400", "1", "a"), ("GEOADD", "g", "123456.789", "-9999999.5", "a"),
        ("GEOADD", "g", "1", "2", "ok", "200", "1", "bad"), ("ZSCORE", "g", "ok"),
        ("GEOADD", "g", "1", "2", "ok", "x", "1", "bad"), ("ZSCORE", "g", "ok"),
        ("GEOADD", "str", "1", "2", "a"), ("GEOADD", "str", "200", "2", "a"), ("GEOADD", "str", "NX", "XX", "1", "2", "a"),
        ("GEOADD", "str", "XX", "1", "2", "a"), ("GEOADD", "nokey", "XX", "200", "2", "a"),
        ("GEOADD", "g", "1", "2"), ("GEOADD", "g"), ("GEOADD",),
    )


def test_geopos(diff: Differential) -> None:
    load(diff)
    diff.check("GEOPOS", "g", *NAMES, "missing", "")
    diff.check_all(
        ("GEOPOS", "g"), ("GEOPOS", "nokey"), ("GEOPOS", "nokey", "a", "b"), ("GEOPOS", "str"), ("GEOPOS", "str", "a"),
        ("GEOPOS",),
        ("ZADD", "odd", "-1", "a", "1e30", "b", "-1e30", "c", "inf", "d", "-inf", "e", "3.7", "f", "1e19", "g",
         "9.3e18", "h", "4503599627370495.5", "i"),
        ("GEOPOS", "odd", "a", "b", "c", "d", "e", "f", "g", "h", "i"),
        ("GEOHASH", "odd", "a", "b", "c", "d", "e", "f", "g", "h", "i"),
        ("GEODIST", "odd", "a", "f"), ("GEODIST", "odd", "h", "e", "km"),
    )


def test_geohash(diff: Differential) -> None:
    load(diff)
    diff.check("GEOHASH", "g", *NAMES, "missing")
    diff.check_all(
        ("GEOHASH", "g"), ("GEOHASH", "nokey"), ("GEOHASH", "nokey", "a"), ("GEOHASH", "str"), ("GEOHASH", "str", "a"),
        ("GEOHASH",),
    )


def test_geodist(diff: Differential) -> None:
    load(diff)
    for a in NAMES:
        for b in NAMES[::3]:
            diff.check("GEODIST", "g", a, b)
    for unit in ["m", "km", "ft", "mi", "M", "KM", "Ft", "mI", "m\x00x"]:
        diff.check("GEODIST", "g", "Palermo", "Catania", unit)
        diff.check("GEODIST", "g", "ne", "sw", unit)
        diff.check("GEODIST", "g", "north", "south", unit)
    diff.check_all(
        ("GEODIST", "g", "Palermo", "Palermo"), ("GEODIST", "g", "Palermo", "missing"),
        ("GEODIST", "g", "missing", "Palermo", "km"), ("GEODIST", "g", "missing", "Palermo", "yd"),
        ("GEODIST", "g", "Palermo", "Catania", "yd"), ("GEODIST", "g", "Palermo", "Catania", ""),
        ("GEODIST", "g", "Palermo", "Catania", "km", "x"), ("GEODIST", "g", "Palermo", "Catania", "kms"),
        ("GEODIST", "nokey", "a", "b"), ("GEODIST", "nokey", "a", "b", "km"), ("GEODIST", "nokey", "a", "b", "yd"),
        ("GEODIST", "nokey", "a", "b", "km", "x"), ("GEODIST", "str", "a", "b"), ("GEODIST", "str", "a", "b", "yd"),
        ("GEODIST", "str", "a", "b", "m", "x"), ("GEODIST", "g", "a"), ("GEODIST",),
    )


def test_random_points(diff: Differential) -> None:
    rng = random.Random(20261201)
    args: list[str] = []
    for i in range(300):
        lon = rng.uniform(-180, 180)
        lat = rng.uniform(-85.05112878, 85.05112878)
        text = rng.choice(["%r", "%.3f", "%.6f", "%.1f"])
        args += [text % lon, text % lat, f"p{i}"]
    diff.check("GEOADD", "r", *args)
    diff.check("ZRANGE", "r", "0", "-1", "WITHSCORES")
    names = [f"p{i}" for i in range(300)]
    diff.check("GEOPOS", "r", *names)
    diff.check("GEOHASH", "r", *names)
    for _ in range(300):
        a, b = rng.choice(names), rng.choice(names)
        diff.check("GEODIST", "r", a, b, rng.choice(["m", "km", "ft", "mi"]))
    for _ in range(50):  # equal longitudes, and nearly equal points
        lon = "%.5f" % rng.uniform(-180, 180)
        diff.check("GEOADD", "s", lon, "%.5f" % rng.uniform(-85, 85), "a", lon, "%.5f" % rng.uniform(-85, 85), "b")
        diff.check("GEODIST", "s", "a", "b")
        diff.check("GEOADD", "s", "10.000001", "20", "c", "10.000002", "20.000001", "d")
        diff.check("GEODIST", "s", "c", "d", "ft")


def test_geo_in_multi(diff: Differential) -> None:
    diff.check_all(
        ("MULTI",), ("GEOADD", "g", "1", "2", "a", "3", "4", "b"), ("GEOADD", "g", "200", "0", "c"),
        ("GEOPOS", "g", "a", "x"), ("GEODIST", "g", "a", "b", "km"), ("GEOHASH", "g", "a", "b"),
        ("GEODIST", "g", "a", "b", "yd"), ("EXEC",),
        ("MULTI",), ("GEOADD", "g", "NX", "XX", "1", "2", "a"), ("EXEC",),
    )
