"""Which addresses a webhook may reach: the pure decision, and host names resolved as the
HTTP client resolves them (numeric forms included), every returned address checked."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address

import pytest

from caredesk.adapters.webhook_http import SocketResolver
from caredesk.domain.errors import DomainError, ErrorCode
from caredesk.domain.outbound import check_addresses, embedded_ipv4, refusal
from caredesk.services.channels.webhooks import Outbound
from tests.resolvers import MapResolver

INSIDE = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fd00::1", "private"),
    ("169.254.169.254", "link-local"),  # the cloud metadata service
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("224.0.1.1", "multicast"),  # multicast the standard library calls global
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 (an address judged, nothing bound)
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("::ffff:100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("fec0::1", "site-local"),  # site-local the standard library calls global
    ("192.0.0.8", "special-purpose"),
    ("192.0.2.10", "special-purpose"),  # documentation ranges
    ("198.18.0.1", "special-purpose"),  # benchmarking
    ("2001:db8::1", "special-purpose"),
    ("0.1.2.3", "special-purpose"),  # "this network"
    ("64:ff9b:1::a00:1", "special-purpose"),  # local-use NAT64 (RFC 8215)
    # IPv6 forms that carry an inside IPv4 address.
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::127.0.0.1", "loopback"),  # IPv4-compatible
    ("::ffff:0:7f00:1", "loopback"),  # IPv4-translated
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "special-purpose"),  # Teredo
]
PUBLIC = [
    "93.184.215.14",
    "8.8.8.8",
    "100.128.0.1",  # just past the shared range
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",  # mapped, reaching a public address
    "64:ff9b::808:808",  # NAT64 of a public address
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("address", "kind"), INSIDE)
def test_an_inside_address_is_refused_with_its_kind(address: str, kind: str) -> None:
    reason = refusal(ip_address(address))
    assert reason is not None
    assert f"is a {kind} address" in reason or f"is an {kind} address" in reason, reason


@pytest.mark.parametrize("address", PUBLIC)
def test_a_public_address_is_allowed(address: str) -> None:
    assert refusal(ip_address(address)) is None


def test_an_ipv6_form_says_which_ipv4_address_it_reaches() -> None:
    assert embedded_ipv4(ip_address("::ffff:127.0.0.1")) == ip_address("127.0.0.1")  # type: ignore[arg-type]
    assert refusal(ip_address("2002:7f00:1::")) == (
        "2002:7f00:1:: (that is 127.0.0.1) is a loopback address"
    )
    assert embedded_ipv4(ip_address("2606:4700:4700::1111")) is None  # type: ignore[arg-type]


def test_listed_networks_are_allowed_and_nothing_else() -> None:
    allowed = (IPv4Network("127.0.0.0/8"), IPv6Network("fd00:1::/32"))
    assert refusal(ip_address("127.0.0.1"), allowed) is None
    assert refusal(ip_address("::ffff:127.0.0.1"), allowed) is None  # reaches 127.0.0.1
    assert refusal(ip_address("fd00:1::5"), allowed) is None
    assert refusal(ip_address("::1"), allowed) is not None
    assert refusal(ip_address("10.0.0.1"), allowed) is not None
    assert refusal(ip_address("169.254.169.254"), allowed) is not None


def test_every_address_a_host_resolves_to_must_be_allowed() -> None:
    public, inside = ip_address("93.184.215.14"), ip_address("10.0.0.7")
    check_addresses("hooks.example.com", [public])
    with pytest.raises(DomainError) as refused:
        check_addresses("hooks.example.com", [public, inside])
    assert refused.value.code is ErrorCode.URL_NOT_ALLOWED
    assert refused.value.message.startswith(
        "hooks.example.com resolves to 10.0.0.7, and 10.0.0.7 is a private address"
    )
    assert refused.value.details == {
        "field": "url",
        "host": "hooks.example.com",
        "address": "10.0.0.7",
    }
    with pytest.raises(DomainError):
        check_addresses("hooks.example.com", [])


# How a host is written in a URL, and the address the HTTP client would connect to.
NUMERIC_FORMS = [
    ("127.0.0.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("10.1", "10.0.0.1"),
    ("0", "0.0.0.0"),  # noqa: S104 (an address judged, nothing bound)
    ("::1", "::1"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ("::ffff:7f00:1", "::ffff:127.0.0.1"),
    ("localhost", "127.0.0.1"),
]


@pytest.mark.parametrize(("host", "reached"), NUMERIC_FORMS)
def test_numeric_forms_resolve_to_the_address_they_stand_for(host: str, reached: str) -> None:
    assert ip_address(reached) in SocketResolver().resolve(host, 80)


@pytest.mark.parametrize("host", [host for host, _ in NUMERIC_FORMS])
def test_a_webhook_to_any_numeric_form_of_an_inside_address_is_refused(host: str) -> None:
    shown = f"[{host}]" if ":" in host else host
    with pytest.raises(DomainError) as refused:
        Outbound(SocketResolver()).addresses(f"http://{shown}:8080/hooks")
    assert refused.value.code is ErrorCode.URL_NOT_ALLOWED


def test_an_unresolvable_host_is_refused_at_subscription() -> None:
    with pytest.raises(DomainError) as refused:
        Outbound(MapResolver()).addresses("https://nowhere.example/hooks")
    assert refused.value.code is ErrorCode.URL_NOT_ALLOWED
    assert "nowhere.example does not resolve" in refused.value.message


def test_the_allow_list_admits_its_networks_through_the_resolver() -> None:
    resolver = MapResolver({"hooks.internal": ["10.20.0.5"]})
    with pytest.raises(DomainError):
        Outbound(resolver).addresses("http://hooks.internal/x")
    allowed = Outbound(resolver, (IPv4Network("10.20.0.0/16"),))
    assert allowed.addresses("http://hooks.internal/x") == [ip_address("10.20.0.5")]
