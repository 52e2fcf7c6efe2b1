"""The peer port, fuzzed from both ends of a link (issue 15, "Faults").

Two real regions (``r1`` and ``r2``) replicate to each other; ``r1`` also has a third peer
configured, ``FakePeer``, a socket server in this test that answers the handshake and then
sends what a broken or hostile peer would: random bytes, bit-flipped and truncated frames,
lengths over the limit, unknown frame types, msgpack of the wrong shape in every frame kind
(batch, heartbeat, publish, state stream). And this test also connects to ``r1`` as a peer that
pulls its log, with malformed ``CRDT.SYNC`` handshakes and then malformed ACK frames.

Every time: ``r1`` drops the bad link (and, for its puller, reconnects: the link is retried,
never lost), logs why, applies nothing of it, stays up with ``unexpected_errors`` 0 and no
traceback in its log, and keeps replicating with ``r2`` both ways.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest

from crdt.codec import encode_batch
from crdt.effects import Batch
from crdt.types.strings import Assign
from replication.oplog import LOG_VERSION
from replication.wire import (
    F_ACK,
    F_BATCH,
    F_HEARTBEAT,
    F_PUBLISH,
    F_STATE_DATA,
    F_STATE_END,
    MAX_FRAME,
    WIRE_VERSION,
    frame,
    pack_vv,
)
from server.harness.processes import ServerProcess, free_port, start_activekv
from server.harness.waiting import wait_for
from tests.fuzz import fuzzkit
from tests.fuzz.fuzzkit import StrictConn, encode, read_until_close
from tests.fuzz.strictresp import Incomplete, parse

FAKE = "fake-peer"
ORIGIN = f"{FAKE}/1"


def good_batch(seq: int, key: bytes, value: bytes) -> bytes:
    return encode_batch(Batch(ORIGIN, seq, int(time.time() * 1000) << 16, {}, [Assign(0, key, value)]))


class FakePeer:
    """A peer region's port that answers ``CRDT.SYNC`` with ``+SYNC`` and then sends, on the
    n-th connection, ``scripts[n]`` (bytes), then closes after ``linger`` seconds."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.scripts: list[bytes] = []
        self.handshakes: list[list[bytes]] = []
        self.closed_by_peer: list[bool] = []
        self.linger = 1.0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def send_next(self, data: bytes) -> int:
        """``data`` goes to the next connection; returns how many there were before it."""
        with self.lock:
            n = len(self.handshakes)
            self.scripts = (self.scripts + [b""] * n)[:n] + [data]
            return n

    def connections(self) -> int:
        with self.lock:
            return len(self.handshakes)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(3)
        buf = b""
        try:
            while True:
                try:
                    request, _ = parse(buf, 0, False)
                    break
                except Incomplete:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
            with self.lock:
                n = len(self.handshakes)
                self.handshakes.append([v.value for v in request.value])
                script = self.scripts[n] if n < len(self.scripts) else b""
            conn.sendall(b"+SYNC %s inst-1 log\r\n" % FAKE.encode())
            if script:
                conn.sendall(script)
            _, closed = read_until_close(conn, timeout=self.linger, quiet=self.linger)
            with self.lock:
                self.closed_by_peer.append(closed)
        except OSError:
            with self.lock:
                self.closed_by_peer.append(True)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


class Regions:
    def __init__(self) -> None:
        self.fake = FakePeer()
        p1, p2 = free_port(), free_port()
        self.r2: ServerProcess | None = None
        self.r1 = start_activekv("--region", "r1", "--peer", f"127.0.0.1:{p2}",
                                 "--peer", f"127.0.0.1:{self.fake.port}", port=p1)
        try:
            self.r2 = start_activekv("--region", "r2", "--peer", f"127.0.0.1:{p1}", port=p2)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        for proc in (self.r1, self.r2):
            if proc is not None:
                proc.stop()
        self.fake.close()


@pytest.fixture(scope="module")
def regions() -> Iterator[Regions]:
    r = Regions()
    yield r
    r.close()


def call(port: int, *args: Any) -> Any:
    conn = StrictConn(port)
    try:
        return conn.call(*args)
    finally:
        conn.close()


