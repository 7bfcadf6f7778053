"""Use cases of a cooperative's members: register, savings, loans, the monthly bills, payments.

Plain functions with explicit arguments; they flush, the request or command commits.
Money moves only through ``books.post``; a bill payment's money state only through
payments/settlement.py (a bill payment is a Purchase without orders, so QRIS and cards
go through the very gateway contract, webhooks, reconciler and rules of shop checkout).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from ..audit import record
from ..checkout.models import Purchase
from ..checkout.services import _code as purchase_code
from ..cooperatives.models import Cooperative
from ..extensions import db
from ..payments import gateway as contract
from ..payments import settlement
from ..timeutil import today_in_jakarta, utcnow
from . import books
from .books import credit, debit
from .models import (
    Bill,
    CoopMember,
    CoopTerms,
    Instalment,
    Loan,
    MemberPayment,
    Withdrawal,
    coop_staff,
)
from .schedule import schedule


class Refused(Exception):
    """A request the rules do not allow; ``message`` is for the person, ``field`` where."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


MAX_AMOUNT = 10_000_000_000  # ten billion rupiah: beyond any cooperative's single movement


# --- roles ------------------------------------------------------------------------------------

def role_in(coop: Cooperative, user) -> str | None:
    """manager | staff | reader (the city office) | None, for this cooperative."""
    if not getattr(user, "is_authenticated", False):
        return None
    if any(m.id == user.id for m in coop.managers):
        return "manager"
    if db.session.scalar(select(coop_staff.c.user_id).where(
            coop_staff.c.cooperative_id == coop.id, coop_staff.c.user_id == user.id)):
        return "staff"
    if user.has_role("admin", "organizer", "observer"):
        return "reader"
    return None


def staff_of(coop: Cooperative) -> list:
    from ..accounts.models import User

    return list(db.session.scalars(select(User).join(
        coop_staff, coop_staff.c.user_id == User.id)
        .where(coop_staff.c.cooperative_id == coop.id).order_by(User.name)))


def name_staff(coop: Cooperative, user, actor) -> None:
    if any(m.id == user.id for m in coop.managers):
        raise Refused(_("%(email)s sudah pengelola koperasi ini.", email=user.email), "email")
    if db.session.scalar(select(coop_staff.c.user_id).where(
            coop_staff.c.cooperative_id == coop.id, coop_staff.c.user_id == user.id)):
        raise Refused(_("%(email)s sudah petugas koperasi ini.", email=user.email), "email")
    db.session.execute(insert(coop_staff).values(cooperative_id=coop.id, user_id=user.id))
    record(actor, "coop.staff_add", coop, after={"staff": user.email})
    db.session.flush()


def remove_staff(coop: Cooperative, user_id: int, actor) -> None:
    removed = db.session.execute(coop_staff.delete().where(
        coop_staff.c.cooperative_id == coop.id, coop_staff.c.user_id == user_id)).rowcount
    if removed:
        record(actor, "coop.staff_remove", coop, after={"staff_id": user_id})
    db.session.flush()


def terms_of(coop_id: int, *, to_change: bool = False) -> CoopTerms:
    """The cooperative's terms; until its managers set them, the defaults (kept only when
    they are to be changed: reading a page writes nothing)."""
    terms = db.session.get(CoopTerms, coop_id)
    if terms is None:
        terms = CoopTerms(cooperative_id=coop_id, pokok=100_000, wajib=25_000, due_day=10,
                          rate_bp=150, late_fee=10_000, shu_capital_pct=20, shu_business_pct=25)
        if to_change:
            db.session.add(terms)
    return terms


# --- the register -----------------------------------------------------------------------------

def next_number(coop: Cooperative) -> str:
    count = db.session.scalar(select(func.count(CoopMember.id)).where(
        CoopMember.cooperative_id == coop.id)) or 0
    while True:
        count += 1
        number = f"{count:05d}"
        if not db.session.scalar(select(CoopMember.id).where(
                CoopMember.cooperative_id == coop.id, CoopMember.number == number)):
            return number


