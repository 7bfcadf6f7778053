from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .models import User
from .passwords import hash_password, needs_rehash, verify_password


class EmailTaken(Exception):
    pass


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def register(name: str, email: str, password: str, roles=("shopper",)) -> User:
    """Make the account. Only the registration link calls this for visitors, so the
    address has been shown to belong to whoever chose the password."""
    if find_by_email(email):
        raise EmailTaken(email)
    user = User(name=name.strip(), email=normalise_email(email),
                password_hash=hash_password(password))
    for role in roles:
        user.grant(role)
    try:
        with db.session.begin_nested():  # the same address registered at the same moment
            db.session.add(user)
    except IntegrityError:
        raise EmailTaken(email) from None
    return user


# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH: dict[str, str] = {}


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email)
    if user is None:
        dummy = _DUMMY_HASH.setdefault("h", hash_password("gerai-dummy-password"))
        verify_password(dummy, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.flush()
    return user


def end_all_sessions(user: User) -> None:
    """Every cookie that named the old token stops working."""
    user.rotate_session_token()
    db.session.flush()


# --- password reset ------------------------------------------------------------------------

RESET_SECONDS = 3600


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="gerai-password-reset")


def reset_token(user: User) -> str:
    """A link token for an hour; it names the current password hash, so it works once:
    setting a new password (or any password change) makes it worthless."""
    return _reset_serializer().dumps({"user": user.id, "hash": user.password_hash[-16:]})


def user_for_reset(token: str) -> User | None:
    try:
        data = _reset_serializer().loads(token, max_age=RESET_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("user")) if isinstance(data.get("user"), int) else None
    if user is None or user.password_hash[-16:] != data.get("hash"):
        return None
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.rotate_session_token()  # every session of the old password ends
    db.session.flush()


# --- registration by email ---------------------------------------------------------------
# The registration form answers the same whether the address has an account (as the reset
# form does): the account is made only from the link sent to the address, where its
# owner chooses the password. Nothing is stored until then, so the token carries the
# name and the wish to sell; it never carries a password or its hash.

REGISTRATION_SECONDS = 24 * 3600


def _registration_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="gerai-registration")


def registration_token(name: str, email: str, wants_to_sell: bool) -> str:
    return _registration_serializer().dumps(
        {"name": name.strip(), "email": normalise_email(email), "sell": bool(wants_to_sell)})


def registration_for(token: str) -> dict | None:
    """The registration a link asks to finish, or None for a bad or expired link."""
    try:
        data = _registration_serializer().loads(token, max_age=REGISTRATION_SECONDS)
    except (BadSignature, SignatureExpired):
        return None
    if not (isinstance(data, dict) and isinstance(data.get("name"), str)
            and isinstance(data.get("email"), str) and isinstance(data.get("sell"), bool)):
        return None
    return data
