"""Where the desk may send a request of its own (webhooks): public addresses only.

A webhook URL is chosen by whoever manages webhooks, and the delivery log shows what the
receiver answered; a URL pointing inside (the desk's own host, the private network, a cloud
metadata service) would make the desk a scanner of its own network. So every address a
receiver's host resolves to is judged here, and any address that is not public is refused,
unless an admin listed its network (`CAREDESK_WEBHOOK_ALLOWED_NETWORKS`).

Pure: resolving a host name is the adapters' job; this only judges the addresses it got.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_network,
)
from urllib.parse import urlsplit

from caredesk.domain.errors import DomainError, ErrorCode

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Named here rather than left to the standard library, whose lists vary between Python
# versions (and call some multicast and site-local addresses global).
_PRIVATE = tuple(
    ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_SHARED = IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_RESERVED = IPv4Network("240.0.0.0/4")  # "future use", with the limited broadcast address
# The IANA special-purpose registries' ranges that are not reachable on the internet.
_SPECIAL = tuple(
    ip_network(n)
    for n in (
        "0.0.0.0/8",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "::/128",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "3fff::/20",
        "5f00::/16",
    )
)
# IPv6 forms that carry an IPv4 address, which is the one a packet really reaches.
_MAPPED = IPv6Network("::ffff:0:0/96")  # IPv4-mapped
_TRANSLATED = IPv6Network("::ffff:0:0:0/96")  # SIIT IPv4-translated (RFC 2765)
_COMPATIBLE = IPv6Network("::/96")  # IPv4-compatible (deprecated, still routed by some stacks)
_NAT64 = IPv6Network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)
_SIX_TO_FOUR = IPv6Network("2002::/16")  # 6to4 (RFC 3056)
_LOW32 = 0xFFFFFFFF


class UrlNotAllowed(DomainError):
    code = ErrorCode.URL_NOT_ALLOWED


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4)."""
    if address in _MAPPED or address in _TRANSLATED or address in _NAT64:
        return IPv4Address(int(address) & _LOW32)
    if address in _COMPATIBLE and int(address) > 1:  # not :: nor ::1, which are themselves
        return IPv4Address(int(address) & _LOW32)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def _inside(address: IPAddress) -> str | None:
    # The order gives the most telling name: 127.0.0.1 is loopback before it is private.
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _SHARED, "a shared (CGNAT) address"),
        (isinstance(address, IPv6Address) and address.is_site_local, "a site-local address"),
        (any(address in n for n in _PRIVATE), "a private address"),
        (address in _RESERVED, "a reserved address"),
        (
            any(address in n for n in _SPECIAL)
            or address.is_private
            or address.is_reserved
            or not address.is_global,
            "a special-purpose address, not on the internet",
        ),
    )
    return next((reason for hit, reason in checks if hit), None)


def refusal(address: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why the desk must not connect to this address, or None when it may.

    An IPv6 address that carries an IPv4 one is judged by the IPv4 address it reaches;
    a listed network allows its addresses whatever they are.
    """
    reached: IPAddress = address
    if isinstance(address, IPv6Address):
        reached = embedded_ipv4(address) or address
    if any(a in network for a in {address, reached} for network in allowed):
        return None
    reason = _inside(reached)
    if reason is None:
        return None
    shown = str(address) if reached == address else f"{address} (that is {reached})"
    return f"{shown} is {reason}"


def check_addresses(
    host: str, addresses: Sequence[IPAddress], allowed: Sequence[IPNetwork] = ()
) -> None:
    """Every address the host resolves to must be allowed: a client may use any of them."""
    if not addresses:
        raise UrlNotAllowed(
            f"{host} does not resolve to any address", details={"field": "url", "host": host}
        )
    for address in addresses:
        reason = refusal(address, allowed)
        if reason is not None:
            via = "" if host == str(address) else f"{host} resolves to {address}, and "
            raise UrlNotAllowed(
                f"{via}{reason}: webhooks go to public addresses only (an admin may allow "
                "a network with CAREDESK_WEBHOOK_ALLOWED_NETWORKS)",
                details={"field": "url", "host": host, "address": str(address)},
            )


def host_and_port(url: str) -> tuple[str, int]:
    """The host a URL names (as the HTTP client will look it up) and the port it reaches."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed(
            "the webhook URL's port is not a number from 1 to 65535", details={"field": "url"}
        ) from exc
    return host, port or (443 if parts.scheme == "https" else 80)