def register(coop: Cooperative, *, name: str, phone: str = "", email: str | None = None,
             kelurahan: str = "", address: str = "", joined_on: date | None = None,
             number: str = "", nik: str = "", actor=None, user=None) -> CoopMember:
    """A new member; their simpanan pokok becomes their first bill."""
    number = number or next_number(coop)
    if db.session.scalar(select(CoopMember.id).where(CoopMember.cooperative_id == coop.id,
                                                     CoopMember.number == number)):
        raise Refused(_("Nomor anggota %(number)s sudah dipakai.", number=number), "number")
    if user is None and email:
        from ..accounts.models import User

        user = db.session.scalar(select(User).where(User.email == email.lower()))
    if user is not None and db.session.scalar(select(CoopMember.id).where(
            CoopMember.cooperative_id == coop.id, CoopMember.user_id == user.id)):
        raise Refused(_("Akun %(email)s sudah terdaftar sebagai anggota.", email=user.email),
                      "email")
    member = CoopMember(cooperative_id=coop.id, number=number, name=name, phone=phone,
                        email=(email or None) and email.lower(), kelurahan=kelurahan,
                        address=address, joined_on=joined_on or today_in_jakarta(),
                        status="active", user_id=user.id if user is not None else None)
    if nik:
        from .privacy import seal

        member.nik_sealed, member.nik_last4 = seal(nik), nik[-4:]
    db.session.add(member)
    db.session.flush()
    terms = terms_of(coop.id)
    if terms.pokok:
        db.session.add(Bill(cooperative_id=coop.id, member_id=member.id, kind="simpanan_pokok",
                            description=_("Simpanan pokok"), amount=terms.pokok,
                            due_on=member.joined_on, source=f"pokok:{member.id}"))
    record(actor, "member.register", member, after={"coop": coop.slug, "number": number})
    db.session.flush()
    return member


def leave(member: CoopMember, actor, *, status: str = "left",
          when: datetime | None = None) -> None:
    """The member leaves (or has died): their savings are paid out in cash, open bills
    other than loans are waived. Refused while a loan is outstanding."""
    if member.status != "active":
        raise Refused(_("Anggota ini sudah tidak aktif."))
    if db.session.scalar(select(Loan.id).where(Loan.member_id == member.id,
                                               Loan.status.in_(("approved", "disbursed")))):
        raise Refused(_("Masih ada pinjaman yang belum lunas."))
    db.session.execute(update(Bill).where(Bill.member_id == member.id, Bill.status == "open")
                       .values(status="void").execution_options(synchronize_session=False))
    held = books.balances(member.id)
    lines = [debit(account, held[account], member_id=member.id) for account in books.SAVINGS
             if held[account] > 0]
    total = sum(line.debit for line in lines)
    if total:
        books.post(member.cooperative_id, f"keluar:{member.id}",
                   f"Pengembalian simpanan {member.number}", [*lines, credit("kas", total)],
                   member_id=member.id, actor=actor, when=when, floor=True)
    member.status, member.left_on = status, today_in_jakarta()
    record(actor, "member.leave", member, after={"status": status, "paid_out": total})
    db.session.flush()


# --- savings ----------------------------------------------------------------------------------

def deposit(member: CoopMember, amount: int, actor, when: datetime | None = None):
    """Simpanan sukarela handed over at the office."""
    _positive(amount)
    _active(member)
    return books.post(member.cooperative_id, f"setor:{secrets.token_hex(8)}",
                      f"Setoran sukarela {member.number}",
                      [debit("kas", amount), credit("simpanan_sukarela", amount,
                                                    member_id=member.id)],
                      member_id=member.id, actor=actor, when=when)


def request_withdrawal(member: CoopMember, amount: int) -> Withdrawal:
    _positive(amount)
    _active(member)
    if amount > books.balances(member.id)["simpanan_sukarela"]:
        raise Refused(_("Saldo simpanan sukarela tidak cukup."), "amount")
    withdrawal = Withdrawal(cooperative_id=member.cooperative_id, member_id=member.id,
                            amount=amount, status="requested")
    db.session.add(withdrawal)
    db.session.flush()
    return withdrawal


