"""Which URLs and addresses the download may reach: plain Python, no Spark.

A URL is parsed once, strictly, and the request is built from the checked parts (``Target``), so the host that
is checked is the host that is connected to.  Anything two parsers could read differently is refused.  A name
is resolved once, when a connection is made (``AddressPolicy``, used by ``photolake.download.http``); every
address it resolves to is checked and the socket connects to a checked one, so DNS cannot point an allowed
name at an internal service.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Callable

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from photolake.config import host_entry
from photolake.download.failures import FetchFailure

# ---- URLs: refused when two parsers could read them differently: backslashes, user info, control characters
# or spaces, percent-encoding or non-ASCII in the host, numeric host forms other than a plain dotted quad
# (127.1, 2130706433, 0x7f000001, 0177.0.0.1)

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_AUTHORITY = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|\d+")
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """A URL as the request is made from it: scheme, host (lower case, no brackets, no trailing dot), port,
    and the path and query as sent."""

    scheme: str
    host: str
    port: int
    request_uri: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.request_uri}"

    @property
    def address(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The host when it is an IP address literal."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None


def _refuse(url: object, why: str) -> FetchFailure:
    return FetchFailure("invalid_url", f"{why}: {url!r}")


def parse_target(url: str | None) -> Target:
    """The URL's parts, checked; FetchFailure(invalid_url) when it is not a plain http(s) URL."""
    if not isinstance(url, str) or not url.strip():
        raise _refuse(url, "not a URL")
    text = url.strip()
    odd = next((c for c in text if ord(c) <= 0x20 or ord(c) == 0x7F or c == "\\"), None)
    if odd is not None:
        raise _refuse(url, f"not a URL: it holds {odd!r}, which parsers read differently")
    scheme_match = _SCHEME.match(text)
    scheme = scheme_match[1].lower() if scheme_match else ""
    if scheme not in DEFAULT_PORTS:
        raise _refuse(url, f"only http(s) URLs are fetched, not {scheme or 'no scheme'}")
    rest = text[scheme_match.end():]
    if not rest.startswith("//"):
        raise _refuse(url, "no host in the URL")
    authority = re.split(r"[/?#]", rest[2:], maxsplit=1)[0]
    if "@" in authority:
        raise _refuse(url, "user info in the URL's authority is refused: parsers disagree on where its host starts")
    if not authority.isascii() or "%" in authority:
        raise _refuse(url, "an encoded or non-ASCII host")
    match = _AUTHORITY.fullmatch(authority)
    if not match:
        raise _refuse(url, f"malformed host or port {authority!r}")
    host, port = _checked_host(url, match[1]), int(match[2]) if match[2] else DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise _refuse(url, f"port {port} is not in 1-65535")
    try:
        parsed = parse_url(text)  # the HTTP client's own reading must be the same
    except LocationParseError as exc:
        raise _refuse(url, f"malformed URL ({exc})") from None
    if _client_host(parsed.host) != host or (parsed.port or DEFAULT_PORTS[scheme]) != port:
        raise _refuse(url, "an ambiguous URL: its host reads differently to the HTTP client")
    return Target(scheme, host, port, parsed.request_uri)


def _client_host(host: str | None) -> str:
    """The host as urllib3 read it, in ``_checked_host``'s normal form."""
    host = (host or "").lower()
    if host.startswith("["):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            return host
    return host[:-1] if host.endswith(".") else host


def _checked_host(url: str, host: str) -> str:
    if host.startswith("["):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            raise _refuse(url, f"{host} is not an IPv6 address") from None
    host = host.lower()
    host = host[:-1] if host.endswith(".") else host
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _refuse(url, f"no valid host name in {host!r}")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):  # browsers and resolvers read this as an IPv4 address
        try:
            if str(ipaddress.IPv4Address(host)) == host:
                return host
        except ValueError:
            pass
        raise _refuse(url, f"{host!r} is an IPv4 address in a form other than a plain dotted quad")
    return host


def _entry_matches(target: Target, entry: str) -> bool:
    host, port = host_entry(entry)
    if port is not None and port != target.port:
        return False
    if host.startswith("*."):  # subdomains of a name; never an address
        return target.address is None and target.host.endswith(host[1:])
    try:
        return ipaddress.ip_address(host) == target.address
    except ValueError:
        return target.host == host


def _check_not_run_into(url: str | None, allow_hosts: tuple[str, ...]) -> None:
    """The release's broken URLs, where the path ran into an allowed host (images.unsplash.com-grass-sun.jpg/,
    127.0.0.1:8765-grass-sun.jpg/), named as what they are."""
    if not isinstance(url, str) or "://" not in url:
        return
    authority = re.split(r"[/?#]", url.strip().split("://", 1)[1], maxsplit=1)[0].lower()
    for allowed in allow_hosts:
        entry = allowed.lower()
        if authority.startswith(entry) and authority != entry and authority[len(entry)] not in ".:":
            raise FetchFailure("invalid_url", f"broken URL: the host {entry} runs into {authority[len(entry):]!r}")


def host_allowed(target: Target, allow_hosts: tuple[str, ...]) -> bool:
    return any(_entry_matches(target, entry) for entry in allow_hosts)


def check_url(url: str | None, allow_hosts: tuple[str, ...]) -> Target:
    """The checked target, or FetchFailure(invalid_url | disallowed_host) unless the URL may be fetched."""
    _check_not_run_into(url, allow_hosts)
    target = parse_target(url)
    if not host_allowed(target, allow_hosts):
        raise FetchFailure("disallowed_host", f"host {target.host} is not on the allow list "
                                              f"({', '.join(allow_hosts)}); add it with --allow-hosts")
    return target


# ---- addresses ------------------------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def internal_kind(address: IPAddress) -> str | None:
    """What makes an address internal (loopback, private, ...), or None for a public one.  IPv4 addresses
    inside IPv6 ones (mapped, 6to4, Teredo) count as the IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return internal_kind(embedded)
    for kind in ("loopback", "unspecified", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "not globally routable"


@dataclass(frozen=True)
class AddressPolicy:
    """Which resolved addresses a connection may use: public ones; internal ones only inside
    ``allow_networks``, or when the URL names the address itself (listed in the allow list), or loopback for
    a listed ``localhost``."""

    allow_networks: tuple[str, ...] = ()
    resolver: Callable[[str, int], list[IPAddress]] | None = None

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            return [literal]  # only a listed literal reaches a connection
        found = (self.resolver or resolve)(host, port)
        networks = [ipaddress.ip_network(n) for n in self.allow_networks]
        localhost = host == "localhost" or host.endswith(".localhost")
        for address in found:
            kind = internal_kind(address)
            if kind and not (localhost and address.is_loopback) and not any(address in n for n in networks
                                                                            if n.version == address.version):
                raise FetchFailure("disallowed_host", f"{host} resolves to {address}, a {kind} address: refused "
                                                      f"(download.allow_networks can allow internal networks)")
        return found


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the name resolves to, in the resolver's order (IPv6 scope ids dropped)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
