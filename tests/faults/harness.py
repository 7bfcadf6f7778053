"""Fault tests: Gerai under gunicorn on PostgreSQL, hurt on purpose while shoppers use it.

The servers, the shoppers and the PostgreSQL helpers are bench/checkout.py's (a
shopper there is a browser: keep-alive connections, a cookie jar, the whole checkout
through the sandbox's hosted page). Every process a test starts is stopped, and every
schema or data directory it makes is removed, whatever happens.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from storefront import create_app
from storefront.extensions import db
from storefront.payments.sandbox import create_sandbox_app
from tests.conftest import POSTGRES_URL, _postgres_reason, _test_config
from tests.factories import CategoryFactory, ProductFactory, ShopFactory
from tests.helpers import Served

ROOT = Path(__file__).resolve().parents[2]
_path = list(sys.path)
from bench import checkout as bench  # noqa: E402

sys.path[:] = _path  # bench/ put itself first (its search.py must not shadow the package)

HOST = bench.HOST
WEBHOOK_SECRET = bench.WEBHOOK_SECRET
PRODUCTS = 12
STOCK = 10_000


def off_loop(function, *args):
    """``function(*args)`` in a thread of its own: the browser tests' Playwright keeps an
    event loop running in this thread of the test process, and asyncio.run refuses that."""
    with ThreadPoolExecutor(1, thread_name_prefix="faults") as pool:
        return pool.submit(function, *args).result()


def run(coroutine):
    return off_loop(asyncio.run, coroutine)


# --- PostgreSQL: a schema of the shared server, or a private server --------------------------

@contextmanager
def shared_schema(name: str):
    """A schema of its own on the shared PostgreSQL; the URL Gerai takes to use it."""
    if reason := _postgres_reason():
        pytest.skip(reason)
    schema = f"gerai_faults_{name}_{os.getpid()}"
    with bench.connect(POSTGRES_URL) as connection:
        connection.execute(f'drop schema if exists "{schema}" cascade')
        connection.execute(f'create schema "{schema}"')
    try:
        yield bench.with_query(POSTGRES_URL, options=f"-csearch_path={schema}")
    finally:
        with bench.connect(POSTGRES_URL) as connection:
            connection.execute(f'drop schema if exists "{schema}" cascade')


PG_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


class PrivatePostgres:
    """A PostgreSQL server of this test's own (the shared one is never stopped)."""

    def __init__(self, folder: Path):
        self.folder, self.data, self.port = folder, folder / "data", bench.free_port()
        self.url = f"postgresql+psycopg://gerai@{HOST}:{self.port}/postgres"
        # initdb refuses root: as root, the server runs as the postgres user.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str, timeout: float = 30) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr or done.stdout}")

    def init(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"no PostgreSQL binaries at {PG_BIN} (set POSTGRES_BIN)")
        if self.as_user:
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser: initdb refuses root")
            try:
                shutil.chown(self.folder, "postgres")
            except LookupError:
                pytest.skip("running as root and there is no postgres user: initdb refuses root")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "gerai",
                  "-E", "UTF8", "--no-sync", "--no-instructions")

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                  "-w", "-t", "30", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses={HOST} -c fsync=off",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30",
                  "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def private_postgres():
    folder = Path(tempfile.mkdtemp(prefix="gerai-faults-pg-"))
    server = PrivatePostgres(folder)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            try:
                server.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                print(f"private PostgreSQL did not stop: {error}", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)


# --- the catalogue and the servers -------------------------------------------------------------

def prepare_catalogue(database_url: str, media: Path) -> list[bench.Product]:
    """Tables, and products of three verified shops with plenty of stock."""
    app = create_app(_test_config(database_url, media))
    with app.app_context():
        db.create_all()
        category = CategoryFactory(name="Keripik", slug="keripik")
        shops = [ShopFactory(name=f"Dapur Tahan Banting {n}") for n in range(3)]
        made = [ProductFactory(name=f"Keripik Tahan Banting {n}", shop=shops[n % 3],
                               category=category, price=10_000 + 1_000 * n, stock=STOCK)
                for n in range(PRODUCTS)]
        products = [bench.Product(p.id, p.shop_id) for p in made]
        db.session.remove()
        db.engine.dispose()
    return products


class SlowAnswers:
    """The sandbox answering "create a payment page" only after ``delay`` seconds: the
    gateway has made the page, the answer is on its way. Knows the client ports (one
    per waiting Gerai thread) of the answers in flight."""

    def __init__(self, app, delay: float):
        self.app, self.delay = app, delay
        self.in_flight: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if (environ["REQUEST_METHOD"], environ["PATH_INFO"]) != ("POST", "/v1/checkout/sessions"):
            return self.app(environ, start_response)
        port = int(environ["REMOTE_PORT"])
        with self._lock:
            self.in_flight.append(port)
        try:
            answer = []
            body = b"".join(self.app(environ, lambda *args: answer.append(args)))
            time.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight.remove(port)
        start_response(*answer[0])
        return [body]


def owners_of_ports(ports: list[int], pids: list[int]) -> list[int]:
    """Which of ``pids`` holds the loopback TCP socket on each local port (Linux /proc)."""
    inodes = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            inodes[int(fields[1].rsplit(":", 1)[1], 16)] = fields[9]
    sockets = {}
    for pid in pids:
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                try:
                    sockets[os.readlink(fd.path)] = pid
                except OSError:
                    continue
        except OSError:
            continue
    return [sockets[f"socket:[{inodes[port]}]"] for port in ports
            if port in inodes and f"socket:[{inodes[port]}]" in sockets]


@dataclass
class Servers:
    gerai: subprocess.Popen
    gerai_port: int
    sandbox: Served
    slow: SlowAnswers
    env: dict
    scratch: Path

    def workers(self) -> list[int]:
        return sorted(pid for pid, (parent, _) in bench.proc_table().items()
                      if parent == self.gerai.pid)

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "flask", "--app", "storefront", *args],
                              cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60)

    def log(self) -> str:
        return (self.scratch / "gerai.log").read_text(errors="replace")


@contextmanager
def serve(database_url: str, scratch: Path, *, workers: int = 2, threads: int = 2,
          webhooks: bool = True, gateway_delay: float = 0.0):
    """The sandbox on its own loopback server and Gerai under gunicorn (gthread)."""
    gerai_port = bench.free_port()
    hook = f"http://{HOST}:{gerai_port}/payments/webhooks/sandbox" if webhooks else None
    slow = SlowAnswers(create_sandbox_app(webhook_url=hook, webhook_secret=WEBHOOK_SECRET),
                       gateway_delay)
    sandbox = Served(slow)
    env = bench.server_env(scratch, database_url, sandbox.url, hook)
    gerai = None
    try:
        try:
            gerai = off_loop(bench.start_gerai, env, scratch, gerai_port, workers, threads, 30)
        except SystemExit as error:
            pytest.fail(str(error))
        yield Servers(gerai, gerai_port, sandbox, slow, env, scratch)
    finally:
        bench.stop(gerai)
        sandbox.close()


def sql(database_url: str):
    """A plain psycopg connection to the schema (or server) the URL names."""
    return psycopg.connect(bench.libpq_url(database_url), autocommit=True, connect_timeout=5)
