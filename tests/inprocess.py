"""A server and its clients in this process, without sockets: a mock transport records what
a client is sent (uvicorn's protocol tests do the same)."""

from __future__ import annotations

from typing import Any

from replication.sink import RecordingSink
from server.app import Server
from server.command_spec import load_spec
from server.commands.registry import Command, build_table
from server.config import Config
from server.connection import Client
from server.harness.mocktransport import MockTransport
from tests.respclient import encode_command


def connect(server: Server) -> tuple[Client, MockTransport]:
    """A client connected to ``server`` over a mock transport."""
    client = Client(server)
    transport = MockTransport()
    client.connection_made(transport)  # type: ignore[arg-type]
    return client, transport


Env = tuple[Server, RecordingSink, Client, MockTransport]


def start_server(region: str = "r1") -> Env:
    """A server shipping its batches to a recording sink (no op log), one client connected."""
    sink = RecordingSink()
    server = Server(Config(region=region), sink=sink)
    client, transport = connect(server)
    return server, sink, client, transport


def send(client: Client, transport: MockTransport, *commands: tuple[Any, ...]) -> bytes:
    """Feed ``commands`` to ``client`` as one read; return what it was sent."""
    transport.written.clear()
    client.data_received(b"".join(encode_command(c) for c in commands))
    return bytes(transport.written)


def spec_table() -> dict[bytes, Command]:
    """The server's command table plus, without a handler, every other command and subcommand
    of the reference spec: what dispatch checks before calling a handler (lookup, arity) can
    then be compared with Redis for every command Redis has."""
    table = build_table()
    for name, spec in load_spec().items():
        cmd = table.setdefault(name.encode(), Command(spec, None))
        for full, sub in spec.subcommands.items():
            cmd.subcommands.setdefault(full.partition("|")[2].encode(), Command(sub, None))
    return table


def dispatch_client(table: dict[bytes, Command] | None = None) -> Client:
    """A client of a fresh in-process server (no op log), for calling ``Client.dispatch``."""
    client = start_server()[2]
    if table is not None:
        client.table = table
    return client
