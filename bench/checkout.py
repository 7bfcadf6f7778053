"""Checkout under load on PostgreSQL: paid checkouts a second, their latency, and the oversell race.

    .venv/bin/python bench/checkout.py [--shoppers 50] [--seconds 30] [--workers 2] [--threads 4]
        [--warmup 5] [--database-url postgresql+psycopg://root@127.0.0.1:5432/test]
        [--products 400] [--shops 40] [--keep-logs]

Makes a PostgreSQL schema of its own (``gerai_bench_<pid>``, through
``options=-csearch_path=...`` on the URL), migrates it with ``flask db upgrade``, seeds
it with ``flask seed-demo`` and gives every visible product a large stock, but one
that keeps exactly 20 units for the race. Then serves:

* the sandbox gateway (``create_sandbox_app``) under gunicorn, one process (its state
  is in memory), gthread; it POSTs signed webhooks to Gerai's /payments/webhooks/sandbox;
* Gerai under gunicorn, gthread workers (the app calls the gateway over HTTP in
  /checkout/bayar, so a worker must be able to serve other requests meanwhile),
  with SANDBOX_MOUNT=0, WORKER_THREAD=0 and the rate limiter off (every shopper here
  comes from 127.0.0.1: its 10/minute on /checkout/bayar would refuse almost all).

Shoppers are asyncio tasks on raw keep-alive HTTP/1.1 connections with a cookie jar each,
in this process (which does nothing else meanwhile). Each one loops as a browser would:
add 1-2 products (htmx), POST /checkout, GET /checkout/periksa, POST /checkout/bayar,
GET and POST the hosted page, follow the redirect to /pesanan/<code> and poll it
until it says LUNAS. A paid checkout counts when that page says LUNAS.

0. One shopper alone (30 checkouts after 5 to warm up): what a checkout costs without
   contention, ms a step and CPU ms in each process; their sum bounds what the machine
   can do at all.
1. Throughput: ``--shoppers`` shoppers for ``--seconds`` after ``--warmup``: paid
   checkouts a second; p50/p95/p99 of the whole checkout (first request to paid) and of
   POST /checkout/bayar; errors (a non-2xx/3xx answer, a failed request, a purchase not
   paid within 30 s); CPU of each process; PostgreSQL sessions by state.
2. The oversell race: 200 shoppers with 1 unit each of the 20-unit product get their
   carts and reviews ready, then all press "Bayar" together.
3. The ledger, from the database: every paid purchase's orders are paid, stock is the
   initial stock less what unreleased purchases hold, the stock history adds up, no
   stock is negative.

Prints figures and whether the target is met; exits non-zero only when something is
broken (a server does not start, seeding fails), never for a missed target. Every
process it starts is stopped and the schema dropped, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH)]

import psycopg  # noqa: E402
from _loadgen import Response, percentiles, read_response  # noqa: E402

HOST = "127.0.0.1"
TARGET_PER_S = 100.0  # paid checkouts a second, from the issue
PAID_WITHIN_S = 30.0  # a purchase not paid this long after "Bayar" is an error
REQUEST_TIMEOUT = 30.0
POLL_EVERY_S = 0.1  # the browser's page asks every 2 s; a finer poll measures better
RACE_SHOPPERS, RACE_UNITS = 200, 20
LARGE_STOCK = 1_000_000
WEBHOOK_SECRET = "whsec_gerai_bench"
STRIPE_SANDBOX_KEY = "sk_test_sandbox"  # create_sandbox_app's default key (start_sandbox: no other)
XENDIT_SECRET_KEY = "xnd_development_gerai_bench"  # the QRIS sandbox takes development keys
XENDIT_CALLBACK_TOKEN = "gerai-bench-xendit-callback-token"
APP_NAME = f"gerai-bench-{os.getpid()}"  # PostgreSQL application_name of Gerai's sessions
DISTURBED_CORES = 0.25
_CSRF_META = re.compile(rb'name="csrf-token" content="([^"]+)"')
_PAGE_TOKEN = re.compile(rb'name="token" value="([^"]+)"')
STEPS = ("add", "details", "review", "bayar", "hosted page", "hosted pay", "receipt", "poll")


# --- small helpers -------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def ms(value: float | None) -> str:
    return "     -" if value is None else f"{value:7.1f}"


def cuts(values: list[float]) -> str:
    c = percentiles(values)
    return f"p50 {ms(c['p50'])}  p95 {ms(c['p95'])}  p99 {ms(c['p99'])}"


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def hidden_value(page: bytes, name: str) -> str | None:
    marker = f'name="{name}" type="hidden" value="'.encode()
    start = page.find(marker)
    if start < 0:
        return None
    start += len(marker)
    return page[start:page.index(b'"', start)].decode()


# --- PostgreSQL ----------------------------------------------------------------------

def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq takes it (no +driver)."""
    scheme, sep, rest = url.partition("://")
    return scheme.split("+")[0] + sep + rest


def with_query(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params, safe="-")


def connect(url: str, schema: str | None = None, name: str = APP_NAME + "-bench",
            autocommit: bool = True) -> psycopg.Connection:
    extra = {"options": f"-csearch_path={schema}"} if schema else {}
    return psycopg.connect(libpq_url(url), autocommit=autocommit, application_name=name,
                           connect_timeout=5, **extra)


# --- processes and their CPU ---------------------------------------------------------

def start_gunicorn(args: list[str], env: dict, log_path: Path, ready_path: str,
                   port: int, what: str) -> subprocess.Popen:
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"{HOST}:{port}", "--graceful-timeout", "5",
         *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)  # its own group: Ctrl-C reaches us, and we stop it
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, _, _ = asyncio.run(_one_get(port, ready_path))
            if status == 200:
                return process
        except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, TimeoutError):
            pass
        time.sleep(0.2)
    stop(process)
    tail = log_path.read_text(errors="replace").splitlines()[-30:]
    print("\n".join(tail), file=sys.stderr)
    raise SystemExit(f"{what} did not answer {ready_path} within 60 s (log: {log_path})")


