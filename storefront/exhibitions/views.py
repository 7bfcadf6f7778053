"""Fairs for the city office (organizer role) and stand pages for visitors."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from sqlalchemy import select

from .. import fragments, polls
from ..admin.views import office_required
from ..catalogue.models import Shop
from ..exports import export_response
from ..extensions import db
from ..htmx import render, wants_fragment
from ..params import calendar_day, record_id
from ..payments import qris
from ..qrcodes import qr_svg
from ..timeutil import today_in_jakarta
from . import dashboard as dashboard_data
from . import services
from .forms import FairForm, StandsForm
from .models import Fair, Stand
from .till import stand_items

bp = Blueprint("exhibitions", __name__, url_prefix="/pameran")


def _fair(slug: str) -> Fair:
    return db.session.scalar(select(Fair).where(Fair.slug == slug)) or abort(404)


def _stand(fair: Fair, code: str) -> Stand:
    return services.stand_by_code(fair, code) or abort(404)


@bp.get("")
@office_required
def fairs():
    return render("exhibitions/fairs.html", fairs=db.session.scalars(
        select(Fair).order_by(Fair.starts_on.desc())).all())


@bp.route("/baru", methods=["GET", "POST"])
@office_required
def new_fair():
    form = FairForm()
    if form.validate_on_submit():
        fair = services.create_fair(form.name.data.strip(), form.venue.data.strip(),
                                    form.starts_on.data, form.ends_on.data,
                                    form.opens_at.data, form.closes_at.data, actor=current_user,
                                    grace_days=form.grace_days.data if form.grace_days.data is not None
                                    else 1)
        db.session.commit()
        flash(_("Pameran dibuat. Sekarang susun stannya."))
        return redirect(url_for(".fair", slug=fair.slug), 303)
    return render("exhibitions/fair_form.html", form=form,
                  http_status=422 if form.is_submitted() else 200)


def _fair_page(fair: Fair, stands_form: StandsForm, status: int = 200):
    shops = db.session.scalars(select(Shop).where(Shop.verified).order_by(Shop.name)).all()
    return render("exhibitions/fair.html", fair=fair, stands_form=stands_form, shops=shops,
                  http_status=status)


@bp.get("/<slug>")
@office_required
def fair(slug: str):
    return _fair_page(_fair(slug), StandsForm(formdata=None))


@bp.post("/<slug>/stan")
@office_required
def add_stands(slug: str):
    fair = _fair(slug)
    form = StandsForm()
    if not form.validate_on_submit():
        return _fair_page(fair, form, 422)
    try:
        made = services.add_stands(fair, form.zone.data.upper(), form.first.data or 1,
                                   form.count.data, form.notes.data or "", actor=current_user)
        db.session.commit()
    except services.StandCodeTaken as taken:
        form.zone.errors = [_("Kode stan sudah ada: %(codes)s.", codes=", ".join(taken.codes[:5]))]
        return _fair_page(fair, form, 409)
    flash(_("%(n)d stan dibuat: %(first)s sampai %(last)s.", n=len(made), first=made[0].code,
            last=made[-1].code))
    return redirect(url_for(".fair", slug=fair.slug), 303)


@bp.post("/<slug>/stan/<code>/toko")
@office_required
def assign(slug: str, code: str):
    fair = _fair(slug)
    stand = _stand(fair, code)
    shop_id = request.form.get("shop_id", "")
    shop = None
    if shop_id:  # empty: the stand is cleared
        found = record_id(shop_id)
        shop = db.session.get(Shop, found) if found else None
        if shop is None or not shop.verified:
            abort(422)
    services.assign(stand, shop, actor=current_user)
    db.session.commit()
    if request.headers.get("HX-Request") == "true":
        return render("exhibitions/fair.html", blocks={f"stan-{stand.id}": "stand_row"},
                      fair=fair, stand=stand, shops=db.session.scalars(
                          select(Shop).where(Shop.verified).order_by(Shop.name)).all(),
                      stands_form=StandsForm(formdata=None), saved=True)
    return redirect(url_for(".fair", slug=fair.slug) + f"#stan-{stand.id}", 303)


@bp.get("/<slug>/stan/<code>/poster")
@office_required
def poster(slug: str, code: str):
    fair = _fair(slug)
    stand = _stand(fair, code)
    url = url_for(".stand_page", slug=fair.slug, code=stand.code, _external=True)
    static = stand.shop.static_qris if stand.shop else None
    return render("exhibitions/poster.html", fair=fair, stand=stand, url=url,
                  qr=qr_svg(url), static_qr=qr_svg(static, scale=3, border=4) if static else None,
                  static_qris=qris.parse(static) if static else None)


@bp.get("/<slug>/<code>")
def stand_page(slug: str, code: str):
    """What a visitor sees after scanning the stand's poster: the stand and its products."""
    fair = _fair(slug)
    stand = _stand(fair, code)
    if (closed := services.why_closed(fair, stand)) is not None:
        return stand_closed(fair, stand, closed)
    seconds = current_app.config["FRAGMENT_CACHE_SECONDS"]

    def page():
        # The product cards are the same for every visitor: rendered once per version.
        grid = fragments.get("stand-products")
        if grid is None:
            grid = render_block("exhibitions/stand.html", "products",
                                products=services.stand_products(stand))
            fragments.put("stand-products", grid, seconds)
        return render("exhibitions/stand.html", fair=fair, stand=stand,
                      items=stand_items(stand), grid=Markup(grid))

    # The whole page too, for the many phones that scan the poster and bring nothing of
    # their own (no account, cart or message): the fair's busiest page (issue 16).
    return fragments.shared_page("stand-page", page, seconds)


