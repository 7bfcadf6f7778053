"""What a seller does with their shop: plain functions, no request objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from ..audit import record
from ..catalogue.models import (
    LOW_STOCK,
    MAX_PHOTOS,
    Product,
    ProductImage,
    ProductVariant,
    Shop,
    StockAdjustment,
)
from ..extensions import db
from ..inventory import services as inventory
from ..ledger.models import LedgerEntry
from ..ledger.services import sales_filter, sales_total  # the one ledger every report reads
from ..media import StoredPicture
from ..orders.models import Order, OrderLine
from ..slugs import slugify
from ..timeutil import jakarta_day_start, today_in_jakarta, utcnow

PAID_STATUSES = ("new", "processing", "ready", "shipped", "completed")


NotEnoughStock = inventory.NotEnoughStock


class SkuTaken(Exception):
    def __init__(self, sku: str):
        super().__init__(sku)
        self.sku = sku


class TransitionNotAllowed(Exception):
    pass


# --- shops ------------------------------------------------------------------------------

def shop_of(user) -> Shop | None:
    return db.session.scalar(select(Shop).where(Shop.owner_id == user.id))


def unique_shop_slug(name: str, shop_id: int | None = None) -> str:
    base = slugify(name, 100)
    slug, n = base, 1
    while True:
        clash = db.session.scalar(select(Shop.id).where(Shop.slug == slug))
        if clash is None or clash == shop_id:
            return slug
        n += 1
        slug = f"{base}-{n}"


SHOP_FIELDS = ("name", "type", "owner_name", "whatsapp", "kecamatan", "kelurahan", "address",
               "description", "nib")


def open_shop(owner, details: dict, logo: StoredPicture | None = None) -> Shop:
    shop = Shop(owner=owner, slug=unique_shop_slug(details["name"]), status="pending",
                **{k: details[k] for k in SHOP_FIELDS})
    if logo:
        shop.logo_key = logo.key
    owner.grant("seller")
    db.session.add(shop)
    db.session.flush()
    return shop


def update_shop(shop: Shop, details: dict, logo: StoredPicture | None = None) -> Shop:
    for key in SHOP_FIELDS:
        setattr(shop, key, details[key])
    if logo:
        shop.logo_key = logo.key
    if shop.status == "rejected":
        # Fixing the data is the re-submission: it goes back to the office's queue.
        shop.status = "pending"
        shop.submitted_at = utcnow()
    db.session.flush()
    return shop


def _verification(shop: Shop) -> dict:
    return {"status": shop.status, "rejection_reason": shop.rejection_reason}


def verify_shop(shop: Shop, actor=None, note: str = "") -> None:
    before = _verification(shop)
    shop.status = "verified"
    shop.rejection_reason = None
    shop.verified_at = utcnow()
    record(actor, "shop.verify", shop, before=before, after=_verification(shop), note=note)
    db.session.flush()


def reject_shop(shop: Shop, reason: str, actor=None, note: str = "") -> None:
    before = _verification(shop)
    shop.status = "rejected"
    shop.rejection_reason = reason
    record(actor, "shop.reject", shop, before=before, after=_verification(shop), note=note)
    db.session.flush()


# --- listings ---------------------------------------------------------------------------

@dataclass
class VariantInput:
    name: str
    price: int
    stock: int
    sku: str | None = None
    id: int | None = None
    seen: int = 0  # the variant's stock when the form was opened


def _check_skus(shop: Shop, skus: Iterable[str | None], product: Product | None = None) -> None:
    wanted = [s for s in skus if s]
    if len(wanted) != len(set(wanted)):
        dupes = {s for s in wanted if wanted.count(s) > 1}
        raise SkuTaken(sorted(dupes)[0])
    if not wanted:
        return
    own_product = product.id if product else -1
    taken = db.session.scalar(select(Product.sku).where(
        Product.shop_id == shop.id, Product.sku.in_(wanted), Product.id != own_product))
    taken = taken or db.session.scalar(select(ProductVariant.sku).where(
        ProductVariant.shop_id == shop.id, ProductVariant.sku.in_(wanted),
        ProductVariant.product_id != own_product))
    if taken:
        raise SkuTaken(taken)


def _apply_variants(product: Product, variants: list[VariantInput], user=None) -> None:
    """Replace the product's variants; keep ids of rows that stay, so carts stay valid.

    Each kept variant's count applies only over the stock the form was opened with
    (inventory.recount raises StockChanged otherwise)."""
    user_id = user.id if user else None
    existing = {v.id: v for v in product.variants}
    counts = []
    for position, item in enumerate(variants):
        variant = existing.pop(item.id, None) if item.id else None
        if variant is None:
            variant = ProductVariant(shop_id=product.shop.id, stock=0)
            product.variants.append(variant)
            counts.append((variant, item.stock, None))
        else:
            counts.append((variant, item.stock, item.seen))
        variant.name, variant.price, variant.sku, variant.position = \
            item.name, item.price, item.sku or None, position
    for gone in existing.values():
        inventory.remove_variant(product, gone, user_id=user_id)
        product.variants.remove(gone)
    db.session.flush()
    _count_variants(product, counts, user_id)
    product.price = min(v.price for v in product.variants)


def _count_variants(product: Product, counts, user_id: int | None) -> None:
    """(variant, counted, seen) in lock order: a new variant's first count (seen None), or
    a recount over the stock the form showed (StockChanged names the variant)."""
    for variant, counted, seen in inventory.lock_order_variants(counts):
        if seen is None:
            inventory.stock_new(product, counted, "restock", variant=variant, user_id=user_id)
        else:
            try:
                inventory.recount(product, counted, seen, "correction", variant=variant,
                                  user_id=user_id)
            except inventory.StockChanged as changed:
                changed.variant_id = variant.id
                raise


def save_product(shop: Shop, details: dict, variants: list[VariantInput],
                 product: Product | None = None, user=None) -> Product:
    """Create or update a listing with its variants; raises SkuTaken or
    inventory.StockChanged (the caller rolls back). Only flushes."""
    _check_skus(shop, [details.get("sku")] + [v.sku for v in variants], product)
    creating = product is None
    user_id = user.id if user else None
    if creating:
        product = Product(shop=shop, stock=0)
        db.session.add(product)
    for key in ("name", "description", "price", "weight_grams", "status", "category_id"):
        setattr(product, key, details[key])
    product.sku = details.get("sku") or None
    product.option_name = (details.get("option_name") or None) if variants else None
    product.slug = slugify(product.name)
    db.session.flush()
    if variants:
        if not product.variants and not creating and product.stock:
            # Variants replace the product's own count: its units leave with it.
            inventory.recount(product, 0, details["stock_seen"], "correction", user_id=user_id)
        _apply_variants(product, variants, user)
    elif creating:
        inventory.stock_new(product, details["stock"], "restock", user_id=user_id)
    else:
        seen = details["stock_seen"]
        for gone in list(product.variants):
            inventory.remove_variant(product, gone, user_id=user_id)
            product.variants.remove(gone)
            seen = 0  # the count typed is the product's own, over nothing
        db.session.flush()
        inventory.recount(product, details["stock"], seen, "correction", user_id=user_id)
    db.session.flush()
    return product


def duplicate_product(product: Product) -> Product:
    copy = Product(shop_id=product.shop_id, category_id=product.category_id,
                   name=f"{product.name} (salinan)"[:140], slug=product.slug,
                   description=product.description, price=product.price, stock=0,
                   status="draft", weight_grams=product.weight_grams,
                   option_name=product.option_name)
    copy.images = [ProductImage(key=i.key, alt=i.alt, width=i.width, height=i.height,
                                position=i.position) for i in product.images]
    copy.variants = [ProductVariant(shop_id=v.shop_id, name=v.name, price=v.price, stock=0,
                                    position=v.position) for v in product.variants]
    db.session.add(copy)
    db.session.flush()
    return copy


def set_status(product: Product, status: str) -> None:
    product.status = status
    db.session.flush()


def quick_update(product: Product, price: int | None, stock: int | None, seen: int,
                 user=None) -> None:
    """The inline edit from the listing: price and stock of a product without variants.
    The count applies only over the stock the row showed (else inventory.StockChanged)."""
    if price is not None:
        product.price = price
    if stock is not None:
        inventory.recount(product, stock, seen, "correction", user_id=user.id if user else None)
    db.session.flush()


@dataclass(frozen=True)
class VariantQuickEdit:
    """One variant's price and stock from the listing row (None: left as it is)."""

    id: int
    price: int | None
    stock: int | None
    seen: int  # the variant's stock the row showed


