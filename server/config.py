"""Server configuration, modelled on redis-server 7.0's ``config.c``.

Command line (as ``redis-server``)::

    activekv-server [/path/to/activekv.conf] [--name value ...]

The first argument, when it does not start with ``-``, is a config file in redis.conf syntax
(one directive per line, ``#`` comments, values split and unquoted by ``sdssplitargs``). Each
``--name`` flag then becomes one more line, parsed after the file, so flags override it. As in
Redis, the argument after a bare ``--name`` is always its value (even if it starts with
``--``), and further non-``--`` arguments are extra values of the same directive
(``--bind 127.0.0.1 ::1``). Reading the config from stdin (``-``) and ``include`` are not
supported.

Every option is declared once, in :data:`OPTIONS`; the file parser, the flag parser,
:func:`config_get` and :func:`config_set` all read that table.

Start-up errors (:class:`ConfigError`) are one line, ready to print as they are::

    activekv-server: bad value for 'port' (line 2 of x.conf): argument couldn't be parsed into an integer
    activekv-server: bad value for 'port' (command line: --port abc): argument couldn't be parsed into an integer
    activekv-server: unknown option 'nosuch' (line 3 of x.conf): Bad directive or wrong number of arguments
    activekv-server: bad value for 'port' (line 4 of x.conf): wrong number of arguments
    activekv-server: syntax error (line 5 of x.conf): Unbalanced quotes in configuration line
    activekv-server: can't open config file 'x.conf': No such file or directory

The text after the last ``: `` is redis-server 7.0.15's own reason, word for word (it prints
``*** FATAL CONFIG FILE ERROR ***`` / ``Reading the configuration file, at line N`` /
``>>> 'line'`` / reason on four lines instead).

CONFIG SET errors (:class:`ConfigSetError`) are Redis 7.0.15's exact reply strings.

Strings are ``str``; bytes that are not UTF-8 (from a file or CONFIG SET) are kept with
``surrogateescape``, so ``value.encode("utf-8", "surrogateescape")`` gives the bytes back.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shlex
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crdt.numbers import INT32_MAX, INT64_MAX
from server import errors
from server.config_table import DEPRECATED, TABLE
from server.config_types import (
    UINT_MAX,
    BindType,
    BoolType,
    DirType,
    EnumType,
    IntType,
    MemoryType,
    Option,
    PeerType,
    StringType,
    _Bad,
    _const,
    _dec,
    _enc,
    memtoull,
)
from server.glob import matches
from server.pubsub_config import DEFAULT_LIMITS, KeyspaceEventsType, Limits, OutputBufferLimitType
from server.reqparse import splitargs
from server.resp import Error

__all__ = [
    "OPTIONS",
    "Config",
    "ConfigError",
    "ConfigSetError",
    "Option",
    "config_get",
    "config_set",
    "load_config",
    "lookup",
    "memtoull",
    "parse_line",
    "split_args",
]

PROG = "activekv-server"


class ConfigError(Exception):
    """A start-up configuration error; ``str(err)`` is the one-line message to print."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigSetError(Error):
    """A CONFIG SET failure; ``message`` is the full Redis error reply (``"ERR ..."``)."""


MAXMEMORY_POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                      "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")


class _Outside:
    """A value type defined in another module (``server.pubsub_config``): its parse raises
    ``ValueError`` with Redis's reason; ``merge(old, new)``, when it has one, combines a new
    value with the current one (options that set part of their value)."""

    def __init__(self, impl: Any) -> None:
        self.impl = impl

    def parse(self, args: list[str]) -> Any:
        try:
            return self.impl.parse(args)
        except ValueError as e:
            raise _Bad(str(e)) from None

    def merge(self, old: Any, new: Any) -> Any:
        merge = getattr(self.impl, "merge", None)
        return merge(old, new) if merge is not None else new

    def render(self, v: Any) -> str:
        return str(self.impl.render(v))


# ``loglevel`` values and the logging level each sets (the CLI at start, CONFIG SET later).
LOG_LEVELS = {
    "debug": logging.DEBUG,
    "verbose": logging.INFO,
    "notice": logging.INFO,
    "warning": logging.WARNING,
}

