"""CONFIG GET/SET of the TLS, protected-mode, output-buffer-limit and maxmemory options against
a real redis-server 7.0.15: defaults, Redis's value syntax and its exact error replies."""

from __future__ import annotations

from tests.conftest import Differential

DEFAULTS = [
    "protected-mode", "tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass",
    "tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass", "tls-ca-cert-file",
    "tls-ca-cert-dir", "tls-protocols", "tls-ciphers", "tls-ciphersuites", "tls-dh-params-file",
    "tls-auth-clients",
    "tls-replication", "tls-prefer-server-ciphers", "tls-session-caching",
    "tls-session-cache-size", "tls-session-cache-timeout", "client-output-buffer-limit",
    "maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor", "lfu-decay-time",
]


def test_defaults(diff: Differential) -> None:
    for name in DEFAULTS:
        diff.check("CONFIG", "GET", name)


def test_client_output_buffer_limit_syntax(diff: Differential) -> None:
    try:
        for value in ["normal 1 2", "master 1 2 3", "normal 1x 2 3", "normal 1 2 x", "normal 1 2 -1",
                      "normal 1 2 3 bogus 1 2 3", "foo"]:
            diff.check("CONFIG", "SET", "client-output-buffer-limit", value)
            diff.check("CONFIG", "GET", "client-output-buffer-limit")
        for value in ["normal 1mb 512kb 10", "replica 1gb 2k 3", "slave 64mb 16mb 60 PUBSUB 1 2 3",
                      "Normal 0 0 0", ""]:
            diff.check("CONFIG", "SET", "client-output-buffer-limit", value)
            diff.check("CONFIG", "GET", "client-output-buffer-limit")
    finally:
        for conn in (diff.ref, diff.ours):
            conn.call("CONFIG", "SET", "client-output-buffer-limit",
                      "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")


def test_maxmemory_options(diff: Differential) -> None:
    try:
        for name, value in [("maxmemory", "-1"), ("maxmemory", "1x"), ("maxmemory", "100mb"),
                            ("maxmemory", "1GB"), ("maxmemory-policy", "lru"),
                            ("maxmemory-policy", "ALLKEYS-LRU"), ("maxmemory-policy", "volatile-ttl"),
                            ("maxmemory-samples", "0"), ("maxmemory-samples", "10"),
                            ("maxmemory-samples", "x"), ("protected-mode", "maybe"),
                            ("protected-mode", "no"), ("protected-mode", "yes")]:
            diff.check("CONFIG", "SET", name, value)
            diff.check("CONFIG", "GET", name)
    finally:
        for conn in (diff.ref, diff.ours):
            conn.call("CONFIG", "SET", "maxmemory", "0", "maxmemory-policy", "noeviction",
                      "maxmemory-samples", "5", "protected-mode", "yes")
