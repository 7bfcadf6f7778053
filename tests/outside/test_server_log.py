"""The walk's "no traceback in the server log" reads gunicorn's error log: what it finds there."""

from pathlib import Path

from tests.outside.gunicorn import Gunicorn

LOG = """[2026-11-30 02:29:24 +0000] [16568] [INFO] Booting worker with pid: 16569
ERROR storefront: Exception on /katalog [GET]
Traceback (most recent call last):
  File "/work/main/storefront/catalogue/views.py", line 1, in index
    raise ValueError("boom")
ValueError: boom
WARNING storefront.indexing.services: search outbox batch failed: busy
[2026-11-30 02:29:56 +0000] [16568] [CRITICAL] WORKER TIMEOUT (pid:16569)
ERROR storefront.worker: payment reconciliation failed
"""


def test_tracebacks_and_worker_trouble_are_read_once(tmp_path: Path):
    server = Gunicorn.__new__(Gunicorn)  # its log alone: no process
    server.log, server._read = tmp_path / "error.log", 0
    server.log.write_text(LOG)
    assert server.trouble() == [
        "ERROR storefront: Exception on /katalog [GET] -> ValueError: boom",
        "[2026-11-30 02:29:56 +0000] [16568] [CRITICAL] WORKER TIMEOUT (pid:16569)",
        "ERROR storefront.worker: payment reconciliation failed"]
    assert server.trouble() == []  # what was read is not reported again
    with server.log.open("a") as log:
        log.write("Traceback (most recent call last):\nKeyError: 'x'\n")
    assert server.trouble() == [" -> KeyError: 'x'"]