def assert_replicating(regions: Regions, tag: str) -> None:
    """A write on each real region reaches the other."""
    assert regions.r2 is not None
    for src, dst in ((regions.r1, regions.r2), (regions.r2, regions.r1)):
        key = f"live:{tag}:{src.port}".encode()
        assert call(src.port, b"SET", key, b"v").value == b"OK"
        wait_for(lambda d=dst, k=key: call(d.port, b"GET", k).value == b"v", 10,
                 f"{key!r} to replicate ({tag})")


def wrong_shapes(rng: random.Random, seq: int) -> list[tuple[str, bytes]]:
    """Frames whose payload is valid msgpack (or the right frame header) of the wrong shape."""
    good = msgpack.unpackb(good_batch(seq, b"fz:never", b"x"), raw=False)
    effect = good[5][0]

    def batch(*fields: Any) -> bytes:
        return frame(F_BATCH, msgpack.packb(list(fields), use_bin_type=True))

    return [
        ("batch: an int", frame(F_BATCH, msgpack.packb(5))),
        ("batch: 3 fields", batch(1, ORIGIN, seq)),
        ("batch: origin an int", batch(1, 7, seq, 0, {}, [effect])),
        ("batch: origin empty", batch(1, "", seq, 0, {}, [effect])),
        ("batch: seq a string", batch(1, ORIGIN, "1", 0, {}, [effect])),
        ("batch: seq negative", batch(1, ORIGIN, -3, 0, {}, [effect])),
        ("batch: hlc a string", batch(1, ORIGIN, seq, "now", {}, [effect])),
        ("batch: deps an int", batch(1, ORIGIN, seq, 0, 5, [effect])),
        ("batch: deps negative", batch(1, ORIGIN, seq, 0, {"r1/1": -1}, [effect])),
        ("batch: effects an int", batch(1, ORIGIN, seq, 0, {}, 5)),
        ("batch: effect an int", batch(1, ORIGIN, seq, 0, {}, [5])),
        ("batch: effect empty", batch(1, ORIGIN, seq, 0, {}, [[]])),
        ("batch: unknown effect", batch(1, ORIGIN, seq, 0, {}, [[9999, 0, b"k"]])),
        ("batch: effect fields wrong", batch(1, ORIGIN, seq, 0, {}, [[effect[0], "db", 5, None]])),
        ("batch: effect short", batch(1, ORIGIN, seq, 0, {}, [effect[:2]])),
        ("batch: events wrong", batch(1, ORIGIN, seq, 0, {}, [effect], 5)),
        ("batch: version 2", batch(2, ORIGIN, seq, 0, {}, [effect])),
        ("heartbeat: an int", frame(F_HEARTBEAT, msgpack.packb(5))),
        ("heartbeat: vv of strings", frame(F_HEARTBEAT, msgpack.packb([{"a": "b"}, 1]))),
        ("heartbeat: time a string", frame(F_HEARTBEAT, msgpack.packb([{}, "x"]))),
        ("publish: an int", frame(F_PUBLISH, msgpack.packb(5))),
        ("publish: strings", frame(F_PUBLISH, msgpack.packb([0, "ch", "msg"]))),
        ("publish: 2 fields", frame(F_PUBLISH, msgpack.packb([0, b"ch"]))),
        ("state: garbage", frame(F_STATE_DATA, bytes(rng.getrandbits(8) for _ in range(64)))
         + frame(F_STATE_END, b"")),
        ("state: msgpack of the wrong shape", frame(F_STATE_DATA, msgpack.packb([1, 2, 3]) * 3)
         + frame(F_STATE_END, b"")),
        ("ack sent to a puller", frame(F_ACK, pack_vv({}))),
        ("unknown frame type", frame(99, b"x")),
        ("length over the limit", struct.pack("<BI", F_BATCH, MAX_FRAME + 1)),
        ("truncated frame", frame(F_BATCH, good_batch(seq, b"fz:never", b"x"))[:-3]),
    ]


