"""Polls answered from version numbers: the till's charge and sales list, the fair's dashboard.

A polled block carries a token in the query of its ``hx-get`` (``?v=``): the versions of what
it shows (a stand's sales, a charge, a fair's figures, the catalogue), until when it holds
at most (the end of the day in Jakarta, a charge's expiry), signed with the app's secret
for the URL it polls and the session that saw it. A poll whose token is still current is
answered 204 before anything else is done: no login loaded, no database, no template (the
decorator ``answered_from_versions`` goes above ``login_required``). The token is only
ever made after the view's own permission check, and a 204 tells nothing but "the same".

Versions are bumped after the commit of any change to what they cover, whatever code
made it (the till, settlement, webhooks, the reconciler, a worker): SQLAlchemy's flush
sees ORM changes, ``do_orm_execute`` the UPDATE/INSERT statements settlement issues by
id; a change that cannot be traced to its stand bumps every stand (never none).

They are kept in Redis when REDIS_URL is set (every process and machine sees one bump),
else in a small memory-mapped file in the instance folder, which every gunicorn worker
on this machine shares (a dict in each process would let a worker answer 204 to a poll
about a sale another worker made). A lost or reset store only makes polls render again:
each store has an epoch that is part of every token.
"""

from __future__ import annotations

import calendar
import fcntl
import hmac
import logging
import mmap
import os
import secrets
import struct
import threading
import time
import zlib
from datetime import datetime, timedelta
from functools import wraps
from hashlib import sha256

from flask import current_app, request, session
from sqlalchemy import event
from sqlalchemy.orm import Session

PARAM = "v"  # in the polled URL: htmx sends it as it is, whatever else the block says
ALL_STANDS = "sall"  # bumped when a change cannot be traced to its stand

log = logging.getLogger(__name__)


def stand(stand_id: int) -> str:
    return f"s{stand_id}"


def charge(code: str) -> str:
    """A charge by its code (what its poll's URL holds: known before any query)."""
    return f"p{code}"


FAIR_SALES = "F"  # any stand's sales changed: what a fair's dashboard shows
CATALOGUE = "c"  # shop names, stands, fairs: what fragments.py bumps for


# --- the stores -------------------------------------------------------------------------

class FileStore:
    """Counters in a shared memory-mapped file: one slot per key (by hash; two keys in one
    slot only make each other's polls render again), slot 0 the epoch."""

    SLOTS = 1 << 16

    def __init__(self, path: str):
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_size < self.SLOTS * 8:
                os.ftruncate(fd, self.SLOTS * 8)
            self.map = mmap.mmap(fd, self.SLOTS * 8, mmap.MAP_SHARED)
            if not struct.unpack_from("<Q", self.map, 0)[0]:
                struct.pack_into("<Q", self.map, 0, secrets.randbits(63) | 1)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self.fd = fd

    def _slot(self, key: str) -> int:
        return (zlib.crc32(key.encode()) % (self.SLOTS - 1) + 1) * 8

    def get(self, keys: list[str]) -> list[int]:
        read = struct.unpack_from
        return [read("<Q", self.map, 0)[0], *(read("<Q", self.map, self._slot(k))[0]
                                              for k in keys)]

    def bump(self, keys: set[str]) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_EX)  # a read-modify-write across processes
        try:
            for key in keys:
                slot = self._slot(key)
                value = struct.unpack_from("<Q", self.map, slot)[0]
                struct.pack_into("<Q", self.map, slot, (value + 1) & (2**64 - 1))
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)


class RedisStore:
    EPOCH = "poll:epoch"

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1)

    def get(self, keys: list[str]) -> list[int]:
        import redis

        try:
            values = self.client.mget([self.EPOCH, *(f"poll:{k}" for k in keys)])
            if values[0] is None:  # a new (or flushed) Redis: a new epoch
                self.client.set(self.EPOCH, secrets.randbits(62), nx=True)
                values[0] = self.client.get(self.EPOCH)
        except redis.RedisError as error:
            # No versions to compare: every poll renders (and every token is one nobody holds).
            log.warning("poll versions not read: %s", error)
            return [-1, *(secrets.randbits(62) for _ in keys)]
        return [int(v or 0) for v in values]

    def bump(self, keys: set[str]) -> None:
        import redis

        try:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.incr(f"poll:{key}")
            pipe.execute()
        except redis.RedisError as error:
            # The change is committed; a Redis outage must not turn the sale into an error.
            # Polls render again while Redis is away (get above); a new epoch after it
            # returns empty would do the same.
            log.warning("poll versions not bumped: %s", error)


_stores: dict[tuple[str, int], FileStore | RedisStore] = {}
_lock = threading.Lock()


def store():
    app = current_app._get_current_object()
    url = app.config.get("REDIS_URL", "")
    path = app.config.get("POLL_VERSIONS_FILE") or os.path.join(app.instance_path,
                                                                "poll-versions")
    # per process: a file lock is shared with a forked child, not held against it
    where = (url or path, os.getpid())
    found = _stores.get(where)
    if found is None:
        with _lock:
            found = _stores.get(where)
            if found is None:
                if not url:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                found = _stores[where] = RedisStore(url) if url else FileStore(where[0])
    return found


def bump(keys) -> None:
    keys = set(keys)
    if keys:
        store().bump(keys)


# --- tokens ---------------------------------------------------------------------------------

def _who() -> str:
    return str(session.get("_user_id") or "")


def _sign(path: str, body: str) -> str:
    message = f"{_who()}|{path}|{body}".encode()
    return hmac.new(current_app.secret_key.encode(), message, sha256).hexdigest()[:24]


