"""Cooperative members: the register and the office's counter (managers and staff), the
member's own page with every open bill and one payment, the books, the city's health table.

Who may do what is decided here, per cooperative: managers do everything; staff they
name keep the register and record money (never approve, reject or disburse loans); the
city office reads; a member sees only their own page; everyone else gets a 404 or 403.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from functools import wraps

from flask import Blueprint, Response, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from .. import qrcodes
from ..accounts.models import User
from ..audit import record
from ..cooperatives.models import Cooperative
from ..cooperatives.views import _coop
from ..exports import export_response
from ..extensions import db
from ..htmx import no_change, render, unchanged, wants_fragment
from ..params import MAX_ID, calendar_day, calendar_month, plain_text, whole_number
from ..payments import gateway as contract
from ..payments import runner
from ..qrcodes import qr_svg
from ..seller.imports import FileRejected
from ..timeutil import today_in_jakarta
from . import books, register_import, reports, services
from .forms import (
    BillForm,
    CashForm,
    DecisionForm,
    DepositForm,
    LoanForm,
    MemberForm,
    PayForm,
    StaffForm,
    TermsForm,
    WithdrawForm,
)
from .models import Bill, CoopMember, Loan, MemberPayment, Withdrawal
from .privacy import masked
from .schedule import schedule

bp = Blueprint("members", __name__)
JAKARTA_OFFSET = timedelta(hours=7)  # WIB, no daylight saving

KEEPERS = ("manager", "staff")  # keep the register, record money
# Several forms share a page under prefixes; CSRFProtect checks every POST app-wide (one
# token, ``csrf_token``), so the prefixed forms do not carry a second, prefixed one.
NO_FORM_CSRF = {"csrf": False}


def coop_role(*allowed: str):
    """The view's cooperative, for the roles named (manager, staff, reader)."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapper(slug: str, *args, **kwargs):
            coop = _coop(slug)
            g.role = services.role_in(coop, current_user)
            if g.role not in allowed:
                abort(403)
            return view(coop, *args, **kwargs)
        return wrapper
    return decorate


def _member_of(coop: Cooperative, member_id: int) -> CoopMember:
    member = db.session.get(CoopMember, member_id)
    if member is None or member.cooperative_id != coop.id:
        abort(404)
    return member


def _own_member(member_id: int) -> CoopMember:
    member = db.session.get(CoopMember, member_id)
    if member is None or member.user_id != current_user.id:
        abort(404)
    return member


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the register (managers and staff) -----------------------------------------------------

@bp.route("/koperasi/<slug>/anggota", methods=["GET", "POST"])
@coop_role("manager", "staff", "reader")
def register(coop: Cooperative):
    form = MemberForm()
    status = 200
    if request.method == "POST":
        if g.role not in KEEPERS:
            abort(403)
        if form.validate_on_submit():
            try:
                member = services.register(
                    coop, name=form.name.data.strip(), number=(form.number.data or "").strip(),
                    phone=form.phone.data or "", email=(form.email.data or "").strip() or None,
                    kelurahan=(form.kelurahan.data or "").strip(),
                    address=(form.address.data or "").strip(), joined_on=form.joined_on.data,
                    nik=form.nik.data or "", actor=current_user)
                db.session.commit()
            except services.Refused as refused:
                db.session.rollback()
                getattr(form, refused.field or "name").errors = [refused.message]
                status = 409
            except IntegrityError:  # the same number at the same moment
                db.session.rollback()
                form.number.errors = [_("Nomor anggota ini baru saja dipakai. Coba lagi.")]
                status = 409
            else:
                flash(_("%(name)s terdaftar sebagai anggota nomor %(number)s.",
                        name=member.name, number=member.number))
                if member.email and member.user_id is None:
                    _invite(coop, member)
                    flash(_("Undangan dikirim ke %(email)s: setelah membuat akun Gerai dengan "
                            "email itu, anggota melihat tagihan dan simpanannya sendiri.",
                            email=member.email))
                return redirect(url_for(".register", slug=coop.slug), 303)
        else:
            status = 422
    return _register_page(coop, form, http_status=status)


