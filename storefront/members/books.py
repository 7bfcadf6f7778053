"""The cooperatives' double-entry books: postings, one payment over many bills, the check.

Every movement of a cooperative's money is one ``Posting`` whose lines balance (debits =
credits, checked before anything is written). Lines on a member's own accounts (their
savings, their loan) move ``MemberBalance`` in the same transaction; a withdrawal moves
it with one conditional UPDATE, so savings never go below zero however requests race.

A payment over bills is allocated here, inside the transaction in which settlement
marks its purchase paid (``purchase_paid``): oldest due date first and, within a due
date, late fees, then loan interest, then principal, then savings, then other bills.
Each bill takes what it still lacks through a conditional UPDATE (``paid + n <=
amount``), so no bill is ever paid twice, even by a cash payment and a gateway payment
arriving at the same moment; what no bill needs goes to the member's simpanan sukarela.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, case, cast, func, literal, select, update

from ..extensions import db
from ..timeutil import utcnow
from .models import (
    BILL_KINDS,
    Allocation,
    Bill,
    CoopMember,
    Loan,
    MemberBalance,
    MemberPayment,
    Posting,
    PostingLine,
)

# code: (name, normal side). D: assets and expenses; C: what is owed, equity and income.
ACCOUNTS = {
    "kas": (_l("Kas"), "D"),
    "kliring": (_l("Kliring gateway pembayaran"), "D"),
    "piutang_pinjaman": (_l("Piutang pinjaman anggota"), "D"),
    "beban_gateway": (_l("Beban biaya gateway"), "D"),
    "simpanan_pokok": (_l("Simpanan pokok"), "C"),
    "simpanan_wajib": (_l("Simpanan wajib"), "C"),
    "simpanan_sukarela": (_l("Simpanan sukarela"), "C"),
    "pendapatan_jasa": (_l("Pendapatan jasa pinjaman"), "C"),
    "pendapatan_denda": (_l("Pendapatan denda"), "C"),
    "pendapatan_lain": (_l("Pendapatan lain"), "C"),
}
SAVINGS = ("simpanan_pokok", "simpanan_wajib", "simpanan_sukarela")
# Accounts kept per member in MemberBalance.
MEMBER_ACCOUNTS = (*SAVINGS, "piutang_pinjaman")
# Which account a paid bill credits.
BILL_ACCOUNT = {"denda": "pendapatan_denda", "angsuran_jasa": "pendapatan_jasa",
                "angsuran_pokok": "piutang_pinjaman", "simpanan_pokok": "simpanan_pokok",
                "simpanan_wajib": "simpanan_wajib", "lain": "pendapatan_lain"}
KIND_ORDER = {kind: n for n, kind in enumerate(BILL_KINDS)}


class Unbalanced(ValueError):
    pass


class NotEnoughSavings(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Line:
    account: str
    debit: int = 0
    credit: int = 0
    member_id: int | None = None
    loan_id: int | None = None


def debit(account: str, amount: int, **dims) -> Line:
    return Line(account, debit=amount, **dims)


def credit(account: str, amount: int, **dims) -> Line:
    return Line(account, credit=amount, **dims)


def _signed(line: Line) -> int:
    """The line's effect on its account's balance, in the account's own direction."""
    change = line.debit - line.credit
    return change if ACCOUNTS[line.account][1] == "D" else -change


