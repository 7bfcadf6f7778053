"""The catalogue's GET form: every parameter validated, bad ones reported and ignored."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from search import PRICE_BANDS, SearchQuery

from ..forms import GeraiQueryForm
from ..money import parse_rupiah
from ..params import whole_number
from ..places import KECAMATAN

PAGE_SIZE = 24
MAX_PAGE = 400  # deeper than anyone scrolls; keeps offsets cheap
MAX_QUERY = 200

SORT_CHOICES = [
    SelectChoice("relevan", _l("Paling sesuai")),
    SelectChoice("terbaru", _l("Terbaru")),
    SelectChoice("termurah", _l("Harga terendah")),
    SelectChoice("termahal", _l("Harga tertinggi")),
]
SORT_TO_ENGINE = {"relevan": "relevance", "terbaru": "newest",
                  "termurah": "price_asc", "termahal": "price_desc"}
SHOP_TYPE_CHOICES = [SelectChoice("", _l("Semua")), SelectChoice("umkm", _l("UMKM")),
                     SelectChoice("koperasi", _l("Koperasi"))]


def _rupiah_or_none(value):
    if value in (None, ""):
        return None
    try:
        return parse_rupiah(str(value))
    except ValueError:
        raise ValidationError(_l("Masukkan harga berupa angka, misalnya 15.000.")) from None


class CatalogueForm(GeraiQueryForm):
    q = StringField(_l("Cari produk"), validators=[Optional()])
    kategori = StringField(_l("Kategori"), validators=[Optional(), Length(max=80)])
    kecamatan = SelectField(_l("Kecamatan"), choices=[SelectChoice("", _l("Semua kecamatan"))]
                            + [SelectChoice(k, k) for k in KECAMATAN], validators=[Optional()])
    jenis = SelectField(_l("Jenis toko"), choices=SHOP_TYPE_CHOICES, validators=[Optional()])
    harga = SelectField(_l("Rentang harga"),
                        choices=[SelectChoice("", _l("Semua harga"))]
                        + [SelectChoice(s, s) for s, _, _ in PRICE_BANDS],
                        validators=[Optional()])
    min = StringField(_l("Harga minimal"), validators=[Optional(), Length(max=20)])
    max = StringField(_l("Harga maksimal"), validators=[Optional(), Length(max=20)])
    stok = StringField(_l("Hanya yang ada stok"), validators=[Optional()])
    urut = SelectField(_l("Urutkan"), choices=SORT_CHOICES, default="relevan",
                       validators=[Optional()])
    hal = StringField(_l("Halaman"), validators=[Optional()])
    # A fair stand ("<fair slug>/<stand code>"): its products only, from the stand page.
    stan = StringField(_l("Stan pameran"), validators=[Optional(), Length(max=180)])

    def validate_min(self, field):
        field.parsed = _rupiah_or_none(field.data)

    def validate_max(self, field):
        field.parsed = _rupiah_or_none(field.data)

    def validate_hal(self, field):
        if not field.data:
            return
        if whole_number(field.data, low=1, high=MAX_PAGE) is None:
            raise ValidationError(_l("Halaman harus antara 1 dan %(max)d.", max=MAX_PAGE))

    def clean(self, name: str):
        """The value of a field, or None when it was missing or invalid."""
        field = self[name]
        value = field.data.strip() if isinstance(field.data, str) else field.data
        if field.errors or value in (None, ""):
            return None  # Optional() lets whitespace through as "no value": so do we
        return value

    @property
    def text(self) -> str:
        return " ".join((self.q.data or "").split())[:MAX_QUERY]

    @property
    def page(self) -> int:
        return whole_number(self.clean("hal"), low=1, high=MAX_PAGE, default=1)

    def to_query(self) -> SearchQuery:
        low = getattr(self.min, "parsed", None) if not self.min.errors else None
        typed_max = getattr(self.max, "parsed", None) if not self.max.errors else None
        # A typed maximum is inclusive; the engine's upper bound is exclusive, like the bands.
        high = typed_max + 1 if typed_max is not None else None
        if band := self.clean("harga"):
            band_low, _, band_high = band.partition("-")
            low = max(low or 0, int(band_low))
            if band_high:
                high = min(high, int(band_high)) if high is not None else int(band_high)
        category = self.clean("kategori")
        kecamatan = self.clean("kecamatan")
        return SearchQuery(
            text=self.text,
            categories=(category,) if category else (),
            kecamatan=(kecamatan,) if kecamatan else (),
            shop_type=self.clean("jenis"),
            in_stock=True if self.clean("stok") else None,
            price_min=low,
            price_max=high,
            stand_codes=(self.clean("stan"),) if self.clean("stan") else (),
            sort=SORT_TO_ENGINE.get(self.clean("urut") or "relevan", "relevance"),
            offset=(self.page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )

    def active_filters(self) -> dict[str, str]:
        names = ("q", "kategori", "kecamatan", "jenis", "harga", "min", "max", "stok", "urut",
                 "stan")
        return {n: str(self.clean(n)) for n in names if self.clean(n)}
