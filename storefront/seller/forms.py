from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from ..forms import GeraiForm, GeraiQueryForm, RupiahField
from ..params import WholeNumberField, coerce_id
from ..places import KECAMATAN, KELURAHAN_BY_KECAMATAN
from .phone import normalise_whatsapp

MAX_STOCK = 1_000_000
REQUIRED = _l("Wajib diisi.")


def _kelurahan_choices():
    return [SelectChoice("", _l("Pilih kelurahan"))] + [
        SelectChoice(k, k, optgroup=kecamatan)
        for kecamatan, names in KELURAHAN_BY_KECAMATAN.items() for k in names]


class ShopForm(GeraiForm):
    name = StringField(_l("Nama toko"), validators=[DataRequired(REQUIRED), Length(max=120)])
    type = SelectField(_l("Jenis usaha"), choices=[SelectChoice("umkm", _l("UMKM")),
                                                   SelectChoice("koperasi", _l("Koperasi"))])
    owner_name = StringField(_l("Nama pemilik"), validators=[DataRequired(REQUIRED), Length(max=120)])
    whatsapp = StringField(_l("Nomor WhatsApp"), validators=[DataRequired(REQUIRED), Length(max=24)])
    kecamatan = SelectField(_l("Kecamatan"), choices=[SelectChoice("", _l("Pilih kecamatan"))]
                            + [SelectChoice(k, k) for k in KECAMATAN],
                            validators=[DataRequired(_l("Pilih kecamatan."))])
    kelurahan = SelectField(_l("Kelurahan"), choices=_kelurahan_choices,
                            validators=[DataRequired(_l("Pilih kelurahan."))])
    address = StringField(_l("Alamat"), validators=[DataRequired(REQUIRED), Length(max=300)])
    description = TextAreaField(_l("Deskripsi toko"), validators=[Optional(), Length(max=2000)])
    nib = StringField(_l("NIB (opsional)"), validators=[
        Optional(), Regexp(r"^\d{13}$", message=_l("NIB terdiri dari 13 angka."))])
    logo = FileField(_l("Logo (opsional)"))

    def validate_whatsapp(self, field):
        try:
            field.data = normalise_whatsapp(field.data)
        except ValueError:
            raise ValidationError(_l("Tulis nomor WhatsApp Indonesia, misalnya 0812-3456-7890 "
                                     "atau +62 812 3456 7890.")) from None

    def validate_kelurahan(self, field):
        if self.kecamatan.data and field.data not in KELURAHAN_BY_KECAMATAN.get(self.kecamatan.data, ()):
            raise ValidationError(_l("Kelurahan ini tidak ada di kecamatan yang dipilih."))

    def details(self) -> dict:
        return {k: (getattr(self, k).data or "").strip() if k != "nib" else (self.nib.data or None)
                for k in ("name", "type", "owner_name", "whatsapp", "kecamatan", "kelurahan",
                          "address", "description", "nib")}


class VariantForm(GeraiQueryForm):
    id = HiddenField()
    # The stock this form showed: a save applies the seller's count only over it.
    stock_seen = HiddenField()
    name = StringField(_l("Nama varian"), validators=[Optional(), Length(max=60)])
    price = RupiahField(_l("Harga"))
    stock = WholeNumberField(_l("Stok"), validators=[Optional(), NumberRange(0, MAX_STOCK, _l("Stok 0 sampai 1.000.000."))])
    sku = StringField(_l("SKU"), validators=[Optional(), Length(max=64)])

    @property
    def is_blank(self) -> bool:
        return not (self.name.data or "").strip()