async def _one_get(port: int, path: str, headers: dict[str, str] | None = None):
    connection = Connection(HOST, port)
    try:
        response = await asyncio.wait_for(connection.request("GET", path, headers=headers), 5)
        return response.status, response.headers, response.body
    finally:
        connection.drop()


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)  # the master stops its workers
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # its own group: master and workers
        except ProcessLookupError:
            pass
        process.wait()


def proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds so far) for every process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return table


def tree_cpu(table: dict, root: int) -> float:
    """CPU of ``root`` and its children (a gunicorn master and its workers)."""
    return sum(cpu for pid, (ppid, cpu) in table.items() if pid == root or ppid == root)


def machine_busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuSnapshot:
    at: float
    table: dict
    busy: float
    own: float


def snapshot() -> CpuSnapshot:
    return CpuSnapshot(time.perf_counter(), proc_table(), machine_busy_seconds(), own_cpu_seconds())


def cpu_between(first: CpuSnapshot, last: CpuSnapshot, gerai: int, sandbox: int,
                postmaster: int | None, our_backends: set[int]) -> dict[str, float]:
    """Cores each part used between two snapshots."""
    wall = max(last.at - first.at, 1e-9)

    def delta(pids) -> float:
        return sum(last.table[p][1] - first.table.get(p, (0, 0.0))[1] for p in pids
                   if p in last.table)

    def tree(root) -> set[int]:
        return {p for p, (pp, _) in last.table.items() if p == root or pp == root}

    parts = {"gerai": delta(tree(gerai)) / wall, "sandbox": delta(tree(sandbox)) / wall,
             "load generator": (last.own - first.own) / wall}
    if postmaster is not None:
        everything = tree(postmaster)
        ours = delta(everything & our_backends) / wall
        parts["postgres, Gerai's sessions"] = ours
        parts["postgres, the rest"] = delta(everything) / wall - ours
    else:
        print("  (PostgreSQL's processes were not found on this machine: its CPU is not counted)")
    parts["machine"] = (last.busy - first.busy) / wall
    parts["everything else"] = max(parts["machine"] - sum(
        v for k, v in parts.items() if k != "machine"), 0.0)
    return parts


# --- the servers a benchmark runs, and what it leaves behind --------------------------------

def server_env(scratch: Path, database_url: str, sandbox_url: str, hook: str | None) -> dict:
    """Gerai's environment (its gunicorn and its flask commands): production settings,
    the embedded search engine and media in ``scratch``, the sandbox gateway at
    ``sandbox_url`` (not mounted inside Gerai), no background worker thread."""
    env = os.environ.copy()
    for name in ("MEILI_URL", "MEILI_MASTER_KEY", "REDIS_URL", "FLASK_APP", "FLASK_DEBUG"):
        env.pop(name, None)
    env.update(
        GERAI_ENV="production", GERAI_INSTANCE=str(scratch), DATABASE_URL=database_url,
        SEARCH_BACKEND="embedded", SEARCH_INDEX_PATH=str(scratch / "search-index"),
        MEDIA_ROOT=str(scratch / "media"), SECRET_KEY="gerai-bench-only-not-a-secret",
        WORKER_THREAD="0", PYTHONUNBUFFERED="1", PAYMENT_GATEWAY="sandbox", SANDBOX_MOUNT="0",
        SANDBOX_GATEWAY_URL=sandbox_url, SANDBOX_WEBHOOK_URL=hook or "",
        SANDBOX_WEBHOOK_SECRET=WEBHOOK_SECRET,
        # No QRIS unless a benchmark asks for it (with_xendit), whatever this shell has set.
        QRIS_GATEWAY="", STAND_GATEWAY="", XENDIT_SANDBOX_MOUNT="0")
    return env


def with_xendit(env: dict, xendit_url: str) -> dict:
    """Gerai's environment with QRIS (online and at stands) through the Xendit-compatible
    sandbox at ``xendit_url``, run apart (not mounted inside Gerai)."""
    return dict(env, QRIS_GATEWAY="xendit", XENDIT_API_URL=xendit_url,
                XENDIT_SECRET_KEY=XENDIT_SECRET_KEY, XENDIT_CALLBACK_TOKEN=XENDIT_CALLBACK_TOKEN,
                XENDIT_SANDBOX_MOUNT="0")


def start_sandbox(env: dict, scratch: Path, port: int, hook: str, threads: int) -> subprocess.Popen:
    """The sandbox under gunicorn: one process (its state is in memory), gthread."""
    return start_gunicorn(
        ["-w", "1", "-k", "gthread", "--threads", str(threads), "--keep-alive", "10",
         f"storefront.payments.sandbox:create_sandbox_app(webhook_url={hook!r}, "
         f"webhook_secret={WEBHOOK_SECRET!r}, public_base='http://{HOST}:{port}')"],
        env, scratch / "sandbox.log", "/_assets/pay.css", port, "the sandbox")


def start_xendit_sandbox(env: dict, scratch: Path, port: int, callback_url: str,
                         threads: int) -> subprocess.Popen:
    """The Xendit-compatible QRIS sandbox under gunicorn: one process (its state is in
    memory), gthread; its callbacks (qr.payment, x-callback-token) go to ``callback_url``."""
    return start_gunicorn(
        ["-w", "1", "-k", "gthread", "--threads", str(threads), "--keep-alive", "10",
         f"storefront.payments.xendit_sandbox:create_xendit_sandbox_app("
         f"secret_key={XENDIT_SECRET_KEY!r}, callback_url={callback_url!r}, "
         f"callback_token={XENDIT_CALLBACK_TOKEN!r})"],
        env, scratch / "xendit-sandbox.log", "/wallet", port, "the Xendit sandbox")


def start_gerai(env: dict, scratch: Path, port: int, workers: int, threads: int,
                timeout: int = 60) -> subprocess.Popen:
    """Gerai under gunicorn, gthread, the rate limiter and the per-client hold limits off:
    every simulated shopper comes from 127.0.0.1, which the limits would read as one client."""
    return start_gunicorn(
        ["-w", str(workers), "-k", "gthread", "--threads", str(threads),
         "--keep-alive", "10", "--timeout", str(timeout),
         "storefront:create_app({'RATELIMIT_ENABLED': False, 'HOLDS_PER_CLIENT': 1000000000, "
         "'HELD_UNITS_PER_CLIENT_PRODUCT': 1000000000})"],
        env, scratch / "gerai.log", "/sehat", port, "Gerai")