class Snapshot:
    """The versions of ``keys`` as they are now. Taken BEFORE the block's data is read: a
    change committed in between makes the next poll render again rather than be missed."""

    def __init__(self, keys: list[str]):
        self.keys, self.versions = keys, store().get(keys)

    def body(self, until: float) -> str:
        """The token without its signature: the same for everyone who sees this state."""
        # only characters a URL carries as they are (keys_versions~until~signature)
        return f"{'_'.join(self.keys)}~{'.'.join(map(str, self.versions))}~{int(until)}"

    def token(self, until: float, path: str | None = None) -> str:
        """The ``v`` of the polled URL for a block showing this state until ``until`` (a Unix time) at
        the latest, for polls of ``path`` (this request's by default)."""
        return signed(self.body(until), path)


def signed(body: str, path: str | None = None) -> str:
    return f"{body}~{_sign(path or request.path, body)}"


def snapshot(*keys: str) -> Snapshot:
    return Snapshot(list(keys))


def unix(moment: datetime) -> float:
    """A naive UTC datetime (as stored) as a Unix time."""
    return calendar.timegm(moment.timetuple())


def end_of_day() -> float:
    """When today ends in Jakarta: a block of today's figures holds until then at most."""
    from .timeutil import jakarta_day_start, today_in_jakarta

    return unix(jakarta_day_start(today_in_jakarta() + timedelta(days=1)))


def current() -> bool:
    """Whether this poll's ``v`` still holds: signed for this path and session, not
    past its time, and every version as it was."""
    from .htmx import wants_fragment

    sent = request.args.get(PARAM, "")
    if sent.count("~") != 3 or not wants_fragment():
        return False
    body, _, signature = sent.rpartition("~")
    # bytes: compare_digest refuses a str that is not ASCII (a 500 for a typed URL)
    if not hmac.compare_digest(signature.encode(), _sign(request.path, body).encode()):
        return False
    keys, versions, until = body.split("~")
    if not until.isdigit() or time.time() >= int(until):
        return False
    return versions == ".".join(map(str, store().get(keys.split("_"))))


def answered_from_versions(view):
    """A poll whose block is still current gets 204 before the view (and its login) runs."""
    @wraps(view)
    def poll(*args, **kwargs):
        if current():
            return current_app.response_class(status=204, headers={"Cache-Control": "no-store"})
        return view(*args, **kwargs)
    return poll


# --- what bumps them ------------------------------------------------------------------------

def _models():
    from .checkout.models import Purchase
    from .ledger.models import LedgerEntry
    from .orders.models import Order
    from .payments.models import StrayPayment

    return Purchase, Order, StrayPayment, LedgerEntry


def _keys_of(obj, found: set[str]) -> None:
    Purchase, Order, StrayPayment, LedgerEntry = _models()
    if isinstance(obj, (Order, StrayPayment, LedgerEntry, Purchase)):
        if obj.__dict__.get("stand_id"):
            found.add(stand(obj.stand_id))
        if isinstance(obj, Purchase) and obj.__dict__.get("code"):
            found.add(charge(obj.code))
        if isinstance(obj, LedgerEntry) and obj.__dict__.get("fair_id"):
            found.add(FAIR_SALES)


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _context) -> None:
    found: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        _keys_of(obj, found)
    if found:
        session.info.setdefault("poll_keys", set()).update(found)


def _bound_ids(where) -> list[tuple[object, object]]:
    """(column, value) of every ``column == value`` in a WHERE clause."""
    from sqlalchemy.sql import operators, visitors
    from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnClause

    pairs = []
    for node in visitors.iterate(where):
        if isinstance(node, BinaryExpression) and node.operator is operators.eq and \
                isinstance(node.left, ColumnClause) and isinstance(node.right, BindParameter):
            pairs.append((node.left, node.right.effective_value))
    return pairs


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    """UPDATE/INSERT statements (settlement's, by id): traced to their stand through the
    objects the session holds; what cannot be traced bumps every stand."""
    if not (state.is_update or state.is_insert):
        return
    Purchase, Order, StrayPayment, LedgerEntry = _models()
    mapper = state.bind_mapper
    entity = mapper.class_ if mapper is not None else None
    if entity not in (Purchase, Order, StrayPayment):
        return
    session, found = state.session, set()
    if state.is_insert:
        # the new row's id is not known yet, nor polled: its stand is what changed
        for column, value in (getattr(state.statement, "_values", None) or {}).items():
            if getattr(column, "key", column) == "stand_id":
                value = getattr(value, "value", value)
                found.add(stand(value) if isinstance(value, int) else ALL_STANDS)
    else:
        traced = False
        for column, value in _bound_ids(state.statement.whereclause):
            owner = {("id", Purchase): Purchase, ("purchase_id", Order): Purchase,
                     ("id", Order): Order, ("id", StrayPayment): StrayPayment}.get(
                (column.name, entity))
            if owner is None or not isinstance(value, int):
                continue
            # Only what the session holds loaded: a query here would run inside a query.
            loaded = session.identity_map.get((owner, (value,), None))
            known = loaded.__dict__ if loaded is not None else {}
            if "stand_id" not in known:
                continue
            traced = True
            if known["stand_id"]:
                found.add(stand(known["stand_id"]))
            if known.get("code") and owner is Purchase:
                found.add(charge(known["code"]))
        if not traced:
            found.add(ALL_STANDS)
    session.info.setdefault("poll_keys", set()).update(found)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    """Kept through rollbacks (a savepoint's may undo only part): a bump too many only
    makes a poll render again."""
    keys = session.info.pop("poll_keys", None)
    if keys:
        if any(key.startswith("s") for key in keys):
            keys.add(FAIR_SALES)
        try:
            bump(keys)
        except RuntimeError:  # no app context (a script outside Flask): no polls to tell
            pass
