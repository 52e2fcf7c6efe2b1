"""Admin commands against a real redis-server 7.0.15: COMMAND, CONFIG, CLIENT, INFO, SHUTDOWN.

Exact comparisons wherever Redis's reply does not depend on what it implements or on its
internals (COMMAND INFO/DOCS of single non-container commands, errors, HELP texts); for
CLIENT LIST and INFO the structure is compared (field names, section headers, reply types).
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import Differential
from tests.respclient import Reply, RespConnection

# Non-container commands and subcommands we implement (containers differ: we implement fewer
# subcommands, and Redis lists them in per-process hash order).
DESCRIBED = [
    "get", "set", "mset", "copy", "del", "ping", "hello", "info", "shutdown", "dbsize",
    "multi", "exec", "watch", "scan", "expire", "incrbyfloat", "bitcount",
    "client|id", "client|setname", "client|getname", "client|kill", "client|list",
    "client|info", "client|help", "config|get", "config|set", "config|resetstat",
    "command|info", "command|docs", "command|count", "command|list", "command|getkeys",
    "object|encoding", "object|help",
]  # fmt: skip


@pytest.mark.parametrize("name", DESCRIBED)
def test_command_info_and_docs(diff: Differential, name: str) -> None:
    diff.check("COMMAND", "INFO", name)
    diff.check("COMMAND", "DOCS", name)
    diff.check("COMMAND", "INFO", name.upper())


def test_command_lookup_misses(diff: Differential) -> None:
    diff.check_all(
        ("COMMAND", "INFO", "nosuch", "get"),
        ("COMMAND", "INFO", "client|nosuch", "get|x", "a|b|c"),
        ("COMMAND", "DOCS", "nosuch"),
        ("COMMAND", "DOCS", "client|nosuch", "get"),
    )


def test_command_errors(diff: Differential) -> None:
    diff.check_all(
        ("COMMAND", "COUNT", "x"),
        ("COMMAND", "LIST", "x"),
        ("COMMAND", "LIST", "FILTERBY", "x", "y"),
        ("COMMAND", "LIST", "FILTERBY", "pattern"),
        ("COMMAND", "LIST", "FILTERBY", "aclcat", "nosuchcategory"),
        ("COMMAND", "LIST", "FILTERBY", "module", "x"),
        ("COMMAND", "NOSUCH"),
        ("COMMAND", "HELP", "x"),
        ("COMMAND", "GETKEYS"),
        ("COMMAND", "GETKEYS", "get"),
        ("COMMAND", "GETKEYS", "nosuch", "a"),
        ("COMMAND", "GETKEYS", "object", "nosuch", "k"),
        ("COMMAND", "GETKEYS", "set", "a"),
        ("COMMAND", "GETKEYS", "client", "list"),
        ("COMMAND", "GETKEYS", "ping", "x"),
    )


def test_command_getkeys(diff: Differential) -> None:
    diff.check_all(
        ("COMMAND", "GETKEYS", "get", "a"),
        ("COMMAND", "GETKEYS", "set", "a", "1", "GET"),
        ("COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"),
        ("COMMAND", "GETKEYS", "mset", "a", "1", "b"),
        ("COMMAND", "GETKEYS", "copy", "a", "b", "REPLACE"),
        ("COMMAND", "GETKEYS", "del", "a", "b", "c"),
        ("COMMAND", "GETKEYS", "object", "encoding", "k"),
        ("COMMAND", "GETKEYS", "rename", "a", "b"),
    )


def test_command_list_filter_subset(diff: Differential) -> None:
    ref, ours = diff.both("COMMAND", "LIST", "FILTERBY", "pattern", "client*")
    assert ours.type == ref.type == "*"
    ref_names = {r.value for r in ref.value}
    our_names = {r.value for r in ours.value}
    assert our_names - ref_names == {b"client|setinfo", b"client|no-touch"}  # Redis 7.2's, see registry
    assert {b"client", b"client|id", b"client|list", b"client|kill"} <= our_names


def test_command_count_is_ours(diff: Differential) -> None:
    ref, ours = diff.both("COMMAND", "COUNT")
    assert ref.type == ours.type == ":"
    listed = diff.ours.call("COMMAND")
    assert len(listed.value) == ours.value
    names = diff.ours.call("COMMAND", "LIST").value
    assert len(names) > ours.value


@pytest.mark.parametrize("container", ["COMMAND", "CLIENT", "CONFIG", "OBJECT"])
def test_help_texts(diff: Differential, container: str) -> None:
    diff.check(container, "HELP")
    diff.check(container, "help")
    diff.check(container, "HELP", "extra")


def test_config_get_set_errors(diff: Differential) -> None:
    diff.check_all(
        ("CONFIG",),
        ("CONFIG", "GET"),
        ("CONFIG", "GET", "nosuch"),
        ("CONFIG", "GET", "maxclients"),
        ("CONFIG", "GET", "MAXCLIENTS", "maxclients"),
        ("CONFIG", "SET", "hz"),
        ("CONFIG", "SET", "hz", "10", "timeout"),
        ("CONFIG", "SET", "hz", "abc"),
        ("CONFIG", "SET", "databases", "3"),
        ("CONFIG", "SET", "nosuch", "1"),
        ("CONFIG", "SET", "hz", "10", "hz", "10"),
        ("CONFIG", "SET", "maxclients", "-1"),
        ("CONFIG", "SET", "proto-max-bulk-len", "10"),
        ("CONFIG", "SET", "hz", "10"),  # the value both already have
        ("CONFIG", "RESETSTAT", "x"),
        ("CONFIG", "NOSUCH"),
    )


def _pairs(r: Reply) -> tuple[str, list[tuple[bytes, bytes]]]:
    """A CONFIG GET reply as (type, sorted pairs): Redis's order is hash order."""
    if r.type == "%":
        return "%", sorted((k.value, v.value) for k, v in r.value)
    flat = [x.value for x in r.value]
    return r.type, sorted(zip(flat[::2], flat[1::2], strict=True))


