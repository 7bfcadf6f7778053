"""A small HTTP/1.1 load generator on raw asyncio streams, for bench/catalogue.py.

Run as its own process, so that it does not share an interpreter (or a GIL) with
anything it measures: it reads one JSON scenario on stdin and writes one JSON
result on stdout::

    {"host": "127.0.0.1", "port": 8000, "urls": ["/sehat"], "headers": {},
     "connections": 8, "seconds": 20, "warmup": 2}

Each of ``connections`` workers keeps one keep-alive connection and sends a
request as soon as the previous answer is in, cycling through ``urls``. When
the server closes the connection (gunicorn's sync workers do after every
response) the worker opens a new one; the connect time then counts in that
request's latency, as it would for a browser. Every request records its client
latency, its status, the server's own ``Server-Timing: app;dur=`` figure and its
body size. Requests that start during the warm-up are not recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import resource
import statistics
import sys
import time

TIMEOUT = 30.0  # seconds for one request; longer counts as an error
_DUR = re.compile(rb"dur=([0-9.]+)")


def percentiles(values: list[float], cuts=(50, 95, 99)) -> dict[str, float | None]:
    """p50/p95/p99 the way bench/search_engine.py cuts them (inclusive quantiles)."""
    if not values:
        return {f"p{c}": None for c in cuts}
    if len(values) == 1:
        return {f"p{c}": values[0] for c in cuts}
    quantiles = statistics.quantiles(values, n=100, method="inclusive")
    return {f"p{c}": quantiles[c - 1] for c in cuts}


class Response:
    __slots__ = ("status", "headers", "cookies", "body", "close")

    def __init__(self, status: int, headers: dict[bytes, bytes], cookies: list[bytes],
                 body: bytes, close: bool):
        self.status, self.headers, self.cookies, self.body, self.close = (
            status, headers, cookies, body, close)

    @property
    def location(self) -> str:
        return self.headers.get(b"location", b"").decode()

    @property
    def server_ms(self) -> float | None:
        timing = self.headers.get(b"server-timing")
        match = _DUR.search(timing) if timing else None
        return float(match.group(1)) if match else None


def build_request(host: str, port: int, url: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {url} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: gerai-bench",
             "Accept: */*", "Accept-Encoding: identity", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_response(reader: asyncio.StreamReader) -> Response:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    version, status = lines[0].split(b" ", 2)[:2]
    headers: dict[bytes, bytes] = {}
    cookies: list[bytes] = []  # Set-Cookie comes once per cookie
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip()
        if name == b"set-cookie":
            cookies.append(value)
        headers[name] = value
    close = headers.get(b"connection", b"").lower() == b"close" or version == b"HTTP/1.0"
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            parts.append((await reader.readexactly(size + 2))[:-2])
        body = b"".join(parts)
    elif int(status) in (204, 304) or 100 <= int(status) < 200:
        body = b""
    else:
        body, close = await reader.read(), True
    return Response(int(status), headers, cookies, body, close)


class Connection:
    """One keep-alive connection that reopens itself when the server closed it."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.fresh = False  # whether the last request had to open the connection

    async def request(self, payload: bytes) -> Response:
        self.fresh = self.writer is None
        if self.fresh:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 20)
        self.writer.write(payload)
        await self.writer.drain()
        response = await read_response(self.reader)
        if response.close:
            self.drop()
        return response

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def fetch(host: str, port: int, urls: list[str], headers: dict[str, str] | None = None):
    """Each URL once, one at a time: (status, server ms, headers, body) per URL."""
    connection = Connection(host, port)
    answers = []
    try:
        for url in urls:
            response = await asyncio.wait_for(
                connection.request(build_request(host, port, url, headers or {})), TIMEOUT)
            answers.append((response.status, response.server_ms, response.headers, response.body))
    finally:
        connection.drop()
    return answers


def fetch_sync(host: str, port: int, urls: list[str], headers: dict[str, str] | None = None):
    return asyncio.run(fetch(host, port, urls, headers))


async def _run(config: dict) -> dict:
    host, port = config["host"], config["port"]
    payloads = [build_request(host, port, url, config.get("headers", {})) for url in config["urls"]]
    next_payload = itertools.cycle(payloads).__next__
    connections = [Connection(host, port) for _ in range(config["connections"])]
    client_ms: list[float] = []
    server_ms: list[float] = []
    sizes: list[int] = []
    statuses: dict[str, int] = {}
    failures: dict[str, int] = {}
    reconnects = 0
    started = time.perf_counter()
    measuring_from = started + config.get("warmup", 2.0)
    until = measuring_from + config["seconds"]
    last_done = measuring_from

    async def worker(connection: Connection) -> None:
        nonlocal last_done, reconnects
        while (begin := time.perf_counter()) < until:
            payload = next_payload()
            try:
                response = await asyncio.wait_for(connection.request(payload), TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    asyncio.TimeoutError, ValueError) as error:
                connection.drop()
                if begin >= measuring_from:
                    failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
                await asyncio.sleep(0.01)  # a refusing server must not spin the client
                continue
            done = time.perf_counter()
            if begin < measuring_from:
                continue
            last_done = max(last_done, done)
            reconnects += connection.fresh
            client_ms.append((done - begin) * 1000)
            statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1
            sizes.append(len(response.body))
            if (dur := response.server_ms) is not None:
                server_ms.append(dur)

    cpu_before = _cpu_seconds()
    await asyncio.gather(*(worker(c) for c in connections))
    cpu = _cpu_seconds() - cpu_before
    for connection in connections:
        connection.drop()
    elapsed = max(last_done - measuring_from, 1e-9)
    completed = len(client_ms)
    errors = sum(n for status, n in statuses.items() if status != "200") + sum(failures.values())
    return {
        "requests": completed,
        "seconds": elapsed,
        "rps": completed / elapsed,
        "client_ms": percentiles(client_ms),
        "server_ms": percentiles(server_ms),
        "server_ms_mean": statistics.fmean(server_ms) if server_ms else None,
        "with_server_timing": len(server_ms),
        "statuses": statuses,
        "failures": failures,
        "errors": errors,
        "mean_bytes": statistics.fmean(sizes) if sizes else 0,
        "connections_opened": reconnects,
        # this process's CPU over warm-up and measurement, in cores
        "client_cpu_cores": cpu / max(time.perf_counter() - started, 1e-9),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(config: dict) -> dict:
    return asyncio.run(_run(config))


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