def _register_page(coop: Cooperative, form: MemberForm, staff_form: StaffForm | None = None,
                   http_status: int = 200):
    query = plain_text(request.args.get("q"), 60)  # one line, no NUL (PostgreSQL refuses it)
    return _no_store(render("members/register.html", coop=coop, form=form,
                            members=reports.register_rows(coop.id, query), q=query,
                            role=g.role, staff=services.staff_of(coop),
                            staff_form=staff_form or StaffForm(prefix="petugas",
                                                               meta=NO_FORM_CSRF),
                            http_status=http_status))


@bp.route("/koperasi/<slug>/anggota/impor", methods=["GET", "POST"])
@coop_role("manager", "staff")
def import_register(coop: Cooperative):
    """Upload the register (CSV or XLSX): a preview of every row with its problems."""
    rows, problem, status = [], "", 200
    if request.method == "POST":
        upload = request.files.get("berkas")
        try:
            data = upload.read(register_import.MAX_BYTES + 1) if upload else b""
            rows = register_import.read(data, upload.filename if upload else "")
            taken = set(db.session.scalars(select(CoopMember.number).where(
                CoopMember.cooperative_id == coop.id,
                CoopMember.number.in_({r.values.get("number") for r in rows} - {"", None}))))
            for row in rows:
                if row.values.get("number") in taken:
                    row.errors.append(_("Nomor anggota ini sudah ada di daftar."))
        except FileRejected as refused:
            problem, status = refused.message, 422
    return _no_store(render("members/import.html", coop=coop, rows=rows, problem=problem,
                            good=[r for r in rows if not r.errors],
                            sealed=register_import.sign(coop.id, rows) if rows else "",
                            http_status=status))


@bp.post("/koperasi/<slug>/anggota/impor/terapkan")
@coop_role("manager", "staff")
def apply_import(coop: Cooperative):
    rows = register_import.unsign(coop.id, request.form.get("baris", ""))
    if rows is None:
        abort(400)
    made, skipped = 0, []
    for values in rows:
        try:
            services.register(
                coop, name=values.get("name", "")[:120], number=values.get("number", "")[:30],
                phone=values.get("phone", "")[:20], email=values.get("email") or None,
                kelurahan=values.get("kelurahan", "")[:40], address=values.get("address", "")[:200],
                joined_on=calendar_day(values.get("joined_on")), nik=values.get("nik", ""),
                actor=current_user)
            made += 1
        except services.Refused as refused:
            skipped.append(f"{values.get('name', '')}: {refused.message}")
    record(current_user, "member.import", coop, after={"registered": made,
                                                       "skipped": len(skipped)})
    db.session.commit()
    flash(_("%(n)d anggota didaftarkan dari berkas.", n=made))
    for line in skipped[:20]:
        flash(line, "error")
    return redirect(url_for(".register", slug=coop.slug), 303)


def _invite(coop: Cooperative, member: CoopMember) -> None:
    from ..mail import send

    send(member.email, _("Anda terdaftar sebagai anggota %(coop)s", coop=coop.name), "\n".join([
        _("Halo %(name)s,", name=member.name), "",
        _("%(coop)s mendaftarkan Anda sebagai anggota nomor %(number)s.", coop=coop.name,
          number=member.number),
        _("Buat akun Gerai dengan alamat email ini, lalu buka %(link)s untuk melihat tagihan, "
          "simpanan dan pinjaman Anda dan membayar semua tagihan sekaligus.",
          link=url_for(".mine", _external=True)),
        _("Daftar: %(link)s", link=url_for("accounts.register", _external=True)), "",
        coop.name]))


@bp.post("/koperasi/<slug>/petugas")
@coop_role("manager")
def add_staff(coop: Cooperative):
    form = StaffForm(prefix="petugas", meta=NO_FORM_CSRF)
    if not form.validate_on_submit():
        return _register_page(coop, MemberForm(formdata=None), form, 422)
    user = db.session.scalar(select(User).where(User.email == form.email.data.strip().lower()))
    if user is None:
        form.email.errors = [_("Akun %(email)s belum terdaftar di Gerai.", email=form.email.data)]
        return _register_page(coop, MemberForm(formdata=None), form, 422)
    try:
        services.name_staff(coop, user, current_user)
        db.session.commit()
    except services.Refused as refused:
        db.session.rollback()
        form.email.errors = [refused.message]
        return _register_page(coop, MemberForm(formdata=None), form, 409)
    flash(_("%(name)s sekarang petugas %(coop)s.", name=user.name, coop=coop.name))
    return redirect(url_for(".register", slug=coop.slug), 303)


