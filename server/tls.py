"""TLS contexts from Redis's ``tls-*`` options (Python's ``ssl``, i.e. the system OpenSSL).

As Redis's ``tls.c``:

* the server context (``--tls-port``) presents ``tls-cert-file``/``tls-key-file`` (decrypted
  with ``tls-key-file-pass``) and, with ``tls-auth-clients yes`` (the default) or
  ``optional``, asks clients for a certificate signed by ``tls-ca-cert-file`` /
  ``tls-ca-cert-dir``;
* the client context (our peer links, with ``--tls-replication yes``) presents
  ``tls-client-cert-file`` (or, when unset, ``tls-cert-file``) and verifies the peer's
  certificate against the same CA. As Redis, the peer's host name is not checked: the CA is the
  trust anchor.
* ``tls-protocols`` (default ``TLSv1.2 TLSv1.3``), ``tls-ciphers`` (TLSv1.2 and below),
  ``tls-ciphersuites`` (TLSv1.3), ``tls-prefer-server-ciphers``, ``tls-session-caching``,
  ``tls-session-cache-size`` and ``tls-session-cache-timeout`` apply to both.

``ssl`` has no call for TLSv1.3 cipher suites or the server session cache, so those three go
to OpenSSL directly (``SSL_CTX_set_ciphersuites``, ``SSL_CTX_ctrl``) through ``ctypes``, on the
``SSL_CTX`` the ``ssl.SSLContext`` wraps (the same libssl the ``_ssl`` module is linked to).

Every problem is a :class:`TLSConfigError` with one line saying which option and why; the
server prints it and exits with status 1, as redis-server refuses to start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import ssl
from typing import TYPE_CHECKING

from server import errors
from server.config import ConfigSetError

if TYPE_CHECKING:
    from server.app import Server
    from server.config import Config

PROTOCOLS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1.1": ssl.TLSVersion.TLSv1_1,
    "tlsv1.2": ssl.TLSVersion.TLSv1_2,
    "tlsv1.3": ssl.TLSVersion.TLSv1_3,
}
DEFAULT_PROTOCOLS = "TLSv1.2 TLSv1.3"
# Redis's own message (tls.c, parseProtocolsConfig).
BAD_PROTOCOL = ("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', "
                "'TLSv1.2' and 'TLSv1.3'.")

# OpenSSL's SSL_CTX_ctrl commands and session cache modes (ssl.h).
_SSL_CTRL_SET_SESS_CACHE_SIZE = 42
_SSL_CTRL_SET_SESS_CACHE_MODE = 44
_SSL_SESS_CACHE_OFF = 0
_SSL_SESS_CACHE_SERVER = 2


class TLSConfigError(Exception):
    """The ``tls-*`` options do not make a working TLS setup; the text says why."""


PATH_OPTIONS = ("tls_cert_file", "tls_key_file", "tls_client_cert_file", "tls_client_key_file",
                "tls_ca_cert_file", "tls_ca_cert_dir", "tls_dh_params_file")


def resolve_paths(cfg: Config) -> None:
    """Relative certificate paths are relative to where the server was started (it changes to
    ``--dir`` before it loads them)."""
    for attr in PATH_OPTIONS:
        value = getattr(cfg, attr)
        if value:
            setattr(cfg, attr, os.path.abspath(value))


def check(cfg: Config) -> None:
    """Redis's start-up checks (``tlsConfigure``), raising :class:`TLSConfigError`."""
    if not cfg.tls_cert_file:
        raise TLSConfigError("No tls-cert-file configured!")
    if not cfg.tls_key_file:
        raise TLSConfigError("No tls-key-file configured!")
    if (cfg.tls_auth_clients != "no" or cfg.tls_replication) and not (
            cfg.tls_ca_cert_file or cfg.tls_ca_cert_dir):
        raise TLSConfigError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                             "tls-cluster, tls-replication or tls-auth-clients are enabled!")


