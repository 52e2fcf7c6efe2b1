"""GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and the _RO forms against a real
redis-server (RESP2 and RESP3): results (in Redis's order: by distance with ASC/DESC or COUNT,
else the order Redis scans its search boxes in), WITH* replies, stores, errors and the order
Redis checks arguments in."""

from __future__ import annotations

import random

from tests.conftest import Differential

PLACES = [
    ("13.361389", "38.115556", "Palermo"), ("15.087269", "37.502669", "Catania"), ("13.583333", "37.316667", "Agrigento"),
    ("12.758489", "38.788135", "edge1"), ("14.0", "38.0", "mid"), ("-122.4194", "37.7749", "sf"),
    ("179.9", "10", "east"), ("-179.9", "10", "west"), ("0", "85", "north"), ("90", "85.05", "north2"),
]
OPTIONS = [[], ["ASC"], ["DESC"], ["WITHDIST"], ["WITHCOORD", "WITHHASH"], ["WITHDIST", "WITHHASH", "WITHCOORD", "ASC"],
           ["COUNT", "1"], ["COUNT", "2", "DESC"], ["COUNT", "2", "ANY"], ["COUNT", "3", "ANY", "ASC"], ["withdist", "desc"]]


def load(diff: Differential) -> None:
    diff.check("GEOADD", "g", *[x for p in PLACES for x in p])
    diff.check("SET", "str", "x")


def test_geosearch_shapes(diff: Differential) -> None:
    load(diff)
    for frm in (["FROMMEMBER", "Palermo"], ["FROMLONLAT", "15", "37"], ["FROMMEMBER", "east"], ["FROMLONLAT", "-180", "0"],
                ["FROMLONLAT", "0", "84"], ["FROMMEMBER", "north2"]):
        for by in (["BYRADIUS", "200", "km"], ["BYRADIUS", "0", "m"], ["BYRADIUS", "1000", "mi"], ["BYBOX", "400", "400", "km"],
                   ["BYBOX", "100", "300", "km"], ["BYRADIUS", "30000", "km"], ["BYBOX", "50000", "50000", "km"],
                   ["BYRADIUS", "100000", "ft"]):
            for opts in OPTIONS:
                diff.check("GEOSEARCH", "g", *frm, *by, *opts)


def test_georadius_forms(diff: Differential) -> None:
    load(diff)
    for opts in OPTIONS:
        diff.check("GEORADIUS", "g", "15", "37", "200", "km", *opts)
        diff.check("GEORADIUS_RO", "g", "15", "37", "300", "mi", *opts)
        diff.check("GEORADIUSBYMEMBER", "g", "Palermo", "150", "km", *opts)
        diff.check("GEORADIUSBYMEMBER_RO", "g", "east", "100", "km", *opts)


def test_geosearch_errors(diff: Differential) -> None:
    load(diff)
    diff.check_all(
        ("GEOSEARCH", "g", "FROMMEMBER", "Palermo"), ("GEOSEARCH", "g", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "1"), ("GEOSEARCH", "g", "FROMMEMBER", "nope", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "nokey", "FROMLONLAT", "200", "0", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km", "WITHDIST"),
        ("GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "x", "km"),
        ("GEOSEARCH", "str", "FROMMEMBER", "x", "BYRADIUS", "1", "km"), ("GEOSEARCH", "str", "x", "y", "z", "w", "v"),
        ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYBOX", "1", "1", "km", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "x", "km"), ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "-1", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "yd"), ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "KM"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYBOX", "x", "1", "km"), ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYBOX", "1", "x", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYBOX", "-1", "1", "km"), ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYBOX", "1", "-1", "yd"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYBOX", "1", "1", "yd"), ("GEOSEARCH", "g", "FROMLONLAT", "x", "2", "BYBOX", "1", "1", "m"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "91", "BYBOX", "1", "1", "m"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "COUNT", "0"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "COUNT", "-1"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "COUNT", "x"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "COUNT"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "ANY"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "STORE", "x"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "STOREDIST"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "foo"),
        ("GEOSEARCH", "g", "WITHDIST", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "COUNT", "0", "foo"),
        ("GEOSEARCH", "g", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "ANY", "FROMMEMBER"),
        ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "FROMMEMBER", "Catania"),
        ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYBOX", "1", "1"),
        ("GEOSEARCH", "g", "FROMMEMBER"), ("GEOSEARCH", "g"),
    )


