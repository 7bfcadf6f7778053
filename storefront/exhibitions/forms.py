from flask_babel import lazy_gettext as _l
from wtforms import StringField, TimeField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from ..forms import GeraiForm
from ..params import DayField, WholeNumberField

REQUIRED = _l("Wajib diisi.")


class FairForm(GeraiForm):
    name = StringField(_l("Nama pameran"), validators=[DataRequired(REQUIRED), Length(max=140)])
    venue = StringField(_l("Tempat"), validators=[DataRequired(REQUIRED), Length(max=200)])
    # InputRequired: an unreadable or out-of-range date keeps DayField's own reason.
    starts_on = DayField(_l("Mulai"), validators=[InputRequired(_l("Isi tanggal mulai."))])
    ends_on = DayField(_l("Selesai"), validators=[InputRequired(_l("Isi tanggal selesai."))])
    opens_at = TimeField(_l("Buka pukul"), validators=[DataRequired(REQUIRED)])
    closes_at = TimeField(_l("Tutup pukul"), validators=[DataRequired(REQUIRED)])
    grace_days = WholeNumberField(
        _l("Tautan stan masih melayani (hari setelah selesai)"), default=1,
        validators=[Optional(), NumberRange(0, 30, _l("0 sampai 30 hari."))])

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("Tanggal selesai tidak boleh sebelum tanggal mulai."))

    def validate_closes_at(self, field):
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("Jam tutup harus setelah jam buka."))


class StandsForm(GeraiForm):
    zone = StringField(_l("Zona"), validators=[
        DataRequired(REQUIRED), Regexp(r"^[A-Za-z0-9]{1,4}$", message=_l("Zona 1–4 huruf atau angka, misalnya A."))])
    first = WholeNumberField(_l("Mulai dari nomor"), default=1, validators=[NumberRange(1, 999)])
    count = WholeNumberField(_l("Jumlah stan"), validators=[
        DataRequired(REQUIRED), NumberRange(1, 300, _l("Sekali buat 1 sampai 300 stan."))])
    notes = StringField(_l("Catatan (opsional)"), validators=[Optional(), Length(max=200)])
