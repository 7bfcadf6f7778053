"""Cooperative screens: the manager's members and live sales, the member's side, the office's list."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..accounts.models import User
from ..catalogue.models import Shop
from ..exports import export_response
from ..extensions import db
from ..htmx import render, wants_fragment
from ..params import MAX_ID, plain_text, record_id, whole_number
from ..places import KELURAHAN_BY_KECAMATAN
from ..seller.services import shop_of
from ..timeutil import jakarta_day_start, today_in_jakarta
from . import services
from .forms import CooperativeForm, SalesFilterForm
from .models import Cooperative, Membership

bp = Blueprint("cooperatives", __name__)

READERS = ("admin", "organizer", "observer")


def _coop(slug: str) -> Cooperative:
    return db.session.scalar(select(Cooperative).where(Cooperative.slug == slug)) or abort(404)


def manager_or_reader(view):
    """A cooperative's own managers, and the city office reading; nobody else."""
    @wraps(view)
    @login_required
    def wrapper(slug: str, *args, **kwargs):
        coop = _coop(slug)
        g.manages = any(m.id == current_user.id for m in coop.managers)
        if not (g.manages or current_user.has_role(*READERS)):
            abort(403)
        return view(coop, *args, **kwargs)
    return wrapper


def manager_only(view):
    @wraps(view)
    @manager_or_reader
    def wrapper(coop: Cooperative, *args, **kwargs):
        if not g.manages:
            abort(403)
        return view(coop, *args, **kwargs)
    return wrapper


