from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# What a record is: a call Gerai made, an event the gateway sent, or settlement's verdict.
RECORD_KINDS = ("create", "retrieve", "cancel", "refund", "refund_check", "webhook", "cash",
                "settled", "mismatch", "refund_result", "fee", "stray_refund")


class PaymentRecord(db.Model):
    """One line of a payment's story, in the manner of Saleor's TransactionEvent.

    Every call to a gateway and every event from one is a row (append-only), so the
    receipt and the office can show what happened; ``settled`` rows are what
    ``ledger-check`` matches every paid purchase against; ``mismatch`` rows are
    payments that did not count (wrong id, amount or currency), for the office.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id", ondelete="SET NULL"),
                                                    index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"))
    gateway: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(255))  # the gateway's id
    amount: Mapped[int | None]  # rupiah, as the gateway said
    currency: Mapped[str | None] = mapped_column(String(3))
    result: Mapped[str] = mapped_column(String(16))  # paid, pending, failed, error, ...
    message: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    purchase = relationship("Purchase")

    __table_args__ = (Index("ix_payment_record_kind", "kind", "created_at"),)


# What became of money that arrived and did not count.
STRAY_STATES = ("needs_refund", "refund_pending", "cash_needed", "refunded", "refunded_cash")


class StrayPayment(db.Model):
    """Money a gateway took that pays for nothing: a QR paid after its charge closed
    (people pay from screenshots), a payment of the wrong amount, currency or id.

    It is not lost and not silently accepted: it stays here until it is given back,
    through the gateway (``refunded``) or, where the payer's app cannot take a refund
    (GoPay-paid QRIS), in cash by a named person (``refunded_cash``). The keeper of the
    stand and the office both see it. Only settlement writes it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20))
    # The money movement (a QR payment's id), else the payment's own id.
    reference: Mapped[str] = mapped_column(String(255))
    payment_id: Mapped[str] = mapped_column(String(255))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id", ondelete="SET NULL"),
                                                    index=True)
    stand_id: Mapped[int | None] = mapped_column(ForeignKey("stand.id", name="fk_stray_stand"),
                                                 index=True)
    amount: Mapped[int]  # rupiah, as the gateway said
    currency: Mapped[str] = mapped_column(String(3), default="IDR")
    source: Mapped[str | None] = mapped_column(String(30))  # the payer's app
    reason: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default="needs_refund", index=True)
    refund_reference: Mapped[str | None] = mapped_column(String(255), index=True)
    refund_attempts: Mapped[int] = mapped_column(default=0)
    refunded_by_name: Mapped[str | None] = mapped_column(String(120))
    refunded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id",
                                                                  name="fk_stray_refunded_by"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    purchase = relationship("Purchase")

    __table_args__ = (UniqueConstraint("gateway", "reference", name="uq_stray_payment"),)