@bp.post("/koperasi/<slug>/petugas/<int:user_id>/hapus")
@coop_role("manager")
def remove_staff(coop: Cooperative, user_id: int):
    services.remove_staff(coop, user_id, current_user)
    db.session.commit()
    return redirect(url_for(".register", slug=coop.slug), 303)


@bp.get("/koperasi/<slug>/anggota/<int:member_id>")
@coop_role("manager", "staff", "reader")
def member_card(coop: Cooperative, member_id: int):
    member = _member_of(coop, member_id)
    if not wants_fragment():
        # Every look at a member's personal data by the cooperative's people is on record.
        record(current_user, "member.view", member, after={"role": g.role})
        db.session.commit()
    return _no_store(_card(coop, member))


@bp.get("/koperasi/<slug>/anggota/<int:member_id>/baru")
@coop_role("manager", "staff", "reader")
def member_live(coop: Cooperative, member_id: int):
    member = _member_of(coop, member_id)
    return _live(coop.id, member.id, url_for(".member_live", slug=coop.slug, member_id=member.id))


def _card(coop: Cooperative, member: CoopMember, forms: dict | None = None, status: int = 200):
    forms = forms or {}
    cash = forms.get("cash") or CashForm(prefix="tunai", meta=NO_FORM_CSRF)
    cash.attempt.data = secrets.token_urlsafe(16)
    return render("members/card.html", coop=coop, member=member, role=g.role,
                  nik=masked(member.nik_last4), **_member_context(member), cash=cash,
                  deposit=forms.get("deposit") or DepositForm(prefix="setor", meta=NO_FORM_CSRF),
                  bill_form=forms.get("bill") or BillForm(prefix="tagihan", meta=NO_FORM_CSRF),
                  http_status=status)


def _member_context(member: CoopMember) -> dict:
    bills = books.open_bills(member.id)
    rows = books.postings(member.cooperative_id, member_id=member.id, limit=20)
    loans = list(db.session.scalars(select(Loan).where(Loan.member_id == member.id)
                                    .order_by(Loan.id.desc())))
    return dict(bills=bills, owed=sum(b.amount - b.paid for b in bills),
                balances=books.balances(member.id), rows=rows,
                last_id=max((p.id for p in rows), default=0), loans=loans,
                outstanding={loan.id: books.loan_outstanding(loan.id) for loan in loans
                             if loan.status == "disbursed"},
                withdrawals=list(db.session.scalars(select(Withdrawal).where(
                    Withdrawal.member_id == member.id).order_by(Withdrawal.id.desc())
                    .limit(10))),
                payments=list(db.session.scalars(select(MemberPayment).where(
                    MemberPayment.member_id == member.id, MemberPayment.allocated_at.is_not(None))
                    .order_by(MemberPayment.id.desc()).limit(10))),
                accounts=books.ACCOUNTS)


ACTIONS = {"bayar-tunai": "cash", "setor": "deposit", "tagihan": "bill"}


