"""Redis 7.0's geohash arithmetic (geohash.c, geohash_helper.c), as pure functions.

A GEO member's score is its 52-bit geohash: 26 bits of longitude (-180..180) and 26 of
latitude (Redis's Mercator-safe -85.05112878..85.05112878), interleaved, longitude in the odd
bits. Decoding gives the centre of the cell, clamped to the valid range. Every operation is done
in the same IEEE double order as the C code, so the results are bit-exact.
"""

from __future__ import annotations

import math

STEP_MAX = 26
LONG_MIN, LONG_MAX = -180.0, 180.0
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
EARTH_RADIUS_IN_METERS = 6372797.560856
_D_R = math.pi / 180.0
_BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"
_U64 = (1 << 64) - 1


def _spread(v: int) -> int:
    """The low 32 bits of ``v`` moved to the even bit positions."""
    v &= 0xFFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & 0x5555555555555555


def _squash(v: int) -> int:
    """The even bits of ``v`` packed into 32 bits (the inverse of ``_spread``)."""
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    return (v | (v >> 16)) & 0x00000000FFFFFFFF


def valid(lon: float, lat: float) -> bool:
    """Within the range Redis indexes (extractLongLatOrReply)."""
    return LONG_MIN <= lon <= LONG_MAX and LAT_MIN <= lat <= LAT_MAX


def encode_range(lon: float, lat: float, lon_min: float, lon_max: float, lat_min: float, lat_max: float,
                 step: int = STEP_MAX) -> int | None:
    """geohashEncode: the interleaved hash of ``step`` bits per coordinate, or None when the point
    is outside the Redis range or the given ranges."""
    if not valid(lon, lat) or not (lat_min <= lat <= lat_max and lon_min <= lon <= lon_max):
        return None
    lat_offset = (lat - lat_min) / (lat_max - lat_min) * float(1 << step)
    lon_offset = (lon - lon_min) / (lon_max - lon_min) * float(1 << step)
    return _spread(int(lat_offset)) | (_spread(int(lon_offset)) << 1)


def encode(lon: float, lat: float) -> int:
    """geohashEncodeWGS84 at 26 steps: the 52-bit score of a valid point."""
    bits = encode_range(lon, lat, LONG_MIN, LONG_MAX, LAT_MIN, LAT_MAX)
    assert bits is not None, (lon, lat)
    return bits


def score_bits(score: float) -> int:
    """``(uint64_t)score`` as x86-64 gcc computes it (scores a ZADD may have set to anything)."""
    if math.isnan(score):
        return 1 << 63
    if score >= 2.0**63:
        return ((1 << 63) if score - 2.0**63 >= 2.0**63 else int(score - 2.0**63)) ^ (1 << 63)
    if score < -(2.0**63):
        return 1 << 63
    return int(score) & _U64


def cell(bits: int, step: int = STEP_MAX) -> tuple[float, float, float, float]:
    """geohashDecodeWGS84: the cell (lon_min, lon_max, lat_min, lat_max) of a hash."""
    ilat = _squash(bits)
    ilon = _squash(bits >> 1)
    scale = float(1 << step)
    lat_scale = LAT_MAX - LAT_MIN
    lon_scale = LONG_MAX - LONG_MIN
    return (
        LONG_MIN + (ilon * 1.0 / scale) * lon_scale,
        LONG_MIN + ((ilon + 1) * 1.0 / scale) * lon_scale,
        LAT_MIN + (ilat * 1.0 / scale) * lat_scale,
        LAT_MIN + ((ilat + 1) * 1.0 / scale) * lat_scale,
    )


def decode(bits: int, step: int = STEP_MAX) -> tuple[float, float]:
    """geohashDecodeToLongLatWGS84: the cell's centre (longitude, latitude), clamped."""
    lon_min, lon_max, lat_min, lat_max = cell(bits, step)
    lon = min(max((lon_min + lon_max) / 2, LONG_MIN), LONG_MAX)
    lat = min(max((lat_min + lat_max) / 2, LAT_MIN), LAT_MAX)
    return lon, lat


def decode_score(score: float) -> tuple[float, float]:
    """decodeGeohash: the position a member's score stands for."""
    return decode(score_bits(score))


def hash_string(lon: float, lat: float) -> bytes:
    """GEOHASH's 11-character string: the position re-encoded on the standard -90..90 latitude
    range, the 11th character always '0'."""
    bits = encode_range(lon, lat, -180.0, 180.0, -90.0, 90.0)
    assert bits is not None, (lon, lat)
    return bytes(_BASE32[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)) + b"0"