def test_config_get_several(diff: Differential) -> None:
    for args in (("hz", "timeout", "databases"), ("*max*",), ("*", "port"), ("h?", "[mt]*")):
        ref, ours = diff.both("CONFIG", "GET", *args)
        ref_type, ref_pairs = _pairs(ref)
        our_type, our_pairs = _pairs(ours)
        assert our_type == ref_type
        # Redis has many more options: ours must be among its answers, with its values,
        # except those that depend on the process (port, dir) or that only we have.
        ref_map = dict(ref_pairs)
        for name, value in our_pairs:
            if name in (b"port", b"dir", b"bind", b"save", b"region", b"peer", b"peer-password", b"peer-user",
                        b"peer-timeout", b"repl-log-retention", b"oplog-truncate-corrupt",
                        b"repl-log-segment-size", b"snapshot-every", b"snapshot-min-interval"):
                continue
            assert ref_map.get(name) == value, name
        if args == ("hz", "timeout", "databases"):
            assert our_pairs == ref_pairs


def test_config_resetstat(diff: Differential) -> None:
    diff.check("CONFIG", "RESETSTAT")
    for conn in (diff.ref, diff.ours):
        text = conn.call("INFO", "stats").value.decode()
        fields = dict(line.split(":", 1) for line in text.split("\r\n")[1:] if line)
        assert int(fields["total_commands_processed"]) <= 1
        assert fields["total_error_replies"] == "0"
        assert fields["expired_keys"] == "0"