def _membership(coop: Cooperative, membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.cooperative_id != coop.id:
        abort(404)
    return membership


# --- the manager -----------------------------------------------------------------------------

@bp.get("/koperasi")
@login_required
def mine():
    coops = services.managed_by(current_user)
    if len(coops) == 1:
        return redirect(url_for(".home", slug=coops[0].slug))
    if not coops and not current_user.has_role(*READERS):
        abort(403)
    return render("cooperatives/list.html", coops=coops or db.session.scalars(
        select(Cooperative).order_by(Cooperative.name)).all())


def _filters() -> tuple[SalesFilterForm, dict]:
    form = SalesFilterForm(request.args)
    form.toko.choices = [SelectChoice("", _("Semua anggota"))]
    chosen: dict = {}
    if form.validate():
        if form.toko.data:
            chosen["shop_id"] = record_id(form.toko.data)
        if form.dari.data:
            chosen["start"] = jakarta_day_start(form.dari.data)
        if form.sampai.data:
            chosen["end"] = jakarta_day_start(form.sampai.data + timedelta(days=1))
        if form.kanal.data:
            chosen["channel"] = form.kanal.data
    return form, chosen


@bp.get("/koperasi/<slug>")
@manager_or_reader
def home(coop: Cooperative):
    return _home(coop)


def _home(coop: Cooperative, invite: tuple[str, str] | None = None, http_status: int = 200):
    """The cooperative's page; ``invite`` is a refused invitation: (what the manager
    typed, why it was refused), shown in and next to the field."""
    form, chosen = _filters()
    members = services.members(coop, include_past=True)
    form.toko.choices += [SelectChoice(str(m.shop_id), m.shop.name) for m in members]
    month_start = jakarta_day_start(today_in_jakarta().replace(day=1))
    rows = services.sales_rows(coop, **chosen)
    monthly = services.monthly_by_member(coop)
    return render("cooperatives/home.html", coop=coop, members=members,
                  pending=services.pending(coop), rows=rows, form=form, live=not chosen,
                  last_id=max((r.last_id for r in rows), default=0),
                  month=services.totals(coop, month_start), monthly=monthly,
                  chart=_month_chart(monthly), manages=g.manages, invite=invite,
                  http_status=http_status)


def _month_chart(monthly, months: int = 6) -> list[tuple[str, str, int]]:
    """(month, its short name, net sales) for the last few months, quiet ones included:
    one bar alone said nothing about the months before it."""
    per: dict[str, int] = {}
    for month, _name, total in monthly:
        per[month] = per.get(month, 0) + total
    first = today_in_jakarta().replace(day=1)
    days = [first]
    while len(days) < months:
        days.insert(0, (days[0] - timedelta(days=1)).replace(day=1))
    return [(f"{day:%Y-%m}", format_date(day, "MMM yy"), per.get(f"{day:%Y-%m}", 0))
            for day in days]


@bp.get("/koperasi/<slug>/baru")
@manager_or_reader
def live(coop: Cooperative):
    """The live list asks every few seconds for sales newer than the newest it shows."""
    if not wants_fragment():
        return redirect(url_for(".home", slug=coop.slug))  # opened by hand: the whole page
    after = whole_number(request.args.get("setelah"), low=0, high=MAX_ID, default=0)
    rows = services.sales_rows(coop, after=after)
    if not rows:
        return "", 204  # nothing new: htmx keeps the list and asks again
    # the month's headline total follows the list (swapped out of band)
    month_start = jakarta_day_start(today_in_jakarta().replace(day=1))
    return render("cooperatives/home.html", blocks={"poller": "new_rows"}, coop=coop, rows=rows,
                  last_id=max(r.last_id for r in rows), month=services.totals(coop, month_start))


@bp.get("/koperasi/<slug>/penjualan.<kind>")
@manager_or_reader
def export(coop: Cooperative, kind: str):
    _form, chosen = _filters()
    rows = [(r.posted_at.isoformat(timespec="seconds") + "Z", r.order_code, r.shop_name,
             r.channel, "penjualan" if r.kind == "sale" else "pengembalian", r.amount)
            for r in services.sales_rows(coop, limit=1_000_000, **chosen)]
    header = ("waktu", "pesanan", "anggota", "kanal", "jenis", "jumlah")
    return export_response(kind, f"penjualan-{coop.slug}-{today_in_jakarta():%Y%m%d}",
                           _("Penjualan"), header, rows)


@bp.post("/koperasi/<slug>/undang")
@manager_only
def invite(coop: Cooperative):
    typed = plain_text(request.form.get("toko"), 200)
    slug = typed.lower()
    shop = db.session.scalar(select(Shop).where(Shop.slug == slug, Shop.verified))
    if shop is None:
        return _home(coop, (typed, _("Toko dengan alamat %(slug)s tidak ditemukan atau belum "
                                     "terverifikasi.", slug=slug or "—")), 422)
    try:
        services.invite(coop, shop, current_user)
        db.session.commit()
    except services.MembershipRefused as refused:
        return _home(coop, (typed, refused.message), 409)
    flash(_("%(shop)s diundang. Keanggotaan berlaku setelah toko menerima.", shop=shop.name))
    return redirect(url_for(".home", slug=coop.slug), 303)


@bp.post("/koperasi/<slug>/anggota/<int:membership_id>/<action>")
@manager_only
def decide(coop: Cooperative, membership_id: int, action: str):
    # The manager accepts a shop's request (never its own invitation), or ends a membership.
    _act(_membership(coop, membership_id), action, accepts="requested", ends="keluarkan")
    return redirect(url_for(".home", slug=coop.slug), 303)


def _act(membership: Membership, action: str, *, accepts: str, ends: str) -> None:
    """terima / tolak / the side's word for ending; the other side's proposal is accepted."""
    try:
        if action == "terima" and membership.status == accepts:
            services.accept(membership, current_user)
            db.session.commit()
        elif action == "tolak":
            services.decline(membership, current_user)
            db.session.commit()
        elif action == ends:
            services.leave(membership, current_user)
            db.session.commit()
        else:
            abort(409)
    except services.MembershipRefused as refused:
        flash(refused.message, "error")


# --- the member shop -------------------------------------------------------------------------

@bp.route("/penjual/koperasi", methods=["GET", "POST"])
@login_required
def membership():
    shop = shop_of(current_user) or abort(403)
    if request.method == "POST":
        chosen = record_id(request.form.get("koperasi"))
        coop = db.session.get(Cooperative, chosen) if chosen else None
        if coop is None:
            flash(_("Pilih koperasi yang ingin Anda ikuti."), "error")
        else:
            try:
                services.request_to_join(coop, shop, current_user)
                db.session.commit()
            except services.MembershipRefused as refused:
                flash(refused.message, "error")
            else:
                flash(_("Permintaan bergabung dikirim ke %(coop)s.", coop=coop.name))
        return redirect(url_for(".membership"), 303)
    active = services.active_membership(shop)
    month_start = jakarta_day_start(today_in_jakarta().replace(day=1))
    mine = db.session.scalars(select(Membership).where(Membership.shop_id == shop.id)
                              .order_by(Membership.created_at.desc())).all()
    return render("cooperatives/member.html", shop=shop, active=active, memberships=mine,
                  coop_month=services.totals(active.cooperative, month_start) if active else None,
                  member_count=len(services.members(active.cooperative)) if active else 0,
                  coops=db.session.scalars(select(Cooperative).order_by(Cooperative.name)).all())


@bp.post("/penjual/koperasi/<int:membership_id>/<action>")
@login_required
def answer(membership_id: int, action: str):
    shop = shop_of(current_user) or abort(403)
    found = db.session.get(Membership, membership_id)
    if found is None or found.shop_id != shop.id:
        abort(404)
    # The shop accepts a cooperative's invitation (never its own request), or leaves.
    _act(found, action, accepts="invited", ends="keluar")
    return redirect(url_for(".membership"), 303)


# --- the city office -------------------------------------------------------------------------

@bp.route("/admin/koperasi", methods=["GET", "POST"])
@login_required
def office_list():
    if not current_user.has_role(*READERS):
        abort(403)
    form = CooperativeForm()
    if request.method == "POST":
        if not current_user.has_role("admin", "organizer"):
            abort(403)  # observers read, they do not create
        return _create(form)
    return render("cooperatives/office.html", form=form,
                  coops=db.session.scalars(select(Cooperative).order_by(Cooperative.name)).all(),
                  kelurahan=KELURAHAN_BY_KECAMATAN)


def _create(form: CooperativeForm):
    if form.validate_on_submit():
        emails = [e.strip().lower() for e in (form.managers.data or "").split(",") if e.strip()]
        managers = db.session.scalars(select(User).where(User.email.in_(emails))).all()
        missing = sorted(set(emails) - {u.email for u in managers})
        taken = db.session.scalar(select(Cooperative.id).where(
            Cooperative.legal_number == form.legal_number.data.strip()))
        if missing:
            form.managers.errors = [_("Akun belum terdaftar: %(emails)s.", emails=", ".join(missing))]
        elif taken:
            form.legal_number.errors = [_("Nomor badan hukum ini sudah terdaftar.")]
        else:
            coop = services.create(form.name.data.strip(), form.legal_number.data.strip(),
                                   form.kecamatan.data, form.kelurahan.data, current_user,
                                   managers=managers)
            db.session.commit()
            flash(_("Koperasi %(name)s dibuat.", name=coop.name))
            return redirect(url_for(".office_list"), 303)
        status = 409 if taken else 422
    else:
        status = 422
    return render("cooperatives/office.html", form=form, http_status=status,
                  coops=db.session.scalars(select(Cooperative).order_by(Cooperative.name)).all(),
                  kelurahan=KELURAHAN_BY_KECAMATAN)