class VariantsChanged(Exception):
    """The row showed other variants than the product has now (one was added or removed
    in another tab); nothing was changed."""


def quick_update_variants(product: Product, edits: list[VariantQuickEdit], user=None) -> None:
    """The inline edit from the listing for a product with variants: each variant's price
    and stock. Each count applies only over the stock the row showed (else
    inventory.StockChanged naming the variant); the caller rolls back on either error."""
    variants = {v.id: v for v in product.variants}
    if sorted(edit.id for edit in edits) != sorted(variants):
        raise VariantsChanged()
    counts = []
    for edit in edits:
        variant = variants[edit.id]
        if edit.price is not None:
            variant.price = edit.price
        if edit.stock is not None:
            counts.append((variant, edit.stock, edit.seen))
    db.session.flush()
    _count_variants(product, counts, user.id if user else None)
    product.price = min(v.price for v in product.variants)
    db.session.flush()


def adjust_stock(product: Product, change: int, reason: str, user=None, note: str = "",
                 variant: ProductVariant | None = None) -> int:
    """The seller's stock adjustment with a reason (restock, correction, damaged).
    Raises inventory.NotEnoughStock when it would go below zero (nothing changed)."""
    after = inventory.change(product.id, change, reason,
                             variant_id=variant.id if variant else None,
                             user_id=user.id if user else None, note=note)
    db.session.refresh(product)
    return after