def test_client_name_and_id(diff: Differential) -> None:
    diff.check_all(
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "a b"),
        ("CLIENT", "SETNAME", "a\nb"),
        ("CLIENT", "SETNAME", "caf\xe9"),
        ("CLIENT", "SETNAME", "foo"),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", ""),
        ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "a", "b"),
        ("CLIENT", "GETNAME", "x"),
        ("CLIENT", "ID", "x"),
        ("CLIENT", "INFO", "x"),
        ("CLIENT", "NOSUCH"),
        ("CLIENT",),
    )
    ref, ours = diff.both("CLIENT", "ID")
    assert ref.type == ours.type == ":" and ours.value > 0


def test_client_list_errors(diff: Differential) -> None:
    diff.check_all(
        ("CLIENT", "LIST", "TYPE", "foo"),
        ("CLIENT", "LIST", "TYPE"),
        ("CLIENT", "LIST", "ID"),
        ("CLIENT", "LIST", "ID", "1", "x"),
        ("CLIENT", "LIST", "ID", "999999"),
        ("CLIENT", "LIST", "ID", "0", "-1"),
        ("CLIENT", "LIST", "foo"),
        ("CLIENT", "LIST", "TYPE", "master"),
        ("CLIENT", "LIST", "TYPE", "pubsub"),
        ("CLIENT", "LIST", "TYPE", "replica"),
        ("CLIENT", "LIST", "TYPE", "SLAVE"),
    )


def test_client_kill_errors(diff: Differential) -> None:
    diff.check_all(
        ("CLIENT", "KILL"),
        ("CLIENT", "KILL", "1.2.3.4:5"),
        ("CLIENT", "KILL", "ID"),
        ("CLIENT", "KILL", "ID", "999999"),
        ("CLIENT", "KILL", "ID", "x"),
        ("CLIENT", "KILL", "ID", "0"),
        ("CLIENT", "KILL", "ID", "-5"),
        ("CLIENT", "KILL", "foo", "bar"),
        ("CLIENT", "KILL", "a", "b", "c"),
        ("CLIENT", "KILL", "ID", "1", "TYPE"),
        ("CLIENT", "KILL", "TYPE", "foo"),
        ("CLIENT", "KILL", "SKIPME", "maybe"),
        ("CLIENT", "KILL", "USER", "nobody"),
        ("CLIENT", "KILL", "ADDR", "1.2.3.4:5"),
        ("CLIENT", "KILL", "LADDR", "1.2.3.4:5"),
        ("CLIENT", "KILL", "MAXAGE", "5"),
        ("CLIENT", "KILL", "TYPE", "master"),
    )


def _fields(line: bytes) -> list[str]:
    return [item.split(b"=", 1)[0].decode() for item in line.rstrip(b"\n").split(b" ")]


def test_client_list_format(diff: Differential) -> None:
    diff.check("CLIENT", "SETNAME", "me")
    for args in (("CLIENT", "LIST"), ("CLIENT", "INFO"), ("CLIENT", "LIST", "TYPE", "normal")):
        ref, ours = diff.both(*args)
        assert ref.type == ours.type  # bulk in RESP2, verbatim in RESP3
        ref_text = ref.value[4:] if ref.type == "=" else ref.value
        our_text = ours.value[4:] if ours.type == "=" else ours.value
        assert our_text.endswith(b"\n")
        mine = next(li for li in our_text.split(b"\n") if b" name=me " in li)
        theirs = next(li for li in ref_text.split(b"\n") if b" name=me " in li)
        assert _fields(mine) == _fields(theirs)
        values = dict(item.split(b"=", 1) for item in mine.split(b" "))
        assert values[b"flags"] == b"N" and values[b"db"] == b"0" and values[b"multi"] == b"-1"
        assert values[b"cmd"] == b"|".join(a.lower().encode() for a in args[:2])
        assert values[b"resp"] == str(diff.protocol).encode()
        assert values[b"user"] == b"default" and values[b"events"] == b"r"


