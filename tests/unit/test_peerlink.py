"""The peer link without sockets: CRDT.SYNC on a client connection over a mock transport hands
the transport to a ``PeerLinkProtocol`` once the ``+SYNC`` reply is out; the protocol streams the
log, takes ACKs, follows flow control and tells the server when the connection is gone. The
client half of the handshake runs against a fed ``StreamReader``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest

from crdt.codec import decode_batch
from crdt.keyspace import Keyspace
from replication.oplog import LOG_VERSION
from replication.peerlink import (
    HandshakeRefused,
    PeerLinkProtocol,
    request_sync,
    resp_command,
    valid_name,
)
from replication.replicator import Replicator
from replication.wire import (
    F_ACK,
    F_BATCH,
    PULLER_FRAMES,
    WIRE_VERSION,
    FrameReader,
    frame,
    pack_vv,
)
from server.app import Server
from server.config import Config
from server.connection import Client
from server.harness.mocktransport import MockTransport
from tests.respclient import encode_command


def sync_command(region: str = "r2", instance: str = "inst2", vv: dict[str, int] | None = None) -> bytes:
    return encode_command(("CRDT.SYNC", WIRE_VERSION, region, instance, LOG_VERSION, pack_vv(vv or {}), "log"))


@pytest.fixture
def region(tmp_path: Any) -> Iterator[tuple[Server, Client, MockTransport]]:
    server = Server(Config(region="r1", dir=str(tmp_path), appendfsync="no"))
    server.recover()
    client = Client(server)
    transport = MockTransport()
    client.connection_made(transport)  # type: ignore[arg-type]
    yield server, client, transport
    server.sink.close()


def test_sync_reply_then_the_transport_belongs_to_the_peer_link(region: Any) -> None:
    server, client, transport = region
    client.data_received(encode_command(("SET", "k", "v")))
    assert bytes(transport.written) == b"+OK\r\n"
    transport.written.clear()
    # a command after CRDT.SYNC in the same read is not run: the connection is a link now
    client.data_received(sync_command() + encode_command(("SET", "after", "1")))
    link = transport.protocol
    assert isinstance(link, PeerLinkProtocol)
    out = bytes(transport.written)
    origin = server.ks.region
    reply, _, stream = out.partition(b"\r\n")
    assert re.fullmatch(rb"\+SYNC r1 [0-9a-f]{16} log", reply), out[:80]
    frames = FrameReader(PULLER_FRAMES).feed(stream)
    assert [t for t, _ in frames] == [F_BATCH]
    assert decode_batch(frames[0][1]).origin == origin
    assert server.ks.dbs[0].get(b"after", server.ks.now_ms) is None
    assert client.id in server.clients  # CLIENT LIST still shows the connection

    rep = server.replicator
    assert rep.acked_by({origin: 1}) == 0
    link.data_received(frame(F_ACK, pack_vv({origin: 1})))
    assert rep.acked_by({origin: 1}) == 1
    (row,) = rep.peer_rows()
    assert (row["region"], row["link_out"], row["lag_ops"]) == ("r2", "up", 0)

    # later writes stream to the link, not to the client code
    other = Client(server)
    other_transport = MockTransport()
    other.connection_made(other_transport)  # type: ignore[arg-type]
    transport.written.clear()
    other.data_received(encode_command(("SET", "k2", "v2")))
    assert [t for t, _ in FrameReader(PULLER_FRAMES).feed(bytes(transport.written))] == [F_BATCH]

    link.connection_lost(None)
    assert client.id not in server.clients
    (row,) = rep.peer_rows()
    assert row["link_out"] == "down"


def test_flow_control_pauses_and_resumes_the_stream(region: Any) -> None:
    server, client, transport = region
    client.data_received(sync_command())
    link = transport.protocol
    transport.written.clear()
    link.pause_writing()
    other = Client(server)
    other.connection_made(MockTransport())  # type: ignore[arg-type]
    other.data_received(encode_command(("SET", "k", "v")))
    assert transport.written == b""  # paused: the cursor waits in the log
    link.resume_writing()
    assert [t for t, _ in FrameReader(PULLER_FRAMES).feed(bytes(transport.written))] == [F_BATCH]
    assert transport.reading  # the link never stops reading ACKs


def test_a_bad_frame_from_the_peer_closes_the_link(region: Any) -> None:
    server, client, transport = region
    client.data_received(sync_command())
    transport.protocol.data_received(frame(F_BATCH, b"not an ack"))
    assert transport.closed


def test_connection_lost_before_the_hand_over_ends_the_link_too(region: Any) -> None:
    server, client, transport = region

    async def body() -> None:
        # with a loop running, replies (and the hand-over) wait for the end of the iteration
        client.data_received(sync_command())
        assert transport.protocol is None
        client.connection_lost(None)
        await asyncio.sleep(0)

    asyncio.run(body())
    assert transport.protocol is None
    assert client.id not in server.clients
    assert [r["link_out"] for r in server.replicator.peer_rows()] == ["down"]


def test_names_a_link_can_carry() -> None:
    assert valid_name("eu-west") and valid_name("r1") and valid_name("région")
    for bad in ("", "a b", "a/b", "tab\there", "nl\n", "\x00"):
        assert not valid_name(bad), bad


class _Writer:
    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data


def _client_half(tmp_path: Any, replies: bytes, password: str = "pw") -> tuple[Any, bytes, str]:
    rep = Replicator(Keyspace("r1"), "r1", str(tmp_path), peers=[("127.0.0.1", 1)], peer_password=password)
    writer = _Writer()

    async def body() -> Any:
        reader = asyncio.StreamReader()
        reader.feed_data(replies)
        try:
            return await request_sync(rep, rep.pullers[0], reader, writer)  # type: ignore[arg-type]
        except HandshakeRefused as exc:
            return exc
        finally:
            rep.close()

    return asyncio.run(body()), bytes(writer.written), rep.instance_id


def test_client_half_authenticates_then_asks_from_its_vv(tmp_path: Any) -> None:
    result, sent, instance = _client_half(tmp_path, b"+OK\r\n+SYNC r2 inst2 log\r\n")
    assert result == ("r2", "inst2")
    assert sent == resp_command("AUTH", "pw") + resp_command(
        "CRDT.SYNC", str(WIRE_VERSION), "r1", instance, str(LOG_VERSION), pack_vv({}), "log")


def test_client_half_refusals(tmp_path: Any) -> None:
    result, _, _ = _client_half(tmp_path / "a", b"-WRONGPASS invalid password\r\n")
    assert isinstance(result, HandshakeRefused) and "authentication refused" in str(result)
    result, _, _ = _client_half(tmp_path / "b", b"-ERR invalid region name\r\n", password="")
    assert isinstance(result, HandshakeRefused) and "peer refused the link: ERR invalid region name" in str(result)
    result, _, _ = _client_half(tmp_path / "c", b"+SYNC r1 other log\r\n", password="")
    assert isinstance(result, HandshakeRefused) and "our own region name" in str(result)