@bp.post("/koperasi/<slug>/anggota/<int:member_id>/catat/<action>")
@coop_role("manager", "staff")
def member_action(coop: Cooperative, member_id: int, action: str):
    member = _member_of(coop, member_id)
    if action in ("keluar", "meninggal"):
        try:
            services.leave(member, current_user,
                           status="left" if action == "keluar" else "deceased")
            db.session.commit()
        except services.Refused as refused:
            db.session.rollback()
            flash(refused.message, "error")
        return redirect(url_for(".member_card", slug=coop.slug, member_id=member.id), 303)
    if action not in ACTIONS:
        abort(404)
    prefix = {"cash": "tunai", "deposit": "setor", "bill": "tagihan"}[ACTIONS[action]]
    form = {"cash": CashForm, "deposit": DepositForm, "bill": BillForm}[ACTIONS[action]](
        prefix=prefix, meta=NO_FORM_CSRF)
    if not form.validate_on_submit():
        return _card(coop, member, {ACTIONS[action]: form}, 422)
    try:
        if action == "bayar-tunai":
            attempt = form.attempt.data or None
            if attempt and _replayed(attempt):
                return redirect(url_for(".member_card", slug=coop.slug, member_id=member.id), 303)
            payment = services.record_cash(member, form.amount.data, current_user,
                                           attempt=attempt and f"tunai-{attempt}"[:40])
            db.session.commit()
            flash(_("Pembayaran tunai %(amount)s dicatat. Kuitansi %(receipt)s.",
                    amount=_rupiah(payment.amount), receipt=payment.receipt_number))
            return redirect(url_for(".receipt", slug=coop.slug, payment_id=payment.id), 303)
        if action == "setor":
            services.deposit(member, form.amount.data, current_user)
            db.session.commit()
            flash(_("Setoran sukarela %(amount)s dicatat.", amount=_rupiah(form.amount.data)))
        else:
            services.add_bill(member, form.amount.data, form.description.data.strip(),
                              form.due_on.data, current_user)
            db.session.commit()
            flash(_("Tagihan ditambahkan."))
    except services.Refused as refused:
        db.session.rollback()
        form.amount.errors = [refused.message]
        return _card(coop, member, {ACTIONS[action]: form}, 409)
    except IntegrityError:  # the same cash form sent twice at once: the first one counted
        db.session.rollback()
    return redirect(url_for(".member_card", slug=coop.slug, member_id=member.id), 303)


def _replayed(attempt: str) -> bool:
    from ..checkout.models import Purchase

    return db.session.scalar(select(Purchase.id).where(
        Purchase.attempt == f"tunai-{attempt}"[:40])) is not None


def _rupiah(amount: int) -> str:
    from ..money import format_rupiah

    return format_rupiah(amount)


@bp.post("/koperasi/<slug>/penarikan/<int:withdrawal_id>/<action>")
@coop_role("manager", "staff")
def decide_withdrawal(coop: Cooperative, withdrawal_id: int, action: str):
    withdrawal = db.session.get(Withdrawal, withdrawal_id)
    if withdrawal is None or withdrawal.cooperative_id != coop.id or \
            action not in ("bayar", "tolak"):
        abort(404)
    form = DecisionForm()
    form.validate_on_submit()
    try:
        services.decide_withdrawal(withdrawal, action == "bayar", current_user,
                                   (form.reason.data or "").strip())
        db.session.commit()
    except services.Refused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    return redirect(url_for(".member_card", slug=coop.slug, member_id=withdrawal.member_id), 303)


@bp.get("/koperasi/<slug>/kuitansi/<int:payment_id>")
@coop_role("manager", "staff", "reader")
def receipt(coop: Cooperative, payment_id: int):
    payment = db.session.get(MemberPayment, payment_id)
    if payment is None or payment.cooperative_id != coop.id:
        abort(404)
    return _no_store(render("members/receipt.html", coop=coop, payment=payment,
                            member=payment.member, back=url_for(
                                ".member_card", slug=coop.slug, member_id=payment.member_id)))


# --- loans ------------------------------------------------------------------------------------

@bp.get("/koperasi/<slug>/pinjaman")
@coop_role("manager", "staff", "reader")
def loans(coop: Cooperative):
    rows = list(db.session.scalars(select(Loan).where(Loan.cooperative_id == coop.id)
                                   .order_by(Loan.status, Loan.id.desc()).limit(500)))
    return _no_store(render("members/loans.html", coop=coop, loans=rows, role=g.role,
                            form=DecisionForm(),
                            outstanding={l.id: books.loan_outstanding(l.id) for l in rows
                                         if l.status == "disbursed"}))