def corrupted(rng: random.Random, seq: int) -> list[tuple[str, bytes]]:
    """Random damage to a valid batch frame."""
    out = []
    for i in range(fuzzkit.count(6)):
        data = bytearray(frame(F_BATCH, good_batch(seq, b"fz:flip", b"value")))
        kind = rng.choice(["flip", "junk", "truncate"])
        if kind == "flip":
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(5, len(data))
                data[pos] ^= 1 << rng.randrange(8)
        elif kind == "junk":
            data = bytearray(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))))
        else:
            data = data[: rng.randrange(1, len(data))]
        out.append((f"random {kind} {i}", bytes(data)))
    return out


def test_a_peer_sending_garbage_is_dropped_and_retried_without_applying_it(regions: Regions) -> None:
    seed = fuzzkit.seed()
    rng = random.Random(seed)
    fake, r1 = regions.fake, regions.r1
    wait_for(lambda: fake.connections() >= 1, 10, "r1 to connect to the fake peer")
    # A control first: a well-formed batch from the fake peer is applied (so the garbage
    # below is refused for being garbage, not because nothing from this peer ever applies).
    fake.linger = 0.1
    fake.send_next(frame(F_BATCH, good_batch(1, b"fz:good", b"v1")))
    wait_for(lambda: call(r1.port, b"GET", b"fz:good").value == b"v1", 10, "the control batch")
    before = call(r1.port, b"CRDT.DIGEST").value
    cases = wrong_shapes(rng, 2) + corrupted(rng, 2)
    for name, data in cases:
        n = fake.send_next(data)
        # r1 connects, gets the frame, drops the link and connects again: the retry is the
        # proof that the link survived the bad frame
        wait_for(lambda n=n: fake.connections() >= n + 2, 10,
                 f"FUZZ_SEED={seed} r1 to reconnect after {name!r}")
        if not name.startswith(("random", "truncated")):  # r1 itself dropped the link
            assert fake.closed_by_peer[n], f"{name!r}: r1 kept the link"
        if name.startswith("random flip"):  # a flip may leave a valid batch: it may apply
            before = call(r1.port, b"CRDT.DIGEST").value
        else:
            assert call(r1.port, b"CRDT.DIGEST").value == before, f"FUZZ_SEED={seed} {name!r} was applied"
        assert call(r1.port, b"GET", b"fz:never").value is None, name
    fuzzkit.assert_healthy(r1, f"FUZZ_SEED={seed}")
    # one warning line per bad frame, naming the peer and what was wrong
    drops = [line for line in r1.log().splitlines()
             if f"peer link to 127.0.0.1:{fake.port}: dropped the link" in line and "WARNING" in line]
    assert len(drops) >= len(wrong_shapes(rng, 2)) - 1, drops
    assert_replicating(regions, "after-garbage")


def sync_args(rng: random.Random) -> list[bytes]:
    vvs = [pack_vv({}), b"\xc1", msgpack.packb({"r1/1": -1}), msgpack.packb([1]), b"", b"\xff" * 9,
           msgpack.packb({"x/1": 2**64 - 1}), msgpack.packb({"x": 1.5})]
    pools = [
        [str(WIRE_VERSION).encode(), b"0", b"2", b"-1", b"99999999999999999999", b"1.0", b"", b"x"],
        [b"peer-x", b"r1", b"r2", b"", b"\xff", b"a b", b"a/b", b"x" * 300],
        [b"inst-x", b"", b"\x80", b"i d"],
        [str(LOG_VERSION).encode(), b"0", b"-1", b"9223372036854775808", b"abc"],
        vvs,
        [b"log", b"state", b"LOG", b"", b"sometimes", b"\xff"],
    ]
    args = [rng.choice(pool) for pool in pools]
    if rng.random() < 0.2:
        args = args[: rng.randrange(len(args))]
    elif rng.random() < 0.1:
        args.append(b"extra")
    return args


