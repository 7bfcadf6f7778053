"""Taking, returning, counting and holding stock: every change as one conditional UPDATE.

All functions work in the caller's transaction and only flush; the view or
command that owns the user's action commits (or rolls back on an exception
from here, which always means nothing was changed by this call).

Rows are locked in one order everywhere (product, then its variant; lines
sorted by product and variant id: ``lock_order``), so two transactions with
the same goods in another order cannot deadlock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, insert, select, update

from ..catalogue.models import Product, ProductVariant, StockAdjustment
from ..exhibitions.models import StandItem
from ..extensions import db
from ..indexing.models import SearchOutbox
from ..timeutil import utcnow
from .models import StockHold


class NotEnoughStock(Exception):
    """A change would take stock below zero; nothing was changed."""


class StockChanged(Exception):
    """A form's count was made against a stock that has moved since; nothing was changed."""

    def __init__(self, seen: int, current: int, variant_id: int | None = None):
        super().__init__(f"stock was {seen} when the form was opened, it is {current} now")
        self.seen, self.current, self.variant_id = seen, current, variant_id


class TooManyHolds(Exception):
    """This client already holds as much unpaid stock as one client may."""


@dataclass(frozen=True)
class Line:
    """Units of one product (or one variant of it) to take or hold."""

    product_id: int
    variant_id: int | None
    quantity: int
    name: str = ""


def lock_order_variants(counts):
    """(variant, ...) tuples in the one order rows are locked in."""
    return sorted(counts, key=lambda row: row[0].id or 0)


def lock_order(lines):
    """Stock lines in the one order every transaction takes their rows in."""
    return sorted(lines, key=lambda line: (line.product_id or 0, line.variant_id or 0))


# --- the one conditional UPDATE ------------------------------------------------------

def _noticed(product_id: int, before: int, after: int) -> None:
    """Search and the shared catalogue fragments show only whether a product is in stock:
    when that flips, the product is re-indexed and the fragments' version moves, in
    this transaction. Other moves change nothing a shopper sees in a list."""
    if (before > 0) == (after > 0):
        return
    now = utcnow()
    db.session.execute(insert(SearchOutbox.__table__), [
        {"product_id": product_id, "enqueued_at": now, "available_at": now, "attempts": 0}])
    db.session.info["catalogue_changed"] = True  # fragments.py bumps the version on commit


