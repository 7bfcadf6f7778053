from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..forms import GeraiForm, GeraiQueryForm
from ..orders.models import channel_choices
from ..params import DayField, record_id
from ..places import KELURAHAN_BY_KECAMATAN

REQUIRED = _l("Wajib diisi.")
CHANNELS = channel_choices()


class CooperativeForm(GeraiForm):
    name = StringField(_l("Nama koperasi"), validators=[DataRequired(REQUIRED), Length(max=140)])
    legal_number = StringField(_l("Nomor badan hukum"), validators=[
        DataRequired(REQUIRED), Length(max=60)])
    kecamatan = SelectField(_l("Kecamatan"), validators=[DataRequired(REQUIRED)],
                            choices=[SelectChoice(k, k) for k in KELURAHAN_BY_KECAMATAN])
    kelurahan = StringField(_l("Kelurahan"), validators=[DataRequired(REQUIRED)])
    managers = StringField(_l("Email pengelola (pisahkan dengan koma)"),
                           validators=[DataRequired(REQUIRED), Length(max=500)])

    def validate_kelurahan(self, field):
        if field.data not in KELURAHAN_BY_KECAMATAN.get(self.kecamatan.data, ()):
            raise ValidationError(_l("Kelurahan ini tidak ada di kecamatan yang dipilih."))


class SalesFilterForm(GeraiQueryForm):
    toko = SelectField(_l("Anggota"), validate_choice=False, validators=[Optional()])
    dari = DayField(_l("Dari"), validators=[Optional()])
    sampai = DayField(_l("Sampai"), validators=[Optional()])
    kanal = SelectField(_l("Kanal"), choices=CHANNELS, validators=[Optional()])

    def validate_toko(self, field):
        if field.data and record_id(field.data) is None:
            raise ValidationError(_l("Pilih anggota dari daftar."))
