from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow

# Who holds the units: an online checkout, a keeper's QR charge, a visitor's stand basket.
HOLD_KINDS = ("checkout", "stand_charge", "visitor_basket")
# active: the units are out of the stock column and promised to the purchase;
# consumed: the purchase was paid, the units are sold; released: they went back.
HOLD_STATES = ("active", "consumed", "released")


class StockHold(db.Model):
    """Units taken from stock for a purchase that is not paid yet.

    The stock column counts what can still be sold, so a hold has already taken
    its units; expiry gives them back exactly once (the state flips in the same
    conditional UPDATE that claims the release), payment consumes them.
    On hand = stock + the quantities of active holds.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id", ondelete="CASCADE"),
                                             index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variant.id", ondelete="CASCADE"))
    # Set when the units came from a stand's own fair stock, not the shop's stock.
    stand_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("stand_item.id", ondelete="SET NULL"))
    quantity: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    # Who asked, for the per-client limit: "user:<id>" or "addr:<hash of the address>".
    client: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(10), default="active")
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("quantity > 0", name="hold_quantity_positive"),
        CheckConstraint("state in ('active', 'consumed', 'released')", name="hold_state"),
        Index("ix_stock_hold_active_client", "state", "client"),
        Index("ix_stock_hold_active_product", "state", "product_id"),
    )