def stock_history(product: Product, limit: int = 50) -> list[StockAdjustment]:
    return list(db.session.scalars(
        select(StockAdjustment).where(StockAdjustment.product_id == product.id)
        .order_by(StockAdjustment.created_at.desc(), StockAdjustment.id.desc()).limit(limit)))


def list_products(shop: Shop, status: str | None = None, text: str = "", page: int = 1,
                  page_size: int = 30):
    statement = select(Product).where(Product.shop_id == shop.id)
    if status:
        statement = statement.where(Product.status == status)
    else:
        statement = statement.where(Product.status != "archived")
    if text:
        statement = statement.where(func.lower(Product.name).like(f"%{text.lower()}%"))
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = list(db.session.scalars(
        statement.order_by(Product.updated_at.desc(), Product.id.desc())
        .offset((page - 1) * page_size).limit(page_size)).unique())
    return rows, total


# --- photos -----------------------------------------------------------------------------

class TooManyPhotos(Exception):
    pass


def add_photo(product: Product, picture: StoredPicture, alt: str = "") -> ProductImage:
    if len(product.images) >= MAX_PHOTOS:
        raise TooManyPhotos()
    image = ProductImage(key=picture.key, width=picture.width, height=picture.height,
                         alt=alt or product.name, position=len(product.images))
    product.images.append(image)
    db.session.flush()
    return image


def _renumber(product: Product, ordered: list[ProductImage]) -> None:
    for position, image in enumerate(ordered):
        image.position = position
    db.session.flush()
    db.session.refresh(product)


def move_photo(product: Product, image: ProductImage, step: int) -> None:
    ordered = list(product.images)
    index = ordered.index(image)
    target = max(0, min(len(ordered) - 1, index + step))
    ordered.insert(target, ordered.pop(index))
    _renumber(product, ordered)


def make_cover(product: Product, image: ProductImage) -> None:
    ordered = [image] + [i for i in product.images if i.id != image.id]
    _renumber(product, ordered)