def stand_closed(fair: Fair, stand: Stand, closed: services.Closed):
    """A poster scanned when the stand sells nothing: say why, create nothing."""
    return render("exhibitions/stand_closed.html", fair=fair, stand=stand,
                  message=closed.message, http_status=closed.status)


@bp.post("/<slug>/tutup")
@office_required
def close_fair(slug: str):
    fair = _fair(slug)
    if services.close_fair(fair, current_user):
        db.session.commit()
        flash(_("Pameran %(fair)s ditutup: tautan stan tidak melayani penjualan lagi.",
                fair=fair.name))
    return redirect(url_for(".fair", slug=fair.slug), 303)


@bp.post("/<slug>/stan/<code>/<any(aktifkan, nonaktifkan):switch>")
@office_required
def switch_stand(slug: str, code: str, switch: str):
    fair = _fair(slug)
    stand = _stand(fair, code)
    if services.set_stand_active(stand, switch == "aktifkan", current_user):
        db.session.commit()
    flash(_("Stan %(code)s aktif.", code=stand.code) if stand.active
          else _("Stan %(code)s dinonaktifkan: posternya tidak melayani penjualan.",
                 code=stand.code))
    return redirect(url_for(".fair", slug=fair.slug) + f"#stan-{stand.id}", 303)


# --- the organizer's live view of a fair ---------------------------------------------------

@bp.get("/<slug>/dasbor")
@polls.answered_from_versions  # nothing sold or changed since: 204 before the login
@office_required
def dashboard(slug: str):
    """Live figures; the figures block asks again every 3 s and is shared by every screen."""
    snapshot = polls.snapshot(polls.FAIR_SALES, polls.CATALOGUE)  # before the figures
    fair = _fair(slug)

    def figures_block(figures) -> str:
        return render_block("exhibitions/dashboard.html", "figures", fair=fair, figures=figures,
                            figures_version=dashboard_data.VERSION_MARK)

    if wants_fragment() and request.headers.get("HX-Target") == "dasbor-angka":
        body, version = dashboard_data.cached_fragment(fair, snapshot, figures_block)
        # The block is shared; the token in it is signed for this organizer's session.
        response = make_response(body.replace(dashboard_data.VERSION_MARK,
                                              polls.signed(version)))
    else:
        response = render("exhibitions/dashboard.html", fair=fair,
                          figures=dashboard_data.figures(fair),
                          figures_version=snapshot.token(polls.end_of_day()))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/penjualan.<kind>")
@office_required
def export(slug: str, kind: str):
    fair = _fair(slug)
    return export_response(kind, f"penjualan-{fair.slug}-{today_in_jakarta():%Y%m%d}",
                           _("Penjualan"), dashboard_data.EXPORT_COLUMNS,
                           dashboard_data.export_rows(fair))


@bp.get("/<slug>/rekap")
@office_required
def recap(slug: str):
    """End of day, for printing: totals, per stand, handed over vs still to hand over."""
    fair = _fair(slug)
    # The page shows the day it is for; a day that cannot be read shows today's.
    day = calendar_day(request.args.get("tanggal"), default=today_in_jakarta())
    return render("exhibitions/recap.html", fair=fair, figures=dashboard_data.figures(fair, day))
