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

from crdt.numbers import INT32_MAX, INT64_MAX, parse_int
from server import errors
from server.glob import matches
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
    "parse_line",
    "split_args",
]

PROG = "activekv-server"

UINT_MAX = 2**32 - 1
_ULL = 2**64


class ConfigError(Exception):
    """A start-up configuration error; ``str(err)`` is the one-line message to print."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigSetError(Error):
    """A CONFIG SET failure; ``message`` is the full Redis error reply (``"ERR ..."``)."""


class _Bad(Exception):
    """A value rejected by an option's parser; the text is Redis's reason."""


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------------------------
# Value types (Redis's numeric/enum/string/bool config types and their exact error texts)
# --------------------------------------------------------------------------------------------


_MEM_UNITS = {
    b"": 1,
    b"b": 1,
    b"k": 1000,
    b"kb": 1024,
    b"m": 1000**2,
    b"mb": 1024**2,
    b"g": 1000**3,
    b"gb": 1024**3,
}


def memtoull(s: str) -> int | None:
    """Redis ``memtoull`` (unsigned 64-bit, wrapping as C does); None when not a memory value."""
    b = _enc(s)
    if b[:1] == b"-":
        return None
    i = 0
    while i < len(b) and 0x30 <= b[i] <= 0x39:
        i += 1
    mul = _MEM_UNITS.get(b[i:].lower())
    if mul is None or i >= 128:
        return None
    # strtoull: "" converts to 0; overflow saturates to ULLONG_MAX (ERANGE is not checked).
    val = min(int(b[:i]), _ULL - 1) if i else 0
    return (val * mul) % _ULL


class IntType:
    """A Redis integer config: ``string2ll`` then a bounds check (signed or unsigned)."""

    def __init__(
        self, lo: int, hi: int, *, unsigned: bool = False, clamp: tuple[int, int] | None = None
    ) -> None:
        self.lo, self.hi, self.unsigned, self.clamp = lo, hi, unsigned, clamp

    def check(self, v: int) -> int:
        """Redis ``numericBoundaryCheck``: unsigned types compare the value as unsigned."""
        u = v % _ULL if self.unsigned else v
        if u < self.lo or u > self.hi:
            raise _Bad(f"argument must be between {self.lo} and {self.hi} inclusive")
        if self.clamp is not None:  # Redis's apply function for hz clamps silently
            v = max(self.clamp[0], min(self.clamp[1], v))
        return v

    def parse(self, args: list[str]) -> int:
        v = parse_int(_enc(args[0]))
        if v is None:
            raise _Bad("argument couldn't be parsed into an integer")
        return self.check(v)

    def render(self, v: Any) -> str:
        return str(v)


class MemoryType(IntType):
    """A Redis MEMORY_CONFIG number: ``1k``=1000, ``1kb``=1024, ... rendered as plain bytes."""

    def parse(self, args: list[str]) -> int:
        u = memtoull(args[0])
        if u is None:
            raise _Bad("argument must be a memory value")
        # The result lands in a long long: reinterpret for the signed bounds check.
        v = u - _ULL if (u >= 2**63 and not self.unsigned) else u
        return self.check(v)


class EnumType:
    def __init__(self, *values: str) -> None:
        self.values = values

    def parse(self, args: list[str]) -> str:
        for v in self.values:
            if args[0].lower() == v:
                return v
        raise _Bad("argument(s) must be one of the following: " + ", ".join(self.values))

    def render(self, v: Any) -> str:
        return str(v)


class BoolType:
    def parse(self, args: list[str]) -> bool:
        v = args[0].lower()
        if v == "yes":
            return True
        if v == "no":
            return False
        raise _Bad("argument must be 'yes' or 'no'")

    def render(self, v: Any) -> str:
        return "yes" if v else "no"


class StringType:
    def __init__(self, *, allow_empty: bool = True) -> None:
        self.allow_empty = allow_empty

    def parse(self, args: list[str]) -> str:
        if not args[0] and not self.allow_empty:
            raise _Bad("argument must not be empty")  # activekv's own (region)
        return args[0]

    def render(self, v: Any) -> str:
        return str(v)


class DirType:
    """``dir``: must be an existing directory (Redis chdir()s and reports strerror)."""

    def parse(self, args: list[str]) -> str:
        path = os.path.abspath(args[0]) if args[0] else ""
        if not path or not os.path.exists(path):
            raise _Bad("No such file or directory")
        if not os.path.isdir(path):
            raise _Bad("Not a directory")
        if not os.access(path, os.X_OK):
            raise _Bad("Permission denied")
        return path

    def render(self, v: Any) -> str:
        return str(v)


CONFIG_BINDADDR_MAX = 16


class BindType:
    """``bind``: several addresses. A multi-argument option, like Redis's."""

    def parse(self, args: list[str]) -> list[str]:
        if len(args) > CONFIG_BINDADDR_MAX:
            raise _Bad("Too many bind addresses specified.")
        if len(args) == 1 and not args[0]:  # a single empty argument means "no address"
            return []
        return list(args)

    def render(self, v: Any) -> str:
        return " ".join(v)