def _protocol_range(spec: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    """The versions ``tls-protocols`` names, as a min..max range (``ssl`` cannot leave a gap:
    ``TLSv1 TLSv1.3`` also allows 1.1 and 1.2)."""
    words = (spec or DEFAULT_PROTOCOLS).split()
    versions = []
    for word in words:
        version = PROTOCOLS.get(word.lower())
        if version is None:
            raise TLSConfigError(BAD_PROTOCOL)
        versions.append(version)
    if not versions:
        raise TLSConfigError(BAD_PROTOCOL)
    return min(versions), max(versions)


@functools.cache
def _libssl() -> ctypes.CDLL:
    """libssl, already loaded by the ``_ssl`` module (``dlopen`` returns that same copy)."""
    major = {3: "libssl.so.3", 1: "libssl.so.1.1"}.get(ssl.OPENSSL_VERSION_INFO[0], "libssl.so")
    for name in (major, ctypes.util.find_library("ssl") or "libssl.so"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
        lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
        lib.SSL_CTX_ctrl.restype = ctypes.c_long
        lib.SSL_CTX_set_timeout.argtypes = [ctypes.c_void_p, ctypes.c_long]
        lib.SSL_CTX_set_timeout.restype = ctypes.c_long
        return lib
    raise TLSConfigError("can't load libssl to apply tls-ciphersuites / tls-session-caching")


def _ssl_ctx_pointer(ctx: ssl.SSLContext) -> int:
    """The ``SSL_CTX *`` inside an ``ssl.SSLContext`` (CPython's PySSLContext: the first field
    after the object header)."""
    header = ctypes.sizeof(ctypes.c_ssize_t) + ctypes.sizeof(ctypes.c_void_p)
    ptr = ctypes.c_void_p.from_address(id(ctx) + header).value
    if not ptr:
        raise TLSConfigError("can't reach OpenSSL's SSL_CTX of the ssl module")
    return ptr


def _common(ctx: ssl.SSLContext, cfg: Config, server: bool) -> None:
    ctx.minimum_version, ctx.maximum_version = _protocol_range(cfg.tls_protocols)
    ctx.options |= ssl.OP_NO_COMPRESSION
    if cfg.tls_ciphers:
        try:
            ctx.set_ciphers(cfg.tls_ciphers)
        except ssl.SSLError:
            raise TLSConfigError(f"Failed to configure ciphers: {cfg.tls_ciphers}") from None
    if cfg.tls_prefer_server_ciphers:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if cfg.tls_ciphersuites:
        lib = _libssl()
        if lib.SSL_CTX_set_ciphersuites(_ssl_ctx_pointer(ctx), cfg.tls_ciphersuites.encode()) != 1:
            raise TLSConfigError(f"Failed to configure ciphersuites: {cfg.tls_ciphersuites}")
    if server:
        lib = _libssl()
        ptr = _ssl_ctx_pointer(ctx)
        if cfg.tls_session_caching:
            lib.SSL_CTX_ctrl(ptr, _SSL_CTRL_SET_SESS_CACHE_MODE, _SSL_SESS_CACHE_SERVER, None)
            lib.SSL_CTX_ctrl(ptr, _SSL_CTRL_SET_SESS_CACHE_SIZE, cfg.tls_session_cache_size, None)
            lib.SSL_CTX_set_timeout(ptr, cfg.tls_session_cache_timeout)
        else:
            lib.SSL_CTX_ctrl(ptr, _SSL_CTRL_SET_SESS_CACHE_MODE, _SSL_SESS_CACHE_OFF, None)
            ctx.options |= ssl.OP_NO_TICKET


def _load_chain(ctx: ssl.SSLContext, cert: str, key: str, password: str, what: str) -> None:
    for path in (cert, key):
        if not os.path.isfile(path):
            raise TLSConfigError(f"Failed to load {what} certificate/key: {path}: "
                                 "No such file or directory")
    try:
        ctx.load_cert_chain(cert, key, password=password or None)
    except (ssl.SSLError, OSError) as exc:
        raise TLSConfigError(f"Failed to load {what} certificate {cert} / key {key}: "
                             f"{getattr(exc, 'reason', None) or exc}") from None


def _load_ca(ctx: ssl.SSLContext, cfg: Config) -> None:
    if not (cfg.tls_ca_cert_file or cfg.tls_ca_cert_dir):
        return
    try:
        ctx.load_verify_locations(cafile=cfg.tls_ca_cert_file or None,
                                  capath=cfg.tls_ca_cert_dir or None)
    except (ssl.SSLError, OSError) as exc:
        where = cfg.tls_ca_cert_file or cfg.tls_ca_cert_dir
        raise TLSConfigError(f"Failed to configure CA certificate(s) file/directory {where}: "
                             f"{getattr(exc, 'reason', None) or exc.strerror or exc}") from None


def enabled(cfg: Config) -> bool:
    return cfg.tls_port != 0 or cfg.tls_replication


def reconfigure(server: Server, cfg: Config, changed: list[str]) -> None:
    """CONFIG SET of ``tls-*`` options, as Redis's applyTlsCfg/applyTLSPort: while TLS is in
    use, new contexts are built (a problem is logged and refused with Redis's error, and
    config_set restores the old values); the TLS listeners are bound again with the new
    context (connected clients keep theirs) and the peer links use it from their next
    connection."""
    if not enabled(cfg) and "tls-replication" not in changed and "tls-port" not in changed:
        return  # as Redis: nothing is checked while TLS is off
    try:
        server_ctx = server_context(cfg) if cfg.tls_port else None
        client_ctx = client_context(cfg) if cfg.tls_replication else None
    except TLSConfigError as exc:
        server.log.warning("%s", exc)
        server.log.warning("Failed applying new configuration. Possibly related to new %s "
                           "setting. Restoring previous settings.", changed[0])
        raise ConfigSetError(errors.CONFIG_SET_FAILED % (changed[0], errors.CONFIG_SET_TLS_REASON)) from None
    server.rebind(cfg.bind, cfg.tls_port, "tls-port", server_ctx)
    server.tls_context = server_ctx
    if server.replicator is not None:
        server.replicator.use_tls(client_ctx)


def server_context(cfg: Config) -> ssl.SSLContext:
    """The context of the ``tls-port`` listeners."""
    check(cfg)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _common(ctx, cfg, server=True)
    _load_chain(ctx, cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_key_file_pass, "server")
    _load_ca(ctx, cfg)
    if cfg.tls_dh_params_file:  # (TLSv1.2 DHE ciphers; ECDHE and TLSv1.3 need none)
        try:
            ctx.load_dh_params(cfg.tls_dh_params_file)
        except (ssl.SSLError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise TLSConfigError(f"Failed to load DH params file: {cfg.tls_dh_params_file}: "
                                 f"{reason}") from None
    ctx.verify_mode = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL}.get(
        cfg.tls_auth_clients, ssl.CERT_NONE)
    return ctx


def client_context(cfg: Config) -> ssl.SSLContext:
    """The context of our outgoing peer links (``tls-replication yes``)."""
    check(cfg)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # as Redis: the peer's certificate must chain to the CA, any name
    ctx.verify_mode = ssl.CERT_REQUIRED
    _common(ctx, cfg, server=False)
    if cfg.tls_client_cert_file:
        _load_chain(ctx, cfg.tls_client_cert_file, cfg.tls_client_key_file,
                    cfg.tls_client_key_file_pass, "client")
    else:
        _load_chain(ctx, cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_key_file_pass, "server")
    _load_ca(ctx, cfg)
    return ctx