OPTIONS: tuple[Option, ...] = (
    Option("port", IntType(0, 65535), _const(6379)),
    Option("bind", BindType(), lambda: ["127.0.0.1"], multi_arg=True),
    Option("dir", DirType(), lambda: os.path.abspath("."), protected=True),
    Option("region", StringType(allow_empty=False), socket.gethostname, mutable=False),
    Option("requirepass", StringType(), _const("")),
    Option("aclfile", StringType(), _const(""), mutable=False),
    Option("acllog-max-len", IntType(0, INT64_MAX), _const(128)),
    Option("acl-pubsub-default", EnumType("allchannels", "resetchannels"), _const("resetchannels")),
    Option("databases", IntType(1, INT32_MAX), _const(16), mutable=False),
    Option("maxclients", IntType(1, UINT_MAX, unsigned=True), _const(10000)),
    Option("loglevel", EnumType(*LOG_LEVELS), _const("notice")),
    Option("logfile", StringType(), _const(""), mutable=False),
    Option("proto-max-bulk-len", MemoryType(1024**2, INT64_MAX), _const(512 * 1024**2)),
    Option(
        "client-query-buffer-limit",
        MemoryType(1024**2, INT64_MAX, unsigned=True),
        _const(1024**3),
    ),
    Option("timeout", IntType(0, INT32_MAX), _const(0)),
    Option("tcp-keepalive", IntType(0, INT32_MAX), _const(300)),
    # Redis accepts 0..INT_MAX and clamps the stored value to 1..500 (CONFIG GET shows it).
    Option("hz", IntType(0, INT32_MAX, clamp=(1, 500)), _const(10)),
    Option("notify-keyspace-events", _Outside(KeyspaceEventsType()), _const(0)),
    Option("client-output-buffer-limit", _Outside(OutputBufferLimitType(memtoull)),
           lambda: dict(DEFAULT_LIMITS), multi_arg=True),
    # Active-active replication (activekv's own options).
    Option("peer", PeerType(), lambda: [], mutable=False, repeatable=True),
    Option("peer-password", StringType(), _const(""), mutable=False),
    Option("peer-user", StringType(), _const(""), mutable=False),
    Option("appendfsync", EnumType("everysec", "always", "no"), _const("everysec")),
    Option("repl-log-retention", MemoryType(1024**2, INT64_MAX), _const(1024**3)),
    Option("peer-timeout", IntType(1, INT32_MAX), _const(3600)),
    Option("oplog-truncate-corrupt", BoolType(), _const(False), mutable=False),
    # Tests only: DEBUG SET-DISK-FAULT injects EIO/ENOSPC/fsync errors (server/diskguard.py).
    Option("debug-disk-faults", BoolType(), _const(False), mutable=False, hidden=True),
    # Tuning (mostly for tests): op log segment size, and the snapshot cadence (a snapshot
    # after this many logged batches, at most once per min-interval milliseconds).
    Option("repl-log-segment-size", MemoryType(4096, INT64_MAX), _const(64 * 1024**2), mutable=False),
    Option("snapshot-every", IntType(1, INT32_MAX), _const(50_000)),
    Option("snapshot-min-interval", IntType(0, INT32_MAX), _const(10_000)),
    # maxmemory-policy: eviction (server/eviction.py) and OBJECT FREQ/IDLETIME's statistics.
    Option("maxmemory-policy", EnumType(*MAXMEMORY_POLICIES), _const("noeviction")),
    # Peer links speak TLS (server/tls.py): the table's row refuses "yes" where TLS is absent.
    Option("tls-replication", BoolType(), _const(False)),
)
# Redis 7.0's whole table (server/config_table.py) for the names not declared above.
_OWN = {o.name for o in OPTIONS}
OPTIONS += tuple(o for o in TABLE if o.name not in _OWN)
# activekv's own immutable options (region, peer, ...): CONFIG SET to the current value is a
# no-op +OK (a client that writes back all of CONFIG GET *), any other value is refused.
_OWN_FIXED = frozenset(o.name for o in OPTIONS if not o.mutable) - {o.name for o in TABLE}

_BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}
_BY_NAME.update({o.alias: o for o in OPTIONS if o.alias})
# CONFIG GET patterns see every name, aliases included, as Redis's configs dict (not hidden ones).
_LISTED: tuple[tuple[str, Option], ...] = tuple(
    (n, o) for o in OPTIONS if not o.hidden for n in (o.name, o.alias) if n
)


def lookup(name: str) -> Option | None:
    """The option called ``name`` (case-insensitive), or None."""
    return _BY_NAME.get(name.lower())


def _default(name: str) -> Callable[[], Any]:
    return _BY_NAME[name].default


