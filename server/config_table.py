"""Redis 7.0's whole parameter table (``src/config.c``'s ``static_configs[]``), as options.

Each row is transcribed from Redis 7.0.15: name, alias, type, bounds, default and flags
(``i`` immutable, ``p`` protected, ``h`` hidden, ``m`` multi-argument). ``config.py`` adds the
rows whose name it does not declare itself (its own :data:`~server.config.OPTIONS` win), so a
parameter gets one definition. Those activekv acts on have a typed field in ``Config``; the
others are accepted, range-checked, shown and rewritten, and change nothing here (README,
"Running a server").

Defaults are Redis's, except ``bind`` (activekv's own row: ``127.0.0.1``) and ``dir``.
"""

from __future__ import annotations

import re
from typing import Any

from server.config_types import (
    BoolType,
    CheckedStringType,
    EnumAliasType,
    EnumType,
    IntType,
    MemoryType,
    OctalType,
    OomValuesType,
    Option,
    PercentilesType,
    PercentMemoryType,
    RefusedBoolType,
    ReplicaOfType,
    SaveType,
    ShutdownFlagsType,
    StringType,
    WatchdogType,
)

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
UINT_MAX = 2**32 - 1
LONG_MAX = 2**63 - 1
ULLONG_MAX = 2**64 - 1

def _opt(name: str, typ: Any, default: Any, flags: str = "", alias: str | None = None) -> Option:
    return Option(
        name, typ, (lambda: list(default)) if isinstance(default, list)
        else (lambda: dict(default)) if isinstance(default, dict) else (lambda: default),
        mutable="i" not in flags, protected="p" in flags, multi_arg="m" in flags,
        alias=alias, hidden="h" in flags, repeatable="r" in flags,
    )


def B(name: str, default: bool, flags: str = "", alias: str | None = None) -> Option:
    return _opt(name, BoolType(), default, flags, alias)


def S(name: str, default: str = "", flags: str = "", alias: str | None = None) -> Option:
    return _opt(name, StringType(), default, flags, alias)


def E(name: str, values: str, default: str, flags: str = "") -> Option:
    return _opt(name, EnumType(*values.split()), default, flags)


def N(name: str, lo: int, hi: int, default: int, flags: str = "", alias: str | None = None,
      unsigned: bool = False) -> Option:
    return _opt(name, IntType(lo, hi, unsigned=unsigned), default, flags, alias)


def MEM(name: str, lo: int, hi: int, default: int, flags: str = "", alias: str | None = None,
        unsigned: bool = False) -> Option:
    return _opt(name, MemoryType(lo, hi, unsigned=unsigned), default, flags, alias)


_TITLE_VARS = {"title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket", "config-file"}


# Variables that always expand to something (the others may be empty: {title} is, when Redis
# validates a template).
_NONEMPTY_VARS = {"listen-addr", "port", "tls-port"}


