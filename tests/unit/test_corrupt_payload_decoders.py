"""Decoder checks found by Redis's corrupt-dump.tcl rows (tests/compat/test_corrupt_dump_vs_redis.py):
each structure Redis's deep sanitization rejects is a FormatError ("Bad data format") here."""

from __future__ import annotations

import pytest

from server.commands.registry import build_table
from server.rdb import listpack
from server.rdb.listpack import FormatError
from server.rdb.objects import load_payload

build_table()  # every type's codecs


def test_listpack_terminator_must_be_the_last_byte() -> None:
    # header says 11 bytes and 1 entry; the entry is followed by 0xFF, 0xFF ("entry start with EOF")
    lp = b"\x0b\x00\x00\x00\x01\x00\x81a\x02\xff\xff"
    with pytest.raises(FormatError):
        listpack.decode(lp)
    assert listpack.decode(b"\x0a\x00\x00\x00\x01\x00\x81a\x02\xff") == [b"a"]


@pytest.mark.parametrize("container", [1, 2])
def test_quicklist_node_of_zero_bytes_is_bad_format(container: int) -> None:
    # RDB_TYPE_LIST_QUICKLIST_2, one node, a plain (1) or packed (2) container of 0 bytes
    with pytest.raises(FormatError):
        load_payload(bytes([18, 1, container, 0]) + b"\x0a\x00" + b"\x00" * 8)
    assert load_payload(bytes([18, 1, 1, 1]) + b"x\x0a\x00" + b"\x00" * 8) == ("list", [b"x"])
