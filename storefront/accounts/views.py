from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from .. import mail
from ..extensions import db, limiter, login_manager
from ..htmx import render
from ..i18n import LANGUAGE_COOKIE
from ..urls import safe_next
from . import services
from .forms import ForgotForm, LoginForm, NewPasswordForm, RegisterForm
from .models import User

bp = Blueprint("accounts", __name__)


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    return db.session.scalar(select(User).where(User.session_token == session_token))


def _start_session(user: User) -> None:
    # A fresh session at login: nothing an attacker planted before survives.
    session.clear()
    login_user(user)


@bp.route("/masuk", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user:
            _start_session(user)
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append(_("Email atau kata sandi salah."))
        status = 422
    elif form.is_submitted():
        status = 422
    return render("accounts/login.html", form=form, http_status=status)


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"])
def register():
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        roles = ["shopper", "seller"] if form.wants_to_sell.data else ["shopper"]
        try:
            user = services.register(form.name.data, form.email.data, form.password.data, roles)
        except services.EmailTaken:
            form.email.errors.append(_("Email ini sudah terdaftar. Silakan masuk."))
            status = 409
        else:
            _start_session(user)
            flash(_("Selamat datang di Gerai, %(name)s!", name=user.name))
            return redirect(url_for("catalogue.home"))
    elif form.is_submitted():
        status = 422
    return render("accounts/register.html", form=form, http_status=status)


@bp.post("/keluar")
@login_required
def logout():
    services.end_all_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("Anda sudah keluar."))
    return redirect(url_for("catalogue.home"))


@bp.post("/bahasa")
def choose_language():
    language = request.form.get("bahasa", "")
    target = safe_next(request.form.get("next"))
    response = redirect(target)
    if language in current_app.config["LANGUAGES"]:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600,
                            samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
        if current_user.is_authenticated:
            current_user.locale = language
            db.session.commit()
    return response


def _reset_email_key() -> str:
    """At most a few reset mails an hour to one address, whoever asks."""
    return "reset:" + services.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/lupa-sandi", methods=["GET", "POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_reset_email_key)
def forgot():
    """Ask for a reset link. The answer is the same whether the address has an account."""
    form = ForgotForm()
    if form.validate_on_submit():
        user = services.find_by_email(form.email.data)
        if user is not None:
            link = url_for(".reset", token=services.reset_token(user), _external=True)
            mail.send(user.email, _("Atur ulang kata sandi Gerai"), _(
                "Seseorang (semoga Anda) meminta mengatur ulang kata sandi akun Gerai ini.\n\n"
                "Buka tautan ini dalam satu jam untuk memilih kata sandi baru:\n%(link)s\n\n"
                "Jika bukan Anda, abaikan email ini; kata sandi Anda tidak berubah.", link=link))
        flash(_("Jika email itu terdaftar, tautan untuk mengatur ulang kata sandi sudah dikirim. "
                "Periksa kotak masuk Anda."))
        return redirect(url_for(".login"), 303)
    return render("accounts/forgot.html", form=form, http_status=422 if form.is_submitted() else 200)


@bp.route("/sandi-baru/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset(token: str):
    user = services.user_for_reset(token)
    if user is None:
        return render("accounts/reset.html", form=None, http_status=400)
    form = NewPasswordForm()
    if form.validate_on_submit():
        services.set_password(user, form.password.data)
        flash(_("Kata sandi baru tersimpan. Silakan masuk."))
        return redirect(url_for(".login"), 303)
    response = render("accounts/reset.html", form=form, http_status=422 if form.is_submitted() else 200)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays on this page
    return response