def print_log_errors(scratch: Path) -> None:
    for path in ("gerai.log", "sandbox.log", "xendit-sandbox.log"):
        if not (scratch / path).exists():
            continue
        text = (scratch / path).read_text(errors="replace")
        if "Traceback" in text or "[ERROR]" in text:
            print(f"  !! {path} has errors; first lines:")
            for line in [x for x in text.splitlines() if "Error" in x or "ERROR" in x][:8]:
                print(f"     {line[:200]}")


def print_machine() -> None:
    """The line every benchmark prints first: what shares this machine's cores."""
    print(f"Machine: {os.cpu_count() or 1} cores ({platform.machine()}, Python "
          f"{platform.python_version()}). Gerai, the sandbox gateway, PostgreSQL and the load "
          "generator all share them over loopback, with whatever else runs here: the figures "
          "are what this machine does with everything on it.")
    print("  load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


def bench_servers_env(database_url: str, schema: str, scratch: Path) -> tuple[dict, int, int, str]:
    """Ports for Gerai and the sandbox, the webhook address, and Gerai's environment on
    the benchmark's own schema."""
    gerai_port, sandbox_port = free_port(), free_port()
    hook = f"http://{HOST}:{gerai_port}/payments/webhooks/sandbox"
    env = server_env(scratch, with_query(database_url, options=f"-csearch_path={schema}",
                                         application_name=APP_NAME),
                     f"http://{HOST}:{sandbox_port}", hook)
    return env, gerai_port, sandbox_port, hook


def create_schema(url: str, schema: str) -> None:
    try:
        with connect(url) as db:
            db.execute(f'create schema "{schema}"')
    except psycopg.Error as error:
        raise SystemExit(f"PostgreSQL at {url}: {error}") from None


def clean_up(servers: list[subprocess.Popen | None], url: str, schema: str, scratch: Path,
             keep_logs: bool) -> None:
    """Stop the servers, drop the schema, remove the scratch folder (or say where it is)."""
    for server in servers:
        stop(server)
    try:
        with connect(url) as db:
            db.execute(f'drop schema if exists "{schema}" cascade')
    except psycopg.Error as error:
        print(f"!! could not drop schema {schema}: {error}", file=sys.stderr)
    if keep_logs:
        print(f"\nLogs kept in {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)


# --- HTTP: keep-alive connections with a cookie jar ------------------------------------

class Connection:
    """One keep-alive connection to one origin, with that origin's cookies.

    Like a browser, a request on a reused connection that the server had closed
    meanwhile (nothing came back at all) is sent again once on a new connection.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, form: dict | None = None,
                      headers: dict[str, str] | None = None) -> Response:
        body = urlencode(form).encode() if form is not None else b""
        # Given headers replace these defaults (gunicorn would join a repeated "Accept").
        fields = {"User-Agent": "gerai-bench", "Accept": "text/html,*/*",
                  "Accept-Encoding": "identity", "Connection": "keep-alive", **(headers or {})}
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in fields.items()]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            fresh = self.writer is None
            if fresh:
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port, limit=1 << 20)
            try:
                self.writer.write(payload)
                await self.writer.drain()
                response = await read_response(self.reader)
                break
            except (ConnectionError, asyncio.IncompleteReadError) as error:
                self.drop()
                nothing_came = not isinstance(error, asyncio.IncompleteReadError) or \
                    not error.partial
                if fresh or attempt == 2 or not nothing_came:
                    raise
        if response.close:
            self.drop()
        for cookie in response.cookies:
            pair = cookie.split(b";")[0].decode("latin-1")
            name, _, value = pair.partition("=")
            attrs = cookie.lower()
            if not value or b"max-age=0" in attrs or b"expires=thu, 01 jan 1970" in attrs:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        return response

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# --- shoppers -------------------------------------------------------------------------

class Broken(Exception):
    """A step answered what a browser would show as an error."""

    def __init__(self, step: str, what: str):
        super().__init__(f"{step}: {what}")
        self.step, self.what = step, what


@dataclass
class Product:
    id: int
    shop_id: int


@dataclass
class Checkout:
    started: float
    paid: float
    bayar_ms: float
    bayar_server_ms: float | None
    code: str
    polls: int
    adds: int
    steps: dict[str, float]  # client ms per step, and "server <step>" ms (summed when repeated)


class Shopper:
    def __init__(self, number: int, gerai_port: int):
        self.number = number
        self.gerai_port = gerai_port
        self.gerai = Connection(HOST, gerai_port)
        self.hosted: dict[tuple[str, int], Connection] = {}
        self.csrf: str | None = None

    def reset(self) -> None:
        """After an error: a new browser (new cookies, new cart, new connections)."""
        self.gerai.drop()
        for connection in self.hosted.values():
            connection.drop()
        self.gerai = Connection(HOST, self.gerai_port)
        self.hosted, self.csrf = {}, None

    async def call(self, step: str, method: str, path: str, form=None, headers=None,
                   expect=(200,), timings: dict | None = None,
                   connection: Connection | None = None) -> Response:
        began = time.perf_counter()
        try:
            response = await asyncio.wait_for(
                (connection or self.gerai).request(method, path, form, headers), REQUEST_TIMEOUT)
        except asyncio.TimeoutError:
            (connection or self.gerai).drop()
            raise Broken(step, "timeout") from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError) as error:
            raise Broken(step, type(error).__name__) from None
        if timings is not None:
            timings[step] = timings.get(step, 0.0) + (time.perf_counter() - began) * 1000
            if (server := response.server_ms) is not None:
                timings["server " + step] = timings.get("server " + step, 0.0) + server
        if response.status not in expect:
            raise Broken(step, str(response.status))
        return response

    async def ensure_token(self) -> None:
        if self.csrf is None:
            page = await self.call("cart page", "GET", "/keranjang")
            match = _CSRF_META.search(page.body)
            if not match:
                raise Broken("cart page", "no csrf-token")
            self.csrf = match.group(1).decode()

    async def fill_and_review(self, picks: list[tuple[Product, int]],
                              timings: dict | None = None) -> dict:
        """Cart, contact details and the review page: the form that "Bayar" sends."""
        await self.ensure_token()
        for product, quantity in picks:
            await self.call("add", "POST", "/keranjang/tambah",
                            {"product_id": product.id, "quantity": quantity,
                             "csrf_token": self.csrf},
                            {"HX-Request": "true", "HX-Target": f"beli-{product.id}"},
                            timings=timings)
        form = {"name": f"Pembeli Bench {self.number}", "whatsapp": "0812 1111 2222",
                "email": "", "csrf_token": self.csrf}
        form.update({f"antar-{product.shop_id}": "pickup" for product, _ in picks})
        details = await self.call("details", "POST", "/checkout", form, expect=(303,),
                                  timings=timings)
        if not urlsplit(details.location).path.endswith("/checkout/periksa"):
            raise Broken("details", f"went to {details.location}")
        review = await self.call("review", "GET", "/checkout/periksa", timings=timings)
        pay = {name: hidden_value(review.body, name)
               for name in ("csrf_token", "attempt", "fingerprint")}
        if None in pay.values():
            raise Broken("review", "no pay form")
        self.csrf = pay["csrf_token"]
        return pay

    def connection_to(self, url: str) -> Connection:
        """This browser's kept-alive connection to another origin (a gateway's pages)."""
        parts = urlsplit(url)
        key = (parts.hostname, parts.port)
        if key not in self.hosted:
            self.hosted[key] = Connection(parts.hostname, parts.port)
        return self.hosted[key]

    async def pay_hosted(self, page_url: str, timings: dict | None = None, call=None) -> str:
        """The hosted page: open it, press "Bayar"; returns where it sends the shopper.
        ``call``: what sends each request (``self.call`` unless a caller counts them)."""
        call = call or self.call
        path, connection = urlsplit(page_url).path, self.connection_to(page_url)
        page = await call("hosted page", "GET", path, timings=timings, connection=connection)
        match = _PAGE_TOKEN.search(page.body)
        if not match:
            raise Broken("hosted page", "no token")
        paid = await call("hosted pay", "POST", path,
                          {"token": match.group(1).decode(), "choice": "pay"},
                          expect=(303,), timings=timings, connection=connection)
        return paid.location

    async def wait_paid(self, receipt_url: str, deadline: float,
                        timings: dict | None = None) -> int:
        """Follow the gateway's redirect to the receipt and ask until it says LUNAS."""
        path = urlsplit(receipt_url).path
        if not path.startswith("/pesanan/"):
            raise Broken("hosted pay", f"went to {receipt_url}")
        page = await self.call("receipt", "GET", path, timings=timings)
        polls = 0
        while "LUNAS".encode() not in page.body:
            if time.perf_counter() > deadline:
                raise Broken("paid", f"not paid within {PAID_WITHIN_S:g} s")
            await asyncio.sleep(POLL_EVERY_S)
            polls += 1
            page = await self.call("poll", "GET", path, timings=timings, headers={
                "HX-Request": "true", "HX-Target": "status-pembayaran"})
        return polls

    async def checkout(self, picks: list[tuple[Product, int]]) -> Checkout:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        pay = await self.fill_and_review(picks, timings)
        began = time.perf_counter()
        answer = await self.call("bayar", "POST", "/checkout/bayar", pay, expect=(303,),
                                 timings=timings)
        bayar_ms = (time.perf_counter() - began) * 1000
        if "/pay/" not in answer.location:
            raise Broken("bayar", f"went to {urlsplit(answer.location).path}")
        receipt = await self.pay_hosted(answer.location, timings)
        polls = await self.wait_paid(receipt, began + PAID_WITHIN_S, timings)
        return Checkout(started, time.perf_counter(), bayar_ms, answer.server_ms,
                        urlsplit(receipt).path.rsplit("/", 1)[-1], polls, len(picks), timings)


# --- PostgreSQL sessions while loaded --------------------------------------------------

class SessionSampler:
    """Gerai's PostgreSQL sessions by state, twice a second; and their backend pids."""

    def __init__(self, url: str):
        self.url = url
        self.samples: list[dict[str, int]] = []
        self.backends: set[int] = set()
        self.postmaster: int | None = None

    async def run(self, until: float) -> None:
        try:
            connection = await psycopg.AsyncConnection.connect(
                libpq_url(self.url), autocommit=True, application_name=APP_NAME + "-meter")
        except psycopg.Error as error:
            print(f"  (no PostgreSQL session sampling: {error})")
            return
        async with connection:
            own = (await (await connection.execute("select pg_backend_pid()")).fetchone())[0]
            parent = proc_table().get(own)
            self.postmaster = parent[0] if parent else None  # a local server: its postmaster
            while time.perf_counter() < until:
                rows = await (await connection.execute(
                    "select pid, state, wait_event_type from pg_stat_activity "
                    "where application_name = %s", (APP_NAME,))).fetchall()
                sample: dict[str, int] = {}
                for pid, state, wait in rows:
                    self.backends.add(pid)
                    key = "waiting on a lock" if wait == "Lock" else (state or "?")
                    sample[key] = sample.get(key, 0) + 1
                sample["connections"] = len(rows)
                self.samples.append(sample)
                await asyncio.sleep(0.5)

    def summary(self) -> dict[str, float]:
        keys = {k for s in self.samples for k in s}
        return {k: statistics.fmean(s.get(k, 0) for s in self.samples) for k in sorted(keys)} \
            if self.samples else {}


def our_backends(meter_url: str) -> tuple[int | None, set[int]]:
    """The postmaster's pid (a local server) and the pids of Gerai's sessions now."""
    with psycopg.connect(libpq_url(meter_url), autocommit=True,
                         application_name=APP_NAME + "-meter") as connection:
        own = connection.execute("select pg_backend_pid()").fetchone()[0]
        pids = {pid for (pid,) in connection.execute(
            "select pid from pg_stat_activity where application_name = %s", (APP_NAME,))}
        parent = proc_table().get(own)  # while this session (and its process) lives
    return (parent[0] if parent else None), pids


def step_means(checkouts: list[Checkout], prefix: str = "") -> dict[str, float]:
    """Mean ms a checkout for each step ("add" per product added)."""
    means = {}
    for step in STEPS:
        values = [c.steps.get(prefix + step, 0.0) / (c.adds if step == "add" else 1)
                  for c in checkouts]
        if values and any(values):
            means[step] = statistics.fmean(values)
    return means


# --- 0. one shopper alone ----------------------------------------------------------------

async def alone(gerai_port: int, products: list[Product], meter_url: str, pids: dict,
                warm: int = 5, count: int = 30) -> dict:
    me = Shopper(0, gerai_port)
    rng = random.Random(7)

    def picks():
        return [(p, 1) for p in rng.sample(products, rng.choice((1, 2)))]

    warming = [await me.checkout(picks()) for _ in range(warm)]
    first = snapshot()
    done = [await me.checkout(picks()) for _ in range(count)]
    await asyncio.sleep(0.3)  # the last webhooks land
    last = snapshot()
    me.reset()
    postmaster, backends = our_backends(meter_url)
    cpu = cpu_between(first, last, pids["gerai"], pids["sandbox"], postmaster, backends)
    return {"done": done, "warming": warming, "cpu": cpu, "wall": last.at - first.at}


def print_alone(result: dict) -> float:
    """Prints what one checkout costs; returns the CPU ms of one checkout, all parts."""
    done: list[Checkout] = result["done"]
    print(f"\n(0) One shopper alone: {len(done)} checkouts one after another (after 5 to warm up)")
    print(f"  checkout ms         {cuts([(c.paid - c.started) * 1000 for c in done])}")
    print(f"  /checkout/bayar ms  {cuts([c.bayar_ms for c in done])}   (client)")
    client, server = step_means(done), step_means(done, "server ")
    print("  ms a step (mean): client / server (Server-Timing app;dur; none from the sandbox)")
    for step, value in client.items():
        print(f"    {step:<18}{value:7.1f} / " + (f"{server[step]:6.1f}" if step in server else "     -")
              + ("   (per product added)" if step == "add" else ""))
    per = len(done) / result["wall"]
    print("  CPU ms a checkout (a checkout also brings Gerai the gateway's webhook; the "
          "receipt only reads):")
    total = 0.0
    cpu = result["cpu"]
    for part, cores in cpu.items():
        if part in ("machine", "everything else", "postgres, the rest"):
            continue
        total += cores * 1000 / per
        print(f"    {part:<28}{cores * 1000 / per:7.2f}")
    print(f"    {'all of these':<28}{total:7.2f}   -> at most "
          f"{(os.cpu_count() or 1) * 1000 / total:.0f} paid checkouts/s on {os.cpu_count()} "
          "cores, were nothing else to run")
    adds = statistics.fmean(c.adds for c in done)
    print(f"  requests a checkout: Gerai {adds + 4:.1f} from the shopper ({adds:.1f} adds, details, "
          "review, bayar, receipt) + 1 webhook; the sandbox 2 from the shopper + 1 API call "
          "from Gerai (create)")
    others = cpu["everything else"] + cpu.get("postgres, the rest", 0.0)
    if others > DISTURBED_CORES / 2:
        print(f"  !! other work used {others:.2f} cores meanwhile: these costs are inflated")
    return total


# --- 1. throughput ---------------------------------------------------------------------

async def throughput(args, gerai_port: int, products: list[Product], meter_url: str,
                     pids: dict) -> dict:
    rng = random.Random(2026)
    started = time.perf_counter()
    window_start = started + args.warmup
    window_end = window_start + args.seconds
    done: list[Checkout] = []
    errors: list[tuple[float, str]] = []
    snapshots: dict[str, CpuSnapshot] = {}
    sampler = SessionSampler(meter_url)

    async def shopper(number: int) -> None:
        me = Shopper(number, gerai_port)
        mine = random.Random(rng.random())
        await asyncio.sleep(number * 0.02)  # arrive over a second, not in one burst
        while time.perf_counter() < window_end:
            picks = [(p, 1) for p in mine.sample(products, mine.choice((1, 2)))]
            try:
                done.append(await me.checkout(picks))
            except Broken as broken:
                errors.append((time.perf_counter(), f"{broken.step}: {broken.what}"))
                me.reset()
                await asyncio.sleep(0.05)  # a failing server must not spin the client
        me.reset()

    async def cpu_marks() -> None:
        await asyncio.sleep(max(window_start - time.perf_counter(), 0))
        snapshots["start"] = snapshot()
        await asyncio.sleep(max(window_end - time.perf_counter(), 0))
        snapshots["end"] = snapshot()

    async def sample_sessions() -> None:
        await asyncio.sleep(max(window_start - time.perf_counter(), 0))
        await sampler.run(window_end)

    await asyncio.gather(*(shopper(n) for n in range(args.shoppers)), cpu_marks(),
                         sample_sessions())
    drained = time.perf_counter() - window_end
    window = [c for c in done if window_start <= c.paid < window_end]
    window_errors = [e for t, e in errors if window_start <= t < window_end]
    cpu = cpu_between(snapshots["start"], snapshots["end"], pids["gerai"], pids["sandbox"],
                      sampler.postmaster, sampler.backends)
    return {"all": done, "window": window, "errors": [e for _, e in errors],
            "window_errors": window_errors, "cpu": cpu, "sessions": sampler.summary(),
            "backends_seen": len(sampler.backends), "session_samples": sampler.samples,
            "drained_s": drained}


def print_throughput(args, result: dict) -> None:
    window: list[Checkout] = result["window"]
    rate = len(window) / args.seconds
    total = [(c.paid - c.started) * 1000 for c in window]
    bayar = [c.bayar_ms for c in window]
    bayar_server = [c.bayar_server_ms for c in window if c.bayar_server_ms is not None]
    print(f"\n(1) Throughput: {args.shoppers} shoppers, {args.seconds:g} s measured after "
          f"{args.warmup:g} s of warm-up")
    print(f"  paid checkouts/s    {rate:7.1f}   ({len(window)} paid in the window; "
          f"{len(result['all'])} in the whole run)")
    print(f"  checkout ms         {cuts(total)}   (first request to LUNAS)")
    print(f"  /checkout/bayar ms  {cuts(bayar)}   (client)")
    print(f"                      {cuts(bayar_server)}   (server: Server-Timing app;dur)")
    polled = [c.polls for c in window if c.polls]
    if window:
        print(f"  the receipt said LUNAS at once in {len(window) - len(polled)} of {len(window)} "
              "checkouts (it reads what the webhook settled)"
              + (f"; the others polled {statistics.fmean(polled):.1f} times (every "
                 f"{POLL_EVERY_S * 1000:.0f} ms)" if polled else ""))
    errors = result["window_errors"]
    kinds: dict[str, int] = {}
    for error in result["errors"]:
        kinds[error] = kinds.get(error, 0) + 1
    print(f"  errors              {len(errors)} in the window, {len(result['errors'])} in the "
          f"whole run" + (f"   ({', '.join(f'{k} x{n}' for k, n in sorted(kinds.items()))})"
                          if kinds else ""))
    print(f"  (after the window, shoppers finished their checkouts in flight: "
          f"{result['drained_s']:.1f} s)")
    client, server = step_means(window), step_means(window, "server ")
    print("  ms a step under load (mean): client / server (Server-Timing; the gap is queueing)")
    for step, value in client.items():
        print(f"    {step:<18}{value:7.1f} / " + (f"{server[step]:6.1f}" if step in server else "     -")
              + ("   (per product added)" if step == "add" else ""))
    cpu = result["cpu"]
    print("  CPU, cores (of " f"{os.cpu_count()}) during the window:")
    for part, cores in cpu.items():
        if part == "machine":
            continue
        per = f"   {cores * 1000 / rate:6.2f} ms a paid checkout" if rate else ""
        print(f"    {part:<28}{cores:5.2f}{per}")
    print(f"    {'machine, all of it':<28}{cpu['machine']:5.2f}")
    if cpu.get("postgres, the rest", 0) > DISTURBED_CORES:
        print("    !! other PostgreSQL sessions (not this benchmark's) used CPU meanwhile")
    if cpu["everything else"] > DISTURBED_CORES:
        print("    !! other work on the machine used CPU meanwhile: figures are disturbed")
    if result["sessions"]:
        sessions = ", ".join(f"{k} {v:.1f}" for k, v in result["sessions"].items())
        most = max(s.get("connections", 0) for s in result["session_samples"])
        churn = result["backends_seen"] - most
        print(f"  Gerai's PostgreSQL sessions, mean of samples every 0.5 s: {sessions}; "
              f"{result['backends_seen']} different ones seen"
              + (f" ({churn} more than at most open: the pool closed and reopened some)"
                 if churn > 0 else ""))


# --- 2. the oversell race --------------------------------------------------------------

async def race(gerai_port: int, product: Product, url: str, schema: str) -> dict:
    shoppers = [Shopper(10_000 + n, gerai_port) for n in range(RACE_SHOPPERS)]
    forms: list[dict | None] = [None] * RACE_SHOPPERS
    preparing = asyncio.Semaphore(50)
    failed_prep: list[str] = []

    async def prepare(n: int) -> None:
        async with preparing:
            try:
                forms[n] = await shoppers[n].fill_and_review([(product, 1)])
            except Broken as broken:
                failed_prep.append(f"{broken.step}: {broken.what}")

    await asyncio.gather(*(prepare(n) for n in range(RACE_SHOPPERS)))
    go = asyncio.Event()
    outcomes: list[tuple[str, Shopper, Response | None, float]] = []

    async def press(n: int) -> None:
        me = shoppers[n]
        if forms[n] is None:
            return
        await go.wait()
        began = time.perf_counter()
        try:
            response = await asyncio.wait_for(
                me.gerai.request("POST", "/checkout/bayar", forms[n]), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as error:
            outcomes.append((f"failed: {type(error).__name__}", me, None, 0.0))
            return
        took = (time.perf_counter() - began) * 1000
        if response.status >= 500:
            kind = "server error"
        elif response.status == 303 and "/pay/" in response.location:
            kind = "payment page"
        elif response.status == 303 and urlsplit(response.location).path == "/keranjang":
            kind = "cart"
        else:
            kind = f"answered {response.status}"
        outcomes.append((kind, me, response, took))

    tasks = [asyncio.create_task(press(n)) for n in range(RACE_SHOPPERS)]
    await asyncio.sleep(0.2)  # every task is waiting on the event
    began = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - began

    # Those sent to the cart: does it say the stock ran out?
    told, silent = 0, 0
    for kind, me, _, _ in outcomes:
        if kind == "cart":
            try:
                page = await me.call("cart", "GET", "/keranjang")
                if b"Stok tidak cukup" in page.body:
                    told += 1
                else:
                    silent += 1
            except Broken:
                silent += 1
    # The winners pay, as in the throughput run.
    paid: list[str] = []
    pay_errors: list[str] = []
    for kind, me, response, _ in outcomes:
        if kind == "payment page":
            try:
                receipt = await me.pay_hosted(response.location)
                await me.wait_paid(receipt, time.perf_counter() + PAID_WITHIN_S)
                paid.append(urlsplit(receipt).path.rsplit("/", 1)[-1])
            except Broken as broken:
                pay_errors.append(f"{broken.step}: {broken.what}")
    for me in shoppers:
        me.reset()
    with connect(url, schema) as connection:
        stock = connection.execute("select stock from product where id = %s",
                                   (product.id,)).fetchone()[0]
    kinds: dict[str, int] = {}
    for kind, *_ in outcomes:
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"kinds": kinds, "told": told, "silent": silent, "paid": paid,
            "pay_errors": pay_errors, "failed_prep": failed_prep, "stock": stock, "wall": wall,
            "bayar_ms": [took for kind, _, _, took in outcomes if took]}


def print_race(result: dict) -> None:
    kinds = result["kinds"]
    pages, errors = kinds.get("payment page", 0), kinds.get("server error", 0)
    print(f"\n(2) Oversell race: {RACE_SHOPPERS} shoppers, 1 unit each, {RACE_UNITS} units in "
          "stock, all pressing \"Bayar\" at once")
    if result["failed_prep"]:
        print(f"  !! {len(result['failed_prep'])} could not get their cart ready: "
              f"{sorted(set(result['failed_prep']))}")
    print(f"  got a payment page  {pages:5d}   (must be {RACE_UNITS})")
    print(f"  told stock ran out  {result['told']:5d}   (sent back to the cart with "
          f"\"Stok tidak cukup\"; {result['silent']} sent back without it)")
    print(f"  server errors       {errors:5d}   (must be 0)")
    others = {k: n for k, n in kinds.items() if k not in ("payment page", "server error", "cart")}
    if others:
        print(f"  other answers       {others}")
    print(f"  final stock         {result['stock']:5d}   (must be 0, never negative)")
    print(f"  winners then paid   {len(result['paid']):5d}"
          + (f"   ({len(result['pay_errors'])} failed: {result['pay_errors'][:3]})"
             if result["pay_errors"] else ""))
    print(f"  the race took {result['wall'] * 1000:.0f} ms; /checkout/bayar {cuts(result['bayar_ms'])}")


def race_ok(result: dict) -> bool:
    kinds = result["kinds"]
    return (kinds.get("payment page", 0) == RACE_UNITS and kinds.get("server error", 0) == 0
            and result["told"] == RACE_SHOPPERS - RACE_UNITS and result["stock"] == 0)


# --- 3. the ledger ---------------------------------------------------------------------

def verify_ledger(url: str, schema: str, initial: dict[int, int], seen_paid: set[str]) -> dict:
    problems: list[str] = []
    with connect(url, schema) as db:
        def rows(sql, *params):
            return db.execute(sql, params).fetchall()

        counts = dict(rows("select status, count(*) from purchase group by status"))
        bad_orders = rows("""
            select p.code, o.code, o.status from purchase p join "order" o on o.purchase_id = p.id
            where p.status = 'paid' and (o.status in ('awaiting_payment', 'cancelled')
                                         or o.paid_at is null)""")
        for code, order, status in bad_orders[:5]:
            problems.append(f"paid purchase {code} has order {order} {status}")
        if len(bad_orders) > 5:
            problems.append(f"... {len(bad_orders) - 5} more orders of paid purchases not paid")
        no_orders = rows("""select p.code from purchase p where not exists
                            (select 1 from "order" o where o.purchase_id = p.id)""")
        problems += [f"purchase {code} has no orders" for (code,) in no_orders[:5]]
        totals = rows("""select p.code, p.total, coalesce(sum(o.total), 0) from purchase p
                         left join "order" o on o.purchase_id = p.id
                         group by p.id having p.total <> coalesce(sum(o.total), 0)""")
        problems += [f"purchase {c} total {t} but its orders add up to {s}" for c, t, s in totals[:5]]
        held = dict(rows("""
            select product_id, sum(quantity) from stock_hold
            where state in ('active', 'consumed') group by product_id"""))
        sold = dict(rows("""
            select ol.product_id, sum(ol.quantity) from order_line ol
            join "order" o on o.id = ol.order_id join purchase p on p.id = o.purchase_id
            where p.status = 'paid' group by ol.product_id"""))
        # The seed's opening counts came before the run's starting figures.
        history = dict(rows("select product_id, sum(change) from stock_adjustment "
                            "where note <> 'Stok awal (data demo)' group by product_id"))
        stock = dict(rows("select id, stock from product"))
        negative = [pid for pid, s in stock.items() if s < 0]
        problems += [f"product {pid} has stock {stock[pid]}" for pid in negative[:5]]
        wrong_stock, wrong_history = 0, 0
        for pid, before in initial.items():
            expected = before - held.get(pid, 0)
            if stock.get(pid) != expected:
                wrong_stock += 1
                if wrong_stock <= 5:
                    problems.append(f"product {pid}: stock {stock.get(pid)}, expected {before} - "
                                    f"{held.get(pid, 0)} held = {expected}")
            if stock.get(pid, 0) - before != history.get(pid, 0):
                wrong_history += 1
                if wrong_history <= 5:
                    problems.append(f"product {pid}: stock moved {stock.get(pid, 0) - before} "
                                    f"but its history adds up to {history.get(pid, 0)}")
        unknown = [pid for pid in held if pid not in initial]
        problems += [f"product {pid} sold but not in the initial stock" for pid in unknown[:5]]
        paid_codes = {code for (code,) in rows("select code from purchase where status = 'paid'")}
        not_paid = seen_paid - paid_codes
        problems += [f"{code} said LUNAS but is not paid in the database"
                     for code in sorted(not_paid)[:5]]
        units_sold = sum(sold.values())
    return {"problems": problems, "counts": counts, "units_sold": units_sold,
            "products": len(initial), "seen_paid": len(seen_paid), "db_paid": len(paid_codes)}


def print_ledger(result: dict) -> None:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result["counts"].items()))
    print("\n(3) Ledger, from the database")
    print(f"  purchases           {counts}")
    print(f"  paid                {result['db_paid']} in the database; the shoppers saw LUNAS "
          f"for {result['seen_paid']}; {result['units_sold']} units sold over "
          f"{result['products']} products")
    for problem in result["problems"]:
        print(f"  !! {problem}")
    print(f"  ledger consistent: {'yes' if not result['problems'] else 'no'}")