def remove_photo(product: Product, image: ProductImage) -> None:
    product.images.remove(image)
    _renumber(product, list(product.images))


# --- orders -----------------------------------------------------------------------------

def shop_orders(shop: Shop, status: str | None = None, limit: int = 100) -> list[Order]:
    statement = select(Order).where(Order.shop_id == shop.id, Order.status != "awaiting_payment")
    if status:
        statement = statement.where(Order.status == status)
    return list(db.session.scalars(statement.order_by(Order.created_at.desc()).limit(limit)))


def advance_order(order: Order, status: str, note: str | None = None, user=None) -> None:
    """Move an order along its fulfilment (a paid order's cancellation is a refund:
    payments.runner.refund, called by the view)."""
    if status not in order.next_statuses:
        raise TransitionNotAllowed(status)
    if status == "shipped":
        order.tracking_note = note
    if status == "cancelled":
        order.cancel_reason = note
        if order.paid_at is None and order.purchase_id is not None:
            inventory.give_back(order.purchase_id,
                                [inventory.Line(l.product_id, l.variant_id, l.quantity, l.name)
                                 for l in order.lines if l.product_id is not None],
                                f"Pesanan {order.code} dibatalkan")
    order.status = status
    db.session.flush()
    if status == "ready":
        from ..api import webhooks  # order.ready_for_pickup for client apps, in this transaction

        webhooks.record("order.ready_for_pickup", order)


# --- dashboard --------------------------------------------------------------------------

@dataclass
class Dashboard:
    today_sales: int
    today_orders: int
    month_sales: int
    month_orders: int
    waiting: int
    low_stock: list[Product]
    sold_out: int
    top_products: list[tuple[str, int, int]]  # name, quantity, revenue
    daily: list[tuple[date, int]]  # the last 14 days


def _sales_between(shop: Shop, start: datetime, end: datetime) -> tuple[int, int]:
    return sales_total(start, end, shop_id=shop.id)


def dashboard(shop: Shop, today: date | None = None) -> Dashboard:
    today = today or today_in_jakarta()
    day_start = jakarta_day_start(today)
    tomorrow = jakarta_day_start(today + timedelta(days=1))
    month_start = jakarta_day_start(today.replace(day=1))
    today_sales, today_orders = _sales_between(shop, day_start, tomorrow)
    month_sales, month_orders = _sales_between(shop, month_start, tomorrow)
    waiting = db.session.scalar(select(func.count(Order.id)).where(
        Order.shop_id == shop.id, Order.status == "new")) or 0
    low = list(db.session.scalars(select(Product).where(
        Product.shop_id == shop.id, Product.status == "active", Product.stock > 0,
        Product.stock <= LOW_STOCK).order_by(Product.stock).limit(10)).unique())
    sold_out = db.session.scalar(select(func.count(Product.id)).where(
        Product.shop_id == shop.id, Product.status == "active", Product.stock == 0)) or 0
    top = db.session.execute(
        select(OrderLine.name, func.sum(OrderLine.quantity), func.sum(OrderLine.line_total))
        .join(Order).where(Order.shop_id == shop.id, Order.status.in_(PAID_STATUSES),
                           Order.paid_at >= month_start)
        .group_by(OrderLine.name).order_by(func.sum(OrderLine.quantity).desc()).limit(5)).all()
    first_day = today - timedelta(days=13)
    entries = db.session.execute(select(LedgerEntry.posted_at, LedgerEntry.amount).where(
        *sales_filter(jakarta_day_start(first_day), tomorrow, shop_id=shop.id))).all()
    per_day = {first_day + timedelta(days=n): 0 for n in range(14)}
    for posted_at, amount in entries:
        per_day[today_in_jakarta(posted_at)] += amount
    return Dashboard(today_sales, today_orders, month_sales, month_orders, waiting, low, sold_out,
                     [(n, int(q), int(r)) for n, q, r in top], sorted(per_day.items()))