def test_client_list_in_multi(diff: Differential) -> None:
    """A client in MULTI, seen from a second connection: flags=x, multi=<queued>."""
    for conn in (diff.ref, diff.ours):
        conn_id = conn.call("CLIENT", "ID").value
        conn.call("MULTI")
        conn.call("SET", "a", "1")
        conn.call("SET", "b", "2")
        peek = RespConnection(conn.sock.getpeername()[1])
        try:
            text = peek.call("CLIENT", "LIST", "ID", str(conn_id)).value
        finally:
            peek.close()
        values = dict(item.split(b"=", 1) for item in text.rstrip(b"\n").split(b" "))
        assert values[b"flags"] == b"x" and values[b"multi"] == b"2"
        conn.call("DISCARD")


def _sections(text: bytes) -> list[tuple[str, list[str]]]:
    """(header, [field names]) per section; checks the CRLF / blank-line framing."""
    out: list[tuple[str, list[str]]] = []
    assert not text or text.endswith(b"\r\n")
    for block in text.decode().split("\r\n\r\n"):
        lines = block.split("\r\n")
        assert lines[0].startswith("# "), block
        names = [line.split(":", 1)[0] for line in lines[1:] if line]
        out.append((lines[0], names))
    return out


OUR_OWN_FIELDS = {"activekv_version", "region"}
OUR_STATS_FIELDS = {"unexpected_errors",  # handler exceptions (bugs of ours)
                    "client_output_buffer_limit_disconnections"}  # Redis 7.4's, not in 7.0
# Fields of INFO replication that exist because we are a region of an active-active set.
OUR_REPLICATION_FIELDS = {"region", "connected_peers"}


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(name in it for name in small)


@pytest.mark.parametrize("args", [(), ("default",), ("all",), ("everything",), ("server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace")])  # fmt: skip
def test_info_structure(diff: Differential, args: tuple[str, ...]) -> None:
    ref, ours = diff.both("INFO", *args)
    assert ref.type == ours.type == ("=" if diff.protocol == 3 else "$")
    ref_text = ref.value[4:] if ref.type == "=" else ref.value
    our_text = ours.value[4:] if ours.type == "=" else ours.value
    ref_sections = dict(_sections(ref_text))
    our_sections = _sections(our_text)
    expected = list(ref_sections)
    if set(args) & {"all", "everything"}:
        expected.append("# CRDT")  # ours (SEMANTICS.md: INFO crdt), only in all/everything
    assert [h for h, _ in our_sections] == expected
    for header, names in our_sections:
        if header == "# CRDT":
            continue
        ours_only = [n for n in names if n not in OUR_OWN_FIELDS | OUR_REPLICATION_FIELDS | OUR_STATS_FIELDS
                     and not re.fullmatch(r"peer\d+", n)]
        if header in ("# Errorstats", "# Commandstats", "# Latencystats"):
            continue  # one line per error code / command seen: differs with history
            # (tests/compat/test_info_stats_vs_redis.py compares them after a reset)
        assert _is_subsequence(ours_only, ref_sections[header]), header
    server_fields = dict(our_sections)["# Server"]
    assert OUR_OWN_FIELDS <= set(server_fields)
    if "# Stats" in dict(our_sections):
        assert OUR_STATS_FIELDS <= set(dict(our_sections)["# Stats"])


def test_info_exact_sections(diff: Differential) -> None:
    diff.check_all(
        ("INFO", "nosuch"),
        ("INFO", "a", "b"),
        ("INFO", "cluster"),
        ("INFO", "CLUSTER"),
        ("INFO", "modules"),
        ("INFO", "keyspace"),
        ("INFO", "cluster", "keyspace"),
        ("INFO", "keyspace", "cluster"),
        ("INFO", "CLUSTER", "nosuch", "modules"),
    )