def decide_withdrawal(withdrawal: Withdrawal, pay: bool, actor, reason: str = "",
                      when: datetime | None = None) -> None:
    changed = db.session.execute(
        update(Withdrawal).where(Withdrawal.id == withdrawal.id,
                                 Withdrawal.status == "requested")
        .values(status="paid" if pay else "rejected", reason=reason[:300],
                decided_by_id=actor.id if actor else None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(withdrawal)
    if not changed:
        raise Refused(_("Permintaan ini sudah diputuskan."))
    if pay:
        try:
            books.post(withdrawal.cooperative_id, f"tarik:{withdrawal.id}",
                       f"Penarikan sukarela {withdrawal.member.number}",
                       [debit("simpanan_sukarela", withdrawal.amount,
                              member_id=withdrawal.member_id),
                        credit("kas", withdrawal.amount)],
                       member_id=withdrawal.member_id, actor=actor, when=when, floor=True)
        except books.NotEnoughSavings:
            raise Refused(_("Saldo simpanan sukarela tidak cukup.")) from None
    record(actor, "withdrawal.pay" if pay else "withdrawal.reject", withdrawal,
           after={"amount": withdrawal.amount}, note=reason[:200])
    db.session.flush()


# --- loans ------------------------------------------------------------------------------------

def apply_for_loan(member: CoopMember, amount: int, term: int, purpose: str,
                   method: str = "flat") -> Loan:
    _positive(amount)
    _active(member)
    if not 1 <= term <= 120:
        raise Refused(_("Jangka waktu 1 sampai 120 bulan."), "term")
    if method not in ("flat", "declining"):
        raise Refused(_("Pilih metode angsuran."), "method")
    terms = terms_of(member.cooperative_id)
    loan = Loan(cooperative_id=member.cooperative_id, member_id=member.id, amount=amount,
                term_months=term, purpose=purpose[:300], method=method, rate_bp=terms.rate_bp,
                late_fee=terms.late_fee, status="applied")
    db.session.add(loan)
    db.session.flush()
    record(None, "loan.apply", loan, after={"amount": amount, "term": term})
    return loan


def decide_loan(loan: Loan, approve: bool, actor, reason: str = "", *,
                rate_bp: int | None = None, revolving: bool = False) -> None:
    if not approve and not reason.strip():
        raise Refused(_("Tulis alasan penolakan."), "reason")
    values = {"status": "approved" if approve else "rejected", "reason": reason[:300],
              "decided_by_id": actor.id if actor else None, "decided_at": utcnow(),
              "revolving": bool(revolving)}
    if rate_bp is not None:
        values["rate_bp"] = rate_bp
    changed = db.session.execute(update(Loan).where(Loan.id == loan.id, Loan.status == "applied")
                                 .values(**values)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(loan)
    if not changed:
        raise Refused(_("Pengajuan ini sudah diputuskan."))
    record(actor, "loan.approve" if approve else "loan.reject", loan,
           after={"amount": loan.amount, "revolving": loan.revolving}, note=reason[:200])
    db.session.flush()


def disburse(loan: Loan, actor, *, via: str = "cash", reference: str = "",
             on: date | None = None, when: datetime | None = None) -> None:
    """The money goes out; the schedule is fixed from this day."""
    if via not in ("cash", "transfer"):
        raise Refused(_("Pilih tunai atau transfer."), "via")
    if via == "transfer" and not reference.strip():
        raise Refused(_("Tulis nomor referensi transfer."), "reference")
    on = on or today_in_jakarta()
    changed = db.session.execute(update(Loan).where(Loan.id == loan.id, Loan.status == "approved")
                                 .values(status="disbursed", disbursed_on=on, disbursed_via=via,
                                         transfer_reference=reference[:80] or None)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(loan)
    if not changed:
        raise Refused(_("Pinjaman ini belum disetujui atau sudah dicairkan."))
    terms = terms_of(loan.cooperative_id)
    rows = schedule(loan.amount, loan.term_months, loan.rate_bp, loan.method, on, terms.due_day)
    db.session.add_all(Instalment(loan_id=loan.id, number=r.number, due_on=r.due_on,
                                  principal=r.principal, interest=r.interest) for r in rows)
    books.post(loan.cooperative_id, f"cair:{loan.id}", f"Pencairan pinjaman #{loan.id}",
               [debit("piutang_pinjaman", loan.amount, member_id=loan.member_id,
                      loan_id=loan.id), credit("kas", loan.amount)],
               member_id=loan.member_id, actor=actor, when=when)
    record(actor, "loan.disburse", loan, after={"via": via, "reference": reference})
    db.session.flush()


# --- the monthly bill run ------------------------------------------------------------------------

@dataclass
class RunResult:
    wajib: int = 0
    instalments: int = 0
    late_fees: int = 0


def bill_run(coop_id: int, month: date, today: date | None = None) -> RunResult:
    """Raise the month's bills for every active member; safe to run again (each bill once).

    Simpanan wajib for the month; every instalment falling due up to the month's end not
    billed yet (interest and principal, two bills); a late fee for every instalment still
    unpaid after its due date, once per instalment per month."""
    today = today or today_in_jakarta()
    month = month.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    terms = terms_of(coop_id)
    due = month.replace(day=max(1, min(terms.due_day, 28)))
    period = f"{month:%Y-%m}"
    result = RunResult()
    rows: list[dict] = []
    if terms.wajib:
        members = db.session.execute(select(CoopMember.id).where(
            CoopMember.cooperative_id == coop_id, CoopMember.status == "active",
            CoopMember.joined_on < next_month)).scalars().all()
        have = set(db.session.scalars(select(Bill.member_id).where(
            Bill.cooperative_id == coop_id, Bill.kind == "simpanan_wajib",
            Bill.due_on == due)))
        description = _("Simpanan wajib %(period)s", period=period)
        for member_id in members:
            if member_id not in have:
                rows.append(dict(cooperative_id=coop_id, member_id=member_id,
                                 kind="simpanan_wajib", description=description,
                                 amount=terms.wajib, paid=0, status="open", due_on=due,
                                 source=f"wajib:{member_id}:{period}", created_at=utcnow()))
        result.wajib = len(rows)
    instalments = db.session.execute(
        select(Instalment.id, Instalment.loan_id, Instalment.number, Instalment.due_on,
               Instalment.principal, Instalment.interest, Loan.member_id, Loan.term_months)
        .join(Loan, Loan.id == Instalment.loan_id)
        .where(Loan.cooperative_id == coop_id, Loan.status == "disbursed",
               Instalment.billed.is_(False), Instalment.due_on < next_month)).all()
    for inst_id, loan_id, number, due_on, principal, interest, member_id, term in instalments:
        label = f"{number}/{term}"
        for kind, amount, words in (("angsuran_jasa", interest, _("Jasa pinjaman")),
                                    ("angsuran_pokok", principal, _("Angsuran pokok"))):
            if amount > 0:
                rows.append(dict(cooperative_id=coop_id, member_id=member_id, kind=kind,
                                 description=f"{words} #{loan_id} {label}", amount=amount,
                                 paid=0, status="open", due_on=due_on, loan_id=loan_id,
                                 source=f"{kind}:{inst_id}", created_at=utcnow()))
        result.instalments += 1
    if instalments:
        db.session.execute(update(Instalment).where(Instalment.id.in_([i[0] for i in instalments]))
                           .values(billed=True).execution_options(synchronize_session=False))
    # Late: instalments due in an earlier month and still open on the run's day: one fee
    # per instalment per month, due with the month's other bills.
    if month <= today:
        late = db.session.execute(
            select(Bill.loan_id, Bill.member_id, Bill.source, Bill.due_on, Loan.late_fee)
            .join(Loan, Loan.id == Bill.loan_id)
            .where(Bill.cooperative_id == coop_id, Bill.status == "open",
                   Bill.kind == "angsuran_pokok", Bill.due_on < month,
                   Loan.late_fee > 0)).all()
        sources = {f"denda:{src.split(':')[1]}:{period}" for _l, _m, src, _d, _f in late}
        have = set(db.session.scalars(select(Bill.source).where(Bill.source.in_(sources)))) \
            if sources else set()
        for loan_id, member_id, src, due_on, fee in late:
            source = f"denda:{src.split(':')[1]}:{period}"
            if source in have:
                continue
            have.add(source)
            rows.append(dict(cooperative_id=coop_id, member_id=member_id, kind="denda",
                             description=_("Denda keterlambatan #%(loan)s (jatuh tempo "
                                           "%(due)s)", loan=loan_id, due=due_on.isoformat()),
                             amount=fee, paid=0, status="open", due_on=due, loan_id=loan_id,
                             source=source, created_at=utcnow()))
            result.late_fees += 1
    if rows:
        db.session.execute(insert(Bill), rows)
    db.session.flush()
    return result


def add_bill(member: CoopMember, amount: int, description: str, due_on: date, actor) -> Bill:
    """Any other bill the cooperative raises (its store's credit, an event's fee)."""
    _positive(amount)
    _active(member)
    bill = Bill(cooperative_id=member.cooperative_id, member_id=member.id, kind="lain",
                description=description[:200], amount=amount, due_on=due_on,
                source=f"lain:{secrets.token_hex(10)}")
    db.session.add(bill)
    db.session.flush()
    record(actor, "bill.add", bill, after={"amount": amount, "description": description})
    return bill


def open_total(member_id: int) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(Bill.amount - Bill.paid), 0))
                                 .where(Bill.member_id == member_id, Bill.status == "open")))


