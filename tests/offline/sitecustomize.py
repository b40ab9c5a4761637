"""Loaded by Python at start-up when this folder is on PYTHONPATH: refuse every non-loopback
connection.

tests/test_reliability.py starts a notebook kernel with it, so a lesson that tried to download
anything would fail there.
"""

import socket

_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (
        host.startswith("127.") or host in ("localhost", "::1") or self.family == socket.AF_UNIX
    ):
        return _connect(self, address)
    raise OSError(f"network blocked by labkit's offline test: connect to {address!r}")


socket.socket.connect = _loopback_only
