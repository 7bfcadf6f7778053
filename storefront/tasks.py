"""Background jobs on a real queue (Huey): catalogue imports, the search outbox and
reindex, payment reconciliation (which also ends expired holds and refunds stray money),
outgoing API webhooks, stale-job sweeps.

Why Huey: one small, well-kept library that runs embedded on a laptop (SQLite storage,
consumer threads inside ``make run``) and distributed in production (Redis storage,
``flask worker`` processes), with periodic tasks and locks built in. Celery would need
a broker and a beat process for the same; RQ has no SQLite mode and no periodic tasks.

The database stays the source of truth: a task carries an id, never state. The search
outbox table is what must be indexed (a commit that writes outbox rows enqueues one drain,
and a periodic sweep catches whatever a lost enqueue missed); an import's progress, result
and errors live on its ``ImportJob`` row, so a restart loses nothing but the running
transaction (which rolls back) and the sweep reports that job failed, with the reason.

Storage, by ``TASK_QUEUE``:
- ``immediate`` (tests): a task runs in the caller at enqueue; nothing is periodic.
- ``memory``: in this process only, with consumer threads (tests of the consumer).
- ``sqlite`` (default without Redis): a file in the instance folder; ``make run``
  starts the consumer as threads in the web process (``WORKER_THREAD``).
- ``redis`` (default when ``REDIS_URL`` is set): production, ``flask worker`` processes.

Periodic work runs once per period across any number of consumers: each consumer's
scheduler enqueues it, and only the first to claim the period (an atomic put-if-empty in
the queue's own storage) runs it; a run that overlaps another (a slow reconcile) is
harmless: settlement applies each payment once. (No Huey lock_task there: a consumer
killed while holding one would keep the lock, and reconciliation, away for good.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Huey, TaskWrapper
from huey.consumer import Consumer
from huey.signals import SIGNAL_ERROR
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .extensions import cache, db

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15
_AFTER_COMMIT = "gerai.after_commit_tasks"
FAILURES_KEY = "gerai:tasks:failed"


@dataclass
class Queue:
    """The app's queue: its Huey and the tasks registered on it, by name."""

    huey: Huey
    kind: str
    tasks: dict[str, TaskWrapper] = field(default_factory=dict)
    periodic: dict[str, TaskWrapper] = field(default_factory=dict)  # what schedulers enqueue

    @property
    def immediate(self) -> bool:
        return self.kind == "immediate"

    def enqueue(self, name: str, *args):
        return self.tasks[name](*args)


def queue(app: Flask | None = None) -> Queue:
    return (app or current_app).extensions["gerai.tasks"]


def _make_huey(app: Flask) -> tuple[Huey, str]:
    config = app.config
    kind = config.get("TASK_QUEUE") or ""
    if not kind:
        if config.get("TESTING"):
            kind = "immediate"
        elif config.get("REDIS_URL"):
            kind = "redis"
        else:
            kind = "sqlite"
    name = config.get("TASK_QUEUE_NAME", "gerai")
    if kind == "immediate":
        return MemoryHuey(name, immediate=True), kind
    if kind == "memory":
        return MemoryHuey(name), kind
    if kind == "sqlite":
        path = Path(config.get("TASK_QUEUE_PATH") or Path(app.instance_path) / "tasks.sqlite3")
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path)), kind
    if kind == "redis":
        return RedisHuey(name, url=config["REDIS_URL"]), kind
    raise ValueError(f"unknown TASK_QUEUE {kind!r}")


# --- the tasks (bodies run in an app context, with the session removed afterwards) ---------

def _taken(name: str) -> None:
    """A queued run has started: a commit from now on enqueues another."""
    queue().huey.get(f"queued:{name}")


def _drain_search_outbox() -> int:
    from .indexing.services import drain_outbox

    _taken("drain_search_outbox")
    return drain_outbox()


def _deliver_webhooks() -> int:
    from .api.webhooks import deliver_due

    _taken("deliver_webhooks")
    sent = total = 0
    while batch := deliver_due():  # the due ones, retries included
        sent, total = sent + batch, total + 1
        if total >= 20:  # leave the worker to others; the next minute takes the rest
            break
    return sent


def _raise_member_bills() -> int:
    from .members.commands import bill_run_all
    from .timeutil import today_in_jakarta

    result = bill_run_all(today_in_jakarta().replace(day=1))  # safe to run again
    return result.wajib + result.instalments + result.late_fees


def _remind_member_bills() -> int:
    from .members.reminders import send_by_email

    return send_by_email()  # each bill and moment once