# --- payments over bills ----------------------------------------------------------------------

def _receipt_number(coop_id: int) -> str:
    return f"KW-{coop_id}-{today_in_jakarta():%y%m%d}-{secrets.token_hex(4).upper()}"


def start_bill_payment(member: CoopMember, amount: int, method: str, attempt: str,
                       gateway_name: str) -> MemberPayment:
    """A member pays (some of) their open bills through the gateway: a purchase without
    orders, pending until settlement counts its payment. Flushes; the caller commits and
    then asks the runner for the payment page (no lock held while the gateway answers)."""
    _positive(amount)
    owed = open_total(member.id)
    if owed <= 0:
        raise Refused(_("Tidak ada tagihan terbuka."), "amount")
    if amount > owed:
        raise Refused(_("Jumlah melebihi tagihan terbuka (%(owed)s).",
                        owed=_rupiah(owed)), "amount")
    purchase = Purchase(code=purchase_code("KP"), buyer_id=None, attempt=attempt,
                        buyer_name=member.name[:120], buyer_whatsapp=(member.phone or "-")[:20],
                        buyer_email=member.email, total=amount, status="pending",
                        gateway=gateway_name,
                        expires_at=utcnow() + timedelta(minutes=30))
    db.session.add(purchase)
    db.session.flush()
    payment = MemberPayment(cooperative_id=member.cooperative_id, member_id=member.id,
                            purchase_id=purchase.id, method=method, amount=amount,
                            receipt_number=_receipt_number(member.cooperative_id))
    db.session.add(payment)
    db.session.flush()
    return payment


