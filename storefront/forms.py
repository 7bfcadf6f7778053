"""The base every Gerai form uses: WTForms' own messages in Indonesian.

WTForms ships no Indonesian catalogue, so its built-in messages ("Not a valid
choice.") would reach Indonesian users in English. These are the ones our
fields can produce; English stays as WTForms wrote it.
"""

from __future__ import annotations

import re

import email_validator
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, PasswordField, StringField, TextAreaField
from wtforms.validators import ValidationError

from .money import parse_rupiah

WTFORMS_INDONESIAN = {
    "This field is required.": "Wajib diisi.",
    "Not a valid choice.": "Pilihan tidak valid.",
    "Invalid Choice: could not coerce.": "Pilihan tidak valid.",
    "Not a valid integer value.": "Tulis bilangan bulat, misalnya 3.",
    "Not a valid decimal value.": "Tulis angka.",
    "Not a valid float value.": "Tulis angka.",
    "Not a valid date value.": "Tanggal tidak valid.",
    "Not a valid datetime value.": "Tanggal dan jam tidak valid.",
    "Invalid email address.": "Alamat email tidak valid.",
    "Invalid input.": "Isian tidak valid.",
    "Invalid URL.": "Alamat web tidak valid.",
    "Field must be equal to %(other_name)s.": "Harus sama dengan %(other_name)s.",
    "Number must be at least %(min)s.": "Angka paling kecil %(min)s.",
    "Number must be at most %(max)s.": "Angka paling besar %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Angka harus antara %(min)s dan %(max)s.",
    "Invalid value, must be one of: %(values)s.": "Harus salah satu dari: %(values)s.",
    "CSRF token missing.": "Sesi formulir tidak ada. Muat ulang halaman.",
    "CSRF token expired.": "Sesi formulir kedaluwarsa. Muat ulang halaman.",
    "CSRF failed.": "Sesi formulir tidak sah. Muat ulang halaman.",
    "Invalid CSRF Token.": "Sesi formulir tidak sah. Muat ulang halaman.",
    "The CSRF token is missing.": "Sesi formulir tidak ada. Muat ulang halaman.",
    "The CSRF token is invalid.": "Sesi formulir tidak sah. Muat ulang halaman.",
    "The CSRF token has expired.": "Sesi formulir kedaluwarsa. Muat ulang halaman.",
}
_LENGTH = {
    ("Field must be at least %(min)d character long.",
     "Field must be at least %(min)d characters long."): "Paling sedikit %(min)d karakter.",
    ("Field cannot be longer than %(max)d character.",
     "Field cannot be longer than %(max)d characters."): "Paling banyak %(max)d karakter.",
    ("Field must be exactly %(max)d character long.",
     "Field must be exactly %(max)d characters long."): "Harus tepat %(max)d karakter.",
    ("Field must be between %(min)d and %(max)d characters long.",
     "Field must be between %(min)d and %(max)d characters long."): "Harus %(min)d sampai %(max)d karakter.",
}


class IndonesianWTForms:
    """The translations object WTForms asks for its built-in messages."""

    @staticmethod
    def _indonesian() -> bool:
        return str(get_locale() or "id") == "id"

    def gettext(self, string: str) -> str:
        return WTFORMS_INDONESIAN.get(string, string) if self._indonesian() else string

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if self._indonesian() and (singular, plural) in _LENGTH:
            return _LENGTH[(singular, plural)]
        return singular if n == 1 else plural


TRANSLATIONS = IndonesianWTForms()

# C0 and C1 control characters and DEL. No keyboard types them; a paste or a script
# can, and stored they break the CSV export, terminals and other programs downstream.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\t\r\n]+")


def one_line_text(value):
    """Text of a one-line field: line breaks and tabs become one space, controls go."""
    if not isinstance(value, str):
        return value
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", value))


def multiline_text(value):
    """Text of a textarea: line breaks and tabs stay, every other control goes."""
    if not isinstance(value, str):
        return value
    return _CONTROL.sub("", value)


class CleanTextMeta:
    """Every field of every Gerai form gets the control-character filter first.

    Passwords are left as typed: they are never stored or shown, and a password
    chosen before this filter must still match.
    """

    def bind_field(self, form, unbound_field, options):
        field = super().bind_field(form, unbound_field, options)
        if not isinstance(field, PasswordField):
            clean = multiline_text if isinstance(field, TextAreaField) else one_line_text
            field.filters = (clean, *field.filters)
        return field

    def get_translations(self, form):
        return TRANSLATIONS


class GeraiForm(FlaskForm):
    class Meta(CleanTextMeta, FlaskForm.Meta):
        pass


class GeraiQueryForm(Form):
    """For GET forms (filters, search): no CSRF, same messages, same text filter."""

    class Meta(CleanTextMeta):
        pass


class RupiahField(StringField):
    """A price as people type it ("15.000", "Rp 15.000"); ``data`` becomes whole rupiah.

    What was typed stays in ``raw`` so a bad value is shown back, not lost.
    """

    def __init__(self, *args, message=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.message = message or _l("Tulis harga dalam rupiah, misalnya 15.000.")

    def process_formdata(self, valuelist):
        self.raw = one_line_text(valuelist[0]).strip() if valuelist else ""
        self.data = None
        if self.raw:
            try:
                self.data = parse_rupiah(self.raw)
            except ValueError:
                raise ValueError(self.message) from None

    def _value(self):
        if getattr(self, "raw", None) is not None:
            return self.raw
        return f"{self.data:,}".replace(",", ".") if self.data is not None else ""


class EmailAddress:
    """An email address people can receive mail at (no DNS lookup).

    With ACCEPT_TEST_EMAIL_DOMAINS (development only) the reserved ``.test`` domain of
    the demo accounts is accepted too, so ``pembeli@gerai.test`` can ask for a reset.
    """

    def __init__(self, message=None):
        self.message = message or _l("Alamat email tidak valid.")

    def __call__(self, form, field):
        try:
            email_validator.validate_email(
                field.data or "", check_deliverability=False,
                test_environment=bool(current_app.config.get("ACCEPT_TEST_EMAIL_DOMAINS")))
        except email_validator.EmailNotValidError as error:
            raise ValidationError(self.message) from error
