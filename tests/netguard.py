"""The suite's no-network guard: any connection beyond this machine fails the test.

Installed for every test by ``tests/conftest.py``. Loopback stays open (the browser tests talk to
chromedriver and to a page served on localhost); everything else — a TCP connection to another
host, a DNS lookup of another name, an HTTP request through requests or curl_cffi (yfinance's
transport) — raises :class:`NetworkBlocked`, an ``AssertionError`` so that no code under test
can swallow it as a network error.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class NetworkBlocked(AssertionError):
    """A test tried to reach the network."""


def _is_local(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every non-loopback connection, name lookup and HTTP request for one test."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def refuse(what: str, target: Any) -> NetworkBlocked:
        return NetworkBlocked(f"network access attempted in a test: {what} {target!r}")

    def local_address(sock: socket.socket, address: Any) -> bool:
        if sock.family == getattr(socket, "AF_UNIX", None):
            return True
        return isinstance(address, tuple) and _is_local(address[0])

    def connect(self: socket.socket, address: Any) -> Any:
        if not local_address(self, address):
            raise refuse("connect", address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not local_address(self, address):
            raise refuse("connect_ex", address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        if not (isinstance(address, tuple) and _is_local(address[0])):
            raise refuse("create_connection", address)
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_local(host):
            raise refuse("getaddrinfo", host)
        return real_getaddrinfo(host, *args, **kwargs)

    def http(*args: Any, **kwargs: Any) -> Any:
        raise refuse("HTTP request", args[1:2])

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        import requests
    except ImportError:  # pragma: no cover
        pass
    else:
        monkeypatch.setattr(requests.Session, "send", http)
    try:
        from curl_cffi.requests import Session as CurlSession
    except ImportError:  # pragma: no cover
        return
    monkeypatch.setattr(CurlSession, "request", http)