@bp.post("/koperasi/<slug>/pinjaman/<int:loan_id>/<action>")
@coop_role("manager")
def decide_loan(coop: Cooperative, loan_id: int, action: str):
    loan = db.session.get(Loan, loan_id)
    if loan is None or loan.cooperative_id != coop.id or \
            action not in ("setujui", "tolak", "cairkan"):
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if action == "cairkan":
            services.disburse(loan, current_user, via=form.via.data,
                              reference=(form.reference.data or "").strip())
        else:
            services.decide_loan(loan, action == "setujui", current_user,
                                 (form.reason.data or "").strip(), revolving=form.revolving.data)
        db.session.commit()
    except services.Refused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    return redirect(url_for(".loans", slug=coop.slug), 303)


# --- the month's bills, terms, books -------------------------------------------------------------

@bp.post("/koperasi/<slug>/tagihan-bulanan")
@coop_role("manager", "staff")
def run_bills(coop: Cooperative):
    month = calendar_month(request.form.get("bulan")) or today_in_jakarta().replace(day=1)
    result = services.bill_run(coop.id, month)
    db.session.commit()
    flash(_("Tagihan %(month)s: %(wajib)d simpanan wajib, %(inst)d angsuran, %(late)d denda.",
            month=f"{month:%Y-%m}", wajib=result.wajib, inst=result.instalments,
            late=result.late_fees))
    return redirect(url_for(".books_page", slug=coop.slug), 303)


@bp.route("/koperasi/<slug>/pengaturan", methods=["GET", "POST"])
@coop_role("manager", "staff", "reader")
def terms(coop: Cooperative):
    current = services.terms_of(coop.id, to_change=request.method == "POST")
    form = TermsForm(obj=current)
    if request.method == "GET" and coop.shop is not None:
        form.shop.data = coop.shop.slug
    status = 200
    if request.method == "POST":
        if g.role != "manager":
            abort(403)
        if form.validate_on_submit() and _own_shop(coop, form):
            before = {k: getattr(current, k) for k in ("pokok", "wajib", "rate_bp", "late_fee")}
            form.populate_obj(current)
            record(current_user, "coop.terms", coop, before=before,
                   after={k: getattr(current, k) for k in before})
            db.session.commit()
            flash(_("Ketentuan disimpan."))
            return redirect(url_for(".terms", slug=coop.slug), 303)
        status = 422
    return _no_store(render("members/terms.html", coop=coop, form=form, role=g.role,
                            http_status=status))


def _own_shop(coop: Cooperative, form: TermsForm) -> bool:
    """The cooperative's own shop: a verified shop one of its managers owns (its sales
    then count for the members' jasa usaha in the SHU). False: the field says why."""
    from ..catalogue.models import Shop

    slug = (form.shop.data or "").strip().lower()
    if not slug:
        coop.shop_id = None
        return True
    shop = db.session.scalar(select(Shop).where(Shop.slug == slug))
    if shop is None or shop.status != "verified" or \
            shop.owner_id not in {m.id for m in coop.managers}:
        form.shop.errors = [_("Toko %(slug)s tidak ditemukan, belum terverifikasi, atau bukan "
                              "milik pengurus koperasi ini.", slug=slug)]
        return False
    coop.shop_id = shop.id
    return True


@bp.get("/koperasi/<slug>/buku")
@coop_role("manager", "staff", "reader")
def books_page(coop: Cooperative):
    rows = books.postings(coop.id)
    trial = books.trial_balance(coop.id)
    return _no_store(render("members/books.html", coop=coop,
                            rows=rows, last_id=max((p.id for p in rows), default=0),
                            trial=trial, role=g.role, accounts=books.ACCOUNTS,
                            live_url=url_for(".books_live", slug=coop.slug),
                            month=f"{today_in_jakarta():%Y-%m}"))


@bp.get("/koperasi/<slug>/buku/baru")
@coop_role("manager", "staff", "reader")
def books_live(coop: Cooperative):
    return _live(coop.id, None, url_for(".books_live", slug=coop.slug))


def _live(coop_id: int, member_id: int | None, live_url: str):
    """New postings after the newest shown (the cooperative sales list's technique)."""
    if not wants_fragment():
        abort(404)
    after = whole_number(request.args.get("setelah"), low=0, high=MAX_ID, default=0)
    rows = books.postings(coop_id, member_id=member_id, after=after)
    if not rows:
        return _no_store(no_change())
    return _no_store(render("members/_live.html", rows=rows, member_id=member_id,
                            last_id=max(p.id for p in rows), live_url=live_url))


