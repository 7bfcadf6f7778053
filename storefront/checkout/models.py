from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

PURCHASE_STATUSES = ("pending", "paid", "failed", "expired", "cancelled")


class Purchase(db.Model):
    """One payment for a cart that spans shops: it pays for one order per shop."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    basket_id: Mapped[int | None] = mapped_column(ForeignKey("basket.id", ondelete="SET NULL"))
    # The review page's one-time token: a double-clicked "Bayar" makes one purchase.
    attempt: Mapped[str] = mapped_column(String(40), unique=True)
    buyer_name: Mapped[str] = mapped_column(String(120))
    buyer_whatsapp: Mapped[str] = mapped_column(String(20))
    buyer_email: Mapped[str | None] = mapped_column(String(254))
    total: Mapped[int]  # rupiah, the sum of its orders' totals
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    gateway: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    payment_url: Mapped[str | None] = mapped_column(String(500))
    # A QRIS payment: the payload the payer scans (shown as the QR while pending).
    payment_qr: Mapped[str | None] = mapped_column(String(512))
    # Stock is held from the start of payment until this time.
    expires_at: Mapped[datetime]
    # A fair charge: the unguessable token in its payment QR code, and its stand.
    pay_token: Mapped[str | None] = mapped_column(String(48), unique=True)
    stand_id: Mapped[int | None] = mapped_column(ForeignKey("stand.id", name="fk_purchase_stand"),
                                                 index=True)
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    orders = relationship("Order", back_populates="purchase", order_by="Order.id")
    stand = relationship("Stand")


class PaymentEvent(db.Model):
    """A webhook event already applied: the unique key makes a replay change nothing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(60))
    payment_id: Mapped[str | None] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("gateway", "event_id", name="uq_payment_event"),)
