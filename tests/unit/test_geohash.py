"""server/commands/geohash.py against values printed by a real redis-server 7.0.15
(GEOADD's ZSCORE, GEOPOS, GEOHASH, GEODIST)."""

from __future__ import annotations

import pytest

from server.commands import geohash

# (longitude, latitude, score, GEOPOS longitude, GEOPOS latitude, GEOHASH)
REFERENCE = [
    (13.361389, 38.115556, 3479099956230698, "13.36138933897018433", "38.11555639549629859", b"sqc8b49rny0"),
    (-122.4194, 37.7749, 1367859919124626, "-122.41940170526504517", "37.77490001056577995", b"9q8yyk8ytp0"),
    (179.9999999, 0.5, 4128321133538042, "179.99999731779098511", "0.50000036325177888", b"xbpfzgpbxy0"),
    (-179.9999999, -0.5, 375278493832453, "-179.99999731779098511", "-0.50000036325177888", b"2pbj0hbp210"),
    (0, 85.05112878, 6755399441055744, "0.00000268220901489", "85.0511287799999991", b"up05b5048p0"),
    (0, -85.05112878, 2251799813685248, "0.00000268220901489", "-85.05112751263942528", b"h0bh0hbj200"),
    (180, -85.05112878, 9007199254740992, "180", "-85.05112751263942528", b"00bh0hbj200"),
    (-180, 85.05112878, 4503599627370496, "-179.99999731779098511", "85.0511287799999991", b"bp05b5048p0"),
    (180, 85.05112878, 13510798882111488, "180", "85.0511287799999991", b"bp05b5048p0"),
    (-180, -85.05112878, 0, "-179.99999731779098511", "-85.05112751263942528", b"00bh0hbj200"),
    (0, 0, 3377699720527872, "0.00000268220901489", "0.00000126736058093", b"s0000000000"),
    (2.3522, 48.8566, 3663832779122514, "2.35219806432723999", "48.8565995303492997", b"u09tvw0f640"),
    (151.2093, -33.8688, 3252046221964352, "151.20929986238479614", "-33.86880091934155956", b"r3gx2f77bj0"),
    (-0.0000001, 0.0000001, 1876499844737706, "-0.00000268220901489", "0.00000126736058093", b"ebpbpbpbpb0"),
    (90, 45, 4222486838317376, "90.00000268220901489", "45.00000100864581043", b"y0000000000"),
    (-73.9857, 40.7484, 1791875672646935, "-73.98570209741592407", "40.74839914563441567", b"dr5ru6j28h0"),
    (139.6917, 35.6895, 4171231230197045, "139.69170123338699341", "35.68950126697937009", b"xn774c06kt0"),
]

# GEODIST in meters between the decoded positions of REFERENCE[i] and REFERENCE[j]
DISTANCES = [(0, 1, "10441392.8274"), (2, 3, "111226.3808"), (4, 5, "18919844.5891"), (11, 12, "16965282.9466"),
             (13, 14, "10010367.3222"), (4, 6, "20020734.0000"), (15, 16, "10849119.1484")]


def _human(value: float) -> str:
    text = ("%.17f" % value).rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@pytest.mark.parametrize("lon, lat, score, plon, plat, hashed", REFERENCE)
def test_encode_decode_hash(lon: float, lat: float, score: int, plon: str, plat: str, hashed: bytes) -> None:
    assert geohash.valid(lon, lat)
    assert geohash.encode(lon, lat) == score
    x, y = geohash.decode_score(float(score))
    assert (_human(x), _human(y)) == (plon, plat)
    assert geohash.hash_string(x, y) == hashed


@pytest.mark.parametrize("i, j, meters", DISTANCES)
def test_distance(i: int, j: int, meters: str) -> None:
    p = geohash.decode_score(float(REFERENCE[i][2]))
    q = geohash.decode_score(float(REFERENCE[j][2]))
    assert "%.4f" % geohash.distance(*p, *q) == meters
    assert "%.4f" % geohash.distance(*q, *p) == meters


def test_valid_range() -> None:
    assert not geohash.valid(180.0000001, 0)
    assert not geohash.valid(-180.0000001, 0)
    assert not geohash.valid(0, 85.05112879)
    assert not geohash.valid(0, -85.05112879)
    assert geohash.encode_range(0, 86, -180, 180, -90, 90) is None


def test_score_bits_is_a_c_cast() -> None:
    assert geohash.score_bits(3.7) == 3
    assert geohash.score_bits(-1.0) == (1 << 64) - 1
    assert geohash.score_bits(2.0**63) == 1 << 63
    assert geohash.score_bits(2.0**64) == 0
    assert geohash.score_bits(float("inf")) == 0
    assert geohash.score_bits(float("-inf")) == 1 << 63


def test_neighbours_move_and_wrap() -> None:
    step = 3
    for bits in range(1 << (2 * step)):
        n, s, e, w, ne, nw, se, sw = geohash.neighbours(bits, step)
        lon_min, lon_max, lat_min, lat_max = geohash.cell(bits, step)
        width = (geohash.LONG_MAX - geohash.LONG_MIN) / 8
        east_min = geohash.cell(e, step)[0]
        assert east_min == (lon_max if lon_max < geohash.LONG_MAX else geohash.LONG_MIN)
        assert geohash.cell(w, step)[1] == (lon_min if lon_min > geohash.LONG_MIN else geohash.LONG_MIN + 8 * width)
        north_min = geohash.cell(n, step)[2]
        assert north_min == (lat_max if lat_max < geohash.LAT_MAX else geohash.LAT_MIN)
        assert geohash.neighbours(e, step)[3] == bits and geohash.neighbours(n, step)[1] == bits
        assert geohash.neighbours(ne, step)[7] == bits and geohash.neighbours(nw, step)[6] == bits
        assert geohash.neighbours(se, step)[5] == bits and geohash.neighbours(sw, step)[4] == bits
        assert s != n or step == 1


def test_steps_and_boxes() -> None:
    assert geohash.steps_by_radius(0, 0) == 26
    assert geohash.steps_by_radius(200000, 0) == 6
    assert geohash.steps_by_radius(200000, 70) == 5
    assert geohash.steps_by_radius(200000, -81) == 4
    assert geohash.steps_by_radius(1e9, 0) == 1
    assert geohash.box_scores(0b101, 2) == (0b101 << 48, 0b110 << 48)
    boxes = geohash.search_boxes(13.361389, 38.115556, 200000, 200000, 200000)
    assert len(boxes) == 9 and boxes[0] is not None


def test_pqsort_sorts_the_range() -> None:
    import random

    from server.commands.geo_sort import pqsort

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randrange(1, 120)
        values = [rng.randrange(10) for _ in range(n)]
        lo = rng.randrange(n)
        hi = rng.randrange(lo, n)
        got = list(values)
        pqsort(got, lambda a, b: (a > b) - (a < b), lo, hi)
        assert sorted(got) == sorted(values)
        assert got[lo:hi + 1] == sorted(values)[lo:hi + 1]
