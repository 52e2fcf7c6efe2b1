"""TLS clients accepted while a script is busy (``busy_accept``): the TLS session is run over
memory BIOs (``ssl.SSLContext.wrap_bio``), so the handshake and the commands can be served
from the busy poll, and keeps being run that way after the hand-over: asyncio's SSL transport
cannot adopt a session that is already established, so the loop gets the raw socket with a
``Bridge`` protocol that decrypts what arrives for the client and a ``TlsTransport`` that
encrypts what the client writes. Certificate checks (``tls-auth-clients``) are the
context's, as for the listeners' connections.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

from server.scripting.standin import StandIn

READ_CHUNK = 1 << 16


class Session:
    """One server-side TLS session over memory BIOs."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.established = False
        self.closed = False  # close_notify received, or a TLS error

    def receive(self, raw: bytes) -> bytes:
        """Feed bytes from the socket; the application data they complete."""
        self.incoming.write(raw)
        if not self.established:
            try:
                self.obj.do_handshake()
                self.established = True
            except ssl.SSLWantReadError:
                return b""
            except (ssl.SSLError, OSError):
                self.closed = True
                return b""
        plain = bytearray()
        while True:
            try:
                chunk = self.obj.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLError, OSError):
                self.closed = True
                break
            if not chunk:
                self.closed = True
                break
            plain += chunk
        return bytes(plain)

    def send(self, plain: bytes) -> None:
        if plain and self.established and not self.closed:
            try:
                self.obj.write(plain)
            except (ssl.SSLError, OSError):
                self.closed = True

    def shutdown(self) -> None:
        if self.established and not self.closed:
            try:
                self.obj.unwrap()
            except (ssl.SSLError, OSError):
                pass
        self.closed = True

    def take(self) -> bytes:
        """The encrypted bytes due to the socket."""
        return self.outgoing.read()


class TlsStandIn(StandIn):
    """A ``StandIn`` for a TLS connection: ``decrypt`` what the busy poll reads, encrypt what
    the client writes (held until the handshake is done)."""

    def __init__(self, sock: socket.socket, protocol: Any, context: ssl.SSLContext) -> None:
        super().__init__(sock, protocol)
        self.session = Session(context)
        self.early = bytearray()  # plaintext written before the handshake completed
        # close() with early output (the maxclients error, protected mode's DENIED): closed
        # once the handshake completes and that output went out.
        self.close_pending = False

    def decrypt(self, raw: bytes) -> bytes:
        session = self.session
        was_established = session.established
        plain = session.receive(raw)
        if session.established and not was_established and self.early:
            session.send(bytes(self.early))
            self.early.clear()
        self._queue_cipher()
        if session.closed or (self.close_pending and session.established):
            self.close_pending = False
            self.close()
            return b""
        return plain

    def is_closing(self) -> bool:
        return self.closed or self.close_pending

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.session.established:
            self.early += data
            return
        self.session.send(data)
        self._queue_cipher()

    def _queue_cipher(self) -> None:
        cipher = self.session.take()
        if cipher:
            self.pending += cipher
        self._flush()

    def close(self) -> None:
        session = self.session
        if self.early and not session.established and not session.closed:
            self.close_pending = True
            return
        if not self.closed:
            session.shutdown()
            self._queue_cipher()
        super().close()

    def abort(self) -> None:
        self.close_pending = False
        self.early.clear()
        super().abort()

    def hand_over(self, transport: Any) -> None:
        self.handed_over = True
        if self.pending:  # already encrypted
            transport.write_raw(bytes(self.pending))
            self.pending.clear()
        if self.early:  # the handshake is not done yet: it completes on the bridge
            transport.early += self.early
            self.early.clear()
        transport.close_pending = self.close_pending


class TlsTransport:
    """The client's transport after the hand-over: TLS over the loop's plain transport."""

    def __init__(self, raw: Any, session: Session, protocol: Any, extra: dict[str, Any]) -> None:
        self.raw = raw
        self.session = session
        self.protocol = protocol
        self.extra = extra
        self.early = bytearray()
        self.close_pending = False  # close once the handshake is done (TlsStandIn.close)

    def write_raw(self, data: bytes) -> None:
        if not self.raw.is_closing():
            self.raw.write(data)

    def _pump(self) -> None:
        cipher = self.session.take()
        if cipher:
            self.write_raw(cipher)

    def write(self, data: bytes) -> None:
        if not self.session.established:
            self.early += data
            return
        self.session.send(data)
        self._pump()

    def handshake_done(self) -> None:
        if self.early:
            self.session.send(bytes(self.early))
            self.early.clear()
        if self.close_pending:
            self.close()

    def close(self) -> None:
        if not self.session.established and self.early and not self.session.closed:
            self.close_pending = True
            return
        self.session.shutdown()
        self._pump()
        self.raw.close()

    def abort(self) -> None:
        self.raw.abort()

    def is_closing(self) -> bool:
        return bool(self.raw.is_closing())

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self.session.obj
        if name in self.extra:
            return self.extra[name]
        return self.raw.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return int(self.raw.get_write_buffer_size())

    def get_protocol(self) -> Any:
        return self.protocol

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def pause_reading(self) -> None:
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        self.raw.resume_reading()


class Bridge(asyncio.Protocol):
    """The loop's protocol for the raw socket: TLS records in, the client's bytes out."""

    def __init__(self, stand_in: TlsStandIn) -> None:
        self.stand_in = stand_in
        self.tls: TlsTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stand_in = self.stand_in
        self.tls = TlsTransport(transport, stand_in.session, stand_in.protocol, stand_in._extra)
        stand_in.protocol.connection_made(self.tls)  # Client: swaps in the new transport

    def data_received(self, data: bytes) -> None:
        tls = self.tls
        assert tls is not None
        session = tls.session
        was_established = session.established
        plain = session.receive(data)
        if session.established and not was_established:
            tls.handshake_done()
        tls._pump()
        if plain and not tls.close_pending and not tls.raw.is_closing():
            tls.protocol.data_received(plain)
        if session.closed:
            tls.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.tls is not None:
            self.tls.protocol.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.tls is not None:
            self.tls.protocol.pause_writing()

    def resume_writing(self) -> None:
        if self.tls is not None:
            self.tls.protocol.resume_writing()