def post(cooperative_id: int, source: str, memo: str, lines: list[Line], *,
         member_id: int | None = None, actor=None, when: datetime | None = None,
         floor: bool = False) -> Posting:
    """Write one balanced posting (and move member balances); flushes.

    ``floor``: a member balance a line lowers must stay at zero or above, else
    NotEnoughSavings and nothing of this posting is written (the caller rolls back)."""
    lines = [line for line in lines if line.debit or line.credit]
    for line in lines:
        if line.account not in ACCOUNTS:
            raise Unbalanced(f"unknown account {line.account}")
        if isinstance(line.debit, bool) or isinstance(line.credit, bool) or \
                line.debit < 0 or line.credit < 0 or (line.debit and line.credit):
            raise Unbalanced(f"a line is a debit or a credit of whole rupiah: {line}")
    debits, credits = sum(l.debit for l in lines), sum(l.credit for l in lines)
    if not lines or debits != credits:
        raise Unbalanced(f"{source}: debit {debits} ≠ kredit {credits}")
    for line in lines:
        if line.member_id is None or line.account not in MEMBER_ACCOUNTS:
            continue
        change = _signed(line)
        query = update(MemberBalance).where(MemberBalance.member_id == line.member_id,
                                            MemberBalance.account == line.account)
        if floor and change < 0:
            query = query.where(MemberBalance.balance + change >= 0)
        moved = db.session.execute(query.values(balance=MemberBalance.balance + change)
                                   .execution_options(synchronize_session=False)).rowcount
        if not moved:
            if floor and change < 0:
                raise NotEnoughSavings(str(_l("Saldo tidak cukup.")))
            db.session.add(MemberBalance(member_id=line.member_id, account=line.account,
                                         balance=change))
            db.session.flush()
    posting = Posting(cooperative_id=cooperative_id, source=source[:80], memo=memo[:200],
                      member_id=member_id, posted_at=when or utcnow(),
                      actor_id=actor.id if actor is not None and hasattr(actor, "id") else None)
    posting.lines = [PostingLine(cooperative_id=cooperative_id, account=l.account,
                                 member_id=l.member_id, loan_id=l.loan_id, debit=l.debit,
                                 credit=l.credit) for l in lines]
    db.session.add(posting)
    db.session.flush()
    return posting


def open_bills(member_id: int, *, lock: bool = False) -> list[Bill]:
    """The member's open bills in the order a payment pays them."""
    order = case(*((Bill.kind == k, n) for k, n in KIND_ORDER.items()), else_=99)
    query = select(Bill).where(Bill.member_id == member_id, Bill.status == "open") \
        .order_by(Bill.due_on, order, Bill.id).execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def allocate(payment: MemberPayment, amount: int, money_account: str,
             when: datetime) -> list[Allocation]:
    """Spread ``amount`` over the member's open bills (see the module's rule) and post it."""
    left = amount
    made: list[Allocation] = []
    lines = [debit(money_account, amount)]
    for bill in open_bills(payment.member_id):
        if left <= 0:
            break
        want = min(left, bill.amount - bill.paid)
        if want <= 0:
            continue
        # Takes only what the bill still lacks: another payment may have got here first.
        taken = db.session.execute(
            update(Bill).where(Bill.id == bill.id, Bill.status == "open",
                               Bill.paid + want <= Bill.amount)
            .values(paid=Bill.paid + want,
                    status=case((Bill.paid + want == Bill.amount, "paid"), else_="open"))
            .execution_options(synchronize_session=False)).rowcount
        if not taken:
            continue
        left -= want
        made.append(Allocation(payment_id=payment.id, bill_id=bill.id, amount=want))
        lines.append(credit(BILL_ACCOUNT[bill.kind], want, member_id=payment.member_id,
                            loan_id=bill.loan_id))
    if left:
        lines.append(credit("simpanan_sukarela", left, member_id=payment.member_id))
    db.session.add_all(made)
    db.session.execute(update(MemberPayment).where(MemberPayment.id == payment.id)
                       .values(allocated_at=when, to_savings=left)
                       .execution_options(synchronize_session=False))
    post(payment.cooperative_id, f"bayar:{payment.id}",
         f"Pembayaran tagihan {payment.receipt_number}", lines, member_id=payment.member_id,
         when=when)
    for loan_id in {b.loan_id for b in (a.bill for a in made) if b is not None and b.loan_id}:
        close_if_repaid(loan_id)
    return made


def close_if_repaid(loan_id: int) -> None:
    owed = db.session.scalar(select(func.count(Bill.id)).where(
        Bill.loan_id == loan_id, Bill.kind == "angsuran_pokok", Bill.status == "open"))
    outstanding = loan_outstanding(loan_id)
    if not owed and outstanding == 0:
        db.session.execute(update(Loan).where(Loan.id == loan_id, Loan.status == "disbursed")
                           .values(status="repaid").execution_options(synchronize_session=False))


