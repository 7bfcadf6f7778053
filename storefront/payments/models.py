from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# What a record is: a call Gerai made, an event the gateway sent, or settlement's verdict.
RECORD_KINDS = ("create", "retrieve", "cancel", "refund", "refund_check", "webhook", "cash",
                "settled", "mismatch", "refund_result")


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
