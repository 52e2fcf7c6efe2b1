"""The peer link's frame reader: frames split anywhere parse the same, and a header a broken
peer sends is judged as soon as its five bytes are in (not after a payload that may never come)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replication.wire import (
    F_ACK,
    F_BATCH,
    F_HEARTBEAT,
    MAX_ACK,
    MAX_FRAME,
    PULLER_FRAMES,
    STREAMER_FRAMES,
    FrameError,
    FrameReader,
    frame,
)


@given(st.lists(st.tuples(st.sampled_from([F_BATCH, F_HEARTBEAT]), st.binary(max_size=40)), max_size=8),
       st.lists(st.integers(min_value=1, max_value=50), max_size=20))
def test_frames_split_anywhere_parse_the_same(frames: list[tuple[int, bytes]], cuts: list[int]) -> None:
    stream = b"".join(frame(t, p) for t, p in frames)
    reader = FrameReader(PULLER_FRAMES)
    out: list[tuple[int, bytes]] = []
    pos = 0
    for n in cuts:
        out += reader.feed(stream[pos:pos + n])
        pos += n
    out += reader.feed(stream[pos:])
    assert out == frames


def test_a_header_of_a_type_this_end_does_not_take_is_refused_at_once() -> None:
    with pytest.raises(FrameError, match="unexpected frame type 244"):
        FrameReader(STREAMER_FRAMES).feed(struct.pack("<BI", 0xF4, 37_000_000))
    with pytest.raises(FrameError, match="unexpected frame type 1"):
        FrameReader(STREAMER_FRAMES).feed(struct.pack("<BI", F_BATCH, 10))  # a batch to a streamer
    with pytest.raises(FrameError, match="unexpected frame type 5"):
        FrameReader(PULLER_FRAMES).feed(struct.pack("<BI", F_ACK, 10))  # an ACK to a puller


def test_a_header_over_its_types_limit_is_refused_at_once() -> None:
    with pytest.raises(FrameError, match="over the limit"):
        FrameReader(STREAMER_FRAMES).feed(struct.pack("<BI", F_ACK, MAX_ACK + 1))
    with pytest.raises(FrameError, match="over the limit"):
        FrameReader(PULLER_FRAMES).feed(struct.pack("<BI", F_BATCH, MAX_FRAME + 1))
    # at the limit it waits for the payload
    assert FrameReader(STREAMER_FRAMES).feed(struct.pack("<BI", F_ACK, MAX_ACK)) == []


def test_a_partial_header_waits() -> None:
    reader = FrameReader(STREAMER_FRAMES)
    assert reader.feed(b"\xf4\xde") == []
    with pytest.raises(FrameError):
        reader.feed(b"\x80?\x02")
