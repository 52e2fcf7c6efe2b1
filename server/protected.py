"""Protected mode (``protected-mode yes``, the default), as Redis 7.0's ``clientAcceptHandler``:
while the default user has no password (its ``nopass`` flag: no ``requirepass``, no ACL
password for ``default``), a client connecting from anywhere but the loopback
interface gets Redis's ``-DENIED`` explanation and is closed (counted in
``rejected_connections``). Redis 7.0 decides on the client's address alone: ``127.0.0.1`` and
``::1`` are local (Unix sockets too, which we do not serve); the ``bind`` option does not enter
into it, but with the default ``bind 127.0.0.1`` no other client can connect anyway.

Peer regions are clients too: a region reachable from other hosts needs ``requirepass`` (its
peers then use ``--peer-password``) or ``protected-mode no``.
"""

from __future__ import annotations

from typing import Any

LOCAL_ADDRESSES = frozenset({"127.0.0.1", "::1"})

# Redis 7.0.15's reply, byte for byte (its "Setup a an" included).
DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from the "
    b"loopback interface. If you want to connect from external computers to Redis you may adopt "
    b"one of the following solutions: 1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    b"same host the server is running, however MAKE SURE Redis is not publicly accessible from "
    b"internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    b"you can just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If you "
    b"started the server manually just for testing, restart it with the '--protected-mode no' "
    b"option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    b"to do one of the above things in order for the server to start accepting connections from "
    b"the outside.\r\n"
)


def is_local(peername: Any) -> bool:
    """Whether a socket peer address is the loopback interface, as Redis's islocalClient."""
    if isinstance(peername, tuple) and peername:
        return peername[0] in LOCAL_ADDRESSES
    return isinstance(peername, str)  # a Unix socket path (or an unnamed one)


def denies(protected_mode: bool, has_password: bool, peername: Any) -> bool:
    """Whether a new connection from ``peername`` is refused."""
    return protected_mode and not has_password and not is_local(peername)
