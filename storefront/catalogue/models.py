from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

SHOP_TYPES = ("umkm", "koperasi")
PRODUCT_STATUSES = ("draft", "active", "archived")


class Shop(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    type: Mapped[str] = mapped_column(String(10), default="umkm")
    kecamatan: Mapped[str] = mapped_column(String(40), index=True)
    kelurahan: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner = relationship("User")
    products: Mapped[list[Product]] = relationship(back_populates="shop")

    __table_args__ = (CheckConstraint("type in ('umkm', 'koperasi')", name="shop_type"),)


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
    price: Mapped[int]  # rupiah
    stock: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    shop: Mapped[Shop] = relationship(back_populates="products", lazy="joined")
    category: Mapped[Category] = relationship(lazy="joined")
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product", order_by="ProductImage.position",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        CheckConstraint("price >= 0", name="product_price_not_negative"),
        CheckConstraint("stock >= 0", name="product_stock_not_negative"),
        CheckConstraint("status in ('draft', 'active', 'archived')", name="product_status"),
        Index("ix_product_shop_status", "shop_id", "status"),
    )

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


def visible_products():
    """Products a shopper may see: active, in a verified shop."""
    return (
        select(Product)
        .join(Product.shop)
        .where(Product.status == "active", Shop.verified.is_(True))
    )
