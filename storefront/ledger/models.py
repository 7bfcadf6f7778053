from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# What an entry records, each signed from the shop's side (+: the platform owes the shop).
#   sale / refund         a paid line (or delivery fee) and its reversal
#   fee / fee_refund      the platform's fee on a sale and its reversal
#   cash_collected / cash_returned   money the shop took (or gave back) at its stand itself
#   payout                a bank transfer to the shop
#   gateway_fee           what the payment gateway kept of the shop's sale (QRIS MDR)
KINDS = ("sale", "refund", "fee", "fee_refund", "cash_collected", "cash_returned", "payout",
         "gateway_fee")
SALES_KINDS = ("sale", "refund")


class LedgerEntry(db.Model):
    """One line of the sales ledger every report, dashboard and statement reads.

    Entries are only ever added (a refund is a new negative entry, never an edit),
    each once: ``source`` names what caused it and is unique. The report dimensions
    are copied in as they were when the money moved, so a shop that later joins a
    cooperative or moves kecamatan does not rewrite last month.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]  # rupiah, signed from the shop's side
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", name="fk_ledger_shop"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", name="fk_ledger_order"),
                                                 index=True)
    order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("order_line.id", name="fk_ledger_order_line", ondelete="SET NULL"))
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payout.id", name="fk_ledger_payout"))
    channel: Mapped[str | None] = mapped_column(String(10))  # online | fair_qr | fair_cash
    quantity: Mapped[int] = mapped_column(default=0)
    # Dimensions, as they were at posting time.
    kecamatan: Mapped[str] = mapped_column(String(40), default="")
    kelurahan: Mapped[str] = mapped_column(String(40), default="")
    shop_type: Mapped[str] = mapped_column(String(10), default="umkm")
    cooperative_id: Mapped[int | None] = mapped_column(
        ForeignKey("cooperative.id", name="fk_ledger_cooperative"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("category.id", name="fk_ledger_category", ondelete="SET NULL"))
    stand_id: Mapped[int | None] = mapped_column(ForeignKey("stand.id", name="fk_ledger_stand"))
    fair_id: Mapped[int | None] = mapped_column(ForeignKey("fair.id", name="fk_ledger_fair"))

    __table_args__ = (
        CheckConstraint("kind in ('sale', 'refund', 'fee', 'fee_refund', 'cash_collected', "
                        "'cash_returned', 'payout', 'gateway_fee')", name="ledger_kind"),
        Index("ix_ledger_kind_posted", "kind", "posted_at"),
        Index("ix_ledger_shop_posted", "shop_id", "posted_at"),
        Index("ix_ledger_coop_id", "cooperative_id", "id"),  # the live list asks "newer than"
        Index("ix_ledger_fair_posted", "fair_id", "posted_at"),
    )


class Payout(db.Model):
    """Money sent to a shop by bank transfer, recorded by the office with its reference."""

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", name="fk_payout_shop"), index=True)
    amount: Mapped[int]
    reference: Mapped[str] = mapped_column(String(80))
    paid_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id",
                                                                  name="fk_payout_recorded_by"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    shop = relationship("Shop")
    recorded_by = relationship("User")

    __table_args__ = (CheckConstraint("amount > 0", name="payout_positive"),)


class AuditEntry(db.Model):
    """Who did what to which object, and what it was before and after. Append only."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", name="fk_audit_actor"),
                                                 index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")

    actor = relationship("User")