@bp.get("/koperasi/<slug>/laporan/<report>.<kind>")
@coop_role("manager", "staff", "reader")
def export(coop: Cooperative, report: str, kind: str):
    if kind not in ("csv", "xlsx", "excel.csv"):
        abort(404)
    made = reports.table(coop, report, request.args)
    if made is None:
        abort(404)
    title, header, rows = made
    return export_response(kind, f"{report}-{coop.slug}-{today_in_jakarta():%Y%m%d}", title,
                           header, rows)


@bp.get("/koperasi/<slug>/laporan/<report>")
@coop_role("manager", "staff", "reader")
def report_page(coop: Cooperative, report: str):
    made = reports.table(coop, report, request.args)
    if made is None:
        abort(404)
    title, header, rows = made
    return _no_store(render("members/report.html", coop=coop, report=report, title=title,
                            header=header, rows=rows, args=request.args))


# --- the member's own side ----------------------------------------------------------------------

@bp.get("/anggota")
@login_required
def mine():
    members = list(db.session.scalars(select(CoopMember).where(
        CoopMember.user_id == current_user.id).order_by(CoopMember.id)))
    waiting = _waiting(current_user)
    if len(members) == 1 and not waiting:
        return redirect(url_for(".own_page", member_id=members[0].id))
    return _no_store(render("members/mine.html", members=members, waiting=waiting))


def _waiting(user) -> list[CoopMember]:
    """Registrations a cooperative made with this account's (verified) email, not linked yet."""
    return list(db.session.scalars(select(CoopMember).where(
        CoopMember.user_id.is_(None), CoopMember.status == "active",
        db.func.lower(CoopMember.email) == user.email.lower()).order_by(CoopMember.id)))


@bp.post("/anggota/hubungkan/<int:member_id>")
@login_required
def claim(member_id: int):
    member = next((m for m in _waiting(current_user) if m.id == member_id), None)
    if member is None:
        abort(404)
    if db.session.scalar(select(CoopMember.id).where(
            CoopMember.cooperative_id == member.cooperative_id,
            CoopMember.user_id == current_user.id)):
        flash(_("Akun ini sudah terhubung dengan keanggotaan lain di koperasi ini."), "error")
        return redirect(url_for(".mine"), 303)
    changed = db.session.execute(
        update(CoopMember).where(CoopMember.id == member.id, CoopMember.user_id.is_(None))
        .values(user_id=current_user.id).execution_options(synchronize_session=False)).rowcount
    if changed:
        record(current_user, "member.link_account", member, after={"user": current_user.email})
    db.session.commit()
    return redirect(url_for(".own_page", member_id=member.id), 303)


@bp.get("/anggota/<int:member_id>")
@login_required
def own_page(member_id: int):
    member = _own_member(member_id)
    return _own(member)


def _own(member: CoopMember, pay: PayForm | None = None, loan: LoanForm | None = None,
         withdraw: WithdrawForm | None = None, status: int = 200):
    context = _member_context(member)
    pay = pay or PayForm(prefix="bayar", meta=NO_FORM_CSRF)
    pay.method.choices = _methods()
    if pay.amount.data is None and not pay.errors:
        pay.amount.data = context["owed"] or None
    pay.attempt.data = secrets.token_urlsafe(16)
    return _no_store(render("members/own.html",
                            member=member, coop=member.cooperative, pay=pay,
                            loan=loan or LoanForm(prefix="pinjam", meta=NO_FORM_CSRF),
                            withdraw=withdraw or WithdrawForm(prefix="tarik", meta=NO_FORM_CSRF),
                            live_url=url_for(".own_live", member_id=member.id),
                            terms=services.terms_of(member.cooperative_id),
                            http_status=status, **context))


def _methods() -> list[tuple[str, str]]:
    names = {"qris": _("QRIS (e-wallet atau m-banking)"), "card": _("Kartu")}
    return [SelectChoice(method, names[method]) for method, _name in contract.online_methods()]