def _reindex_search() -> int:
    from .indexing.services import reindex

    return reindex()


def _import_catalogue(job_id: int) -> None:
    from .seller import imports

    imports.run_job(job_id)  # runs only a job claimed "running" and not yet finished


def _reconcile_payments() -> dict[str, int]:
    from .payments.runner import reconcile

    return reconcile()


def _sweep_imports() -> int:
    from .seller import imports

    return imports.fail_stale_jobs()


def _heartbeat() -> None:
    from .observability import worker_seen

    worker_seen()


# name -> (body, retries). Periodic ones also run each period (see PERIODIC).
TASKS: dict[str, tuple[Callable, int]] = {
    "drain_search_outbox": (_drain_search_outbox, 0),
    "import_catalogue": (_import_catalogue, 0),
    "reconcile_payments": (_reconcile_payments, 0),
    "sweep_imports": (_sweep_imports, 0),
    "heartbeat": (_heartbeat, 0),
    "deliver_webhooks": (_deliver_webhooks, 0),
    "reindex_search": (_reindex_search, 0),
    "raise_member_bills": (_raise_member_bills, 0),
    "remind_member_bills": (_remind_member_bills, 0),
}
EVERY_MINUTE = (crontab(minute="*"), 60)
# name -> (when the schedulers enqueue it, the period only one run may claim, in seconds).
PERIODIC: dict[str, tuple[crontab, int]] = {
    "heartbeat": EVERY_MINUTE,
    "drain_search_outbox": EVERY_MINUTE,
    "reconcile_payments": EVERY_MINUTE,
    "sweep_imports": EVERY_MINUTE,
    "deliver_webhooks": EVERY_MINUTE,
    # Cooperative bills: the month's run each hour (it raises each bill once, so the first
    # hour of a month raises them all); reminders at 08:10 in Jakarta (01:10 UTC).
    "raise_member_bills": (crontab(minute="5"), 3600),
    "remind_member_bills": (crontab(minute="10", hour="1"), 86400),
}


def _in_app(app: Flask, name: str, body: Callable) -> Callable:
    def run(*args):
        with app.app_context():
            try:
                return body(*args)
            except SQLAlchemyError:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    run.__name__ = name
    return run