def loan_outstanding(loan_id: int) -> int:
    got = db.session.execute(select(func.coalesce(func.sum(PostingLine.debit), 0),
                                    func.coalesce(func.sum(PostingLine.credit), 0))
                             .where(PostingLine.loan_id == loan_id,
                                    PostingLine.account == "piutang_pinjaman")).one()
    return int(got[0]) - int(got[1])


# --- the hooks settlement calls, in its transaction -----------------------------------------

def purchase_paid(purchase, payment, when: datetime) -> bool:
    """Settlement counted this purchase's payment: if it pays a member's bills, allocate
    it. False when the purchase is not a bill payment (a shop purchase)."""
    member_payment = db.session.scalar(select(MemberPayment).where(
        MemberPayment.purchase_id == purchase.id))
    if member_payment is None or member_payment.allocated_at is not None:
        return member_payment is not None
    account = "kas" if purchase.gateway == "cash" else "kliring"
    allocate(member_payment, int(payment.amount), account, when)
    return True


def gateway_fee(purchase, fee: int) -> bool:
    """What the gateway kept of a bill payment: an expense out of the clearing account.
    False when the purchase is not a bill payment."""
    member_payment = db.session.scalar(select(MemberPayment).where(
        MemberPayment.purchase_id == purchase.id))
    if member_payment is None:
        return False
    post(member_payment.cooperative_id, f"mdr:{member_payment.id}",
         f"Biaya gateway {member_payment.receipt_number}",
         [debit("beban_gateway", fee), credit("kliring", fee)])
    return True


# --- reading the books ------------------------------------------------------------------------

@dataclass
class TrialRow:
    account: str
    name: str
    debit: int
    credit: int

    @property
    def balance(self) -> int:
        change = self.debit - self.credit
        return change if ACCOUNTS[self.account][1] == "D" else -change


def trial_balance(cooperative_id: int, end: datetime | None = None) -> list[TrialRow]:
    query = select(PostingLine.account, func.sum(PostingLine.debit), func.sum(PostingLine.credit)) \
        .where(PostingLine.cooperative_id == cooperative_id)
    if end is not None:
        query = query.join(Posting, Posting.id == PostingLine.posting_id) \
            .where(Posting.posted_at < end)
    sums = {a: (int(d), int(c)) for a, d, c in db.session.execute(
        query.group_by(PostingLine.account))}
    return [TrialRow(code, str(name), *sums.get(code, (0, 0)))
            for code, (name, _side) in ACCOUNTS.items()]


def balances(member_id: int) -> dict[str, int]:
    got = dict(db.session.execute(select(MemberBalance.account, MemberBalance.balance)
                                  .where(MemberBalance.member_id == member_id)).all())
    return {account: int(got.get(account, 0)) for account in MEMBER_ACCOUNTS}


def postings(cooperative_id: int, *, member_id: int | None = None, after: int = 0,
             limit: int = 50) -> list[Posting]:
    query = select(Posting).where(Posting.cooperative_id == cooperative_id)
    if member_id is not None:
        query = query.where(Posting.member_id == member_id)
    if after:
        query = query.where(Posting.id > after)
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(query.options(selectinload(Posting.lines))
                                   .order_by(Posting.id.desc()).limit(limit)))


