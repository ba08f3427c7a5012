"""Where the gateway may send a webhook: the checks that keep a subscriber from aiming the gateway
at its own network (server-side request forgery).

A target is ``https://`` to a public address. Plain ``http://`` is allowed only to a loopback
address, and only when the gateway's settings allow it (development and tests: a receiver on the
same machine). The URL is checked when the subscription is made, and its host resolved again, and
every address checked, before each delivery (a name that pointed somewhere public may point
somewhere else later). The dispatcher never follows redirects, and bounds the time and the size of
every answer.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from consentledger.gateway.errors import InvalidWebhookUrlError

MAX_URL_LENGTH = 2048

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def check_url(url: str, *, allow_loopback_http: bool) -> tuple[str, str, int]:
    """The URL's scheme, host and port, if its form is one the gateway sends to (nothing is
    resolved here). Raises :class:`InvalidWebhookUrlError`."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise InvalidWebhookUrlError("webhook_url_invalid", "the URL is too long or has spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrlError("webhook_url_invalid", f"not a URL: {exc}") from None
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidWebhookUrlError(
            "webhook_url_invalid", "a webhook URL is https://host[:port]/path"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrlError("webhook_url_invalid", "a webhook URL carries no credentials")
    if parts.fragment:
        raise InvalidWebhookUrlError("webhook_url_invalid", "a webhook URL has no #fragment")
    if parts.scheme == "http":
        if not allow_loopback_http or not _loopback_name(host):
            raise InvalidWebhookUrlError(
                "webhook_url_not_https",
                "webhooks are sent over https (plain http only to this machine's loopback, and "
                "only where the gateway's settings allow it)",
            )
    else:
        literal = _literal(host)
        if literal is not None and not _public(literal):
            raise InvalidWebhookUrlError(
                "webhook_url_not_public", f"{host} is not a public address"
            )
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _loopback_name(host: str) -> bool:
    literal = _literal(host)
    return host == "localhost" if literal is None else literal.is_loopback


def check_resolved(url: str, *, allow_loopback_http: bool) -> None:
    """:func:`check_url`, then every address the host resolves to now: public for https,
    loopback for a permitted http. Blocking (DNS). Raises :class:`InvalidWebhookUrlError`."""
    scheme, host, port = check_url(url, allow_loopback_http=allow_loopback_http)
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise InvalidWebhookUrlError(
            "webhook_url_invalid", f"{host} does not resolve: {exc}"
        ) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        allowed = address.is_loopback if scheme == "http" else _public(address)
        if not allowed:
            raise InvalidWebhookUrlError(
                "webhook_url_not_public", f"{host} resolves to {address}, which is not allowed"
            )
