"""GEO over three real regions (SEMANTICS.md: GEOADD assigns a member's score, so GEO writes
merge as sorted set assignments do): concurrent writes while partitioned, then agreement."""

from __future__ import annotations

from tests.multiregion.rowkit import Rows, make_fixtures

cluster, rows = make_fixtures()

W, E, EU = 0, 1, 2  # us-west, us-east, eu-west


def test_geoadd_geoadd_greatest_timestamp_wins(rows: Rows) -> None:
    with rows.partitioned():
        assert rows.call(W, "GEOADD", "g:lww", "13.361389", "38.115556", "m") == 1
        rows.later()
        assert rows.call(E, "GEOADD", "g:lww", "15.087269", "37.502669", "m") == 1
        assert rows.call(EU, "GEOADD", "g:lww", "2.3522", "48.8566", "paris") == 1
    rows.digests_equal()
    assert rows.same("ZSCORE", "g:lww", "m") == 3479447370796909.0
    assert rows.same("GEOHASH", "g:lww", "m", "paris") == ["sqdtr74hyu0", "u09tvw0f640"]


def test_geosearchstore_replaces_what_it_observed(rows: Rows) -> None:
    rows.call(W, "GEOADD", "g:src", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
    rows.call(W, "ZADD", "g:dst", "7", "old")
    with rows.partitioned():
        assert rows.call(W, "GEOSEARCHSTORE", "g:dst", "g:src", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km",
                         "ASC", "STOREDIST") == 2
        rows.call(E, "ZADD", "g:dst", "9", "new")  # unseen by the replace: kept
    rows.digests_equal()
    assert rows.same("ZRANGE", "g:dst", "0", "-1") == [b"Palermo", b"new", b"Catania"]
    assert rows.same("GEODIST", "g:src", "Palermo", "Catania", "km") == 166.2742  # the client's GEODIST callback parses the reply
