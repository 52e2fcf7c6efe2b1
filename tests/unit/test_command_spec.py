"""The generated command table loads, is complete and re-encodes as Redis sent it."""

from __future__ import annotations

import json

import pytest

from server import command_spec as cs
from server.connection import Client
from server.gen_command_spec import COMMANDS, DEFAULT_OUTPUT
from server.resp import Error, Map, RSet, Status, encode_one
from tests.inprocess import dispatch_client


@pytest.fixture(scope="module")
def spec() -> dict[str, cs.CommandSpec]:
    return cs.load_spec()


def test_loader_is_cached(spec: dict[str, cs.CommandSpec]) -> None:
    assert cs.load_spec() is spec


def test_version_and_missing() -> None:
    assert cs.redis_version() == "7.0.15"
    assert cs.missing_commands() == ["client|setinfo"]


@pytest.mark.parametrize("full", [c for c in COMMANDS if c not in cs.missing_commands()])
def test_every_listed_command_present_and_sane(spec: dict[str, cs.CommandSpec], full: str) -> None:
    top, _, sub = full.partition("|")
    cmd = spec[top]
    if sub:
        assert cmd.is_container
        cmd = cmd.subcommands[full]
        assert cmd.container == top
    assert cmd.name == full
    assert cmd.arity != 0
    assert isinstance(cmd.flags, list) and all(isinstance(f, str) for f in cmd.flags)
    assert all(c.startswith("@") for c in cmd.acl_categories)
    assert cmd.first_key >= 0 and cmd.step >= 0
    assert isinstance(cmd.docs, Map)
    assert cs.map_get(cmd.docs, "summary")
    assert cmd.info[cs.INFO_NAME] == full


def test_known_values(spec: dict[str, cs.CommandSpec]) -> None:
    get = spec["get"]
    assert (get.arity, get.first_key, get.last_key, get.step) == (2, 1, 1, 1)
    assert get.flags == ["readonly", "fast"]
    assert get.acl_categories == ["@read", "@string", "@fast"]
    assert spec["set"].arity == -3 and "write" in spec["set"].flags
    assert spec["mset"].step == 2 and spec["mset"].last_key == -1
    assert spec["client"].arity == -2
    assert spec["client"].subcommands["client|id"].arity == 2
    assert spec["config"].subcommands["config|get"].arity == -3
    assert spec["ping"].tips == ["request_policy:all_shards", "response_policy:all_succeeded"]


def test_get_reencodes_like_redis(spec: dict[str, cs.CommandSpec]) -> None:
    # Captured from redis-server 7.0.15: COMMAND INFO get, RESP3 then RESP2.
    resp3 = (
        b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        b"~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n"
        b"+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n"
        b"%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n"
        b"$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n"
        b":0\r\n~0\r\n"
    )
    assert encode_one(spec["get"].info_reply(), True) == resp3
    resp2 = (
        resp3.replace(b"~", b"*")
        .replace(b"%3\r\n", b"*6\r\n")
        .replace(b"%2\r\n", b"*4\r\n")
        .replace(b"%1\r\n", b"*2\r\n")
    )
    assert encode_one(spec["get"].info_reply(), False) == resp2
    docs3 = (
        b"%1\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n"
        b"$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n"
        b"$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n"
        b"$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
    )
    assert encode_one(spec["get"].docs_reply(), True) == docs3
    docs2 = docs3.replace(b"%1\r\n", b"*2\r\n").replace(b"%5\r\n", b"*10\r\n")
    docs2 = docs2.replace(b"%3\r\n", b"*6\r\n")
    assert encode_one(spec["get"].docs_reply(), False) == docs2


def test_decode_types() -> None:
    value = cs.decode(
        {"@map": [["a", {"@set": [{"@status": "x"}, 1]}], ["b", [None, {"@double": 1.5}, True]]]}
    )
    assert isinstance(value, Map)
    (ka, va), (kb, vb) = value.items
    assert ka == "a" and isinstance(va, RSet) and type(va.members[0]) is Status
    assert vb == [None, 1.5, True]
    assert encode_one(value, True) == (
        b"%2\r\n$1\r\na\r\n~2\r\n+x\r\n:1\r\n$1\r\nb\r\n*3\r\n_\r\n,1.5\r\n#t\r\n"
    )
    assert encode_one(value, False) == (
        b"*4\r\n$1\r\na\r\n*2\r\n+x\r\n:1\r\n$1\r\nb\r\n*3\r\n$-1\r\n$3\r\n1.5\r\n:1\r\n"
    )