class ProductForm(GeraiForm):
    name = StringField(_l("Nama produk"), validators=[DataRequired(REQUIRED), Length(max=140)])
    category_id = SelectField(_l("Kategori"), coerce=coerce_id, validators=[InputRequired(_l("Pilih kategori."))])
    description = TextAreaField(_l("Deskripsi"), validators=[Optional(), Length(max=5000)])
    price = RupiahField(_l("Harga"))
    stock = WholeNumberField(_l("Stok"), default=0, validators=[Optional(), NumberRange(0, MAX_STOCK, _l("Stok 0 sampai 1.000.000."))])
    weight_grams = WholeNumberField(_l("Berat (gram)"), validators=[Optional(), NumberRange(1, 100_000, _l("Berat 1 sampai 100.000 gram."))])
    sku = StringField(_l("SKU (opsional)"), validators=[Optional(), Length(max=64)])
    status = SelectField(_l("Status"), choices=[SelectChoice("draft", _l("Draf (belum tampil)")),
                                                SelectChoice("active", _l("Aktif (tampil di katalog)"))])
    option_name = StringField(_l("Nama pilihan varian"), validators=[Optional(), Length(max=40)])
    stock_seen = HiddenField()
    variants = FieldList(FormField(VariantForm), min_entries=0, max_entries=30)

    def filled_variants(self):
        return [v.form for v in self.variants if not v.form.is_blank]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        variants = self.filled_variants()
        if not variants and self.price.data is None and not self.price.errors:
            self.price.errors.append(_l("Harga wajib diisi."))
            ok = False
        if variants and not (self.option_name.data or "").strip():
            self.option_name.errors.append(_l("Beri nama pilihannya, misalnya Ukuran atau Level pedas."))
            ok = False
        names = [v.name.data.strip().lower() for v in variants]
        for variant in variants:
            if variant.price.data is None and not variant.price.errors:
                variant.price.errors.append(_l("Harga wajib diisi."))
                ok = False
            if names.count(variant.name.data.strip().lower()) > 1:
                variant.name.errors.append(_l("Nama varian tidak boleh kembar."))
                ok = False
        return ok


class QuickVariantForm(GeraiQueryForm):
    """One variant's price and stock in the listing row (CSRF is the row form's)."""

    id = HiddenField()
    stock_seen = HiddenField()
    price = RupiahField(_l("Harga"))
    stock = WholeNumberField(_l("Stok"), validators=[Optional(), NumberRange(0, MAX_STOCK, _l("Stok 0 sampai 1.000.000."))])


class QuickEditForm(GeraiForm):
    """The listing row's inline edit: the product's price and stock, or each variant's."""

    price = RupiahField(_l("Harga"))
    stock_seen = HiddenField()
    stock = WholeNumberField(_l("Stok"), validators=[Optional(), NumberRange(0, MAX_STOCK, _l("Stok 0 sampai 1.000.000."))])
    variants = FieldList(FormField(QuickVariantForm), min_entries=0, max_entries=30)

    def entry_for(self, variant_id: int):
        """What was posted for this variant (None on a fresh row)."""
        return next((v.form for v in self.variants if v.form.id.data == str(variant_id)), None)


class StockForm(GeraiForm):
    change = WholeNumberField(_l("Perubahan stok"), validators=[
        InputRequired(_l("Isi jumlahnya, misalnya 10 atau -2.")),
        NumberRange(-MAX_STOCK, MAX_STOCK)])
    reason = SelectField(_l("Alasan"), choices=[
        SelectChoice("restock", _l("Stok masuk")), SelectChoice("correction", _l("Koreksi hitungan")),
        SelectChoice("damaged", _l("Rusak / kedaluwarsa"))])
    variant_id = SelectField(_l("Varian"), coerce=coerce_id, validate_choice=False, default=0)
    note = StringField(_l("Catatan"), validators=[Optional(), Length(max=200)])

    def validate_change(self, field):
        if field.data == 0:
            raise ValidationError(_l("Perubahan tidak boleh nol."))
        if self.reason.data == "damaged" and field.data > 0:
            raise ValidationError(_l("Barang rusak mengurangi stok: tulis angka negatif."))


class PhotoForm(GeraiForm):
    photos = FileField(_l("Foto produk"), render_kw={"multiple": True, "accept": "image/jpeg,image/png,image/webp"})


class AltForm(GeraiForm):
    alt = StringField(_l("Teks alternatif"), validators=[Optional(), Length(max=200)])


class OrderStatusForm(GeraiForm):
    status = HiddenField()
    note = StringField(_l("Catatan (nomor resi atau alasan batal)"), validators=[Optional(), Length(max=300)])

    def validate(self, extra_validators=None) -> bool:
        # Checked here, not in validate_note: Optional() ends the field's chain when empty.
        ok = super().validate(extra_validators)
        if self.status.data in ("shipped", "cancelled") and not (self.note.data or "").strip():
            self.note.errors = list(self.note.errors) + [
                _l("Tulis nomor resi atau catatan pengiriman.") if self.status.data == "shipped"
                else _l("Tulis alasan pembatalan.")]
            ok = False
        return ok


class RejectForm(GeraiForm):
    reason = TextAreaField(_l("Alasan penolakan"), validators=[DataRequired(_l("Tulis alasannya agar penjual bisa memperbaiki.")), Length(max=1000)])
