"""Webhook deliveries over HTTP(S) with the standard library: host names resolved the way the
HTTP client would, and the request sent to an address that was checked, never redirected.

Pinning the connection to the checked address closes the window in which a name server could
answer a public address to the check and an inside one to the connection (DNS rebinding).
The request still names the URL's host (the Host header), and TLS checks the certificate
against that name (SNI), so a receiver behind a shared address is reached as usual.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Sequence
from ipaddress import ip_address
from urllib.parse import urlsplit

from caredesk.domain.outbound import IPAddress, host_and_port
from caredesk.services.channels.ports import HostUnresolved, WebhookSendError

MAX_RESPONSE_BYTES = 65536


class SocketResolver:
    """`getaddrinfo`, as the client's own connection would call it: numeric forms such as
    0x7f000001, 2130706433, 017700000001 or 127.1 come back as the address they stand for."""

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            raise HostUnresolved(str(exc) or type(exc).__name__) from exc
        addresses: list[IPAddress] = []
        for *_, sockaddr in found:
            address = ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        return addresses


class _PinnedConnection(http.client.HTTPConnection):
    """Names `host` in the request, connects to `address` only."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)


class _PinnedTlsConnection(_PinnedConnection):
    default_port = 443

    def __init__(
        self, host: str, port: int, address: IPAddress, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, address, timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        # The certificate must be the URL's host's, whatever address it was reached at.
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


class HttpWebhookSender:
    """POSTs a delivery; no proxy from the environment (it would resolve the name itself)
    and no redirect (it would re-send a signed body somewhere nobody checked)."""

    def __init__(
        self, timeout_seconds: float = 10.0, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.timeout = timeout_seconds
        self._tls_context = tls_context

    @property
    def tls_context(self) -> ssl.SSLContext:
        # Made on the first HTTPS delivery: reading the system's certificate authorities takes
        # a while, and every desk (every command, every test) builds a sender.
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    def _connection(
        self, scheme: str, host: str, port: int, address: IPAddress
    ) -> _PinnedConnection:
        if scheme == "https":
            return _PinnedTlsConnection(host, port, address, self.timeout, self.tls_context)
        return _PinnedConnection(host, port, address, self.timeout)

    def post(
        self, url: str, addresses: Sequence[IPAddress], body: bytes, headers: dict[str, str]
    ) -> int:
        parts = urlsplit(url)
        host, port = host_and_port(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        failures: list[str] = []
        for address in addresses:
            connection = self._connection(parts.scheme, host, port, address)
            try:
                try:
                    connection.connect()
                except OSError as exc:
                    # Not reached at all: the next address may be (nothing was sent yet).
                    failures.append(f"{address}: {exc}")
                    continue
                try:
                    connection.request("POST", target, body=body, headers=headers)
                    response = connection.getresponse()
                    response.read(MAX_RESPONSE_BYTES)
                    return int(response.status)
                except (OSError, http.client.HTTPException) as exc:
                    raise WebhookSendError(str(exc) or type(exc).__name__) from exc
            finally:
                connection.close()
        raise WebhookSendError("; ".join(failures) or f"{host} has no address to connect to")
