"""How many logins the app answers: per account, and per address without shutting out a fair.

Guessing one account's password is stopped per account, whichever addresses the
guesses come from (54 wrong passwords from 6 addresses were once all answered, and the
55th, right one, logged in). Every attempt on an account counts, and the count is
atomic, so parallel guesses cannot slip past it. When the count trips, the account's
owner gets one mail with a reset link; a new password starts a fresh count, so the
owner is never locked out for longer than a reset takes.

An address only counts failed logins, with a ceiling no honest crowd reaches: a fair's
visitors and stand keepers, or a mobile carrier's users, share one address.
"""

from __future__ import annotations

import hashlib
import logging
import math
import smtplib
import time

from flask import request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from limits import parse

from .. import mail
from ..extensions import limiter
from ..htmx import render
from . import services
from .forms import LoginForm

log = logging.getLogger(__name__)

ACCOUNT_ATTEMPTS = "10 per 15 minutes; 30 per day"
ADDRESS_FAILURES = "60 per minute; 600 per hour"
# One notice per account in this time, however long the guessing goes on.
NOTICE = parse("1 per 6 hours")


def account_key() -> str:
    """The account the login names, known or not (an unknown address is limited the same
    way, so the limit says nothing about who has an account)."""
    email = services.normalise_email(request.form.get("email", ""))[:254]
    user = services.find_by_email(email) if email else None
    era = user.password_hash[-16:] if user is not None else ""  # a reset starts a new count
    return "login-account:" + hashlib.sha256(f"{email}\0{era}".encode()).hexdigest()[:32]


def failed(response) -> bool:
    """Only a refused login counts against the address (422: wrong password or bad form)."""
    return response.status_code == 422


def seconds_until(reset_at: int) -> int:
    """For Retry-After: Flask-Limiter's reset_at is the window's end rounded up a second."""
    return max(1, math.ceil(reset_at - 1 - time.time()))


def _minutes_until(reset_at: int) -> int:
    return math.ceil(seconds_until(reset_at) / 60)


def _refused(message: str, limit: RequestLimit):
    """The login page again, with what was typed and why it waits; HTTP 429 and Retry-After."""
    response = render("accounts/login.html", form=LoginForm(), refused=message, http_status=429)
    response.headers["Retry-After"] = str(seconds_until(limit.reset_at))
    response.headers["Cache-Control"] = "no-store"
    return response


def account_locked(limit: RequestLimit):
    user = services.find_by_email(request.form.get("email", ""))
    if user is not None and limiter.limiter.hit(NOTICE, "login-notice", str(user.id)):
        _send_notice(user, limit.reset_at)
    return _refused(_("Terlalu banyak percobaan masuk ke akun ini. Demi keamanan, coba lagi "
                      "dalam %(minutes)d menit, atau atur ulang kata sandi lewat "
                      "“Lupa kata sandi?”.", minutes=_minutes_until(limit.reset_at)), limit)


def address_locked(limit: RequestLimit):
    return _refused(_("Terlalu banyak percobaan masuk yang gagal dari jaringan ini. Coba lagi "
                      "dalam %(minutes)d menit.", minutes=_minutes_until(limit.reset_at)), limit)


def _send_notice(user, reset_at: int) -> None:
    from datetime import UTC, datetime

    until = datetime.fromtimestamp(reset_at, UTC).replace(tzinfo=None)
    body = _(
        "Ada terlalu banyak percobaan masuk ke akun Gerai Anda dalam waktu singkat, jadi "
        "masuk ke akun ini kami hentikan sementara sampai %(until)s.\n\n"
        "Jika itu Anda, tunggu sampai saat itu, atau pilih kata sandi baru sekarang lewat "
        "tautan ini (berlaku satu jam; kata sandi baru langsung membuka akun Anda):\n"
        "%(reset)s\n\n"
        "Jika bukan Anda, seseorang mencoba menebak kata sandi Anda. Kata sandi Anda belum "
        "berubah; sebaiknya pilih kata sandi baru yang panjang dan tidak Anda pakai di "
        "tempat lain.",
        until=format_datetime(until, "d MMMM y HH:mm zzz"),
        reset=url_for("accounts.reset", token=services.reset_token(user), _external=True))
    try:
        mail.send(user.email, _("Percobaan masuk ke akun Gerai Anda"), body)
    except (smtplib.SMTPException, OSError):
        # The refusal still stands; only the notice is lost, and the log says so.
        log.exception("login notice to user %s not sent", user.id)