def test_data_file_round_trips_json() -> None:
    data = json.loads(DEFAULT_OUTPUT.read_text())
    assert list(data["commands"]) == list(dict.fromkeys(c.partition("|")[0] for c in COMMANDS))


def test_subcommands_nested_in_info_and_docs(spec: dict[str, cs.CommandSpec]) -> None:
    for name in ("client", "config", "command", "object"):
        cmd = spec[name]
        info_subs = [e[0] for e in cs.to_list(cmd.info[cs.INFO_SUBCOMMANDS])]
        docs_subs = [k for k, _ in cs.map_get(cmd.docs, "subcommands").items]
        assert info_subs == docs_subs == sorted(cmd.subcommands) != []
        for sub in cmd.subcommands.values():
            assert (
                sub.docs is cs.map_get(cmd.docs, "subcommands").items[docs_subs.index(sub.name)][1]
            )


def test_with_subcommands(spec: dict[str, cs.CommandSpec]) -> None:
    client = spec["client"].with_subcommands(["client|id", "client|getname"])
    assert list(client.subcommands) == ["client|getname", "client|id"]
    assert [e[0] for e in client.info[cs.INFO_SUBCOMMANDS]] == ["client|getname", "client|id"]
    assert [k for k, _ in cs.map_get(client.docs, "subcommands").items] == [
        "client|getname",
        "client|id",
    ]
    assert len(spec["client"].subcommands) == 16  # the cached original is untouched


def test_arity_rule() -> None:
    assert cs.arity_ok(2, 2) and not cs.arity_ok(2, 1) and not cs.arity_ok(2, 3)
    assert cs.arity_ok(-3, 3) and cs.arity_ok(-3, 9) and not cs.arity_ok(-3, 2)


@pytest.fixture(scope="module")
def client() -> Client:
    return dispatch_client()


def _err(client: Client, *argv: str) -> str:
    """What the real dispatch (lookup, arity check) replies to ``argv``."""
    reply = client.dispatch([a.encode() for a in argv])
    assert isinstance(reply, Error)
    return reply.message


def test_dispatch_resolves_and_errors(client: Client) -> None:
    client.dispatch([b"GET", b"k"])
    assert client.last_cmd == "get"
    client.dispatch([b"Client", b"ID"])
    assert client.last_cmd == "client|id"
    assert _err(client, "GET") == "ERR wrong number of arguments for 'get' command"
    assert _err(client, "client", "id", "x") == (
        "ERR wrong number of arguments for 'client|id' command"
    )
    assert _err(client, "CLIENT") == "ERR wrong number of arguments for 'client' command"
    assert _err(client, "config", "set", "a") == (
        "ERR wrong number of arguments for 'config|set' command"
    )
    assert _err(client, "client", "NOSUCH") == "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP."
    assert _err(client, "object", "nosuch") == "ERR unknown subcommand 'nosuch'. Try OBJECT HELP."
    assert _err(client, "nosuch", "a", "b") == (
        "ERR unknown command 'nosuch', with args beginning with: 'a' 'b' "
    )
    assert _err(client, "NOSUCHCMD") == "ERR unknown command 'NOSUCHCMD', with args beginning with: "


def test_command_info_and_docs_replies(spec: dict[str, cs.CommandSpec]) -> None:
    info = cs.command_info_reply(spec, [b"nosuch", b"get", b"CLIENT|ID", b"get|x"])
    assert info[0] is None and info[1] is spec["get"].info and info[3] is None
    assert info[2] is spec["client"].subcommands["client|id"].info
    docs = cs.command_docs_reply(spec, ["client|id", "nosuch", "GET"])
    assert [k for k, _ in docs.items] == ["client|id", "get"]
    names = cs.all_names(spec)
    assert "config|get" in names and "get" in names


def test_exec_arity_error_is_execabort(client: Client) -> None:
    assert _err(client, "EXEC", "x") == (
        "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
    )
