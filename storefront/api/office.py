"""The city office's screen for client apps: issue and revoke API keys, subscribe a
client's webhook URL, and read the delivery log. Admins change; the office reads."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField, URLField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from ..admin.views import admin_required, bp, reader_required
from ..audit import record
from ..extensions import db
from ..forms import GeraiForm
from ..htmx import render
from ..params import WholeNumberField, coerce_id
from . import keys, webhooks
from .models import EVENT_TYPES, SCOPES, ApiKey, WebhookDelivery, WebhookSubscription

SCOPE_NAMES = {"orders:read": _l("Baca pesanan dengan kodenya"),
               "checkout:write": _l("Buat keranjang dan checkout"),
               "reports:read": _l("Laporan agregat Dinas")}
EVENT_NAMES = {"order.paid": _l("Pesanan dibayar"),
               "order.ready_for_pickup": _l("Pesanan siap diambil"),
               "stand.sale": _l("Penjualan di stan pameran")}


class Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ApiKeyForm(GeraiForm):
    name = StringField(_l("Nama aplikasi klien"), validators=[DataRequired(_l("Wajib diisi.")),
                                                              Length(max=120)])
    owner = StringField(_l("Pemilik dan kontak"), validators=[DataRequired(_l("Wajib diisi.")),
                                                               Length(max=200)])
    scopes = Checkboxes(_l("Izin"), choices=[SelectChoice(s, SCOPE_NAMES[s]) for s in SCOPES])
    rate_limit = WholeNumberField(_l("Batas permintaan per menit"), default=600, validators=[
        InputRequired(_l("Wajib diisi.")),
        NumberRange(1, 100_000, _l("Antara 1 dan 100.000."))])


class SubscriptionForm(GeraiForm):
    key = SelectField(_l("Aplikasi klien"), coerce=coerce_id, validators=[
        InputRequired(_l("Pilih aplikasinya."))])
    url = URLField(_l("URL penerima webhook"), validators=[DataRequired(_l("Wajib diisi.")),
                                                            Length(max=500)])
    events = Checkboxes(_l("Peristiwa"), choices=[SelectChoice(e, EVENT_NAMES[e]) for e in EVENT_TYPES],
                        validators=[DataRequired(_l("Pilih paling sedikit satu peristiwa."))])

    def validate_url(self, field):
        parts = urlsplit(field.data or "")
        allowed = ("https",) if current_app.config.get("GERAI_ENV") == "production" \
            else ("https", "http")
        if parts.scheme not in allowed or not parts.netloc:
            raise ValidationError(_l("Tulis URL lengkap yang diawali https://."))


def _hook_form(blank: bool = False) -> SubscriptionForm:
    form = SubscriptionForm(formdata=None) if blank else SubscriptionForm()
    form.key.choices = [SelectChoice(k.id, f"{k.name} (gerai_{k.prefix}_…)") for k in
                        db.session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None))
                                           .order_by(ApiKey.name))]
    return form


def _page(key_form=None, hook_form=None, status=200):
    api_keys = db.session.scalars(select(ApiKey).order_by(ApiKey.id.desc())).all()
    subscriptions = db.session.scalars(select(WebhookSubscription)
                                       .order_by(WebhookSubscription.id.desc())).all()
    deliveries = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
                                    .limit(50)).all()
    return render("api/office.html", api_keys=api_keys, subscriptions=subscriptions,
                  deliveries=deliveries, scope_names=SCOPE_NAMES, event_names=EVENT_NAMES,
                  key_form=key_form or ApiKeyForm(formdata=None),
                  hook_form=hook_form or _hook_form(blank=True), http_status=status)


@bp.get("/api")
@reader_required
def api_clients():
    return _page()


@bp.post("/api")
@admin_required
def issue_api_key():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _page(key_form=form, status=422)
    key, token = keys.issue(form.name.data.strip(), form.owner.data.strip(), form.scopes.data,
                            form.rate_limit.data, actor=current_user)
    db.session.commit()
    # Shown this once, on this answer only (no-store): never stored, never mailed; a page
    # of its own, not the form again, so nothing looks like a refusal.
    return render("api/shown_once.html", title=_("Kunci API diterbitkan"), secret=token,
                  heading=_("Kunci untuk %(name)s (izin: %(scopes)s).", name=key.name,
                            scopes=", ".join(str(SCOPE_NAMES[s]) for s in SCOPES
                                             if s in key.scope_set) or "—"))


def _key(key_id: int) -> ApiKey:
    return db.session.get(ApiKey, key_id) or abort(404)


@bp.post("/api/<int:key_id>/cabut")
@admin_required
def revoke_api_key(key_id: int):
    key = _key(key_id)
    if keys.revoke(key, current_user):
        db.session.commit()
        flash(_("Kunci %(name)s dicabut; permintaan dengannya langsung ditolak.", name=key.name))
    return redirect(url_for(".api_clients"), 303)


@bp.post("/api/webhook")
@admin_required
def add_webhook():
    form = _hook_form()
    if not form.validate_on_submit():
        return _page(hook_form=form, status=422)
    key = _key(form.key.data)
    subscription = WebhookSubscription(api_key_id=key.id, url=form.url.data,
                                       secret=webhooks.new_secret(),
                                       events=" ".join(e for e in EVENT_TYPES if e in form.events.data))
    db.session.add(subscription)
    db.session.flush()
    record(current_user, "webhook.subscribe", subscription,
           after={"key": key.prefix, "url": subscription.url, "events": subscription.events})
    db.session.commit()
    return render("api/shown_once.html", title=_("Webhook ditambahkan"), secret=subscription.secret,
                  heading=_("Rahasia penanda tangan webhook ke %(url)s.", url=subscription.url),
                  hint=_("Periksa header Gerai-Signature: t=<detik>,v1=<HMAC-SHA256 dari "
                         "\"t.isi\">; tolak stempel waktu yang lebih tua dari 5 menit dan "
                         "Gerai-Event-Id yang sudah pernah diterima."))


@bp.post("/api/webhook/<int:subscription_id>/hentikan")
@admin_required
def stop_webhook(subscription_id: int):
    subscription = db.session.get(WebhookSubscription, subscription_id) or abort(404)
    if subscription.active:
        subscription.active = False
        record(current_user, "webhook.stop", subscription, after={"active": False})
        db.session.commit()
        flash(_("Webhook ke %(url)s dihentikan.", url=subscription.url))
    return redirect(url_for(".api_clients"), 303)