@dataclass
class Config:
    """The configuration. Attribute names are option names with ``-`` replaced by ``_``."""

    port: int = field(default_factory=_default("port"))
    bind: list[str] = field(default_factory=_default("bind"))
    dir: str = field(default_factory=_default("dir"))
    region: str = field(default_factory=_default("region"))
    requirepass: str = field(default_factory=_default("requirepass"))
    aclfile: str = field(default_factory=_default("aclfile"))
    acllog_max_len: int = field(default_factory=_default("acllog-max-len"))
    acl_pubsub_default: str = field(default_factory=_default("acl-pubsub-default"))
    databases: int = field(default_factory=_default("databases"))
    maxclients: int = field(default_factory=_default("maxclients"))
    loglevel: str = field(default_factory=_default("loglevel"))
    logfile: str = field(default_factory=_default("logfile"))
    proto_max_bulk_len: int = field(default_factory=_default("proto-max-bulk-len"))
    client_query_buffer_limit: int = field(default_factory=_default("client-query-buffer-limit"))
    timeout: int = field(default_factory=_default("timeout"))
    tcp_keepalive: int = field(default_factory=_default("tcp-keepalive"))
    hz: int = field(default_factory=_default("hz"))
    notify_keyspace_events: int = field(default_factory=_default("notify-keyspace-events"))
    client_output_buffer_limit: Limits = field(default_factory=_default("client-output-buffer-limit"))
    busy_reply_threshold: int = field(default_factory=_default("busy-reply-threshold"))
    peer: list[tuple[str, int]] = field(default_factory=_default("peer"))
    peer_password: str = field(default_factory=_default("peer-password"))
    peer_user: str = field(default_factory=_default("peer-user"))
    appendfsync: str = field(default_factory=_default("appendfsync"))
    repl_log_retention: int = field(default_factory=_default("repl-log-retention"))
    peer_timeout: int = field(default_factory=_default("peer-timeout"))
    oplog_truncate_corrupt: bool = field(default_factory=_default("oplog-truncate-corrupt"))
    debug_disk_faults: bool = field(default_factory=_default("debug-disk-faults"))
    repl_log_segment_size: int = field(default_factory=_default("repl-log-segment-size"))
    snapshot_every: int = field(default_factory=_default("snapshot-every"))
    snapshot_min_interval: int = field(default_factory=_default("snapshot-min-interval"))
    # Redis 7.0 parameters activekv reads (server/config_table.py).
    save: list[tuple[int, int]] = field(default_factory=_default("save"))
    stop_writes_on_bgsave_error: bool = field(default_factory=_default("stop-writes-on-bgsave-error"))
    appendonly: bool = field(default_factory=_default("appendonly"))
    dbfilename: str = field(default_factory=_default("dbfilename"))
    pidfile: str = field(default_factory=_default("pidfile"))
    slowlog_log_slower_than: int = field(default_factory=_default("slowlog-log-slower-than"))
    slowlog_max_len: int = field(default_factory=_default("slowlog-max-len"))
    latency_monitor_threshold: int = field(default_factory=_default("latency-monitor-threshold"))
    latency_tracking: bool = field(default_factory=_default("latency-tracking"))
    latency_tracking_info_percentiles: list[float] = field(
        default_factory=_default("latency-tracking-info-percentiles"))
    hash_max_listpack_entries: int = field(default_factory=_default("hash-max-listpack-entries"))
    hash_max_listpack_value: int = field(default_factory=_default("hash-max-listpack-value"))
    set_max_intset_entries: int = field(default_factory=_default("set-max-intset-entries"))
    zset_max_listpack_entries: int = field(default_factory=_default("zset-max-listpack-entries"))
    zset_max_listpack_value: int = field(default_factory=_default("zset-max-listpack-value"))
    stream_node_max_entries: int = field(default_factory=_default("stream-node-max-entries"))
    stream_node_max_bytes: int = field(default_factory=_default("stream-node-max-bytes"))
    enable_debug_command: str = field(default_factory=_default("enable-debug-command"))
    maxmemory_policy: str = field(default_factory=_default("maxmemory-policy"))
    # Security and limits: server/tls.py, protected.py, outbuf.py, memory.py, eviction.py.
    protected_mode: bool = field(default_factory=_default("protected-mode"))
    tls_port: int = field(default_factory=_default("tls-port"))
    tls_cert_file: str = field(default_factory=_default("tls-cert-file"))
    tls_key_file: str = field(default_factory=_default("tls-key-file"))
    tls_key_file_pass: str = field(default_factory=_default("tls-key-file-pass"))
    tls_client_cert_file: str = field(default_factory=_default("tls-client-cert-file"))
    tls_client_key_file: str = field(default_factory=_default("tls-client-key-file"))
    tls_client_key_file_pass: str = field(default_factory=_default("tls-client-key-file-pass"))
    tls_ca_cert_file: str = field(default_factory=_default("tls-ca-cert-file"))
    tls_ca_cert_dir: str = field(default_factory=_default("tls-ca-cert-dir"))
    tls_dh_params_file: str = field(default_factory=_default("tls-dh-params-file"))
    tls_protocols: str = field(default_factory=_default("tls-protocols"))
    tls_ciphers: str = field(default_factory=_default("tls-ciphers"))
    tls_ciphersuites: str = field(default_factory=_default("tls-ciphersuites"))
    tls_auth_clients: str = field(default_factory=_default("tls-auth-clients"))
    tls_replication: bool = field(default_factory=_default("tls-replication"))
    tls_prefer_server_ciphers: bool = field(default_factory=_default("tls-prefer-server-ciphers"))
    tls_session_caching: bool = field(default_factory=_default("tls-session-caching"))
    tls_session_cache_size: int = field(default_factory=_default("tls-session-cache-size"))
    tls_session_cache_timeout: int = field(default_factory=_default("tls-session-cache-timeout"))
    maxmemory: int = field(default_factory=_default("maxmemory"))
    maxmemory_samples: int = field(default_factory=_default("maxmemory-samples"))
    lfu_log_factor: int = field(default_factory=_default("lfu-log-factor"))
    lfu_decay_time: int = field(default_factory=_default("lfu-decay-time"))
    config_file: str | None = None  # absolute path of the config file, or None
    # ``user <name> rules...`` directives (Redis's: not options, CONFIG GET does not show them)
    acl_users: list[list[str]] = field(default_factory=list)
    # Every other parameter of the table, by canonical name (accepted and shown only).
    other: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for opt in OPTIONS:
            if opt.attr not in _FIELDS and opt.name not in self.other:
                self.other[opt.name] = opt.default()

    def get(self, name: str) -> Any:
        """Value of option ``name`` (case-insensitive, aliases too); KeyError if unknown."""
        opt = lookup(name)
        if opt is None:
            raise KeyError(name)
        return self.value(opt)

    def value(self, opt: Option) -> Any:
        if opt.attr in _FIELDS:
            return getattr(self, opt.attr)
        return self.other[opt.name]

    def assign(self, opt: Option, value: Any) -> None:
        if opt.attr in _FIELDS:
            setattr(self, opt.attr, value)
        else:
            self.other[opt.name] = value


