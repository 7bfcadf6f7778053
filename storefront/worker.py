"""A blocking loop over the background work, for tests and benchmarks that want the
search outbox applied continuously in a thread of their own (and killed mid-batch).

Gerai itself runs this work on its task queue (``storefront/tasks.py``): ``flask worker``
in production, consumer threads inside ``make run``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

log = logging.getLogger(__name__)


def _safely(task: Callable[[], object], name: str):
    try:
        return task()
    except (SQLAlchemyError, OSError) as error:  # the database or a service went away
        log.warning("worker: %s failed, will retry: %s", name, error)
        db.session.rollback()
        return None
    finally:
        db.session.remove()


def run(stop: threading.Event, *, search: bool = True, payments: bool = True,
        interval: float = 0.5, reconcile_every: float = 60.0) -> None:
    from .indexing.services import apply_outbox
    from .observability import worker_seen
    from .payments.runner import reconcile

    last_reconcile = 0.0
    while not stop.is_set():
        worker_seen()
        applied = _safely(apply_outbox, "search outbox") if search else 0
        if payments and time.monotonic() - last_reconcile >= reconcile_every:
            _safely(reconcile, "payment reconciliation")
            last_reconcile = time.monotonic()
        if not applied:
            stop.wait(interval)