# --- setup ------------------------------------------------------------------------------

def flask_cli(env: dict, log_path: Path, *args: str, timeout: float = 600) -> float:
    started = time.perf_counter()
    with open(log_path, "ab") as log:
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "storefront", *args],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                              timeout=timeout)
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-30:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"flask {' '.join(args)} failed (exit {done.returncode}); "
                         f"log: {log_path}")
    return time.perf_counter() - started


def prepare_catalogue(url: str, schema: str) -> tuple[list[Product], Product, dict[int, int]]:
    """Large stock for every visible product; one keeps exactly RACE_UNITS for the race."""
    with connect(url, schema) as db:
        visible = db.execute("""
            select p.id, p.shop_id from product p join shop s on s.id = p.shop_id
            where p.status = 'active' and s.status = 'verified'
              and not exists (select 1 from product_variant v where v.product_id = p.id)
            order by p.id""").fetchall()
        if len(visible) < 10:
            raise SystemExit(f"only {len(visible)} visible products were seeded")
        race_id, race_shop = visible[0]
        db.execute("update product set stock = %s where id = any(%s)",
                   (LARGE_STOCK, [pid for pid, _ in visible[1:]]))
        db.execute("update product set stock = %s where id = %s", (RACE_UNITS, race_id))
        initial = dict(db.execute("select id, stock from product").fetchall())
    return ([Product(pid, shop) for pid, shop in visible[1:]], Product(race_id, race_shop),
            initial)


