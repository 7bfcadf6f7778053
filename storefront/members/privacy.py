"""A member's national ID number (NIK): optional, sealed at rest, shown masked.

Sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from ``NIK_KEY``
(else SECRET_KEY) with HKDF, so a database dump alone does not reveal it. Only the last
four digits are kept in clear, for the masked form staff see ("************1234").
"""

from __future__ import annotations

import base64
import re

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

NIK = re.compile(r"[0-9]{16}")


def _fernet() -> Fernet:
    secret = (current_app.config.get("NIK_KEY") or current_app.config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"gerai-nik",
               info=b"cooperative member nik").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def valid_nik(text: str) -> bool:
    return bool(NIK.fullmatch(text or ""))


def seal(nik: str) -> str:
    return _fernet().encrypt(nik.encode()).decode()


def unseal(sealed: str | None) -> str | None:
    if not sealed:
        return None
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def masked(last4: str | None) -> str:
    return f"{'•' * 12}{last4}" if last4 else ""