def test_georadius_errors(diff: Differential) -> None:
    load(diff)
    diff.check_all(
        ("GEORADIUS", "g", "200", "0", "1", "km"), ("GEORADIUS", "g", "1", "2", "x", "km"), ("GEORADIUS", "g", "1", "2", "-1", "km"),
        ("GEORADIUS", "g", "1", "2", "1", "yd"), ("GEORADIUS", "nokey", "200", "0", "1", "km"), ("GEORADIUS", "nokey", "1", "2", "1", "km"),
        ("GEORADIUS", "str", "200", "0", "1", "km"), ("GEORADIUS", "g", "1", "2", "1", "km", "STORE", "d", "WITHDIST"),
        ("GEORADIUS", "g", "1", "2", "1", "km", "STORE"), ("GEORADIUS", "g", "1", "2", "1", "km", "ANY"),
        ("GEORADIUS", "g", "1", "2", "1", "km", "FROMMEMBER", "x"), ("GEORADIUS", "g", "1", "2", "1", "km", "BYRADIUS", "1", "km"),
        ("GEORADIUS_RO", "g", "1", "2", "1", "km", "STORE", "d"), ("GEORADIUS_RO", "g", "1", "2", "1", "km", "STOREDIST", "d"),
        ("GEORADIUSBYMEMBER", "g", "nope", "1", "km"), ("GEORADIUSBYMEMBER", "g", "Palermo", "x", "km"),
        ("GEORADIUSBYMEMBER", "nokey", "nope", "x", "yd"), ("GEORADIUSBYMEMBER", "nokey", "nope", "x", "yd", "bad"),
        ("GEORADIUSBYMEMBER", "nokey", "nope", "1", "km", "STORE", "d"), ("GEORADIUSBYMEMBER", "str", "nope", "1", "km"),
        ("GEORADIUSBYMEMBER_RO", "g", "Palermo", "1", "km", "STORE", "d"), ("GEORADIUS", "g", "1", "2", "1"),
        ("GEORADIUSBYMEMBER", "g", "Palermo", "1"),
    )


