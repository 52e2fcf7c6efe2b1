"""The generated command table re-encodes byte for byte as a live redis-server replies.

Starts a real ``redis-server`` (free loopback port, ``--save '' --appendonly no``) and
compares raw replies to ``COMMAND INFO x`` / ``COMMAND DOCS x`` with
``resp.encode`` of what :mod:`server.command_spec` builds, in RESP2 and RESP3.

One allowance: Redis lists a container's subcommands in hash-table order, and its hash
seed is random per process, so that order differs between runs (the data file sorts
them by name).  For replies containing a container, both sides are compared after
sorting the raw byte slices of the subcommand entries; every other byte must match.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from server import command_spec as cs
from server.gen_command_spec import COMMANDS, encode_command, start_redis, stop_redis
from server.resp import Error, encode_one
from tests.inprocess import dispatch_client, spec_table

REDIS = shutil.which("redis-server")


# --------------------------------------------------------------------------- raw RESP


@dataclass
class Node:
    kind: bytes
    start: int
    body: int  # end of the header line
    end: int
    children: list[Node] = field(default_factory=list)


def parse(data: bytes, pos: int = 0) -> Node:
    eol = data.index(b"\r\n", pos)
    kind, header = data[pos : pos + 1], data[pos + 1 : eol]
    body = eol + 2
    if kind == b"$" or kind == b"=":
        n = int(header)
        return Node(kind, pos, body, body if n < 0 else body + n + 2)
    if kind in (b"*", b"~", b">", b"%"):
        n = int(header)
        count = max(n, 0) * (2 if kind == b"%" else 1)
        node = Node(kind, pos, body, body)
        at = body
        for _ in range(count):
            child = parse(data, at)
            node.children.append(child)
            at = child.end
        node.end = at
        return node
    return Node(kind, pos, body, body)


def raw(data: bytes, node: Node) -> bytes:
    return data[node.start : node.end]


def bulk(data: bytes, node: Node) -> bytes:
    return data[node.body : node.end - 2]


def canonical(data: bytes, node: Node, sort: dict[int, bool]) -> bytes:
    """Re-emit ``node``; children of nodes in ``sort`` (id -> "is a map") get sorted."""
    if not node.children:
        return raw(data, node)
    parts = [canonical(data, c, sort) for c in node.children]
    if id(node) in sort:  # sort by subcommand name, not by raw bytes ("$14\r\n..." first)
        if sort[id(node)]:  # a map: RESP3 %, or RESP2 flat key/value array
            keys = [bulk(data, k) for k in node.children[::2]]
            pairs = sorted(zip(keys, parts[::2], parts[1::2], strict=True))
            parts = [p for _, k, v in pairs for p in (k, v)]
        else:
            keyed = sorted(
                zip((bulk(data, c.children[0]) for c in node.children), parts, strict=True)
            )
            parts = [p for _, p in keyed]
    return data[node.start : node.body] + b"".join(parts)


def canonical_info(data: bytes) -> bytes:
    """A COMMAND INFO reply with every entry's subcommand list sorted."""
    top = parse(data)
    assert top.end == len(data)
    sort = {id(e.children[9]): False for e in top.children if e.children}
    return canonical(data, top, sort)


def canonical_docs(data: bytes) -> bytes:
    """A COMMAND DOCS reply with every ``subcommands`` map sorted by key."""
    top = parse(data)
    assert top.end == len(data)
    sort: dict[int, bool] = {}
    for docs in top.children[1::2]:
        for key, value in zip(docs.children[::2], docs.children[1::2], strict=True):
            if bulk(data, key) == b"subcommands":
                sort[id(value)] = True
    return canonical(data, top, sort)


# --------------------------------------------------------------------------- redis-server