def test_malformed_handshakes_are_refused_and_the_connection_stays_a_client(regions: Regions) -> None:
    seed = fuzzkit.seed()
    rng = random.Random(seed)
    r1 = regions.r1
    for _ in range(fuzzkit.count(40)):
        args = sync_args(rng)
        conn = StrictConn(r1.port)
        try:
            reply = conn.call(b"CRDT.SYNC", *args)
            context = f"FUZZ_SEED={seed} CRDT.SYNC {args!r}: {reply!r}"
            if reply.type == "+":
                assert reply.value.startswith(b"SYNC r1 "), context
                continue  # a valid handshake (the frames after it are the next test's)
            assert reply.type == "-", context
            assert reply.value.split()[0] in (b"ERR", b"CRDTERR"), context
            assert conn.call(b"PING").value == b"PONG", context
        finally:
            conn.close()
    fuzzkit.assert_healthy(r1, f"FUZZ_SEED={seed}")


def test_handshake_needs_the_password_when_the_region_has_one() -> None:
    with start_activekv("--requirepass", "s3cret") as proc:
        conn = StrictConn(proc.port)
        try:
            args = (b"CRDT.SYNC", str(WIRE_VERSION).encode(), b"peer-x", b"inst", str(LOG_VERSION).encode(),
                    pack_vv({}), b"log")
            assert conn.call(*args).value.startswith(b"NOAUTH")
            assert conn.call(b"AUTH", b"wrong").value.startswith(b"WRONGPASS")
            assert conn.call(*args).value.startswith(b"NOAUTH")
            assert conn.call(b"AUTH", b"s3cret").value == b"OK"
            assert conn.call(*args).value.startswith(b"SYNC ")
        finally:
            conn.close()
        fuzzkit.assert_healthy(proc, "requirepass handshake", password=b"s3cret")


def bad_acks(rng: random.Random) -> list[tuple[str, bytes]]:
    return [
        ("ack: not msgpack", frame(F_ACK, b"\xc1\xc1")),
        ("ack: an int", frame(F_ACK, msgpack.packb(5))),
        ("ack: a list", frame(F_ACK, msgpack.packb([1, 2]))),
        ("ack: negative", frame(F_ACK, msgpack.packb({"r1/1": -1}))),
        ("ack: string counter", frame(F_ACK, msgpack.packb({"r1/1": "9"}))),
        ("a batch sent to the streamer", frame(F_BATCH, good_batch(1, b"fz:never", b"x"))),
        ("unknown frame type", frame(77, b"")),
        ("length over the limit", struct.pack("<BI", F_ACK, MAX_FRAME + 1)),
        # A header is judged as soon as it arrives: the 37 MB it announces never comes.
        ("unknown type announcing 37 MB", struct.pack("<BI", 0xF4, 37_000_000) + b"\x00" * 20),
        ("an ACK announcing 2 MB", struct.pack("<BI", F_ACK, 2 * 1024 * 1024) + b"\x80"),
        ("junk", bytes(rng.getrandbits(8) for _ in range(rng.randint(5, 100)))),
    ]


def test_a_pulling_peer_sending_bad_acks_is_dropped(regions: Regions) -> None:
    seed = fuzzkit.seed()
    rng = random.Random(seed)
    r1 = regions.r1
    before = call(r1.port, b"CRDT.DIGEST").value
    for name, data in bad_acks(rng):
        with socket.create_connection(("127.0.0.1", r1.port), timeout=5) as s:
            s.sendall(encode([b"CRDT.SYNC", str(WIRE_VERSION).encode(), b"puller-x", b"inst-x",
                              str(LOG_VERSION).encode(), pack_vv({}), b"log"]))
            line = b""
            while not line.endswith(b"\r\n"):
                line += s.recv(1)
            assert line.startswith(b"+SYNC r1 "), line
            s.sendall(data)
            _, closed = read_until_close(s, timeout=5, quiet=5)
            assert closed, f"FUZZ_SEED={seed} {name!r}: the link was not dropped"
        assert call(r1.port, b"GET", b"fz:never").value is None, name
    assert call(r1.port, b"CRDT.DIGEST").value == before
    log = r1.log()
    assert log.count("peer puller-x") >= len(bad_acks(rng)) - 1, log[-3000:]
    fuzzkit.assert_healthy(r1, f"FUZZ_SEED={seed}")
    assert_replicating(regions, "after-acks")