def print_statements() -> None:
    """SQL statements and Gerai CPU per paid checkout, step by step (one shopper, in one
    process: bench/checkout_statements.py), beside a bare endpoint measured with them."""
    print("\n(4) Statements a paid checkout (bench/checkout_statements.py, in-process, SQLite)")
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("checkout_statements.py")),
                           "--checkouts", "20"], capture_output=True, text=True, timeout=300)
    for line in (done.stdout or done.stderr).splitlines()[-12:]:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30, help="measured, after the warm-up")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2, help="Gerai's gunicorn workers")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per Gerai worker (gthread); SQLAlchemy's pool keeps 5 "
                             "connections a process, so more than 5 opens and closes extra ones")
    parser.add_argument("--sandbox-threads", type=int, default=8)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"))
    parser.add_argument("--products", type=int, default=400, help="seed-demo --products")
    parser.add_argument("--shops", type=int, default=40, help="seed-demo --shops")
    parser.add_argument("--keep-logs", action="store_true",
                        help="keep the scratch folder with the servers' logs")
    args = parser.parse_args()

    # Stopped from outside: still stop the servers and drop the schema (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cores = os.cpu_count() or 1
    schema = f"gerai_bench_{os.getpid()}"
    print(f"Gerai checkout benchmark: {args.shoppers} shoppers, {args.seconds:g} s after "
          f"{args.warmup:g} s of warm-up; PostgreSQL schema {schema}")
    print_machine()

    create_schema(args.database_url, schema)
    scratch = Path(tempfile.mkdtemp(prefix="gerai-bench-checkout-"))
    gerai = sandbox = None
    try:
        env, gerai_port, sandbox_port, hook = bench_servers_env(args.database_url, schema, scratch)
        print(f"\nSetup (scratch folder {scratch})")
        took = flask_cli(env, scratch / "setup.log", "db", "upgrade")
        print(f"  flask db upgrade    {took:6.1f} s")
        took = flask_cli(env, scratch / "setup.log", "seed-demo", "--products",
                         str(args.products), "--shops", str(args.shops))
        print(f"  flask seed-demo     {took:6.1f} s   ({args.products} products, "
              f"{args.shops} shops)")
        products, race_product, initial = prepare_catalogue(args.database_url, schema)
        print(f"  {len(products)} visible products with {LARGE_STOCK:,} units each; "
              f"product {race_product.id} keeps {RACE_UNITS} units for the race")

        sandbox = start_sandbox(env, scratch, sandbox_port, hook, args.sandbox_threads)
        gerai = start_gerai(env, scratch, gerai_port, args.workers, args.threads)
        print(f"\nServers (all on {HOST})")
        print(f"  Gerai    :{gerai_port}  gunicorn -k gthread -w {args.workers} --threads "
              f"{args.threads} (GERAI_ENV=production, PAYMENT_GATEWAY=sandbox, "
              "SANDBOX_MOUNT=0, WORKER_THREAD=0, RATELIMIT_ENABLED=False, per-client hold "
              "limits off: every shopper here is 127.0.0.1)")
        print(f"  sandbox  :{sandbox_port}  gunicorn -k gthread -w 1 --threads "
              f"{args.sandbox_threads} (in-memory state: one process); webhooks to {hook}")
        print(f"  shoppers: asyncio in this process, raw HTTP/1.1 keep-alive, one cookie jar "
              f"each; the hosted page is polled every {POLL_EVERY_S * 1000:.0f} ms until LUNAS")

        pids = {"gerai": gerai.pid, "sandbox": sandbox.pid}
        meter_url = libpq_url(args.database_url)  # no search_path needed
        alone_result = asyncio.run(alone(gerai_port, products, meter_url, pids))
        ceiling_ms = print_alone(alone_result)
        result = asyncio.run(throughput(args, gerai_port, products, meter_url, pids))
        print_throughput(args, result)
        race_result = asyncio.run(race(gerai_port, race_product, args.database_url, schema))
        print_race(race_result)
        seen_paid = ({c.code for c in alone_result["warming"] + alone_result["done"]
                      + result["all"]}
                     | set(race_result["paid"]))
        ledger = verify_ledger(args.database_url, schema, initial, seen_paid)
        print_ledger(ledger)
        print_statements()

        rate = len(result["window"]) / args.seconds
        p95 = percentiles([(c.paid - c.started) * 1000 for c in result["window"]])["p95"]
        print("\nSummary")
        rows = [
            (f"paid checkouts/s >= {TARGET_PER_S:g} ({args.shoppers} shoppers)",
             f"{rate:.1f}/s", verdict(rate >= TARGET_PER_S)),
            ("checkout p95, first request to paid", f"{ms(p95).strip()} ms", ""),
            ("errors in the measured window", str(len(result["window_errors"])), ""),
            ("oversell race: 20 pages, 0 errors, stock 0", "", verdict(race_ok(race_result))),
            ("ledger consistent", "yes" if not ledger["problems"] else "no", ""),
        ]
        for what, figure, met in rows:
            print(f"  {what:<46}{figure:>12}   {met}")
        print(f"  one checkout costs {ceiling_ms:.0f} ms of CPU in all (0): {cores} cores allow at most "
              f"{cores * 1000 / ceiling_ms:.0f}/s; {TARGET_PER_S:g}/s needs at most "
              f"{cores * 1000 / TARGET_PER_S:.0f} ms")
        print(f"  (on {cores} shared cores: Gerai, the sandbox, PostgreSQL and the load generator "
              "together)")
        print_log_errors(scratch)
    finally:
        clean_up([gerai, sandbox], args.database_url, schema, scratch, args.keep_logs)

if __name__ == "__main__":
    main()