def record_cash(member: CoopMember, amount: int, actor, when: datetime | None = None,
                attempt: str | None = None) -> MemberPayment:
    """Cash counted at the office by staff: a cash purchase settled at once, then
    allocated over the bills (what is left goes to simpanan sukarela)."""
    _positive(amount)
    _active(member)
    purchase = Purchase(code=purchase_code("KT"), buyer_id=None,
                        attempt=attempt or secrets.token_urlsafe(20),
                        buyer_name=member.name[:120], buyer_whatsapp=(member.phone or "-")[:20],
                        total=amount, status="pending", gateway="cash",
                        expires_at=utcnow() + timedelta(minutes=5))
    db.session.add(purchase)
    db.session.flush()
    payment = MemberPayment(cooperative_id=member.cooperative_id, member_id=member.id,
                            purchase_id=purchase.id, method="cash", amount=amount,
                            receipt_number=_receipt_number(member.cooperative_id),
                            recorded_by_id=actor.id if actor else None)
    db.session.add(payment)
    db.session.flush()
    settlement.cash_paid(purchase, contract.Payment(
        id=f"cash_{secrets.token_hex(12)}", status=contract.PAID, amount=amount,
        reference=purchase.code))
    record(actor, "member.cash_payment", payment, after={"amount": amount,
                                                         "receipt": payment.receipt_number})
    db.session.flush()
    if when is not None:  # histories in tests and the bench date their postings
        db.session.execute(update(MemberPayment).where(MemberPayment.id == payment.id)
                           .values(allocated_at=when).execution_options(synchronize_session=False))
    db.session.refresh(payment)
    return payment


def _rupiah(amount: int) -> str:
    from ..money import format_rupiah

    return format_rupiah(amount)


def _positive(amount) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise Refused(_("Tulis jumlah rupiah lebih dari nol."), "amount")


def _active(member: CoopMember) -> None:
    if member.status != "active":
        raise Refused(_("Anggota ini sudah tidak aktif."))
