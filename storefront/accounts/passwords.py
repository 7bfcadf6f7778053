"""Password rules and hashing (OWASP ASVS 5: length 8-128, no common passwords, argon2id)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 8
MAX_LENGTH = 128

# What Indonesian users pick that an English list misses.
LOCAL_COMMON = {
    "bismillah", "indonesia", "sayangku", "sayang123", "cintaku", "rahasia", "rahasia123",
    "jakarta", "tangerang", "tangerang123", "merdeka", "merdeka45", "garuda", "gerai123",
    "qwerty123", "password1", "katasandi", "katasandi123", "bismillah123", "alhamdulillah",
    "indonesia1", "bandung", "surabaya", "persija", "12345678", "87654321", "kopikopi",
}


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"]) | LOCAL_COMMON


def is_common(password: str) -> bool:
    return password.lower() in _common()


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    c = current_app.config
    return _hasher(c["ARGON2_TIME_COST"], c["ARGON2_MEMORY_COST"], c["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
