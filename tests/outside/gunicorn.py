"""Gerai under gunicorn, as production runs it: a gthread worker in its own process, on
a free loopback port, with its error log (where Flask and gunicorn write tracebacks)
captured to a file the tests read."""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from storefront.config import ROOT

_TRACEBACK = "Traceback (most recent call last):"
# gunicorn's own "[ERROR]", the app's loggers' "ERROR name:" (tests/outside/wsgi.py), and
# Flask's "ERROR in module:"; a worker killed or timed out.
_TROUBLE = re.compile(r"\[(CRITICAL|ERROR)\]|^(CRITICAL|ERROR) |WORKER TIMEOUT|"
                      r"Worker \(pid:\d+\) was sent")


def loopback_socket() -> socket.socket:
    """A listening socket on a free loopback port: the port is known before the app is
    configured (the payment sandbox must know its own address), and no other process can
    take it between choosing and serving."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, killed or crashed (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere close() is the only way out


class Gunicorn:
    """``tests.outside.wsgi:app()`` served by gunicorn on ``listener`` until close()."""

    def __init__(self, listener: socket.socket, config: dict, folder: Path, threads: int = 4):
        self.url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        self.log = folder / "gunicorn-error.log"
        self._read = 0  # where the last look at the log stopped
        (folder / "metrics").mkdir(exist_ok=True)  # else the config makes one in /tmp
        env = {**os.environ, "GERAI_TEST_CONFIG": json.dumps(config),
               "GERAI_INSTANCE": str(folder / "instance"), "PYTHONUNBUFFERED": "1",
               "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics")}
        with open(self.log, "wb") as errors, open(folder / "gunicorn-out.log", "wb") as out:
            self.process = subprocess.Popen(
                # The deployment's settings (deploy/gunicorn.conf.py, keep-alive too: the
                # walkers' pooled connections are what nginx's upstream pool is to it),
                # with one worker (the walk sees one app's state) and no restarts mid-walk.
                [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
                 "--workers", "1", "--threads", str(threads), "--max-requests", "0",
                 "--bind", f"fd://{listener.fileno()}", "--graceful-timeout", "5",
                 "--access-logfile", "/dev/null", "--error-logfile", "-",
                 "tests.outside.wsgi:app()"],
                cwd=ROOT, env=env, pass_fds=[listener.fileno()], stdout=out, stderr=errors,
                preexec_fn=_die_with_parent)
        listener.close()
        self._wait_until_it_answers()

    def _wait_until_it_answers(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}):\n{self.tail()}")
            try:
                requests.get(self.url + "/", timeout=30)  # the first page warms up the app
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        self.close()
        raise RuntimeError(f"gunicorn did not answer in {seconds} s:\n{self.tail()}")

    def tail(self, characters: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-characters:]

    def trouble(self) -> list[str]:
        """Tracebacks and worker trouble logged since the last call: for each traceback,
        the line that says where (Flask's "Exception on /path [POST]") and its last line."""
        text = self.log.read_text(errors="replace")
        new, self._read = text[self._read:], len(text)
        found, lines = [], new.splitlines()
        for n, line in enumerate(lines):
            if line.startswith(_TRACEBACK):
                where = lines[n - 1].strip() if n else ""
                end = next((later for later in lines[n + 1:] if later and not later.startswith(
                    (" ", _TRACEBACK, "During handling", "The above exception"))), "")
                found.append(f"{where[:200]} -> {end[:300]}")
            elif _TROUBLE.search(line) and not lines[n + 1:n + 2] == [_TRACEBACK]:
                found.append(line[:300])
        return found

    def dump_threads(self) -> None:
        """Every worker writes its threads' stacks to the log (tests/outside/wsgi.py)."""
        master = self.process.pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            return
        for pid in children:
            os.kill(int(pid), signal.SIGUSR1)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