class PeerType:
    """``peer host:port``: one peer region's address; repeatable (each line adds one)."""

    def parse(self, args: list[str]) -> list[tuple[str, int]]:
        out = []
        for arg in args:
            host, sep, port = arg.rpartition(":")
            host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
            number = parse_int(_enc(port)) if sep else None
            if not host or number is None or not 0 < number < 65536:
                raise _Bad(f"'{arg}' is not a host:port address")
            out.append((host, number))
        return out

    def render(self, v: Any) -> str:
        return " ".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in v)


# ``client-output-buffer-limit``: Redis's class names (``slave`` and ``replica`` are one class)
# and its defaults; the value is {class: (hard bytes, soft bytes, soft seconds)}.
OBUF_CLASSES = ("normal", "replica", "pubsub")
OBUF_DEFAULTS = {"normal": (0, 0, 0), "replica": (256 * 1024**2, 64 * 1024**2, 60),
                 "pubsub": (32 * 1024**2, 8 * 1024**2, 60)}


class OutputBufferLimitType:
    """Redis's ``client-output-buffer-limit <class> <hard> <soft> <soft-seconds> ...``: every
    group is checked first, then the classes named change and the others keep their value."""

    def update(self, old: dict[str, tuple[int, int, int]], args: list[str]) -> dict[str, tuple[int, int, int]]:
        if len(args) % 4:
            raise _Bad("Wrong number of arguments in buffer limit configuration.")
        new = dict(old)
        for i in range(0, len(args), 4):
            name = args[i].lower()
            cls = "replica" if name == "slave" else name
            if cls not in OBUF_CLASSES:
                raise _Bad("Invalid client class specified in buffer limit configuration.")
            hard, soft = memtoull(args[i + 1]), memtoull(args[i + 2])
            secs = parse_int(_enc(args[i + 3]))
            if hard is None or soft is None or secs is None or secs < 0:
                raise _Bad("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
            new[cls] = (hard, soft, secs)
        return new

    def parse(self, args: list[str]) -> dict[str, tuple[int, int, int]]:
        return self.update(OBUF_DEFAULTS, args)

    def render(self, v: Any) -> str:
        return " ".join(f"{'slave' if c == 'replica' else c} {h} {s} {t}"
                        for c in OBUF_CLASSES for h, s, t in [v[c]])


ValueType = (IntType | EnumType | BoolType | StringType | DirType | BindType | PeerType
             | OutputBufferLimitType)


# --------------------------------------------------------------------------------------------
# The option table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    name: str
    type: ValueType
    default: Callable[[], Any]
    mutable: bool = True  # CONFIG SET allowed ("can't set immutable config" otherwise)
    protected: bool = False  # Redis PROTECTED_CONFIG: refused by CONFIG SET, as with the
    # default enable-protected-configs no ("can't set protected config")
    multi_arg: bool = False  # Redis MULTI_ARG_CONFIG: takes several arguments
    repeatable: bool = False  # each occurrence adds to a list (``peer``)

    @property
    def attr(self) -> str:
        return self.name.replace("-", "_")

    def parse(self, args: list[str]) -> Any:
        return self.type.parse(args)

    def render(self, value: Any) -> str:
        return self.type.render(value)


def _const(v: Any) -> Callable[[], Any]:
    return lambda: v


MAXMEMORY_POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                      "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")

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
    # Active-active replication (activekv's own options).
    Option("peer", PeerType(), lambda: [], mutable=False, repeatable=True),
    Option("peer-password", StringType(), _const(""), mutable=False),
    Option("peer-user", StringType(), _const(""), mutable=False),
    Option("appendfsync", EnumType("always", "everysec", "no"), _const("everysec")),
    Option("repl-log-retention", MemoryType(1024**2, INT64_MAX), _const(1024**3)),
    Option("peer-timeout", IntType(1, INT32_MAX), _const(3600)),
    Option("oplog-truncate-corrupt", BoolType(), _const(False), mutable=False),
    # Tuning (mostly for tests): op log segment size, and the snapshot cadence (a snapshot
    # after this many logged batches, at most once per min-interval milliseconds).
    Option("repl-log-segment-size", MemoryType(4096, INT64_MAX), _const(64 * 1024**2), mutable=False),
    Option("snapshot-every", IntType(1, INT32_MAX), _const(50_000)),
    Option("snapshot-min-interval", IntType(0, INT32_MAX), _const(10_000)),
    # Security and limits (server/tls.py, server/protected.py, server/outbuf.py, server/memory.py);
    # Redis's names, types and defaults. CONFIG SET of a tls-* option rebuilds the TLS setup.
    Option("protected-mode", BoolType(), _const(True)),
    Option("tls-port", IntType(0, 65535), _const(0)),
    *(Option(f"tls-{name}", StringType(), _const("")) for name in (
        "cert-file", "key-file", "key-file-pass", "client-cert-file", "client-key-file",
        "client-key-file-pass", "ca-cert-file", "ca-cert-dir", "protocols", "ciphers",
        "ciphersuites", "dh-params-file")),
    Option("tls-auth-clients", EnumType("no", "yes", "optional"), _const("yes")),
    Option("tls-replication", BoolType(), _const(False)),
    Option("tls-prefer-server-ciphers", BoolType(), _const(False)),
    Option("tls-session-caching", BoolType(), _const(True)),
    Option("tls-session-cache-size", IntType(0, INT32_MAX), _const(20 * 1024)),
    Option("tls-session-cache-timeout", IntType(0, INT32_MAX), _const(300)),
    Option("client-output-buffer-limit", OutputBufferLimitType(), lambda: dict(OBUF_DEFAULTS),
           multi_arg=True),
    Option("maxmemory", MemoryType(0, INT64_MAX, unsigned=True), _const(0)),
    Option("maxmemory-policy", EnumType(*MAXMEMORY_POLICIES), _const("noeviction")),
    Option("maxmemory-samples", IntType(1, INT32_MAX), _const(5)),
    Option("lfu-log-factor", IntType(0, INT32_MAX), _const(10)),
    Option("lfu-decay-time", IntType(0, INT32_MAX), _const(1)),
)

_BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}


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
    peer: list[tuple[str, int]] = field(default_factory=_default("peer"))
    peer_password: str = field(default_factory=_default("peer-password"))
    peer_user: str = field(default_factory=_default("peer-user"))
    appendfsync: str = field(default_factory=_default("appendfsync"))
    repl_log_retention: int = field(default_factory=_default("repl-log-retention"))
    peer_timeout: int = field(default_factory=_default("peer-timeout"))
    oplog_truncate_corrupt: bool = field(default_factory=_default("oplog-truncate-corrupt"))
    repl_log_segment_size: int = field(default_factory=_default("repl-log-segment-size"))
    snapshot_every: int = field(default_factory=_default("snapshot-every"))
    snapshot_min_interval: int = field(default_factory=_default("snapshot-min-interval"))
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
    tls_protocols: str = field(default_factory=_default("tls-protocols"))
    tls_ciphers: str = field(default_factory=_default("tls-ciphers"))
    tls_ciphersuites: str = field(default_factory=_default("tls-ciphersuites"))
    tls_dh_params_file: str = field(default_factory=_default("tls-dh-params-file"))
    tls_auth_clients: str = field(default_factory=_default("tls-auth-clients"))
    tls_replication: bool = field(default_factory=_default("tls-replication"))
    tls_prefer_server_ciphers: bool = field(default_factory=_default("tls-prefer-server-ciphers"))
    tls_session_caching: bool = field(default_factory=_default("tls-session-caching"))
    tls_session_cache_size: int = field(default_factory=_default("tls-session-cache-size"))
    tls_session_cache_timeout: int = field(default_factory=_default("tls-session-cache-timeout"))
    client_output_buffer_limit: dict[str, tuple[int, int, int]] = field(
        default_factory=_default("client-output-buffer-limit"))
    maxmemory: int = field(default_factory=_default("maxmemory"))
    maxmemory_policy: str = field(default_factory=_default("maxmemory-policy"))
    maxmemory_samples: int = field(default_factory=_default("maxmemory-samples"))
    lfu_log_factor: int = field(default_factory=_default("lfu-log-factor"))
    lfu_decay_time: int = field(default_factory=_default("lfu-decay-time"))
    config_file: str | None = None  # absolute path of the config file, or None
    # ``user <name> rules...`` directives (Redis's: not options, CONFIG GET does not show them)
    acl_users: list[list[str]] = field(default_factory=list)

    def get(self, name: str) -> Any:
        """Value of option ``name`` (case-insensitive); KeyError if unknown."""
        opt = lookup(name)
        if opt is None:
            raise KeyError(name)
        return getattr(self, opt.attr)