def test_info_keyspace(diff: Differential) -> None:
    diff.check_all(
        ("SET", "a", "1"), ("SET", "b", "2", "EX", "1000"), ("SELECT", "3"), ("SET", "c", "1"),
    )
    ref, ours = diff.both("INFO", "keyspace")

    def strip_ttl(r: Reply) -> list[str]:
        text = (r.value[4:] if r.type == "=" else r.value).decode()
        return [line.split(",avg_ttl=")[0] for line in text.split("\r\n")]

    assert strip_ttl(ours) == strip_ttl(ref) == [
        "# Keyspace", "db0:keys=2,expires=1", "db3:keys=1,expires=0", ""
    ]


def test_info_fields(diff: Differential) -> None:
    text = diff.ours.call("INFO").value
    text = text[4:] if diff.protocol == 3 else text
    fields = dict(
        line.split(":", 1) for line in text.decode().split("\r\n") if line and not line.startswith("#")
    )
    assert fields["redis_version"] == "7.0.15"
    assert fields["redis_mode"] == "standalone"
    assert fields["role"] == "active-active"  # SEMANTICS.md: INFO replication
    assert fields["activekv_version"] == "0.1.0"
    assert fields["region"] == "test"
    assert fields["maxmemory"] == "0" and fields["aof_enabled"] == "0" and fields["loading"] == "0"
    assert int(fields["connected_clients"]) >= 1
    assert int(fields["used_memory"]) > 0
    assert fields["used_memory_human"][-1] in "BKMGT"


# jemalloc's figures (activekv runs on pymalloc), and the C build's: not ours to report
JEMALLOC = {"allocator_allocated", "allocator_active", "allocator_resident", "allocator_frag_ratio",
            "allocator_frag_bytes", "allocator_rss_ratio", "allocator_rss_bytes", "rss_overhead_ratio",
            "rss_overhead_bytes", "atomicvar_api", "gcc_version"}


def _section(r: Reply) -> dict[str, str]:
    text = (r.value[4:] if r.type == "=" else r.value).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if line and not line.startswith("#"))


# ours: at the end of their section, and Redis 7.4's counter where 7.4 has it
OURS_ONLY = {"server": ["activekv_version", "region"], "memory": [],
             "stats": ["unexpected_errors"]}


@pytest.mark.parametrize("section", ["server", "memory", "stats"])
def test_info_sections_have_redis_s_fields_in_its_order(diff: Differential, section: str) -> None:
    ref, ours = (_section(r) for r in diff.both("INFO", section))
    fields = [f for f in ours if f != "client_output_buffer_limit_disconnections"]
    assert fields == [f for f in ref if f not in JEMALLOC] + OURS_ONLY[section]


def test_info_mem_clients_normal_counts_a_client_s_buffers(diff: Differential) -> None:
    before = int(_section(diff.ours.call("INFO", "memory"))["mem_clients_normal"])
    holder = RespConnection(diff.ours.sock.getpeername()[1])
    try:  # half a command of 200 KB waits in its query buffer
        holder.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$300000\r\n" + b"x" * 200_000)
        for _ in range(100):
            fields = _section(diff.ours.call("INFO", "memory"))
            if int(fields["mem_clients_normal"]) >= before + 200_000:
                break
        else:
            raise AssertionError(f"mem_clients_normal {fields['mem_clients_normal']} (was {before})")
        assert fields["mem_clients_slaves"] == fields["mem_total_replication_buffers"] == "0"
        assert int(fields["mem_fragmentation_bytes"]) == int(fields["used_memory_rss"]) - int(fields["used_memory"])
    finally:
        holder.close()


def test_shutdown_errors(diff: Differential) -> None:
    diff.check_all(
        ("SHUTDOWN", "ABORT"),
        ("SHUTDOWN", "abort"),
        ("SHUTDOWN", "foo"),
        ("SHUTDOWN", "NOSAVE", "SAVE"),
        ("SHUTDOWN", "ABORT", "NOW"),
        ("SHUTDOWN", "SAVE", "ABORT"),
        ("SHUTDOWN", "NOW", "bar"),
        ("MULTI",),
        ("SHUTDOWN",),
        ("EXEC",),
    )