@bp.get("/anggota/<int:member_id>/baru")
@login_required
def own_live(member_id: int):
    member = _own_member(member_id)
    return _live(member.cooperative_id, member.id, url_for(".own_live", member_id=member.id))


@bp.post("/anggota/<int:member_id>/bayar")
@login_required
def pay(member_id: int):
    member = _own_member(member_id)
    form = PayForm(prefix="bayar", meta=NO_FORM_CSRF)
    form.method.choices = _methods()
    if not form.validate_on_submit():
        return _own(member, pay=form, status=422)
    attempt = f"kp-{form.attempt.data or ''}"[:40]
    existing = db.session.scalar(select(MemberPayment).join(MemberPayment.purchase).where(
        MemberPayment.member_id == member.id,
        MemberPayment.purchase.has(attempt=attempt)))
    if existing is not None:  # "Bayar" pressed twice: one payment
        return redirect(url_for(".own_payment", member_id=member.id, payment_id=existing.id), 303)
    gateway_name = dict(contract.online_methods()).get(form.method.data)
    try:
        payment = services.start_bill_payment(member, form.amount.data, form.method.data,
                                              attempt, gateway_name)
    except services.Refused as refused:
        db.session.rollback()
        form.amount.errors = [refused.message]
        return _own(member, pay=form, status=409)
    db.session.commit()
    purchase = payment.purchase
    target = url_for(".own_payment", member_id=member.id, payment_id=payment.id, _external=True)
    try:
        url = runner.start_payment(purchase, success_url=target, cancel_url=target)
    except contract.GatewayUnavailable as error:
        flash(str(error.message), "error")
        return redirect(target, 303)
    except contract.PaymentError as error:
        runner.close(purchase)
        flash(str(error.message), "error")
        return redirect(url_for(".own_page", member_id=member.id), 303)
    return redirect(url or target, 303)


def _own_payment(member_id: int, payment_id: int) -> tuple[CoopMember, MemberPayment]:
    """The signed-in member's own payment, else 404 (nothing said about anyone else's)."""
    member = _own_member(member_id)
    payment = db.session.get(MemberPayment, payment_id)
    if payment is None or payment.member_id != member.id:
        abort(404)
    return member, payment


@bp.get("/anggota/<int:member_id>/pembayaran/<int:payment_id>")
@login_required
def own_payment(member_id: int, payment_id: int):
    member, payment = _own_payment(member_id, payment_id)
    purchase = payment.purchase
    if unchanged(purchase.status):
        return no_change()
    qr = qr_svg(purchase.payment_qr, scale=5, border=4) \
        if purchase.status == "pending" and purchase.payment_qr else None
    return _no_store(render("members/receipt.html", blocks={"status-pembayaran": "status"},
                            coop=member.cooperative, payment=payment, member=member, qr=qr,
                            back=url_for(".own_page", member_id=member.id), own=True))


@bp.get("/anggota/<int:member_id>/pembayaran/<int:payment_id>/qris.png")
@login_required
def own_qris_picture(member_id: int, payment_id: int):
    """The QRIS as a picture to save, for "scan from gallery" on this same phone."""
    member, payment = _own_payment(member_id, payment_id)
    purchase = payment.purchase
    if purchase.status != "pending" or not purchase.payment_qr:
        abort(404)
    return qrcodes.qris_picture(purchase.payment_qr, purchase.code)


@bp.post("/anggota/<int:member_id>/pinjaman")
@login_required
def apply_loan(member_id: int):
    member = _own_member(member_id)
    form = LoanForm(prefix="pinjam", meta=NO_FORM_CSRF)
    if not form.validate_on_submit():
        return _own(member, loan=form, status=422)
    try:
        services.apply_for_loan(member, form.amount.data, form.term.data,
                                form.purpose.data.strip(), form.method.data)
        db.session.commit()
    except services.Refused as refused:
        db.session.rollback()
        getattr(form, refused.field if refused.field in ("term", "method") else "amount") \
            .errors = [refused.message]
        return _own(member, loan=form, status=409)
    flash(_("Pengajuan pinjaman dikirim. Pengurus akan memutuskan."))
    return redirect(url_for(".own_page", member_id=member.id), 303)