assert {f.name for f in dataclasses.fields(Config)} == {o.attr for o in OPTIONS} | {
    "config_file", "acl_users"
}, "Config fields and OPTIONS disagree"


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
        elif isinstance(opt.type, OutputBufferLimitType):  # later lines change the classes they name
            values[opt.name] = opt.type.update(values.get(opt.name, opt.default()), argv)
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
    cfg = Config(**{_BY_NAME[k].attr: v for k, v in values.items()}, acl_users=acl_users)
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
            opt = lookup(_dec(pat))
            if opt is not None and opt.name not in seen:
                seen.add(opt.name)
                out.append((_dec(pat), opt.render(getattr(cfg, opt.attr))))
            continue
        for opt in OPTIONS:
            if opt.name not in seen and matches(pat, opt.name.encode(), True):
                seen.add(opt.name)
                out.append((opt.name, opt.render(getattr(cfg, opt.attr))))
    return out


def _set_error(name: str, reason: str) -> ConfigSetError:
    return ConfigSetError(errors.CONFIG_SET_FAILED % (name, reason))


def config_set(
    cfg: Config,
    args: list[bytes],
    *,
    apply: Callable[[Config, list[str]], None] | None = None,
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

    Checks, in Redis 7.0.15's order and with its exact messages: arity, then every name
    (unknown, immutable/protected, duplicate), then every value in argument order.
    """
    if len(args) < 2:
        raise ConfigSetError(errors.wrong_arity("config|set"))
    if len(args) % 2:
        raise ConfigSetError(errors.SYNTAX)

    pairs = [(_dec(args[i]), args[i + 1]) for i in range(0, len(args), 2)]
    chosen: list[Option] = []
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
        if not opt.mutable or opt.protected:
            reason = (
                "can't set immutable config" if not opt.mutable else "can't set protected config"
            )
            err = _set_error(name, reason)
            invalid = True
            continue
        if opt in chosen:
            err = _set_error(name, "duplicate parameter")
            invalid = True
        chosen.append(opt)
    if unknown_name is not None:
        raise ConfigSetError(errors.CONFIG_SET_UNKNOWN % unknown_name)
    if err is not None:
        raise err

    new: list[tuple[Option, Any]] = []
    for opt, (_, raw) in zip(chosen, pairs, strict=True):
        value = _dec(raw)
        try:
            if opt.multi_arg:
                # Redis splits a multi-arg value on single spaces (sdssplitlen), no quoting.
                words = value.split(" ") if value else []
                if isinstance(opt.type, OutputBufferLimitType):
                    parsed = opt.type.update(getattr(cfg, opt.attr), words)
                else:
                    parsed = opt.parse(words)
            else:
                parsed = opt.parse([value])
        except _Bad as e:
            raise _set_error(opt.name, str(e)) from None
        new.append((opt, parsed))

    old = {opt.attr: getattr(cfg, opt.attr) for opt, _ in new}
    changed: list[str] = []
    for opt, parsed in new:
        if getattr(cfg, opt.attr) != parsed:
            changed.append(opt.name)
        setattr(cfg, opt.attr, parsed)
    if apply is not None and changed:
        try:
            apply(cfg, changed)
        except BaseException:
            for attr, v in old.items():
                setattr(cfg, attr, v)
            raise
    return changed
