"""A name server the test controls: what each host resolves to, changed at will."""

from __future__ import annotations

from ipaddress import ip_address

from caredesk.domain.outbound import IPAddress
from caredesk.services.channels.ports import HostUnresolved


class MapResolver:
    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = dict(names or {})
        self.asked: list[str] = []

    def point(self, host: str, *addresses: str) -> None:
        self.names[host] = list(addresses)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        if host not in self.names:
            raise HostUnresolved(f"[Errno -2] Name or service not known: {host}")
        return [ip_address(a) for a in self.names[host]]
