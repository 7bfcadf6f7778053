"""A cooperative's members (people, not shops), their savings, loans, bills and the books.

The books are double-entry and append-only: a ``Posting`` is one movement of money with
two or more ``PostingLine`` rows whose debits equal their credits. ``MemberBalance``
keeps each member's running balance per account so a member's page never sums years of
lines; ``books-check`` proves the two agree.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

MEMBER_STATUSES = ("active", "left", "deceased")

# Staff a manager names: they keep the register and record payments, never approve loans.
coop_staff = Table(
    "coop_staff", db.metadata,
    Column("cooperative_id", ForeignKey("cooperative.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class CoopTerms(db.Model):
    """What a cooperative decided at its RAT: dues, late fee, SHU split."""

    cooperative_id: Mapped[int] = mapped_column(
        ForeignKey("cooperative.id", ondelete="CASCADE"), primary_key=True)
    pokok: Mapped[int] = mapped_column(default=100_000)  # simpanan pokok, once
    wajib: Mapped[int] = mapped_column(default=25_000)  # simpanan wajib, monthly
    due_day: Mapped[int] = mapped_column(default=10)  # bills fall due on this day
    rate_bp: Mapped[int] = mapped_column(default=150)  # loan rate per month, basis points
    late_fee: Mapped[int] = mapped_column(default=10_000)  # per late instalment per month
    shu_capital_pct: Mapped[int] = mapped_column(default=20)  # jasa modal, % of SHU
    shu_business_pct: Mapped[int] = mapped_column(default=25)  # jasa usaha, % of SHU
    rat_held_on: Mapped[date | None]  # the last annual members' meeting


class CoopMember(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(30))  # nomor anggota, the cooperative's own
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    kelurahan: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    joined_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="active")
    left_on: Mapped[date | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", name="fk_member_user"),
                                                index=True)
    # NIK is optional; when given it is kept encrypted and only its last four digits shown.
    nik_sealed: Mapped[str | None] = mapped_column(String(200))
    nik_last4: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cooperative = relationship("Cooperative")
    user = relationship("User")

    __table_args__ = (
        UniqueConstraint("cooperative_id", "number", name="uq_member_number"),
        UniqueConstraint("cooperative_id", "user_id", name="uq_member_user"),
        CheckConstraint("status in ('active', 'left', 'deceased')", name="member_status"),
    )


class MemberBalance(db.Model):
    """A member's balance on one account, in the account's own direction (savings: what
    the cooperative owes the member; loans: what the member owes)."""

    member_id: Mapped[int] = mapped_column(ForeignKey("coop_member.id", ondelete="CASCADE"),
                                           primary_key=True)
    account: Mapped[str] = mapped_column(String(30), primary_key=True)
    balance: Mapped[int] = mapped_column(default=0)


LOAN_STATUSES = ("applied", "approved", "rejected", "disbursed", "repaid")
LOAN_METHODS = ("flat", "declining")


class Loan(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id", ondelete="CASCADE"),
                                                index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("coop_member.id"), index=True)
    amount: Mapped[int]
    term_months: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(10), default="flat")
    rate_bp: Mapped[int] = mapped_column(default=150)
    late_fee: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="applied", index=True)
    revolving: Mapped[bool] = mapped_column(default=False)  # funded by the city's dana bergulir
    reason: Mapped[str] = mapped_column(String(300), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id",
                                                                 name="fk_loan_decided_by"))
    decided_at: Mapped[datetime | None]
    disbursed_on: Mapped[date | None]
    disbursed_via: Mapped[str | None] = mapped_column(String(10))  # cash | transfer
    transfer_reference: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member = relationship("CoopMember")
    instalments = relationship("Instalment", order_by="Instalment.number",
                               back_populates="loan")

    __table_args__ = (
        CheckConstraint("amount > 0 and term_months > 0", name="loan_positive"),
    )


class Instalment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loan.id", ondelete="CASCADE"))
    number: Mapped[int]
    due_on: Mapped[date]
    principal: Mapped[int]
    interest: Mapped[int]
    billed: Mapped[bool] = mapped_column(default=False)

    loan = relationship("Loan", back_populates="instalments")

    __table_args__ = (UniqueConstraint("loan_id", "number", name="uq_instalment"),
                      Index("ix_instalment_due", "billed", "due_on"))


# What a bill is for; the order is the rule a payment follows within one due date:
# fees before interest before principal, then savings, then anything else.
BILL_KINDS = ("denda", "angsuran_jasa", "angsuran_pokok", "simpanan_pokok", "simpanan_wajib",
              "lain")


class Bill(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("coop_member.id"))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int]
    paid: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(6), default="open")  # open | paid | void
    due_on: Mapped[date]
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loan.id", name="fk_bill_loan"))
    source: Mapped[str] = mapped_column(String(80), unique=True)  # raised once
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount > 0 and paid >= 0 and paid <= amount", name="bill_paid_range"),
        Index("ix_bill_member_open", "member_id", "status", "due_on"),
        Index("ix_bill_coop_due", "cooperative_id", "status", "due_on"),
    )


class MemberPayment(db.Model):
    """One payment over a member's bills: through the gateway or cash at the office. Its
    money state is its purchase's (settlement owns that); this row and its allocations
    say what each rupiah paid."""

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id", ondelete="CASCADE"),
                                                index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("coop_member.id"), index=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id", name="fk_mpay_purchase"),
                                             unique=True)
    method: Mapped[str] = mapped_column(String(10))  # qris | card | cash
    amount: Mapped[int]
    receipt_number: Mapped[str] = mapped_column(String(30), unique=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id",
                                                                  name="fk_mpay_recorded_by"))
    allocated_at: Mapped[datetime | None]
    to_savings: Mapped[int] = mapped_column(default=0)  # what no bill needed: sukarela
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    purchase = relationship("Purchase")
    member = relationship("CoopMember")
    allocations = relationship("Allocation", order_by="Allocation.id")


class Allocation(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("member_payment.id", ondelete="CASCADE"))
    bill_id: Mapped[int] = mapped_column(ForeignKey("bill.id"), index=True)
    amount: Mapped[int]

    bill = relationship("Bill")

    __table_args__ = (UniqueConstraint("payment_id", "bill_id", name="uq_allocation"),
                      CheckConstraint("amount > 0", name="allocation_positive"))


WITHDRAWAL_STATUSES = ("requested", "paid", "rejected")


class Withdrawal(db.Model):
    """A member asks to take simpanan sukarela out; staff pay it (or refuse, with a reason)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id", ondelete="CASCADE"),
                                                index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("coop_member.id"), index=True)
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), default="requested")
    reason: Mapped[str] = mapped_column(String(300), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id",
                                                                 name="fk_withdrawal_by"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member = relationship("CoopMember")


class Posting(db.Model):
    """One balanced movement in a cooperative's books; never edited, never deleted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(80), unique=True)  # what caused it, once
    memo: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("coop_member.id",
                                                             name="fk_posting_member"))
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", name="fk_posting_actor"))

    lines = relationship("PostingLine", order_by="PostingLine.id", back_populates="posting")

    __table_args__ = (Index("ix_posting_coop_id", "cooperative_id", "id"),
                      Index("ix_posting_member_id", "member_id", "id"))


class PostingLine(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("posting.id", ondelete="CASCADE"),
                                            index=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperative.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("coop_member.id",
                                                             name="fk_pline_member"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loan.id", name="fk_pline_loan"),
                                                index=True)
    debit: Mapped[int] = mapped_column(default=0)
    credit: Mapped[int] = mapped_column(default=0)

    posting = relationship("Posting", back_populates="lines")

    __table_args__ = (
        CheckConstraint("debit >= 0 and credit >= 0 and (debit = 0 or credit = 0)",
                        name="pline_one_side"),
        Index("ix_pline_coop_account", "cooperative_id", "account"),
        Index("ix_pline_member_account", "member_id", "account"),
    )


class Reminder(db.Model):
    """A reminder sent about a bill, once per bill and moment (before / after due)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bill.id", ondelete="CASCADE"))
    moment: Mapped[str] = mapped_column(String(10))  # before | after
    channel: Mapped[str] = mapped_column(String(10), default="email")
    body: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("bill_id", "moment", name="uq_reminder"),)
