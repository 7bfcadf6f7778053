"""What a seller does with their shop: plain functions, no request objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update

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
from ..ledger.models import LedgerEntry
from ..ledger.services import sales_filter, sales_total  # the one ledger every report reads
from ..media import StoredPicture
from ..orders.models import Order, OrderLine
from ..slugs import slugify
from ..timeutil import jakarta_day_start, today_in_jakarta, utcnow

PAID_STATUSES = ("new", "processing", "ready", "shipped", "completed")


class NotEnoughStock(Exception):
    """A change would take stock below zero; nothing was changed."""


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
    db.session.commit()
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
    db.session.commit()
    return shop


def _verification(shop: Shop) -> dict:
    return {"status": shop.status, "rejection_reason": shop.rejection_reason}


def verify_shop(shop: Shop, actor=None, note: str = "") -> None:
    before = _verification(shop)
    shop.status = "verified"
    shop.rejection_reason = None
    shop.verified_at = utcnow()
    record(actor, "shop.verify", shop, before=before, after=_verification(shop), note=note)
    db.session.commit()


def reject_shop(shop: Shop, reason: str, actor=None, note: str = "") -> None:
    before = _verification(shop)
    shop.status = "rejected"
    shop.rejection_reason = reason
    record(actor, "shop.reject", shop, before=before, after=_verification(shop), note=note)
    db.session.commit()


# --- listings ---------------------------------------------------------------------------

@dataclass
class VariantInput:
    name: str
    price: int
    stock: int
    sku: str | None = None
    id: int | None = None


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
    """Replace the product's variants; keep ids of rows that stay, so carts stay valid."""
    existing = {v.id: v for v in product.variants}
    kept = []
    for position, item in enumerate(variants):
        variant = existing.pop(item.id, None) if item.id else None
        if variant is None:
            variant = ProductVariant(shop_id=product.shop.id, stock=0)
            product.variants.append(variant)
        variant.name, variant.price, variant.sku, variant.position = \
            item.name, item.price, item.sku or None, position
        if variant.stock != item.stock:
            product_stock_log(product, variant, item.stock - variant.stock, item.stock, "correction",
                              user)
            variant.stock = item.stock
        kept.append(variant)
    for gone in existing.values():
        product.variants.remove(gone)
    _summarise_variants(product)


def _summarise_variants(product: Product) -> None:
    if product.variants:
        product.price = min(v.price for v in product.variants)
        product.stock = sum(v.stock for v in product.variants)


def product_stock_log(product, variant, change, after, reason, user, note=""):
    """Record a stock change made through the listing form (the row itself is set there)."""
    if change:
        db.session.add(StockAdjustment(product=product, variant=variant, change=change,
                                       stock_after=after, reason=reason, note=note,
                                       user_id=user.id if user else None))



def save_product(shop: Shop, details: dict, variants: list[VariantInput],
                 product: Product | None = None, user=None) -> Product:
    """Create or update a listing with its variants in one transaction."""
    _check_skus(shop, [details.get("sku")] + [v.sku for v in variants], product)
    creating = product is None
    if creating:
        product = Product(shop=shop, stock=0)
        db.session.add(product)
    for key in ("name", "description", "price", "weight_grams", "status", "category_id"):
        setattr(product, key, details[key])
    product.sku = details.get("sku") or None
    product.option_name = (details.get("option_name") or None) if variants else None
    product.slug = slugify(product.name)
    if variants:
        _apply_variants(product, variants, user)
    else:
        product.variants.clear()
        if product.stock != details["stock"]:
            product_stock_log(product, None, details["stock"] - product.stock, details["stock"],
                              "restock" if creating else "correction", user)
            product.stock = details["stock"]
    db.session.commit()
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
    db.session.commit()
    return copy


def set_status(product: Product, status: str) -> None:
    product.status = status
    db.session.commit()


def quick_update(product: Product, price: int | None, stock: int | None, user=None) -> None:
    """The inline edit from the listing: price and stock of a product without variants."""
    if price is not None:
        product.price = price
    if stock is not None and stock != product.stock:
        product_stock_log(product, None, stock - product.stock, stock, "correction", user)
        product.stock = stock
    db.session.commit()


def change_stock(product_id: int, change: int, reason: str, *, variant_id: int | None = None,
                 user_id: int | None = None, note: str = "") -> int:
    """Add or take stock with one conditional UPDATE per row, never below zero.

    Returns the stock after the change; raises NotEnoughStock and changes nothing
    when there is too little. The caller commits (or rolls back) with its own work.
    """
    # Product row first, then the variant: with lines taken in product-id order
    # (see lock_order), every transaction locks rows in the same order, so two
    # carts with the same goods in a different order cannot deadlock.
    row = db.session.execute(
        update(Product).where(Product.id == product_id, Product.stock + change >= 0)
        .values(stock=Product.stock + change).returning(Product.stock)).first()
    if row is None:
        raise NotEnoughStock()
    stock_after = row[0]
    if variant_id is not None:
        row = db.session.execute(
            update(ProductVariant)
            .where(ProductVariant.id == variant_id, ProductVariant.stock + change >= 0)
            .values(stock=ProductVariant.stock + change).returning(ProductVariant.stock)).first()
        if row is None:
            raise NotEnoughStock()
        stock_after = row[0]
    db.session.add(StockAdjustment(product_id=product_id, variant_id=variant_id, change=change,
                                   stock_after=stock_after, reason=reason, note=note,
                                   user_id=user_id))
    return stock_after


def lock_order(lines):
    """Stock lines in the one order every transaction takes their rows in."""
    return sorted(lines, key=lambda line: (line.product_id or 0, line.variant_id or 0))


def adjust_stock(product: Product, change: int, reason: str, user=None, note: str = "",
                 variant: ProductVariant | None = None) -> int:
    """The seller's stock adjustment with a reason (restock, correction, damaged)."""
    try:
        after = change_stock(product.id, change, reason, variant_id=variant.id if variant else None,
                             user_id=user.id if user else None, note=note)
    except NotEnoughStock:
        db.session.rollback()
        raise
    db.session.commit()
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
    db.session.commit()
    return image


def _renumber(product: Product, ordered: list[ProductImage]) -> None:
    for position, image in enumerate(ordered):
        image.position = position
    db.session.commit()
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
    if status not in order.next_statuses:
        raise TransitionNotAllowed(status)
    if status == "shipped":
        order.tracking_note = note
    if status == "cancelled" and order.paid_at is not None:
        # A paid order the seller cannot fill: the buyer gets the money back.
        from ..checkout.services import refund_order

        refund_order(order, note or "Dibatalkan penjual", user)
        return
    if status == "cancelled":
        order.cancel_reason = note
        _return_stock(order)
    order.status = status
    db.session.commit()


def _return_stock(order: Order) -> None:
    for line in lock_order(order.lines):
        if line.product_id is not None:
            change_stock(line.product_id, line.quantity, "return", variant_id=line.variant_id,
                         note=f"Pesanan {order.code} dibatalkan")


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