_FIELDS = frozenset(f.name for f in dataclasses.fields(Config)) - {"config_file", "other", "acl_users"}
assert _FIELDS <= {o.attr for o in OPTIONS}, "Config fields without an option"
assert {o.attr for o in OPTIONS if o.name in _OWN} <= _FIELDS, "OPTIONS without a Config field"


# --------------------------------------------------------------------------------------------
# Config file / command line
# --------------------------------------------------------------------------------------------

split_args = splitargs  # Redis's sdssplitargs, as the request reader splits inline commands


def _apply_directive(values: dict[str, Any], args: list[str], where: str) -> None:
    """Set one directive (``args[0]`` is the name) into ``values``; ConfigError if bad."""
    if args[0] == "user":  # ACL users: checked when the server loads them (server.acl)
        if len(args) < 2:
            raise ConfigError(f"{PROG}: bad value for 'user' ({where}): wrong number of arguments")
        values.setdefault("user", []).append(args[1:])
        return
    opt = lookup(args[0])
    if opt is None and args[0] in DEPRECATED and len(args) == 2:
        return  # Redis 7.0 ignores them (with a warning in its log)
    if opt is None:
        raise ConfigError(
            f"{PROG}: unknown option '{args[0]}' ({where}): "
            "Bad directive or wrong number of arguments"
        )
    argv = args[1:]
    try:
        if not opt.multi_arg:
            if len(argv) != 1:
                raise _Bad("wrong number of arguments")
        elif len(argv) == 1 and argv[0]:
            # Redis: a multi-arg option given one argument splits it ("--bind 'a b'").
            split = split_args(_enc(argv[0]))
            if split is None:  # Redis passes a NULL vector: zero arguments
                split = []
            argv = [_dec(a) for a in split]
        if opt.repeatable:
            values.setdefault(opt.name, []).extend(opt.parse(argv))
        elif hasattr(opt.type, "combine"):
            old = values[opt.name] if opt.name in values else opt.default()
            values[opt.name] = opt.type.combine(old, opt.parse(argv))
        elif isinstance(opt.type, _Outside):
            values[opt.name] = opt.type.merge(values.get(opt.name, opt.default()), opt.parse(argv))
        else:
            values[opt.name] = opt.parse(argv)
    except _Bad as e:
        raise ConfigError(f"{PROG}: bad value for '{opt.name}' ({where}): {e}") from None


