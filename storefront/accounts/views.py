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
from . import services, throttle
from .forms import FinishRegistrationForm, ForgotForm, LoginForm, NewPasswordForm, RegisterForm
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
@limiter.limit(throttle.ACCOUNT_ATTEMPTS, methods=["POST"], key_func=throttle.account_key,
               on_breach=throttle.account_locked)
@limiter.limit(throttle.ADDRESS_FAILURES, methods=["POST"], deduct_when=throttle.failed,
               on_breach=throttle.address_locked)
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        db.session.commit()  # a stronger hash of the password, when it was rehashed
        if user:
            _start_session(user)
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append(_("Email atau kata sandi salah."))
        status = 422
    elif form.is_submitted():
        status = 422
    return render("accounts/login.html", form=form, http_status=status)


def _email_key(purpose: str):
    """A limit per address typed into the form, whoever asks (mail to one inbox)."""
    def key() -> str:
        return f"{purpose}:" + services.normalise_email(request.form.get("email", ""))[:254]
    return key


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_email_key("register"))
def register():
    """The answer is the same whether the address has an account: a mail goes to it,
    either with the link that finishes registration or, to an existing account's owner,
    with the way to log in. Only the owner of the address learns which."""
    form = RegisterForm()
    if form.validate_on_submit():
        user = services.find_by_email(form.email.data)
        if user is None:
            _mail_registration_link(form)
        else:
            _mail_already_registered(user)
        flash(_("Periksa email Anda. Kami sudah mengirim tautan ke %(email)s untuk melanjutkan "
                "pendaftaran.", email=services.normalise_email(form.email.data)))
        return redirect(url_for(".login"), 303)
    return render("accounts/register.html", form=form,
                  http_status=422 if form.is_submitted() else 200)


def _mail_registration_link(form: RegisterForm) -> None:
    # The name is not in the mail: anyone can type any name for any address.
    link = url_for(".finish_registration", _external=True, token=services.registration_token(
        form.name.data, form.email.data, form.wants_to_sell.data))
    mail.send(services.normalise_email(form.email.data), _("Selesaikan pendaftaran Gerai"), _(
        "Seseorang (semoga Anda) mendaftar di Gerai dengan alamat email ini.\n\n"
        "Buka tautan ini dalam 24 jam untuk memilih kata sandi dan menyelesaikan "
        "pendaftaran:\n%(link)s\n\n"
        "Jika bukan Anda, abaikan email ini; tidak ada akun yang dibuat.", link=link))


def _mail_already_registered(user: User) -> None:
    mail.send(user.email, _("Pendaftaran Gerai dengan email Anda"), _(
        "Seseorang (semoga Anda) mencoba mendaftar di Gerai dengan alamat email ini. "
        "Alamat ini sudah punya akun, jadi tidak ada akun baru yang dibuat.\n\n"
        "Masuk di sini:\n%(login)s\n\n"
        "Lupa kata sandi? Buka tautan ini dalam satu jam untuk memilih kata sandi baru:\n"
        "%(reset)s\n\n"
        "Jika bukan Anda, abaikan email ini; akun Anda tidak berubah.",
        login=url_for(".login", _external=True),
        reset=url_for(".reset", token=services.reset_token(user), _external=True)))


@bp.route("/daftar/selesai/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def finish_registration(token: str):
    """The link from the registration mail: its owner chooses the password, and the
    account is made and logged in."""
    pending = services.registration_for(token)
    if pending is None:
        return render("accounts/finish_registration.html", form=None, pending=None,
                      http_status=400)
    form = FinishRegistrationForm()
    status = 200
    if services.find_by_email(pending["email"]) is not None:
        form, status = None, 409  # the link was used already (or the account made otherwise)
    elif form.validate_on_submit():
        roles = ["shopper", "seller"] if pending["sell"] else ["shopper"]
        try:
            user = services.register(pending["name"], pending["email"], form.password.data, roles)
            db.session.commit()
        except services.EmailTaken:
            form, status = None, 409  # the same link, finished twice at once
        else:
            _start_session(user)
            flash(_("Selamat datang di Gerai, %(name)s!", name=user.name))
            # who registered to sell came to open a shop: the shop form is the next step
            return redirect(url_for("seller.open_shop" if pending["sell"] else "catalogue.home"), 303)
    elif form.is_submitted():
        status = 422
    response = render("accounts/finish_registration.html", form=form, pending=pending,
                      http_status=status)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays on this page
    return response


@bp.post("/keluar")
@login_required
def logout():
    services.end_all_sessions(current_user._get_current_object())
    db.session.commit()
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


@bp.route("/lupa-sandi", methods=["GET", "POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_email_key("reset"))
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
        db.session.commit()
        flash(_("Kata sandi baru tersimpan. Silakan masuk."))
        return redirect(url_for(".login"), 303)
    response = render("accounts/reset.html", form=form, http_status=422 if form.is_submitted() else 200)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token stays on this page
    return response
