from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import GeraiForm, RupiahField

REQUIRED = _l("Wajib diisi.")


class PayoutForm(GeraiForm):
    amount = RupiahField(_l("Jumlah (Rp)"), message=_l("Tulis jumlah dalam rupiah, misalnya 250.000."),
                         validators=[
        InputRequired(REQUIRED), NumberRange(1, 10_000_000_000, _l("Jumlah harus lebih dari Rp 0."))])
    reference = StringField(_l("Referensi transfer bank"), validators=[DataRequired(REQUIRED),
                                                                      Length(max=80)])
    paid_on = DateField(_l("Tanggal transfer"), validators=[DataRequired(_l("Isi tanggal transfer."))])
    note = StringField(_l("Catatan (opsional)"), validators=[Optional(), Length(max=300)])
