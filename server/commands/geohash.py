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
