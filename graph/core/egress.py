"""Where HTTP tools may connect: a decision on an address, made before any packet is sent.

A plan comes from a model that reads untrusted text, and an approver cannot be expected to
spot that ``https://wiki.example/x`` redirects to the cloud's metadata service. So by
default only public addresses on the usual web ports are reachable; loopback, private,
link-local (metadata), multicast and other non-global ranges are refused unless the
settings file allows them:

    [egress]
    allow = ["127.0.0.1", "10.20.0.0/16", "wiki.corp.example", "api.corp.example:8443"]
    ports = [80, 443]            # ports allowed on public addresses

An ``allow`` entry is an address, a network, a host name (``*.corp.example`` for its
subdomains) with an optional ``:port``; without one it allows every port. A host name
entry is trusted whatever it resolves to: the operator named it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union

from pydantic import ConfigDict, Field, PrivateAttr, field_validator

from graph.core.errors import ToolRefused
from graph.core.model import Model

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# Cloud instance-metadata endpoints. Most sit in link-local space and are refused anyway;
# Azure's wire server and Alibaba's are not, so they are named.
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.123", "fd00:ec2::254", "100.100.100.200",
    "168.63.129.16"))

_HOST = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*\.?$")


class EgressRefused(ToolRefused):
    """The policy refused a connection; the message names the address and why."""


@dataclass(frozen=True)
class _Rule:
    network: IPNetwork | None
    host: str | None  # lower-case; "*.x" matches subdomains of x
    port: int | None

    def matches(self, host: str, address: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address in self.network
        name = host.lower().rstrip(".")
        assert self.host is not None
        if self.host.startswith("*."):
            return name.endswith(self.host[1:])
        return name == self.host


def _rule(entry: str) -> _Rule:
    text = entry.strip().lower()
    port: int | None = None
    bracketed = re.fullmatch(r"\[([0-9a-f:.]+)\](?::(\d+))?", text)
    if bracketed:
        text, port = bracketed.group(1), int(bracketed.group(2)) if bracketed.group(2) else None
    elif text.count(":") == 1:  # host:port or a.b.c.d:port (an IPv6 entry has several colons)
        text, _, raw_port = text.partition(":")
        if not raw_port.isdigit():
            raise ValueError(f"{entry!r}: the port must be a number")
        port = int(raw_port)
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{entry!r}: the port must be 1-65535")
    try:
        return _Rule(ipaddress.ip_network(text, strict=False), None, port)
    except ValueError:
        pass
    if not _HOST.match(text):
        raise ValueError(f"{entry!r} is not an address, a network or a host name")
    return _Rule(None, text.rstrip("."), port)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _unwrapped(address: IPAddress) -> IPAddress:
    """An IPv6 address that carries an IPv4 one to its destination is judged by the IPv4
    address: mapped (``::ffff:127.0.0.1``), NAT64 (``64:ff9b::7f00:1``) and 6to4."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour or address


def _category(address: IPAddress) -> str | None:
    """Why an address is not public, or None. Order: the most telling name first."""
    if address in METADATA:
        return "a cloud metadata address"
    for test, name in (("is_loopback", "a loopback address"), ("is_link_local", "a link-local address"),
                       ("is_multicast", "a multicast address"), ("is_unspecified", "an unspecified address"),
                       ("is_reserved", "a reserved address"), ("is_private", "a private address")):
        if getattr(address, test):
            return name
    if not address.is_global:
        return "not a public address"
    return None


class EgressPolicy(Model):
    """The ``[egress]`` table. Frozen and hashable: each policy has its own HTTP client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: tuple[str, ...] = Field((), description="Addresses, networks and host names (optionally :port) "
                                                   "allowed beyond the public internet (PROLIGHT_EGRESS_ALLOW).")
    ports: tuple[int, ...] = Field((80, 443), description="Ports allowed on public addresses (PROLIGHT_EGRESS_PORTS).")
    _rules: tuple[_Rule, ...] = PrivateAttr(())

    @field_validator("allow")
    @classmethod
    def _entries(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        for entry in entries:
            _rule(entry)
        return entries

    @field_validator("ports")
    @classmethod
    def _ports(cls, ports: tuple[int, ...]) -> tuple[int, ...]:
        bad = [p for p in ports if not 0 < p < 65536]
        if bad:
            raise ValueError(f"port {bad[0]} is not 1-65535")
        return ports

    def model_post_init(self, context: object) -> None:
        self._rules = tuple(_rule(entry) for entry in self.allow)

    def refusal(self, host: str, port: int, address: str) -> str | None:
        """Why connecting to ``address`` (which ``host`` resolved to) on ``port`` is refused,
        or None if it is allowed."""
        ip = _unwrapped(ipaddress.ip_address(address.split("%", 1)[0]))
        if any(rule.matches(host, ip, port) for rule in self._rules):
            return None
        named = f"{host} ({ip})" if host.lower().strip("[]") != str(ip) else str(ip)
        category = _category(ip)
        if category is not None:
            return f"{named} is {category}; allow it in the settings' [egress] allow list"
        if port not in self.ports:
            allowed = ", ".join(str(p) for p in self.ports) or "none"
            return f"port {port} of {named} is not an allowed port ({allowed}); see [egress] ports"
        return None

    def check(self, host: str, port: int, addresses: Iterable[str]) -> None:
        """Every address a name resolves to must be allowed: a name that mixes public and
        internal addresses is how DNS rebinding starts."""
        found = False
        for address in addresses:
            found = True
            reason = self.refusal(host, port, address)
            if reason is not None:
                raise EgressRefused(f"egress refused: {reason}")
        if not found:
            raise EgressRefused(f"egress refused: {host} has no address")