def check(cooperative_id: int | None = None) -> list[str]:
    """Every way the books could be wrong; empty when they balance."""
    problems = []
    scope = [] if cooperative_id is None else [PostingLine.cooperative_id == cooperative_id]
    for posting_id, source, d, c in db.session.execute(
            select(Posting.id, Posting.source, func.sum(PostingLine.debit),
                   func.sum(PostingLine.credit))
            .join(PostingLine, PostingLine.posting_id == Posting.id).where(*scope)
            .group_by(Posting.id, Posting.source)
            .having(func.sum(PostingLine.debit) != func.sum(PostingLine.credit))):
        problems.append(f"posting {source} (#{posting_id}): debit {d} ≠ kredit {c}")
    for coop_id, d, c in db.session.execute(
            select(PostingLine.cooperative_id, func.sum(PostingLine.debit),
                   func.sum(PostingLine.credit)).where(*scope)
            .group_by(PostingLine.cooperative_id)):
        if int(d) != int(c):
            problems.append(f"koperasi #{coop_id}: debit {d} ≠ kredit {c}")
    mismatched = db.session.execute(
        select(PostingLine.cooperative_id, Posting.cooperative_id)
        .join(Posting, Posting.id == PostingLine.posting_id)
        .where(PostingLine.cooperative_id != Posting.cooperative_id, *scope).limit(10)).all()
    problems += [f"baris posting koperasi #{a} di posting koperasi #{b}" for a, b in mismatched]
    # Each member's balances are the sum of their lines.
    summed: dict[tuple[int, str], int] = defaultdict(int)
    line_scope = [PostingLine.member_id.is_not(None),
                  PostingLine.account.in_(MEMBER_ACCOUNTS), *scope]
    for member_id, account, d, c in db.session.execute(
            select(PostingLine.member_id, PostingLine.account, func.sum(PostingLine.debit),
                   func.sum(PostingLine.credit)).where(*line_scope)
            .group_by(PostingLine.member_id, PostingLine.account)):
        summed[(member_id, account)] = _signed(Line(account, int(d), int(c)))
    kept_query = select(MemberBalance.member_id, MemberBalance.account, MemberBalance.balance)
    if cooperative_id is not None:
        kept_query = kept_query.join(CoopMember, CoopMember.id == MemberBalance.member_id) \
            .where(CoopMember.cooperative_id == cooperative_id)
    kept = {(m, a): int(b) for m, a, b in db.session.execute(kept_query)}
    for key in set(summed) | set(kept):
        if summed.get(key, 0) != kept.get(key, 0):
            problems.append(f"anggota #{key[0]} {key[1]}: saldo {kept.get(key, 0)} ≠ "
                            f"jumlah posting {summed.get(key, 0)}")
        if key[1] in SAVINGS and kept.get(key, 0) < 0:
            problems.append(f"anggota #{key[0]} {key[1]}: saldo negatif {kept[key]}")
    # Bills: paid equals what was allocated to them, never more than the bill.
    allocated = dict(db.session.execute(
        select(Allocation.bill_id, func.sum(Allocation.amount)).group_by(Allocation.bill_id)).all())
    bill_query = select(Bill.id, Bill.source, Bill.amount, Bill.paid, Bill.status)
    if cooperative_id is not None:
        bill_query = bill_query.where(Bill.cooperative_id == cooperative_id)
    for bill_id, source, amount, paid, status in db.session.execute(
            bill_query.where((Bill.paid > 0) | Bill.id.in_(list(allocated)[:50_000]))):
        if int(allocated.get(bill_id, 0)) != paid:
            problems.append(f"tagihan {source}: dibayar {paid}, dialokasikan "
                            f"{allocated.get(bill_id, 0)}")
        if paid > amount or (status == "paid") != (paid == amount):
            problems.append(f"tagihan {source}: status {status}, {paid} dari {amount}")
    # A paid payment is posted once, for its whole amount.
    for pay_id, receipt, amount, posted in db.session.execute(
            select(MemberPayment.id, MemberPayment.receipt_number, MemberPayment.amount,
                   func.coalesce(func.sum(PostingLine.debit), 0))
            .join(Posting, Posting.source == literal("bayar:").op("||")(
                cast(MemberPayment.id, String)), isouter=True)
            .join(PostingLine, (PostingLine.posting_id == Posting.id)
                  & PostingLine.account.in_(("kas", "kliring")), isouter=True)
            .where(MemberPayment.allocated_at.is_not(None),
                   *([] if cooperative_id is None
                     else [MemberPayment.cooperative_id == cooperative_id]))
            .group_by(MemberPayment.id, MemberPayment.receipt_number, MemberPayment.amount)):
        if int(posted) != amount:
            problems.append(f"kuitansi {receipt}: dibayar {amount}, dibukukan {posted}")
    return problems
