"""A body nobody read does not hold the server (gunicorn gthread, benoitc/gunicorn#3301).

Large POSTs answered without reading the body (here: to a URL that does not exist), each
on a connection kept alive and then left idle, as nginx's upstream pool leaves them: the
rest of each body used to be taken for the next request, and every such connection held
one of the worker's four threads until its client sent again. The fifth visitor waited.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import requests


def _post_and_stay(host: str, port: int, size: int) -> socket.socket:
    connection = socket.create_connection((host, port), timeout=10)
    body = b"catatan=" + b"x" * size
    connection.sendall(b"POST /tidak-ada HTTP/1.1\r\nHost: " + host.encode() +
                       b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 404"), answer[:80]
    return connection  # kept alive, and idle


def test_idle_connections_after_unread_bodies_leave_threads_free(city):
    where = urlsplit(city.url)
    idle = [_post_and_stay(where.hostname, where.port, 40_000) for _ in range(6)]
    try:
        started = time.monotonic()
        answer = requests.get(city.url + "/", timeout=15)
        assert answer.status_code == 200
        assert time.monotonic() - started < 5
    finally:
        for connection in idle:
            connection.close()