def _once_per_period(app: Flask, name: str, body: Callable, seconds: int) -> Callable:
    """Run ``body`` only for the first consumer to claim this period."""

    def run():
        huey = queue(app).huey
        period = int(time.time() // seconds)
        if not huey.put_if_empty(f"period:{name}:{period}", "1"):
            return None
        huey.get(f"period:{name}:{period - 2}")  # forget an old claim (get pops it)
        return body()

    run.__name__ = f"periodic_{name}"
    return run


def register(app: Flask, name: str, body: Callable, *, retries: int = 0,
             periodic: tuple[crontab, int] | bool = False) -> TaskWrapper:
    """Put a task on the app's queue (``periodic``: also run on that schedule, once per
    period however many consumers there are; True means every minute)."""
    q = queue(app)
    wrapper = q.huey.task(retries=retries, retry_delay=5, name=name)(_in_app(app, name, body))
    q.tasks[name] = wrapper
    if periodic:
        when, seconds = EVERY_MINUTE if periodic is True else periodic
        q.periodic[name] = q.huey.periodic_task(when, name=f"periodic_{name}")(
            _once_per_period(app, name, wrapper.call_local, seconds))
    return wrapper


def install(app: Flask, kind: str | None = None) -> Queue:
    """Give the app its queue (``kind`` overrides TASK_QUEUE: tests that need a consumer)."""
    if kind:
        app.config["TASK_QUEUE"] = kind
    huey, kind = _make_huey(app)
    app.extensions["gerai.tasks"] = Queue(huey, kind)

    @huey.signal(SIGNAL_ERROR)
    def count_failure(signal, task, exc=None):
        log.error("task %s failed: %r", task.name, exc)
        with app.app_context():
            try:
                cache.cache.inc(FAILURES_KEY)  # shared through Redis with /metrics
            except Exception as error:  # noqa: BLE001 - the count is for eyes, not for money
                log.warning("task failure not counted: %s", error)

    for name, (body, retries) in TASKS.items():
        register(app, name, body, retries=retries, periodic=PERIODIC.get(name, False))
    return app.extensions["gerai.tasks"]


def init_app(app: Flask) -> None:
    install(app)


def start_embedded_if_asked(app: Flask) -> None:
    if app.config.get("WORKER_THREAD") and not queue(app).immediate:
        start_embedded(app)


# --- enqueueing -------------------------------------------------------------------------------

def figures(app: Flask) -> dict[str, int]:
    """For /metrics: tasks waiting, scheduled for later, and failed since the cache began."""
    q = queue(app)
    try:
        waiting, later = q.huey.pending_count(), q.huey.scheduled_count()
    except Exception:  # noqa: BLE001 - the queue is down: say so with -1
        waiting = later = -1
    return {"pending": waiting, "scheduled": later, "failed": int(cache.get(FAILURES_KEY) or 0)}


def enqueue(name: str, *args) -> bool:
    """Put a task on the queue; False (logged) when the queue cannot take it."""
    try:
        queue().enqueue(name, *args)
        return True
    except Exception as error:  # noqa: BLE001 - Redis or the queue file went away
        log.warning("task %s not enqueued: %s", name, error)
        return False


def after_commit(session: Session, name: str) -> None:
    """Enqueue task ``name`` once this session's transaction commits (not if it rolls back)."""
    session.info.setdefault(_AFTER_COMMIT, set()).add(name)


def outbox_written(session: Session) -> None:
    """Called by the search outbox when a flush wrote rows: drain after the commit."""
    after_commit(session, "drain_search_outbox")


# Rows whose commit means a task has work now (besides the periodic sweep that catches a
# lost enqueue). By name, so this module imports no models.
_WORK_FOR = {"WebhookDelivery": "deliver_webhooks"}


@event.listens_for(Session, "after_flush")
def _note_work(session: Session, _context) -> None:
    for obj in session.new:
        if name := _WORK_FOR.get(type(obj).__name__):
            after_commit(session, name)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    names = session.info.pop(_AFTER_COMMIT, None)
    if not names:
        return
    try:
        q = queue()
    except (RuntimeError, KeyError):  # no app (a script's own session)
        return
    if q.immediate:
        return  # tests run these where they mean to; the sweep is not running either
    for name in names:
        try:
            # One waiting run of each is enough: the task takes all that is due.
            if q.huey.put_if_empty(f"queued:{name}", "1"):
                q.enqueue(name)
        except Exception as error:  # noqa: BLE001 - the periodic sweep will catch up
            log.warning("task %s not enqueued: %s", name, error)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


# --- consumers ------------------------------------------------------------------------------

def _beat(app: Flask, stop: threading.Event, consumer) -> None:
    """The consumer's sign of life for /siap, while its workers are alive."""
    from .observability import worker_seen

    while not stop.wait(HEARTBEAT_SECONDS):
        if all(worker.is_alive() for _, worker in consumer.worker_threads):
            with app.app_context():
                worker_seen()


class EmbeddedConsumer(Consumer):
    """Huey's consumer without its signal handlers: inside ``flask run`` Ctrl+C stays Flask's."""

    def _set_signal_handlers(self):
        pass


def make_consumer(app: Flask, workers: int = 2, *, embedded: bool = False) -> Consumer:
    kind = EmbeddedConsumer if embedded else Consumer
    return kind(queue(app).huey, workers=workers, worker_type="thread", periodic=True,
                check_worker_health=True, initial_delay=0.05, max_delay=1.0)


def start_embedded(app: Flask, workers: int = 2):
    """Consumer threads inside this process (``make run``; no signal handlers taken)."""
    consumer = make_consumer(app, workers, embedded=True)
    consumer.start()
    stop = threading.Event()
    with app.app_context():
        _heartbeat()
    threading.Thread(target=_beat, args=(app, stop, consumer), name="gerai-heartbeat",
                     daemon=True).start()
    app.extensions["gerai.consumer"] = (consumer, stop)
    return consumer


def stop_embedded(app: Flask) -> None:
    consumer, stop = app.extensions.pop("gerai.consumer", (None, None))
    if consumer is not None:
        stop.set()
        consumer.stop(graceful=True)


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads taking tasks.")
@with_appcontext
def worker_command(workers: int):
    """The queue consumer: imports, search outbox, payment reconciliation, sweeps."""
    app = current_app._get_current_object()
    q = queue(app)
    if q.immediate:
        raise click.UsageError("TASK_QUEUE=immediate has no queue to consume.")
    consumer = make_consumer(app, workers)
    stop = threading.Event()
    _heartbeat()
    threading.Thread(target=_beat, args=(app, stop, consumer), name="gerai-heartbeat",
                     daemon=True).start()
    click.echo(f"Worker berjalan ({q.kind}, {workers} thread); Ctrl+C untuk berhenti.")
    try:
        consumer.run()  # takes SIGTERM/SIGINT for a graceful stop
    finally:
        stop.set()
