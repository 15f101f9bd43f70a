"""Where fetching may connect: public addresses only, checked after DNS, on every hop.

A page's URL comes from a search result, a request or a redirect: hostile until checked.
The check lives in the connection itself. `GuardedBackend` is the network backend of the
fetcher's connection pool: to open a connection to ``host:port`` it resolves the name
once, refuses the connection if *any* address the name resolves to is private, loopback,
link-local, multicast, reserved, unspecified or otherwise not globally routable (an
IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address is judged by the IPv4 address inside),
and then connects to the address it checked — never resolving the name again, so a DNS
answer that changes between check and connect (DNS rebinding) gains nothing. TLS still
verifies the certificate against the host name in the URL.

Because every connection goes through it, every redirect hop is checked too; the fetcher
also follows redirects itself, one hop at a time, refusing non-http(s) targets.

Decimal (``http://2130706433/``), octal (``0177.0.0.1``), hex and short (``127.1``) forms
resolve, like any name, to the address they mean, and are judged by it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore2
import httpx2

from ..errors import BlockedAddressError, FetchError

__all__ = [
    "GuardedBackend",
    "GuardedTransport",
    "Resolver",
    "blocked_reason",
    "check_url",
    "literal_address",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``async (host, port) -> [ip, ...]``: how names become addresses (patched in tests)."""

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


def blocked_reason(address: str | IPAddress) -> str | None:
    """Why fetching must not connect to `address`, or None when it is a public address."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "a scoped (link-local) IPv6 address"
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo is not None:
            embedded = ip.teredo[1]
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = blocked_reason(embedded)
            return None if inner is None else f"{inner} (inside an IPv6 address)"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared address space (carrier-grade NAT)"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


_NUMERIC = frozenset("0123456789abcdefxABCDEFX.")


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, if it spells one: the usual forms, and the old numeric
    ones (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``) that resolvers still
    accept and mean 127.0.0.1."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and set(host) <= _NUMERIC and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: str | httpx2.URL, *, allow_private: bool = False) -> httpx2.URL:
    """`url` parsed, when fetching may try it: http(s), a host, no user name or password,
    and (when the host is an IP address) a public one. Names are checked on connect."""
    text = str(url)
    if len(text) > 4096:
        raise BlockedAddressError(
            f"URL longer than 4096 characters: {text[:80]}...", url=text[:200]
        )
    try:
        parsed = url if isinstance(url, httpx2.URL) else httpx2.URL(text)
    except (httpx2.InvalidURL, ValueError, TypeError) as exc:
        raise BlockedAddressError(
            f"{text[:200]}: not a valid URL ({exc})", url=text[:200]
        ) from None
    if parsed.scheme not in ("http", "https"):
        raise BlockedAddressError(
            f"{text[:200]}: only http and https URLs are fetched, not {parsed.scheme or 'none'}",
            url=text[:200],
        )
    if not parsed.host:
        raise BlockedAddressError(f"{text[:200]}: the URL has no host", url=text[:200])
    if parsed.userinfo:
        raise BlockedAddressError(
            f"{text[:200]}: URLs with a user name or password are not fetched", url=text[:200]
        )
    if not allow_private:
        literal = literal_address(parsed.host)
        if literal is not None:
            reason = blocked_reason(literal)
            if reason is not None:
                raise BlockedAddressError(
                    f"{text[:200]}: refused, {parsed.host} is a {reason} address",
                    url=text[:200],
                )
    return parsed


async def system_resolver(host: str, port: int) -> list[str]:
    """The machine's resolver (getaddrinfo), as the addresses it returns, in order."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore2.ConnectError(f"cannot resolve {host!r}: {exc.strerror}") from None
    seen: dict[str, None] = {}
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """A network backend that resolves, checks, then connects to the checked address."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        inner: httpcore2.AsyncNetworkBackend | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.resolver: Resolver = resolver or system_resolver
        self.inner = inner or httpcore2.AnyIOBackend()
        self.connections: list[tuple[str, str, int]] = []
        """(host asked for, address connected to, port) of each connection, in order."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        host = host.strip("[]")
        literal = literal_address(host)
        addresses = [str(literal)] if literal is not None else list(await self.resolver(host, port))
        if not addresses:
            raise httpcore2.ConnectError(f"{host!r} resolves to no address")
        if not self.allow_private:
            for address in addresses:
                reason = blocked_reason(address)
                if reason is not None:
                    shown = host if host == address else f"{host} ({address})"
                    raise BlockedAddressError(
                        f"refused to connect to {shown}: a {reason} address", url=host
                    )
        error: Exception | None = None
        for address in addresses:
            self.connections.append((host, address, port))
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout, OSError) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are never fetched", url=path)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _ssl_context() -> ssl.SSLContext:
    try:
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except ImportError:  # pragma: no cover - httpx2 depends on truststore
        return ssl.create_default_context()


class GuardedTransport(httpx2.AsyncBaseTransport):
    """An httpx2 transport over an httpcore2 pool whose connections go through
    `GuardedBackend`. No proxies (they would resolve names themselves), HTTP/1.1."""

    def __init__(self, backend: GuardedBackend, *, max_connections: int = 20) -> None:
        self.backend = backend
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections // 2,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.AsyncByteStream)
        core = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core)
        except httpcore2.TimeoutException as exc:
            raise httpx2.TimeoutException(str(exc) or "timed out", request=request) from None
        except (httpcore2.NetworkError, httpcore2.ProtocolError) as exc:
            raise httpx2.TransportError(str(exc) or type(exc).__name__) from None
        stream = response.stream
        assert hasattr(stream, "__aiter__")
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ResponseStream(httpx2.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> Any:
        try:
            async for part in self._stream:
                yield part
        except httpcore2.TimeoutException as exc:
            raise httpx2.ReadTimeout(str(exc) or "read timed out") from None
        except (httpcore2.NetworkError, httpcore2.ProtocolError) as exc:
            raise httpx2.TransportError(str(exc) or type(exc).__name__) from None

    async def aclose(self) -> None:
        closer = getattr(self._stream, "aclose", None)
        if closer is not None:
            await closer()


def as_fetch_error(url: str, exc: BaseException) -> FetchError:
    """A FetchError for a transport failure (used by the fetcher)."""
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, httpx2.TimeoutException | TimeoutError):
        return FetchError(f"{url}: timed out", url=url)
    return FetchError(f"{url}: {exc or type(exc).__name__}", url=url)
