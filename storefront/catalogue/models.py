from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

SHOP_TYPES = ("umkm", "koperasi")
SHOP_STATUSES = ("pending", "verified", "rejected")
PRODUCT_STATUSES = ("draft", "active", "archived")
LOW_STOCK = 5  # at or below this, the seller sees a low-stock badge
MAX_PHOTOS = 8


class Shop(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    type: Mapped[str] = mapped_column(String(10), default="umkm")
    kecamatan: Mapped[str] = mapped_column(String(40), index=True)
    kelurahan: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_name: Mapped[str] = mapped_column(String(120), default="")
    whatsapp: Mapped[str] = mapped_column(String(20), default="")  # +62 form
    address: Mapped[str] = mapped_column(String(300), default="")
    nib: Mapped[str | None] = mapped_column(String(13))  # Nomor Induk Berusaha, optional
    logo_key: Mapped[str | None] = mapped_column(String(64))
    # The shop's own static QRIS (the sticker its bank gave it), as the seller confirmed it:
    # a fallback printed on its stand poster, for sales that stay unconfirmed until checked.
    static_qris: Mapped[str | None] = mapped_column(String(512))
    # Flat fee for local delivery; None: pickup at the shop only.
    delivery_fee: Mapped[int | None]
    # The city office verifies a shop before shoppers can see it.
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner = relationship("User")
    products: Mapped[list[Product]] = relationship(back_populates="shop")

    __table_args__ = (
        CheckConstraint("type in ('umkm', 'koperasi')", name="shop_type"),
        CheckConstraint("status in ('pending', 'verified', 'rejected')", name="shop_status"),
    )

    @hybrid_property
    def verified(self) -> bool:
        return self.status == "verified"

    @verified.inplace.setter
    def _verified_setter(self, value: bool) -> None:
        self.status = "verified" if value else "pending"

    @verified.inplace.expression
    @classmethod
    def _verified_expression(cls):
        return cls.status == "verified"


class Category(db.Model):
    """A two-level tree: top categories (parent None) and their children."""

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(
        back_populates="parent", order_by="Category.position"
    )

    @property
    def path(self) -> list[Category]:
        return [self.parent, self] if self.parent else [self]


class Product(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    name: Mapped[str] = mapped_column(String(140))
    slug: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    # With variants, price is the lowest variant price and stock their sum,
    # kept in step by the seller services so listings and search need no join.
    price: Mapped[int]  # rupiah
    stock: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    sku: Mapped[str | None] = mapped_column(String(64))
    weight_grams: Mapped[int | None]
    option_name: Mapped[str | None] = mapped_column(String(40))  # "Ukuran", "Level pedas"
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    shop: Mapped[Shop] = relationship(back_populates="products", lazy="joined")
    category: Mapped[Category] = relationship(lazy="joined")
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", order_by="ProductImage.position",
        cascade="all, delete-orphan",
    )
    variants: Mapped[list[ProductVariant]] = relationship(
        back_populates="product", order_by="ProductVariant.position",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        CheckConstraint("price >= 0", name="product_price_not_negative"),
        CheckConstraint("stock >= 0", name="product_stock_not_negative"),
        CheckConstraint("status in ('draft', 'active', 'archived')", name="product_status"),
        Index("ix_product_shop_status", "shop_id", "status"),
        # A seller's SKUs are unique in their shop: CSV re-imports update by SKU.
        UniqueConstraint("shop_id", "sku", name="uq_product_shop_sku"),
    )

    @property
    def low_stock(self) -> bool:
        return 0 < self.stock <= LOW_STOCK

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def is_visible(self) -> bool:
        return self.status == "active" and self.shop.verified

    @property
    def cover(self) -> ProductImage | None:
        return self.images[0] if self.images else None


class ProductImage(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    # Content hash of the re-encoded picture; files are media/p/<key>-<width>.webp
    key: Mapped[str] = mapped_column(String(64))
    alt: Mapped[str] = mapped_column(String(200), default="")
    width: Mapped[int]
    height: Mapped[int]

    product: Mapped[Product] = relationship(back_populates="images")


class ProductVariant(db.Model):
    """One value of the product's single option (size S, level pedas 3), sold on its own."""

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    name: Mapped[str] = mapped_column(String(60))
    sku: Mapped[str | None] = mapped_column(String(64))
    price: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="variants")

    __table_args__ = (
        CheckConstraint("price >= 0", name="variant_price_not_negative"),
        CheckConstraint("stock >= 0", name="variant_stock_not_negative"),
        UniqueConstraint("shop_id", "sku", name="uq_variant_shop_sku"),
    )


STOCK_REASONS = ("restock", "correction", "damaged", "sale", "import", "return")
# Written only by storefront/inventory: the history of every stock column.


class StockAdjustment(db.Model):
    """Why stock changed, by whom, and what it became: the seller's stock history."""

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("product_variant.id", ondelete="CASCADE"))
    # A stand's own fair stock moved, not the shop's: left out of the shop's stock sums.
    stand_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("stand_item.id", ondelete="SET NULL", name="fk_stock_adjustment_stand_item"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    change: Mapped[int]
    stock_after: Mapped[int]
    reason: Mapped[str] = mapped_column(String(12))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    product: Mapped[Product] = relationship()
    variant: Mapped[ProductVariant | None] = relationship()
    user = relationship("User")


def visible_products():
    """Products a shopper may see: active, in a verified shop."""
    return (
        select(Product)
        .join(Product.shop)
        .where(Product.status == "active", Shop.verified)
    )