class RawConn:
    def __init__(self, port: int, resp3: bool) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        if resp3:
            self.call("HELLO", "3")

    def call(self, *args: str) -> bytes:
        self.sock.sendall(encode_command(*args))
        while True:
            try:
                end = parse(self.buf).end
                if end <= len(self.buf):
                    reply, self.buf = self.buf[:end], self.buf[end:]
                    return reply
            except (ValueError, IndexError):
                pass
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def redis_port(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> int:
    assert REDIS is not None
    proc, port = start_redis(REDIS, str(tmp_path_factory.mktemp("redis")))  # as the generator does
    request.addfinalizer(lambda: stop_redis(proc))
    return port


@pytest.fixture(scope="module", params=[False, True], ids=["resp2", "resp3"])
def conn(request: pytest.FixtureRequest, redis_port: int) -> Iterator[RawConn]:
    c = RawConn(redis_port, request.param)
    c.resp3 = request.param  # type: ignore[attr-defined]
    yield c
    c.close()


SPEC = cs.load_spec()
# The real Client.dispatch, its table holding every command of the spec (ours have handlers).
DISPATCH = dispatch_client(spec_table())
TOP = list(SPEC)
ALL = TOP + [sub for spec in SPEC.values() for sub in spec.subcommands]


def test_server_is_the_reference_version(conn: RawConn) -> None:
    info = conn.call("INFO", "server")
    assert b"redis_version:" + cs.redis_version().encode() + b"\r" in info


@pytest.mark.parametrize("name", ALL)
def test_command_info_byte_identical(conn: RawConn, name: str) -> None:
    resp3: bool = conn.resp3  # type: ignore[attr-defined]
    theirs = conn.call("COMMAND", "INFO", name)
    ours = encode_one(cs.command_info_reply(SPEC, [name]), resp3)
    if SPEC.get(name) is not None and SPEC[name].is_container:
        assert canonical_info(ours) == ours  # the data file is already sorted
        assert canonical_info(theirs) == ours
    else:
        assert theirs == ours


@pytest.mark.parametrize("name", ALL)
def test_command_docs_byte_identical(conn: RawConn, name: str) -> None:
    resp3: bool = conn.resp3  # type: ignore[attr-defined]
    theirs = conn.call("COMMAND", "DOCS", name)
    ours = encode_one(cs.command_docs_reply(SPEC, [name]), resp3)
    if SPEC.get(name) is not None and SPEC[name].is_container:
        assert canonical_docs(ours) == ours
        assert canonical_docs(theirs) == ours
    else:
        assert theirs == ours


def test_multi_name_replies(conn: RawConn) -> None:
    resp3: bool = conn.resp3  # type: ignore[attr-defined]
    names = ["get", "nosuch", "CLIENT|ID", "Config|Get", "get|x", "client|nosuch", "a|b|c", "SET"]
    theirs = conn.call("COMMAND", "INFO", *names)
    assert theirs == encode_one(cs.command_info_reply(SPEC, names), resp3)
    theirs = conn.call("COMMAND", "DOCS", *names)
    assert theirs == encode_one(cs.command_docs_reply(SPEC, names), resp3)
    names = ["object", "mset", "nosuch"]
    theirs = conn.call("COMMAND", "INFO", *names)
    assert canonical_info(theirs) == encode_one(cs.command_info_reply(SPEC, names), resp3)
    theirs = conn.call("COMMAND", "DOCS", *names)
    assert canonical_docs(theirs) == encode_one(cs.command_docs_reply(SPEC, names), resp3)


def test_missing_commands_really_missing(conn: RawConn) -> None:
    assert cs.missing_commands() == ["client|setinfo"]
    null = b"_\r\n" if conn.resp3 else b"$-1\r\n"  # type: ignore[attr-defined]
    assert conn.call("COMMAND", "INFO", "client|setinfo") == b"*1\r\n" + null


def test_listed_commands_all_known_to_redis(conn: RawConn) -> None:
    listed = conn.call("COMMAND", "LIST")
    top = parse(listed)
    redis_names = {bulk(listed, c).decode() for c in top.children}
    ours = set(cs.all_names(SPEC))
    assert ours <= redis_names
    for name in COMMANDS:
        assert name in ours or name in cs.missing_commands()


def _wrong_arity_argv(spec: cs.CommandSpec) -> list[str] | None:
    words = spec.name.split("|")
    if spec.arity > 0:
        argc = spec.arity + 1
    elif spec.arity < -1:
        argc = -spec.arity - 1
    else:
        return None
    if argc < len(words):
        return None
    return words + ["x"] * (argc - len(words))


def _violable(name: str) -> bool:
    spec = cs.lookup_by_name(SPEC, name)
    return spec is not None and _wrong_arity_argv(spec) is not None


@pytest.mark.parametrize("name", [n for n in ALL if _violable(n)])
def test_wrong_arity_error_matches(conn: RawConn, name: str) -> None:
    spec = cs.lookup_by_name(SPEC, name)
    assert spec is not None
    argv = _wrong_arity_argv(spec)
    assert argv is not None
    err = DISPATCH.dispatch([a.encode() for a in argv])
    assert isinstance(err, Error)
    assert conn.call(*argv) == b"-" + err.message.encode() + b"\r\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["client", "NOSUCH"],
        ["Object", "nosuch", "x"],
        ["config", "x" * 200],
        ["nosuchcmd"],
        ["NoSuch", "a", "b"],
        ["nosuch", "a" * 100, "b" * 100, "c"],
        ["n" * 200, "x"],
        ["nosuch", "a\nb"],
    ],
)
def test_unknown_command_errors_match(conn: RawConn, argv: list[str]) -> None:
    err = DISPATCH.dispatch([a.encode() for a in argv])
    assert isinstance(err, Error)
    assert conn.call(*argv) == b"-" + err.message.encode() + b"\r\n"