def parse_line(line: bytes) -> list[str] | None:
    """A config file line as arguments (name lower-cased); [] for blank/comment lines.

    None means unbalanced quotes.
    """
    line = line.strip(b" \t\r\n")
    if not line or line.startswith(b"#"):
        return []
    split = split_args(line)
    if split is None:
        return None
    args = [_dec(a) for a in split]
    if args:
        args[0] = args[0].lower()
    return args


def _flag_directives(argv: Sequence[str]) -> list[tuple[list[str] | None, str]]:
    """Group ``--name value...`` arguments into directives, as redis-server's main() does.

    Returns (args or None for unbalanced quotes, shell-quoted original text) pairs.
    """
    groups: list[list[str]] = []
    name_only = False  # the last --name had no value inside it: next arg is a value
    for a in argv:
        if not name_only and a.startswith("--"):
            groups.append([a])
            tokens = split_args(_enc(a))
            name_only = tokens is not None and len(tokens) == 1
        else:
            if not groups:
                groups.append([])
            groups[-1].append(a)
            name_only = False
    out: list[tuple[list[str] | None, str]] = []
    for g in groups:
        text = shlex.join(g)
        if g and g[0].startswith("--"):
            head = split_args(_enc(g[0][2:]))
            if head is None:
                out.append((None, text))
                continue
            args = [_dec(h) for h in head] + g[1:]
        else:
            args = list(g)
        if args:
            args[0] = args[0].lower()
        out.append((args, text))
    return out


def load_config(argv: list[str]) -> Config:
    """Build the configuration from ``[config-file] [--name value ...]`` (no program name).

    Raises :class:`ConfigError` with a one-line message on the first problem.
    """
    values: dict[str, Any] = {}
    config_file: str | None = None
    rest = list(argv)
    if rest and not rest[0].startswith("-"):
        given = rest.pop(0)
        config_file = os.path.abspath(given)
        try:
            with open(config_file, "rb") as f:
                data = f.read()
        except OSError as e:
            reason = e.strerror or str(e)
            raise ConfigError(f"{PROG}: can't open config file '{given}': {reason}") from None
        for lineno, raw in enumerate(data.split(b"\n"), start=1):
            where = f"line {lineno} of {given}"
            args = parse_line(raw)
            if args is None:
                raise ConfigError(
                    f"{PROG}: syntax error ({where}): Unbalanced quotes in configuration line"
                )
            if args:
                _apply_directive(values, args, where)

    for args, text in _flag_directives(rest):
        where = f"command line: {text}"
        if args is None:
            raise ConfigError(
                f"{PROG}: syntax error ({where}): Unbalanced quotes in configuration line"
            )
        if args:
            _apply_directive(values, args, where)

    acl_users = values.pop("user", [])
    cfg = Config(acl_users=acl_users)
    for name, value in values.items():
        cfg.assign(_BY_NAME[name], value)
    cfg.config_file = config_file
    return cfg


# --------------------------------------------------------------------------------------------
# CONFIG GET / CONFIG SET
# --------------------------------------------------------------------------------------------


def config_get(cfg: Config, patterns: list[bytes]) -> list[tuple[str, str]]:
    """Redis 7 CONFIG GET: (name, rendered value) pairs, each option at most once.

    A pattern without ``*``, ``?`` or ``[`` is an exact, case-insensitive name lookup and the
    reply names the option as the client spelled it (``CONFIG GET PORT`` -> ``PORT``), as Redis
    does; other patterns are matched case-insensitively with :func:`matches`. Order: by
    pattern, then table order (Redis uses hash order; clients treat the reply as a map).
    Memory sizes render as plain bytes, ``bind`` space-separated. No patterns gives [].
    """
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for pat in patterns:
        if not any(c in pat for c in b"[*?"):
            name = _dec(pat)
            opt = lookup(name)
            if opt is not None and name.lower() not in seen:
                seen.add(name.lower())
                out.append((name, opt.render(cfg.value(opt))))
            continue
        for name, opt in _LISTED:
            if name not in seen and matches(pat, name.encode(), True):
                seen.add(name)
                out.append((name, opt.render(cfg.value(opt))))
    return out


