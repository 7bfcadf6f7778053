"""The base every Gerai form uses: WTForms' own messages in Indonesian.

WTForms ships no Indonesian catalogue, so its built-in messages ("Not a valid
choice.") would reach Indonesian users in English. These are the ones our
fields can produce; English stays as WTForms wrote it.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, StringField

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


class GeraiForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return TRANSLATIONS


class GeraiQueryForm(Form):
    """For GET forms (filters, search): no CSRF, same messages."""

    class Meta:
        def get_translations(self, form):
            return TRANSLATIONS


class RupiahField(StringField):
    """A price as people type it ("15.000", "Rp 15.000"); ``data`` becomes whole rupiah.

    What was typed stays in ``raw`` so a bad value is shown back, not lost.
    """

    def __init__(self, *args, message=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.message = message or _l("Tulis harga dalam rupiah, misalnya 15.000.")

    def process_formdata(self, valuelist):
        self.raw = valuelist[0].strip() if valuelist else ""
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