def lat_distance(lat1: float, lat2: float) -> float:
    """geohashGetLatDistance."""
    return EARTH_RADIUS_IN_METERS * abs(lat2 * _D_R - lat1 * _D_R)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance: the haversine distance in meters."""
    lon1r = lon1 * _D_R
    lon2r = lon2 * _D_R
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = lat1 * _D_R
    lat2r = lat2 * _D_R
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(math.sqrt(a))


# -- search areas (geohash.c's neighbours, geohash_helper.c's areas by shape) ----------------

MERCATOR_MAX = 20037726.37
_ODD = 0xAAAAAAAAAAAAAAAA
_EVEN = 0x5555555555555555


def _move(bits: int, step: int, d: int, own: int) -> int:
    """geohash_move_x (``own`` the odd, longitude bits) or geohash_move_y (the even ones)."""
    other_mask = _EVEN if own == _ODD else _ODD
    mine = bits & own
    other = bits & other_mask
    zz = (other_mask >> (64 - step * 2)) & _U64
    if d > 0:
        mine = (mine + zz + 1) & _U64
    else:
        mine = ((mine | zz) - (zz + 1)) & _U64
    mine &= own >> (64 - step * 2)
    return mine | other


def neighbours(bits: int, step: int) -> list[int]:
    """geohashNeighbors in membersOfAllNeighbors' order: north, south, east, west, north-east,
    north-west, south-east, south-west."""
    def at(dx: int, dy: int) -> int:
        b = _move(bits, step, dx, _ODD) if dx else bits
        return _move(b, step, dy, _EVEN) if dy else b

    return [at(0, 1), at(0, -1), at(1, 0), at(-1, 0), at(1, 1), at(-1, 1), at(1, -1), at(-1, -1)]


def steps_by_radius(range_meters: float, lat: float) -> int:
    """geohashEstimateStepsByRadius."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


def _cos(x: float) -> float:
    """C's cos: NaN for an infinite angle (Python raises; GEOSEARCH BYBOX inf ... reaches it)."""
    return math.cos(x) if math.isfinite(x) else math.nan


def bounding_box(lon: float, lat: float, half_width: float, half_height: float) -> tuple[float, float, float, float]:
    """geohashBoundingBox (half sizes in meters): (min lon, min lat, max lon, max lat)."""
    lat_delta = (half_height / EARTH_RADIUS_IN_METERS) / _D_R
    top = (half_width / EARTH_RADIUS_IN_METERS / _cos((lat + lat_delta) * _D_R)) / _D_R
    bottom = (half_width / EARTH_RADIUS_IN_METERS / _cos((lat - lat_delta) * _D_R)) / _D_R
    delta = bottom if lat < 0 else top
    return lon - delta, lat - lat_delta, lon + delta, lat + lat_delta


def search_boxes(lon: float, lat: float, half_width: float, half_height: float,
                 radius_meters: float) -> list[tuple[int, int] | None]:
    """geohashCalculateAreasByShapeWGS84: the centre cell and its 8 neighbours as (bits, step),
    None for the ones excluded, in membersOfAllNeighbors' order."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(lon, lat, half_width, half_height)
    steps = steps_by_radius(radius_meters, lat)
    bits = encode_range(lon, lat, LONG_MIN, LONG_MAX, LAT_MIN, LAT_MAX, steps)
    assert bits is not None
    around = neighbours(bits, steps)
    north, south, east, west = (cell(b, steps) for b in around[:4])
    if north[3] < max_lat or south[2] > min_lat or east[1] < max_lon or west[0] > min_lon:
        if steps > 1:
            steps -= 1
            bits = encode_range(lon, lat, LONG_MIN, LONG_MAX, LAT_MIN, LAT_MAX, steps)
            assert bits is not None
            around = neighbours(bits, steps)
    boxes: list[tuple[int, int] | None] = [(bits, steps), *((b, steps) for b in around)]
    if steps >= 2:
        a_lon_min, a_lon_max, a_lat_min, a_lat_max = cell(bits, steps)
        drop: set[int] = set()
        if a_lat_min < min_lat:
            drop |= {2, 7, 8}  # south, south-east, south-west
        if a_lat_max > max_lat:
            drop |= {1, 5, 6}
        if a_lon_min < min_lon:
            drop |= {4, 8, 6}
        if a_lon_max > max_lon:
            drop |= {3, 7, 5}
        for i in drop:
            boxes[i] = None
    return boxes


def box_scores(bits: int, step: int) -> tuple[int, int]:
    """scoresOfGeoHashBox: [min, max) of the scores inside a cell."""
    return bits << (52 - step * 2), (bits + 1) << (52 - step * 2)


def in_rectangle(width_m: float, height_m: float, lon1: float, lat1: float, lon2: float,
                 lat2: float) -> float | None:
    """geohashGetDistanceIfInRectangle: the distance from the box's centre, or None outside."""
    if lat_distance(lat2, lat1) > height_m / 2:
        return None
    if distance(lon2, lat2, lon1, lat2) > width_m / 2:
        return None
    return distance(lon1, lat1, lon2, lat2)