def _canonical(opt: Option, given: str) -> str:
    """The name of the entry the client named: the alias (lower case) or the option's."""
    return opt.alias if opt.alias is not None and given.lower() == opt.alias else opt.name


def _set_error(name: str, reason: str) -> ConfigSetError:
    return ConfigSetError(errors.CONFIG_SET_FAILED % (name, reason))


def config_set(
    cfg: Config,
    args: list[bytes],
    *,
    apply: Callable[[Config, list[str]], None] | None = None,
    protected_ok: bool = False,
) -> list[str]:
    """Redis 7 CONFIG SET name value [name value ...]: all or nothing.

    ``args`` are the command arguments after ``CONFIG SET``. Returns the names (canonical,
    lower case, in argument order) of the options whose value actually changed; the caller
    acts on them (e.g. rebinds for ``port``/``bind``). If ``apply`` is given it is called
    with ``(cfg, changed)`` after the new values are in place; if it raises
    :class:`ConfigSetError` (or any exception), every value is restored and the error
    propagates -- that is how a failed rebind should report Redis's
    ``ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to
    specified addresses.``

    ``protected_ok``: the client may set PROTECTED_CONFIG options (``enable-protected-configs``
    yes, or local from a loopback client).

    Checks, in Redis 7.0.15's order and with its exact messages: arity, then every name
    (unknown, immutable/protected, duplicate), then every value in argument order.
    """
    if len(args) < 2:
        raise ConfigSetError(errors.wrong_arity("config|set"))
    if len(args) % 2:
        raise ConfigSetError(errors.SYNTAX)

    pairs = [(_dec(args[i]), args[i + 1]) for i in range(0, len(args), 2)]
    chosen: list[Option] = []
    spelled: list[str] = []  # the name an error names: the alias when the client used it
    invalid = False
    unknown_name: str | None = None
    err: ConfigSetError | None = None
    for name, _ in pairs:
        opt = lookup(name)
        if opt is None:
            if not invalid:
                unknown_name = name
                invalid = True
            continue
        if invalid:
            continue
        if (not opt.mutable and opt.name not in _OWN_FIXED) or (opt.protected and not protected_ok):
            reason = (
                "can't set immutable config" if not opt.mutable else "can't set protected config"
            )
            err = _set_error(name, reason)
            invalid = True
            continue
        if opt in chosen and spelled[chosen.index(opt)] == _canonical(opt, name):
            err = _set_error(name, "duplicate parameter")
            invalid = True
        chosen.append(opt)
        spelled.append(_canonical(opt, name))
    if unknown_name is not None:
        raise ConfigSetError(errors.CONFIG_SET_UNKNOWN % unknown_name)
    if err is not None:
        raise err

    new: list[tuple[Option, Any]] = []
    for opt, spelling, (_, raw) in zip(chosen, spelled, pairs, strict=True):
        value = _dec(raw)
        if opt.name in _OWN_FIXED and value == opt.render(cfg.value(opt)):
            continue  # CONFIG GET's own text: nothing changes
        try:
            if opt.multi_arg:
                # Redis splits a multi-arg value on single spaces (sdssplitlen), no quoting.
                parsed = opt.parse(value.split(" ") if value else [])
            else:
                parsed = opt.parse([value])
        except _Bad as e:
            if opt.name in _OWN_FIXED:
                raise _set_error(spelling, "can't set immutable config") from None
            raise _set_error(spelling, str(e)) from None
        if opt.name in _OWN_FIXED and parsed != cfg.value(opt):
            raise _set_error(spelling, "can't set immutable config")
        if hasattr(opt.type, "combine"):
            parsed = opt.type.combine(cfg.value(opt), parsed)
        elif isinstance(opt.type, _Outside):
            parsed = opt.type.merge(cfg.value(opt), parsed)
        new.append((opt, parsed))

    old = [(opt, cfg.value(opt)) for opt, _ in new]
    changed: list[str] = []
    for opt, parsed in new:
        if cfg.value(opt) != parsed and opt.name not in changed:
            changed.append(opt.name)
        cfg.assign(opt, parsed)
    if apply is not None and changed:
        try:
            apply(cfg, changed)
        except BaseException:
            for opt, v in reversed(old):
                cfg.assign(opt, v)
            raise
    return changed