@bp.post("/anggota/<int:member_id>/tarik")
@login_required
def withdraw(member_id: int):
    member = _own_member(member_id)
    form = WithdrawForm(prefix="tarik", meta=NO_FORM_CSRF)
    if not form.validate_on_submit():
        return _own(member, withdraw=form, status=422)
    try:
        services.request_withdrawal(member, form.amount.data)
        db.session.commit()
    except services.Refused as refused:
        db.session.rollback()
        form.amount.errors = [refused.message]
        return _own(member, withdraw=form, status=409)
    flash(_("Permintaan penarikan dikirim ke petugas koperasi."))
    return redirect(url_for(".own_page", member_id=member.id), 303)


@bp.get("/anggota/<int:member_id>/jadwal/<int:loan_id>")
@login_required
def own_schedule(member_id: int, loan_id: int):
    member = _own_member(member_id)
    loan = db.session.get(Loan, loan_id)
    if loan is None or loan.member_id != member.id:
        abort(404)
    return _schedule_page(member.cooperative, member, loan)


@bp.get("/koperasi/<slug>/pinjaman/<int:loan_id>")
@coop_role("manager", "staff", "reader")
def loan_page(coop: Cooperative, loan_id: int):
    loan = db.session.get(Loan, loan_id)
    if loan is None or loan.cooperative_id != coop.id:
        abort(404)
    return _schedule_page(coop, loan.member, loan)


def _schedule_page(coop, member, loan: Loan):
    rows = loan.instalments
    if not rows:  # not disbursed yet: what it would be from today
        terms = services.terms_of(coop.id)
        rows = schedule(loan.amount, loan.term_months, loan.rate_bp, loan.method,
                        today_in_jakarta(), terms.due_day)
    bills = {b.source: b for b in db.session.scalars(select(Bill).where(Bill.loan_id == loan.id))}
    return _no_store(render("members/schedule.html", coop=coop, member=member, loan=loan,
                            rows=rows, bills=bills,
                            outstanding=books.loan_outstanding(loan.id)))


@bp.get("/anggota/<int:member_id>/data.json")
@login_required
def own_data(member_id: int):
    """Everything Gerai holds about the member, for them to keep (UU PDP)."""
    member = _own_member(member_id)
    body = json.dumps(reports.member_data(member), ensure_ascii=False, indent=2, default=str)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="data-anggota-{member.number}.json"',
        "Cache-Control": "no-store"})


# --- the city office ------------------------------------------------------------------------------

@bp.get("/admin/koperasi/kesehatan")
@login_required
def health():
    if not current_user.has_role("admin", "organizer", "observer"):
        abort(403)
    order = request.args.get("urut", "name")
    rows = reports.health(order)
    return _no_store(render("members/health.html", rows=rows, order=order,
                            fund=reports.revolving_fund()))


@bp.get("/admin/koperasi/kesehatan.<kind>")
@login_required
def health_export(kind: str):
    if not current_user.has_role("admin", "organizer", "observer"):
        abort(403)
    if kind not in ("csv", "xlsx", "excel.csv"):
        abort(404)
    header, rows = reports.health_table(reports.health(request.args.get("urut", "name")))
    return export_response(kind, f"kesehatan-koperasi-{today_in_jakarta():%Y%m%d}",
                           _("Kesehatan koperasi"), header, rows)


@bp.app_template_filter("account_name")
def account_name(code: str) -> str:
    names = g.get("account_names")
    if names is None:  # once a request: a lazy string is translated each time it is read
        names = g.account_names = {c: str(name) for c, (name, _side) in books.ACCOUNTS.items()}
    return names.get(code, code)


@bp.app_template_filter("posted")
def posted(moment) -> str:
    """A posting's time in Jakarta, short ("30/11/26 12.54"): the live lists print dozens,
    and Babel's full formatter was a third of the member page's time."""
    return (moment + JAKARTA_OFFSET).strftime("%d/%m/%y %H.%M") if moment else ""