def _valid_title(template: str) -> str | None:
    """Redis's validateProcTitleTemplate: known ``{variables}``, balanced braces, and the
    expansion (with an empty title) not empty once trailing spaces are trimmed."""
    def expand(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in _TITLE_VARS:
            return "\0"
        return "x" if name in _NONEMPTY_VARS else ""
    rest = re.sub(r"\{([^{}]*)\}", expand, template)
    if "\0" in rest or "{" in rest or "}" in rest or not rest.strip(" "):
        return "template format is invalid or contains unknown variables"
    return None


def _valid_hostname(name: str) -> str | None:
    if any(not (ch.isascii() and (ch.isalnum() or ch in "-.")) for ch in name):
        return "Hostnames may only contain alphanumeric characters, hyphens or dots"
    return None


def _valid_filename(what: str) -> Any:
    def check(name: str) -> str | None:
        if "/" in name:
            return f"{what} can't be a path, just a filename"
        return None
    return check


_NO_DEFRAG = (
    "Active defragmentation cannot be enabled: it requires a Redis server compiled with a "
    "modified Jemalloc like the one shipped by default with the Redis source distribution"
)
_PROTECTED_ACTION = "no yes local"
# Turning TLS on needs certificates Redis loads in its apply function; none are loaded here.
_NO_TLS = "Unable to update TLS configuration. Check server logs."

TABLE: tuple[Option, ...] = (
    # Bool configs
    B("rdbchecksum", True, "i"),
    B("daemonize", False, "i"),
    B("io-threads-do-reads", False, "i"),
    B("always-show-logo", False, "i"),
    B("protected-mode", True),
    B("rdbcompression", True),
    B("rdb-del-sync-files", False),
    B("activerehashing", True),
    B("stop-writes-on-bgsave-error", True),
    B("set-proc-title", True, "i"),
    B("dynamic-hz", True),
    B("lazyfree-lazy-eviction", False),
    B("lazyfree-lazy-expire", False),
    B("lazyfree-lazy-server-del", False),
    B("lazyfree-lazy-user-del", False),
    B("lazyfree-lazy-user-flush", False),
    B("repl-disable-tcp-nodelay", False),
    B("repl-diskless-sync", True),
    B("aof-rewrite-incremental-fsync", True),
    B("no-appendfsync-on-rewrite", False),
    B("cluster-require-full-coverage", True),
    B("rdb-save-incremental-fsync", True),
    B("aof-load-truncated", True),
    B("aof-use-rdb-preamble", True),
    B("aof-timestamp-enabled", False),
    B("cluster-replica-no-failover", False, alias="cluster-slave-no-failover"),
    B("replica-lazy-flush", False, alias="slave-lazy-flush"),
    B("replica-serve-stale-data", True, alias="slave-serve-stale-data"),
    B("replica-read-only", True, alias="slave-read-only"),
    B("replica-ignore-maxmemory", True, alias="slave-ignore-maxmemory"),
    B("jemalloc-bg-thread", True),
    _opt("activedefrag", RefusedBoolType(_NO_DEFRAG), False),
    B("syslog-enabled", False, "i"),
    B("cluster-enabled", False, "i"),
    B("appendonly", False),
    B("cluster-allow-reads-when-down", False),
    B("cluster-allow-pubsubshard-when-down", True),
    B("crash-log-enabled", True),
    B("crash-memcheck-enabled", True),
    B("use-exit-on-panic", False, "h"),
    B("disable-thp", True, "i"),
    B("cluster-allow-replica-migration", True),
    B("replica-announced", True),
    B("latency-tracking", True),
    B("aof-disable-auto-gc", False),
    B("replica-ignore-disk-write-errors", False),
    # String configs
    S("aclfile", "", "i"),
    S("unixsocket", "", "i"),
    S("pidfile", "", "i"),
    S("replica-announce-ip", alias="slave-announce-ip"),
    S("masteruser"),
    S("cluster-announce-ip"),
    S("cluster-config-file", "nodes.conf", "i"),
    _opt("cluster-announce-hostname", CheckedStringType(_valid_hostname), ""),
    S("syslog-ident", "redis", "i"),
    _opt("dbfilename", CheckedStringType(_valid_filename("dbfilename")), "dump.rdb", "p"),
    _opt("appendfilename", CheckedStringType(_valid_filename("appendfilename")), "appendonly.aof", "i"),
    _opt("appenddirname", CheckedStringType(_valid_filename("appenddirname")), "appendonlydir", "i"),
    S("server_cpulist", "", "i"),
    S("bio_cpulist", "", "i"),
    S("aof_rewrite_cpulist", "", "i"),
    S("bgsave_cpulist", "", "i"),
    S("ignore-warnings"),
    _opt("proc-title-template", CheckedStringType(_valid_title), "{title} {listen-addr} {server-mode}"),
    S("bind-source-addr"),
    S("logfile", "", "i"),
    # SDS configs
    S("masterauth"),
    S("requirepass"),
    # Enum configs
    E("supervised", "upstart systemd auto no", "no", "i"),
    E("syslog-facility", "user local0 local1 local2 local3 local4 local5 local6 local7", "local0", "i"),
    E("repl-diskless-load", "disabled on-empty-db swapdb", "disabled"),
    E("loglevel", "debug verbose notice warning", "notice"),
    E("maxmemory-policy", "volatile-lru volatile-lfu volatile-random volatile-ttl allkeys-lru "
      "allkeys-lfu allkeys-random noeviction", "noeviction"),
    E("appendfsync", "everysec always no", "everysec"),
    _opt("oom-score-adj", EnumAliasType("no", "yes", "relative", "absolute", same={"relative": "yes"}), "no"),
    E("acl-pubsub-default", "allchannels resetchannels", "resetchannels"),
    E("sanitize-dump-payload", "no yes clients", "no"),
    E("enable-protected-configs", _PROTECTED_ACTION, "no", "i"),
    E("enable-debug-command", _PROTECTED_ACTION, "no", "i"),
    E("enable-module-command", _PROTECTED_ACTION, "no", "i"),
    E("cluster-preferred-endpoint-type", "ip hostname unknown-endpoint", "ip"),
    E("propagation-error-behavior", "ignore panic panic-on-replicas", "ignore"),
    _opt("shutdown-on-sigint", ShutdownFlagsType(), "default", "m"),
    _opt("shutdown-on-sigterm", ShutdownFlagsType(), "default", "m"),
    # Integer configs
    N("databases", 1, INT_MAX, 16, "i"),
    N("port", 0, 65535, 6379),
    N("io-threads", 1, 128, 1, "i"),
    N("auto-aof-rewrite-percentage", 0, INT_MAX, 100),
    N("cluster-replica-validity-factor", 0, INT_MAX, 10, alias="cluster-slave-validity-factor"),
    N("list-max-listpack-size", INT_MIN, INT_MAX, -2, alias="list-max-ziplist-size"),
    N("tcp-keepalive", 0, INT_MAX, 300),
    N("cluster-migration-barrier", 0, INT_MAX, 1),
    N("active-defrag-cycle-min", 1, 99, 1),
    N("active-defrag-cycle-max", 1, 99, 25),
    N("active-defrag-threshold-lower", 0, 1000, 10),
    N("active-defrag-threshold-upper", 0, 1000, 100),
    N("lfu-log-factor", 0, INT_MAX, 10),
    N("lfu-decay-time", 0, INT_MAX, 1),
    N("replica-priority", 0, INT_MAX, 100, alias="slave-priority"),
    N("repl-diskless-sync-delay", 0, INT_MAX, 5),
    N("maxmemory-samples", 1, INT_MAX, 5),
    N("maxmemory-eviction-tenacity", 0, 100, 10),
    N("timeout", 0, INT_MAX, 0),
    N("replica-announce-port", 0, 65535, 0, alias="slave-announce-port"),
    N("tcp-backlog", 0, INT_MAX, 511, "i"),
    N("cluster-port", 0, 65535, 0, "i"),
    N("cluster-announce-bus-port", 0, 65535, 0),
    N("cluster-announce-port", 0, 65535, 0),
    N("cluster-announce-tls-port", 0, 65535, 0),
    N("repl-timeout", 1, INT_MAX, 60),
    N("repl-ping-replica-period", 1, INT_MAX, 10, alias="repl-ping-slave-period"),
    N("list-compress-depth", 0, INT_MAX, 0),
    N("rdb-key-save-delay", INT_MIN, INT_MAX, 0, "h"),
    N("key-load-delay", INT_MIN, INT_MAX, 0, "h"),
    N("active-expire-effort", 1, 10, 1),
    N("hz", 0, INT_MAX, 10),
    N("min-replicas-to-write", 0, INT_MAX, 0, alias="min-slaves-to-write"),
    N("min-replicas-max-lag", 0, INT_MAX, 10, alias="min-slaves-max-lag"),
    _opt("watchdog-period", WatchdogType(0, INT_MAX), 0, "h"),
    N("shutdown-timeout", 0, INT_MAX, 10),
    N("repl-diskless-sync-max-replicas", 0, INT_MAX, 0),
    # Unsigned int configs
    N("maxclients", 1, UINT_MAX, 10000, unsigned=True),
    _opt("unixsocketperm", OctalType(0, 0o777, unsigned=True), 0, "i"),
    N("socket-mark-id", 0, UINT_MAX, 0, "i", unsigned=True),
    # Unsigned long configs
    N("active-defrag-max-scan-fields", 1, LONG_MAX, 1000),
    N("slowlog-max-len", 0, LONG_MAX, 128),
    N("acllog-max-len", 0, LONG_MAX, 128),
    # Long long configs
    N("busy-reply-threshold", 0, LONG_MAX, 5000, alias="lua-time-limit"),
    N("cluster-node-timeout", 0, LONG_MAX, 15000),
    N("slowlog-log-slower-than", -1, LONG_MAX, 10000),
    N("latency-monitor-threshold", 0, LONG_MAX, 0),
    MEM("proto-max-bulk-len", 1024 * 1024, LONG_MAX, 512 * 1024 * 1024),
    N("stream-node-max-entries", 0, LONG_MAX, 100),
    # Redis's apply function raises a smaller backlog to CONFIG_REPL_BACKLOG_MIN_SIZE.
    _opt("repl-backlog-size", MemoryType(1, LONG_MAX, clamp=(16 * 1024, LONG_MAX)), 1024 * 1024),
    # Unsigned long long configs
    MEM("maxmemory", 0, ULLONG_MAX, 0, unsigned=True),
    MEM("cluster-link-sendbuf-limit", 0, ULLONG_MAX, 0, unsigned=True),
    # size_t configs
    N("hash-max-listpack-entries", 0, LONG_MAX, 512, alias="hash-max-ziplist-entries", unsigned=True),
    N("set-max-intset-entries", 0, LONG_MAX, 512, unsigned=True),
    N("zset-max-listpack-entries", 0, LONG_MAX, 128, alias="zset-max-ziplist-entries", unsigned=True),
    MEM("active-defrag-ignore-bytes", 1, LONG_MAX, 100 << 20, unsigned=True),
    MEM("hash-max-listpack-value", 0, LONG_MAX, 64, alias="hash-max-ziplist-value", unsigned=True),
    MEM("stream-node-max-bytes", 0, LONG_MAX, 4096, unsigned=True),
    MEM("zset-max-listpack-value", 0, LONG_MAX, 64, alias="zset-max-ziplist-value", unsigned=True),
    MEM("hll-sparse-max-bytes", 0, LONG_MAX, 3000, unsigned=True),
    N("tracking-table-max-keys", 0, LONG_MAX, 1000000, unsigned=True),
    MEM("client-query-buffer-limit", 1024 * 1024, LONG_MAX, 1024**3, unsigned=True),
    _opt("maxmemory-clients", PercentMemoryType(-100, LONG_MAX), 0),
    # Other configs
    N("repl-backlog-ttl", 0, LONG_MAX, 3600),
    MEM("auto-aof-rewrite-min-size", 0, LONG_MAX, 64 * 1024 * 1024),
    N("loading-process-events-interval-bytes", 1024, INT_MAX, 2 * 1024 * 1024, "h"),
    # TLS (redis-server is built with TLS)
    N("tls-port", 0, 65535, 0),
    N("tls-session-cache-size", 0, INT_MAX, 20 * 1024),
    N("tls-session-cache-timeout", 0, INT_MAX, 300),
    _opt("tls-cluster", RefusedBoolType(_NO_TLS), False),
    _opt("tls-replication", RefusedBoolType(_NO_TLS), False),
    E("tls-auth-clients", "no yes optional", "yes"),
    B("tls-prefer-server-ciphers", False),
    B("tls-session-caching", True),
    S("tls-cert-file"),
    S("tls-key-file"),
    S("tls-key-file-pass"),
    S("tls-client-cert-file"),
    S("tls-client-key-file"),
    S("tls-client-key-file-pass"),
    S("tls-dh-params-file"),
    S("tls-ca-cert-file"),
    S("tls-ca-cert-dir"),
    S("tls-protocols"),
    S("tls-ciphers"),
    S("tls-ciphersuites"),
    # Special configs (dir and bind are config.py's own rows)
    _opt("save", SaveType(), [(3600, 1), (300, 100), (60, 10000)], "mr"),
    # client-output-buffer-limit and notify-keyspace-events are config.py's own rows
    _opt("oom-score-adj-values", OomValuesType(), [0, 200, 800], "m"),
    _opt("replicaof", ReplicaOfType(), "", "im", alias="slaveof"),
    _opt("latency-tracking-info-percentiles", PercentilesType(), [50.0, 99.0, 99.9], "m"),
)

# Config-file directives Redis 7.0 still accepts with two arguments and ignores.
DEPRECATED = {"list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"}
