from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

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
    if find_by_email(email):
        raise EmailTaken(email)
    user = User(name=name.strip(), email=normalise_email(email),
                password_hash=hash_password(password))
    for role in roles:
        user.grant(role)
    db.session.add(user)
    db.session.commit()
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
        db.session.commit()
    return user


def end_all_sessions(user: User) -> None:
    """Every cookie that named the old token stops working."""
    user.rotate_session_token()
    db.session.commit()


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
    db.session.commit()
