"""Keeps the search index in step with the database through an outbox.

Any flush that touches a product, a shop or a category writes outbox rows in
the same transaction; ``apply_outbox`` turns them into upserts and deletes on
the search backend and removes them only once the backend has taken them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

from flask import Flask, current_app
from sqlalchemy import delete, event, insert, inspect, literal, or_, select, update
from sqlalchemy.orm import Session, selectinload

from search import EmbeddedBackend, ProductDocument, SearchBackend

from .. import fragments
from ..catalogue.models import Category, Product, Shop
from ..exhibitions.models import Fair, Stand, StandItem
from ..extensions import db
from ..tasks import outbox_written
from ..timeutil import today_in_jakarta, utcnow
from .models import SearchOutbox

log = logging.getLogger(__name__)

BATCH = 500
# A failed batch is tried again after this long (by any worker).
RETRY_AFTER = timedelta(seconds=5)


def init_app(app: Flask) -> None:
    app.extensions["gerai.search"] = None  # made on first use, after config is final


def make_backend(config) -> SearchBackend:
    name = config["SEARCH_BACKEND"]
    if name == "embedded":
        return EmbeddedBackend(config.get("SEARCH_INDEX_PATH") or None)
    if name == "meilisearch":
        from search.meili import MeiliBackend

        return MeiliBackend(config["MEILI_URL"], config["MEILI_MASTER_KEY"],
                            prefix=config.get("MEILI_INDEX_PREFIX", "gerai"),
                            search_key=config.get("MEILI_SEARCH_KEY") or None,
                            admin_key=config.get("MEILI_ADMIN_KEY") or None,
                            timeout=config.get("MEILI_TIMEOUT", 0.3))
    raise ValueError(f"unknown SEARCH_BACKEND {name!r}")


_backend_lock = threading.Lock()


def backend() -> SearchBackend:
    extensions = current_app.extensions
    if extensions.get("gerai.search") is None:
        with _backend_lock:
            if extensions.get("gerai.search") is None:
                extensions["gerai.search"] = make_backend(current_app.config)
    return extensions["gerai.search"]


# --- writing outbox rows in the same transaction as the change ----------------------

@event.listens_for(Session, "after_flush")
def _enqueue_changes(session: Session, _context) -> None:
    product_ids: set[int] = set()
    shop_ids: set[int] = set()
    category_ids: set[int] = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, Product):
            product_ids.add(obj.id)
        elif isinstance(obj, Shop) and obj.id is not None:
            shop_ids.add(obj.id)
        elif isinstance(obj, Category) and obj.id is not None and _indexed(obj, session):
            category_ids.add(obj.id)
        elif isinstance(obj, StandItem):
            product_ids.add(obj.product_id)  # on a stand (or off it): its stand codes change
    if not (product_ids or shop_ids or category_ids):
        return
    outbox_written(session)  # the commit enqueues a drain
    connection = session.connection()
    now = utcnow()
    table = SearchOutbox.__table__
    if product_ids:
        connection.execute(
            insert(table),
            [{"product_id": pid, "enqueued_at": now, "available_at": now, "attempts": 0}
             for pid in product_ids],
        )
    owners = []
    if shop_ids:
        owners.append(Product.shop_id.in_(shop_ids))
    if category_ids:
        children = select(Category.id).where(Category.parent_id.in_(category_ids))
        owners.append(Product.category_id.in_(category_ids))
        owners.append(Product.category_id.in_(children))
    if owners:
        affected = select(Product.id, literal(now), literal(now), literal(0)).where(or_(*owners))
        connection.execute(
            insert(table).from_select(
                ["product_id", "enqueued_at", "available_at", "attempts"], affected)
        )


def _indexed(category: Category, session: Session) -> bool:
    """Whether a category change reaches product documents: a new place in the menu
    (position) does not, and must not re-index every product of a top category."""
    if category not in session.dirty:
        return True
    state = inspect(category)
    return any(state.attrs[name].history.has_changes() for name in ("name", "slug", "parent_id", "parent"))


# --- documents -----------------------------------------------------------------------

def stand_codes_of(product_ids) -> dict[int, tuple[str, ...]]:
    """"<fair slug>/<stand code>" of every stand at a fair not yet over that sells each product."""
    codes: dict[int, list[str]] = {}
    if product_ids:
        rows = db.session.execute(
            select(StandItem.product_id, Fair.slug, Stand.code)
            .join(Stand, Stand.id == StandItem.stand_id).join(Fair, Fair.id == Stand.fair_id)
            .where(StandItem.product_id.in_(product_ids), Fair.ends_on >= today_in_jakarta()))
        for product_id, fair, code in rows:
            codes.setdefault(product_id, []).append(f"{fair}/{code}")
    return {pid: tuple(sorted(set(found))) for pid, found in codes.items()}


def document_for(product: Product, stand_codes: tuple[str, ...] = ()) -> ProductDocument:
    shop, category = product.shop, product.category
    path = category.path
    return ProductDocument(
        id=product.id,
        name=product.name,
        description=product.description or "",
        shop_id=shop.id,
        shop_name=shop.name,
        shop_type=shop.type,
        kecamatan=shop.kecamatan,
        kelurahan=shop.kelurahan,
        categories=tuple(c.slug for c in path),
        category_names=tuple(c.name for c in path),
        price=product.price,
        in_stock=product.stock > 0,
        created_at=int(product.created_at.timestamp()),
        stand_codes=stand_codes,
    )


def _load(ids) -> list[Product]:
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.id.in_(ids))
            .options(selectinload(Product.category).selectinload(Category.parent))
            # A long-lived session may hold these rows from before a stock UPDATE.
            .execution_options(populate_existing=True)
        )
    )


# --- applying the outbox -------------------------------------------------------------

def apply_outbox(limit: int = BATCH) -> int:
    """Apply up to ``limit`` outbox rows; returns how many were applied.

    On a backend failure the rows stay, with the error and a later retry time.
    """
    now = utcnow()
    rows = db.session.execute(
        select(SearchOutbox.id, SearchOutbox.product_id)
        .where(SearchOutbox.available_at <= now)
        .order_by(SearchOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    row_ids = [r.id for r in rows]
    product_ids = {r.product_id for r in rows}
    products = {p.id: p for p in _load(product_ids)}
    stands = stand_codes_of(list(products))
    visible = [document_for(p, stands.get(p.id, ())) for p in products.values() if p.is_visible]
    gone = [pid for pid in product_ids if pid not in products or not products[pid].is_visible]
    try:
        index = backend()
        if visible:
            index.upsert(visible)
        if gone:
            index.delete(gone)
    except Exception as error:  # any backend failure: keep the rows, retry later
        log.warning("search outbox batch failed: %s", error)
        db.session.rollback()
        db.session.execute(
            update(SearchOutbox)
            .where(SearchOutbox.id.in_(row_ids))
            .values(attempts=SearchOutbox.attempts + 1, last_error=str(error)[:2000],
                    available_at=utcnow() + RETRY_AFTER)
        )
        db.session.commit()
        return 0
    db.session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_(row_ids)))
    db.session.commit()
    fragments.bump()  # the index changed: shared catalogue fragments are stale
    return len(rows)


def drain_outbox() -> int:
    """Apply every pending row now (tests, the CLI, and after a demo seed)."""
    total = 0
    while applied := apply_outbox():
        total += applied
    return total


def pending_count() -> int:
    return db.session.scalar(select(db.func.count()).select_from(SearchOutbox)) or 0


def visible_document_batches(batch: int = 2000) -> Iterator[list[ProductDocument]]:
    last_id = 0
    while True:
        products = list(
            db.session.scalars(
                select(Product)
                .join(Product.shop)
                .where(Product.status == "active", Shop.verified, Product.id > last_id)
                .order_by(Product.id)
                .limit(batch)
                .options(selectinload(Product.category).selectinload(Category.parent))
            )
        )
        if not products:
            return
        stands = stand_codes_of([p.id for p in products])
        yield [document_for(p, stands.get(p.id, ())) for p in products]
        last_id = products[-1].id
        db.session.expunge_all()  # keep memory flat over 100k products


def visible_count() -> int:
    return db.session.scalar(
        select(db.func.count()).select_from(Product).join(Product.shop)
        .where(Product.status == "active", Shop.verified)
    ) or 0


def reindex(progress: Callable[[int], None] | None = None) -> int:
    """Rebuild the index from the database; outbox rows older than the start are done."""
    started = utcnow()
    backend().replace_all(visible_document_batches(), progress=progress)
    fragments.bump()
    db.session.execute(delete(SearchOutbox).where(SearchOutbox.enqueued_at < started))
    # A product changed while its batch was already read may have reached only the old
    # index through the outbox: write it once more into the index now serving.
    changed = select(Product.id, literal(utcnow()), literal(utcnow()), literal(0)).where(
        Product.updated_at >= started)
    outbox_written(db.session)
    db.session.execute(insert(SearchOutbox.__table__).from_select(
        ["product_id", "enqueued_at", "available_at", "attempts"], changed))
    db.session.commit()
    return backend().count()


# --- what the city office sees ---------------------------------------------------------

@dataclass(frozen=True)
class OutboxStatus:
    pending: int  # changes not yet in the index
    failing: int  # of those, changes the engine refused or could not be reached for
    oldest: datetime | None  # when the oldest pending change was made
    errors: list[tuple[str, int]]  # the latest errors and how many changes each holds back


def outbox_status() -> OutboxStatus:
    failing = SearchOutbox.attempts > 0
    errors = db.session.execute(
        select(SearchOutbox.last_error, db.func.count()).where(failing)
        .group_by(SearchOutbox.last_error).order_by(db.func.count().desc()).limit(5)).all()
    return OutboxStatus(
        pending=pending_count(),
        failing=db.session.scalar(select(db.func.count()).select_from(SearchOutbox).where(failing))
        or 0,
        oldest=db.session.scalar(select(db.func.min(SearchOutbox.enqueued_at))),
        errors=[(error or "", count) for error, count in errors],
    )


def retry_failed_now() -> int:
    """Failed changes become due at once instead of after their back-off."""
    result = db.session.execute(update(SearchOutbox).where(SearchOutbox.attempts > 0)
                                .values(available_at=utcnow()))
    outbox_written(db.session)
    db.session.commit()
    return result.rowcount
