from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..accounts.models import ROLES
from ..forms import GeraiForm, GeraiQueryForm
from ..params import DayField

REQUIRED = _l("Wajib diisi.")

ROLE_LABELS = {
    "shopper": _l("Pembeli"),
    "seller": _l("Penjual"),
    "coop_manager": _l("Pengelola koperasi"),
    "organizer": _l("Penyelenggara (Dinas)"),
    "admin": _l("Admin"),
    "observer": _l("Pemantau (hanya membaca)"),
}

# What the log calls each action; an action not named here is shown as recorded.
ACTION_LABELS = {
    "shop.verify": _l("Toko diverifikasi"),
    "shop.reject": _l("Toko ditolak"),
    "fair.create": _l("Pameran dibuat"),
    "fair.add_stands": _l("Stan ditambahkan"),
    "stand.assign": _l("Toko ditempatkan di stan"),
    "category.create": _l("Kategori dibuat"),
    "category.rename": _l("Kategori diganti nama"),
    "category.move": _l("Urutan kategori diubah"),
    "category.delete": _l("Kategori dihapus"),
    "user.role_grant": _l("Peran diberikan"),
    "user.role_revoke": _l("Peran dicabut"),
    "order.refund": _l("Pesanan dikembalikan dananya"),
    "payout.record": _l("Pembayaran ke toko dicatat"),
    "cooperative.create": _l("Koperasi dibuat"),
}

OBJECT_LABELS = {
    "shop": _l("Toko"),
    "fair": _l("Pameran"),
    "stand": _l("Stan"),
    "category": _l("Kategori"),
    "user": _l("Pengguna"),
    "order": _l("Pesanan"),
    "payout": _l("Pembayaran ke toko"),
    "cooperative": _l("Koperasi"),
    "membership": _l("Keanggotaan koperasi"),
}


class AuditFilterForm(GeraiQueryForm):
    """The log's filters, read from the query string (so a filtered view can be shared)."""

    aksi = SelectField(_l("Aksi"), validators=[Optional()])
    pelaku = StringField(_l("Pelaku (email)"), validators=[Optional(), Length(max=254)])
    objek = SelectField(_l("Jenis objek"), validators=[Optional()])
    dari = DayField(_l("Dari tanggal"), validators=[Optional()])
    sampai = DayField(_l("Sampai tanggal"), validators=[Optional()])

    def __init__(self, formdata, actions: list[str], object_types: list[str]):
        super().__init__(formdata)
        self.aksi.choices = [SelectChoice("", _l("Semua aksi"))] + [
            SelectChoice(a, ACTION_LABELS.get(a, a)) for a in actions]
        self.objek.choices = [SelectChoice("", _l("Semua jenis"))] + [
            SelectChoice(t, OBJECT_LABELS.get(t, t)) for t in object_types]

    def validate_sampai(self, field):
        if self.dari.data and field.data and field.data < self.dari.data:
            raise ValidationError(_l("Tanggal akhir tidak boleh sebelum tanggal awal."))


class CategoryNameForm(GeraiForm):
    name = StringField(_l("Nama kategori"), validators=[DataRequired(REQUIRED), Length(max=80)])


class CategoryForm(CategoryNameForm):
    # hx-disable: the options carry category names people typed (defence in depth; the
    # names are escaped, and htmx would ignore anything inside even if one were not).
    parent = SelectField(_l("Letak"), validators=[Optional()], render_kw={"hx-disable": True})

    def __init__(self, *args, tops=(), **kwargs):
        super().__init__(*args, **kwargs)
        # gettext, not lazy_gettext: a label holding a name someone typed must be a plain
        # str, which WTForms escapes. (A lazy string was trusted as markup: issue 13.2.)
        self.parent.choices = [SelectChoice("", _l("Kategori utama"))] + [
            SelectChoice(str(top.id), _("Sub dari %(name)s", name=top.name)) for top in tops]


class RoleForm(GeraiForm):
    role = SelectField(_l("Peran"), validators=[DataRequired(_l("Pilih peran."))],
                       choices=[SelectChoice("", _l("Pilih peran"))]
                       + [SelectChoice(role, ROLE_LABELS.get(role, role)) for role in ROLES])


class UserSearchForm(GeraiQueryForm):
    q = StringField(_l("Cari email atau nama"), validators=[Optional(), Length(max=254)])