def change(product_id: int, delta: int, reason: str, *, variant_id: int | None = None,
           user_id: int | None = None, note: str = "") -> int:
    """Add (positive) or take (negative) units; returns the stock after the change.

    Raises NotEnoughStock, having changed nothing, when there is too little.
    """
    if delta == 0:
        raise ValueError("a stock change is never zero")
    # Product row first, then the variant (the product's stock is its variants' sum).
    row = db.session.execute(
        update(Product).where(Product.id == product_id, Product.stock + delta >= 0)
        .values(stock=Product.stock + delta).returning(Product.stock)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        raise NotEnoughStock()
    product_after = row[0]
    stock_after = product_after
    if variant_id is not None:
        row = db.session.execute(
            update(ProductVariant)
            .where(ProductVariant.id == variant_id, ProductVariant.product_id == product_id,
                   ProductVariant.stock + delta >= 0)
            .values(stock=ProductVariant.stock + delta).returning(ProductVariant.stock)
            .execution_options(synchronize_session=False)).first()
        if row is None:
            # The product row already moved: give it back so the caller's transaction
            # stays consistent even if it carries on (a till sale with other lines).
            db.session.execute(update(Product).where(Product.id == product_id)
                               .values(stock=Product.stock - delta)
                               .execution_options(synchronize_session=False))
            raise NotEnoughStock()
        stock_after = row[0]
    _history(product_id, variant_id, delta, stock_after, reason, user_id, note)
    _noticed(product_id, product_after - delta, product_after)
    _refresh_loaded(product_id, variant_id)
    return stock_after


def _history(product_id, variant_id, delta, after, reason, user_id, note, stand_item_id=None):
    db.session.execute(insert(StockAdjustment.__table__), [{
        "product_id": product_id, "variant_id": variant_id, "stand_item_id": stand_item_id,
        "change": delta, "stock_after": after, "reason": reason, "note": note[:200],
        "user_id": user_id, "created_at": utcnow()}])


def _refresh_loaded(product_id: int, variant_id: int | None) -> None:
    """Objects already loaded in this session show the new figures on next access."""
    identity = db.session.identity_map
    for model, key in ((Product, product_id), (ProductVariant, variant_id)):
        if key is None:
            continue
        loaded = identity.get((model, (key,), None))
        if loaded is not None:
            db.session.expire(loaded, ["stock"])


def take(lines: Iterable[Line], reason: str, *, user_id: int | None = None,
         note: str = "") -> list[str]:
    """Take every line or none; returns the names of lines short of stock (then nothing
    was taken and the caller rolls back)."""
    short, taken = [], []
    for line in lock_order(lines):
        try:
            change(line.product_id, -line.quantity, reason, variant_id=line.variant_id,
                   user_id=user_id, note=note)
            taken.append(line)
        except NotEnoughStock:
            short.append(line.name)
    return short


def recount(product: Product, counted: int, seen: int, reason: str, *,
            variant: ProductVariant | None = None, user_id: int | None = None,
            note: str = "") -> int:
    """A seller's absolute count from a form opened when the stock was ``seen``.

    Applies ``counted - seen`` only if the stock is still ``seen``; otherwise raises
    StockChanged with the current figure (a sale happened meanwhile) and changes nothing.
    """
    if counted < 0:
        raise ValueError("a count is never negative")
    delta = counted - seen
    if delta == 0:
        current = variant.stock if variant is not None else product.stock
        if current != seen:
            raise StockChanged(seen, current)
        return counted
    target = variant if variant is not None else product
    model = type(target)
    matched = db.session.execute(
        update(model).where(model.id == target.id, model.stock == seen)
        .values(stock=counted).execution_options(synchronize_session=False)).rowcount
    if not matched:
        current = db.session.scalar(select(model.stock).where(model.id == target.id))
        raise StockChanged(seen, current if current is not None else 0)
    before = product.stock if variant is None else None
    if variant is not None:
        before = db.session.scalar(select(Product.stock).where(Product.id == product.id))
        db.session.execute(update(Product).where(Product.id == product.id)
                           .values(stock=Product.stock + delta)
                           .execution_options(synchronize_session=False))
    else:
        before = seen
    _history(product.id, variant.id if variant else None, delta, counted, reason, user_id, note)
    _noticed(product.id, before, before + delta)
    _refresh_loaded(product.id, variant.id if variant else None)
    return counted


def stock_new(product: Product, counted: int, reason: str, *,
              variant: ProductVariant | None = None, user_id: int | None = None,
              note: str = "") -> None:
    """The first count of a product or variant just created (flushed, stock 0)."""
    if counted > 0:
        db.session.flush()
        change(product.id, counted, reason, variant_id=variant.id if variant else None,
               user_id=user_id, note=note)


def remove_variant(product: Product, variant: ProductVariant, *, user_id: int | None = None,
                   note: str = "") -> None:
    """A variant leaves the listing: its units leave the product's stock with it."""
    if variant.id is not None and variant.stock:
        change(product.id, -variant.stock, "correction", variant_id=variant.id,
               user_id=user_id, note=note or variant.name)


# --- a stand's own fair stock ------------------------------------------------------------

def fair_item(stand_id: int, product_id: int, variant_id: int | None) -> StandItem | None:
    return db.session.scalar(select(StandItem).where(
        StandItem.stand_id == stand_id, StandItem.product_id == product_id,
        StandItem.variant_id.is_(None) if variant_id is None
        else StandItem.variant_id == variant_id))


def change_fair_stock(item_id: int, delta: int, reason: str, *, note: str = "",
                      user_id: int | None = None) -> int:
    row = db.session.execute(
        update(StandItem).where(StandItem.id == item_id, StandItem.fair_stock.is_not(None),
                                StandItem.fair_stock + delta >= 0)
        .values(fair_stock=StandItem.fair_stock + delta)
        .returning(StandItem.fair_stock, StandItem.product_id, StandItem.variant_id)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        raise NotEnoughStock()
    after, product_id, variant_id = row
    _history(product_id, variant_id, delta, after, reason, user_id, note, stand_item_id=item_id)
    if (after > 0) != (after - delta > 0):
        db.session.info["catalogue_changed"] = True
    loaded = db.session.identity_map.get((StandItem, (item_id,), None))
    if loaded is not None:
        db.session.expire(loaded, ["fair_stock"])
    return after


def set_fair_stock(item: StandItem, counted: int | None, *, user_id: int | None = None) -> None:
    """The keeper brings ``counted`` units to the stand (None: sell from the shop's stock)."""
    if item.id is None:
        item.fair_stock = counted  # a new stand item: nothing sold from it yet
        return
    current = item.fair_stock
    if counted == current:
        return
    if current is None or counted is None:
        db.session.execute(update(StandItem).where(StandItem.id == item.id)
                           .values(fair_stock=counted)
                           .execution_options(synchronize_session=False))
        db.session.expire(item, ["fair_stock"])
        return
    change_fair_stock(item.id, counted - current, "correction", user_id=user_id,
                      note="Stok pameran")


# --- holds ---------------------------------------------------------------------------

def client_key(*, user_id: int | None, address: str | None) -> str:
    """Whom a hold counts against: the account, or the address without one."""
    if user_id is not None:
        return f"user:{user_id}"
    digest = hashlib.sha256((address or "unknown").encode()).hexdigest()[:32]
    return f"addr:{digest}"


def check_client(client: str | None, lines: Iterable[Line]) -> None:
    """Refuse a hold past the client's share: open unpaid purchases, and units of one
    product. Counts holds, not requests, so a fair's shared Wi-Fi serves its visitors."""
    if client is None:
        return
    config = current_app.config
    # One query: this client's open holds (for nearly every client, none).
    held = db.session.execute(
        select(StockHold.purchase_id, StockHold.product_id, StockHold.quantity).where(
            StockHold.state == "active", StockHold.client == client,
            StockHold.expires_at > utcnow())).all()
    if not held:
        return
    if len({purchase_id for purchase_id, _, _ in held}) >= config["HOLDS_PER_CLIENT"]:
        raise TooManyHolds()
    units: dict[int, int] = {}
    for _, product_id, quantity in held:
        units[product_id] = units.get(product_id, 0) + quantity
    for line in lines:
        units[line.product_id] = units.get(line.product_id, 0) + line.quantity
    cap = config["HELD_UNITS_PER_CLIENT_PRODUCT"]
    wanted = {line.product_id for line in lines}
    if any(units[pid] > cap for pid in wanted):
        raise TooManyHolds()


def hold(purchase_id: int, lines: Iterable[Line], *, kind: str, expires_at: datetime,
         client: str | None = None, stand_id: int | None = None,
         user_id: int | None = None, note: str = "") -> list[str]:
    """Take the lines' units for an unpaid purchase, all or none.

    At a stand, a line with its own fair stock takes from that. Returns the names of
    lines short of stock (nothing usable was taken: the caller rolls back).
    """
    rows, short = [], []
    for line in lock_order(lines):
        item = fair_item(stand_id, line.product_id, line.variant_id) if stand_id else None
        try:
            if item is not None and item.fair_stock is not None:
                change_fair_stock(item.id, -line.quantity, "sale", note=note, user_id=user_id)
                item_id = item.id
            else:
                change(line.product_id, -line.quantity, "sale", variant_id=line.variant_id,
                       user_id=user_id, note=note)
                item_id = None
        except NotEnoughStock:
            short.append(line.name)
            continue
        rows.append({"purchase_id": purchase_id, "product_id": line.product_id,
                     "variant_id": line.variant_id, "stand_item_id": item_id,
                     "quantity": line.quantity, "kind": kind, "client": client,
                     "state": "active", "expires_at": expires_at, "created_at": utcnow()})
    if rows and not short:
        db.session.execute(insert(StockHold.__table__), rows)
    return short


def _claim(purchase_id: int, state: str, *, only_state: str = "active") -> list:
    """Flip the purchase's holds in one UPDATE; only this caller gets the rows it flipped."""
    return db.session.execute(
        update(StockHold).where(StockHold.purchase_id == purchase_id,
                                StockHold.state == only_state)
        .values(state=state, ended_at=utcnow())
        .returning(StockHold.id, StockHold.product_id, StockHold.variant_id,
                   StockHold.stand_item_id, StockHold.quantity)
        .execution_options(synchronize_session=False)).all()


def release(purchase_id: int, note: str, *, user_id: int | None = None) -> int:
    """Give back the units of the purchase's active holds, exactly once; returns units."""
    units = 0
    for _id, product_id, variant_id, item_id, quantity in lock_order_rows(
            _claim(purchase_id, "released")):
        if item_id is not None and _fair_stock_kept(item_id):
            change_fair_stock(item_id, quantity, "return", note=note, user_id=user_id)
        else:
            change(product_id, quantity, "return", variant_id=variant_id, user_id=user_id,
                   note=note)
        units += quantity
    return units


def _fair_stock_kept(item_id: int) -> bool:
    return db.session.scalar(select(StandItem.fair_stock.is_not(None))
                             .where(StandItem.id == item_id)) or False


def lock_order_rows(rows):
    return sorted(rows, key=lambda row: (row[1] or 0, row[2] or 0))


def consume(purchase_id: int, note: str, *, user_id: int | None = None) -> list[str]:
    """The purchase is paid: its held units are sold.

    Paid after its holds were released (a late payment): take the units again.
    Returns the names of lines that could not be taken again (the money is real:
    the order stands and the seller sees the shortfall).
    """
    if _claim(purchase_id, "consumed"):
        return []
    short = []
    for _id, product_id, variant_id, item_id, quantity in lock_order_rows(
            _claim(purchase_id, "consumed", only_state="released")):
        try:
            if item_id is not None and _fair_stock_kept(item_id):
                change_fair_stock(item_id, -quantity, "sale", note=note, user_id=user_id)
            else:
                change(product_id, -quantity, "sale", variant_id=variant_id, user_id=user_id,
                       note=note)
        except NotEnoughStock:
            short.append(db.session.scalar(select(Product.name).where(Product.id == product_id))
                         or str(product_id))
    return short


def give_back(purchase_id: int, lines: Iterable[Line], note: str, *,
              user_id: int | None = None) -> None:
    """A paid sale taken back (refund, void): its consumed units return to where they came."""
    sources = {(h.product_id, h.variant_id): h.stand_item_id for h in db.session.scalars(
        select(StockHold).where(StockHold.purchase_id == purchase_id))}
    for line in lock_order(lines):
        item_id = sources.get((line.product_id, line.variant_id))
        if item_id is not None and _fair_stock_kept(item_id):
            change_fair_stock(item_id, line.quantity, "return", note=note, user_id=user_id)
        else:
            change(line.product_id, line.quantity, "return", variant_id=line.variant_id,
                   user_id=user_id, note=note)


def active_holds(product_id: int, variant_id: int | None = None) -> int:
    """Units promised to unpaid purchases (on hand = stock + this)."""
    conditions = [StockHold.state == "active", StockHold.product_id == product_id]
    if variant_id is not None:
        conditions.append(StockHold.variant_id == variant_id)
    return db.session.scalar(select(func.coalesce(func.sum(StockHold.quantity), 0))
                             .where(*conditions)) or 0