def test_stores(diff: Differential) -> None:
    load(diff)
    diff.check_all(
        ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km"), ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "STOREDIST"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYBOX", "300", "300", "mi", "STOREDIST", "COUNT", "2", "DESC"),
        ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "WITHDIST"),
        ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "x"),
        ("EXPIRE", "d", "100"), ("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "100", "km"), ("TTL", "d"),
        ("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "-50", "-50", "BYRADIUS", "1", "km"), ("EXISTS", "d"),
        ("SET", "s2", "v"), ("GEOSEARCHSTORE", "s2", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "100", "km"), ("TYPE", "s2"),
        ("SET", "s3", "v"), ("GEOSEARCHSTORE", "s3", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "100", "km"), ("EXISTS", "s3"),
        ("GEOSEARCHSTORE", "s3", "str", "FROMLONLAT", "15", "37", "BYRADIUS", "100", "km"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "r1"), ("ZRANGE", "r1", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "r2", "COUNT", "2"), ("ZRANGE", "r2", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "r1", "STOREDIST", "r3"), ("EXISTS", "r1", "r3"),
        ("GEORADIUSBYMEMBER", "g", "sf", "10", "km", "STORE", "r3"), ("ZRANGE", "r3", "0", "-1", "WITHSCORES"),
        ("GEORADIUSBYMEMBER", "g", "sf", "10", "km", "STORE", "r3", "WITHHASH"),
        ("GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "r3"), ("EXISTS", "r3"),
    )


def test_random_points(diff: Differential) -> None:
    rng = random.Random(1201)
    for n in (50, 400):  # listpack and skiplist sizes
        diff.check("DEL", "r")
        args: list[str] = []
        for i in range(n):
            args += ["%.6f" % rng.uniform(-20, 20), "%.6f" % rng.uniform(-20, 20), f"p{i}"]
        args += ["179.99", "0", "am1", "-179.99", "0", "am2", "10", "84.9", "pole"]
        diff.check("GEOADD", "r", *args)
        for _ in range(60):
            frm = (["FROMMEMBER", f"p{rng.randrange(n)}"] if rng.random() < 0.5
                   else ["FROMLONLAT", "%.4f" % rng.uniform(-25, 25), "%.4f" % rng.uniform(-25, 25)])
            unit = rng.choice(["m", "km", "mi", "ft"])
            scale = {"m": 1000, "km": 1, "mi": 0.62, "ft": 3280}[unit]
            by = (["BYRADIUS", "%g" % (rng.uniform(10, 3000) * scale), unit] if rng.random() < 0.5 else
                  ["BYBOX", "%g" % (rng.uniform(10, 4000) * scale), "%g" % (rng.uniform(10, 4000) * scale), unit])
            opts = rng.choice(OPTIONS + [["COUNT", "5"], ["COUNT", "50", "WITHDIST"], ["COUNT", "4", "ANY", "WITHCOORD"]])
            diff.check("GEOSEARCH", "r", *frm, *by, *opts)
        diff.check("GEOSEARCH", "r", "FROMLONLAT", "180", "0", "BYRADIUS", "10", "km", "WITHDIST")
        diff.check("GEOSEARCH", "r", "FROMLONLAT", "10", "85", "BYBOX", "100", "100", "km", "WITHCOORD")


def test_ties_and_duplicates(diff: Differential) -> None:
    """Many points at exactly the same distances: ASC/DESC (stable sort) and COUNT (pqsort)."""
    args: list[str] = []
    for i in range(120):
        lon, lat = [("1", "1"), ("-1", "1"), ("1", "-1"), ("-1", "-1"), ("0", "2"), ("2", "0")][i % 6]
        args += [lon, lat, f"m{i:03d}"]
    diff.check("GEOADD", "t", *args)
    for count in ["1", "2", "5", "7", "8", "40", "41", "60", "119", "120", "500"]:
        for order in (["ASC"], ["DESC"], []):
            diff.check("GEOSEARCH", "t", "FROMLONLAT", "0", "0", "BYRADIUS", "500", "km", "COUNT", count, *order)
            diff.check("GEOSEARCH", "t", "FROMLONLAT", "0.5", "0.5", "BYBOX", "600", "600", "km", "COUNT", count, *order,
                       "WITHDIST")
            diff.check("GEOSEARCH", "t", "FROMLONLAT", "0", "0", "BYRADIUS", "500", "km", "COUNT", count, "ANY", *order)
        diff.check("GEOSEARCHSTORE", "d", "t", "FROMLONLAT", "0", "0", "BYRADIUS", "500", "km", "COUNT", count, "STOREDIST")
        diff.check("ZRANGE", "d", "0", "-1", "WITHSCORES")
    diff.check("GEOSEARCH", "t", "FROMLONLAT", "0", "0", "BYRADIUS", "500", "km")
    diff.check("GEOSEARCH", "t", "FROMLONLAT", "0", "0", "BYRADIUS", "500", "km", "DESC")


def test_in_multi(diff: Differential) -> None:
    load(diff)
    diff.check_all(
        ("MULTI",), ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "WITHDIST"),
        ("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km"), ("ZCARD", "d"),
        ("GEORADIUS", "g", "15", "37", "x", "km"), ("GEORADIUSBYMEMBER_RO", "g", "Palermo", "200", "km", "COUNT", "1"),
        ("EXEC",),
    )


def test_random_global_points(diff: Differential) -> None:
    """Points over the whole valid range, searches centred near the poles and the antimeridian."""
    rng = random.Random(85)
    args: list[str] = []
    for i in range(300):
        lon = rng.choice([rng.uniform(-180, 180), rng.uniform(175, 180), rng.uniform(-180, -175)])
        lat = rng.choice([rng.uniform(-85.05112878, 85.05112878), rng.uniform(80, 85.05112878), rng.uniform(-85.05112878, -80)])
        args += [repr(lon), repr(lat), f"q{i}"]
    diff.check("GEOADD", "w", *args)
    for _ in range(150):
        lon = rng.choice(["180", "-180", "179.95", "-179.95", "%.3f" % rng.uniform(-180, 180)])
        lat = rng.choice(["85.05112878", "-85.05112878", "84", "-83", "66.5", "-66.5", "0", "%.3f" % rng.uniform(-85, 85)])
        by = (["BYRADIUS", "%g" % rng.uniform(1, 6000), "km"] if rng.random() < 0.5 else
              ["BYBOX", "%g" % rng.uniform(1, 9000), "%g" % rng.uniform(1, 9000), "km"])
        opts = rng.choice(OPTIONS + [["COUNT", "10", "WITHDIST", "WITHHASH"], ["COUNT", "3", "ANY", "DESC"]])
        diff.check("GEOSEARCH", "w", "FROMLONLAT", lon, lat, *by, *opts)
        diff.check("GEORADIUSBYMEMBER", "w", f"q{rng.randrange(300)}", "%g" % rng.uniform(1, 3000), "mi", *opts)


def test_infinite_and_huge_shapes(diff: Differential) -> None:
    """An infinite radius, width or height is a valid double to Redis (its C cos of an infinite
    angle is NaN, not an error): every member of the world, never an unexpected error."""
    load(diff)
    for by in (["BYBOX", "inf", "+inf", "mi"], ["BYBOX", "10", "inf", "km"], ["BYBOX", "inf", "10", "km"],
               ["BYRADIUS", "inf", "m"], ["BYBOX", "1e308", "1e308", "km"], ["BYRADIUS", "1e308", "ft"],
               ["BYBOX", "-inf", "5", "m"], ["BYBOX", "nan", "5", "m"]):
        for frm in (["FROMLONLAT", "1.5", "1"], ["FROMMEMBER", "north2"]):
            for opts in ([], ["WITHHASH"], ["WITHDIST", "ASC"], ["COUNT", "2", "WITHCOORD"]):
                diff.check("GEOSEARCH", "g", *frm, *by, *opts)
    diff.check("GEORADIUS", "g", "1.5", "1", "inf", "km", "WITHDIST")
    diff.check("GEOSEARCHSTORE", "dst", "g", "FROMLONLAT", "1.5", "1", "BYBOX", "inf", "inf", "km")
    diff.check("ZCARD", "dst")
