from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..forms import GeraiForm, RupiahField
from ..params import DayField
from ..timeutil import today_in_jakarta

REQUIRED = _l("Wajib diisi.")
# No shop had a balance to pay out before Gerai's books began.
EARLIEST_PAYOUT = date(2020, 1, 1)


class PayoutForm(GeraiForm):
    amount = RupiahField(_l("Jumlah (Rp)"), message=_l("Tulis jumlah dalam rupiah, misalnya 250.000."),
                         validators=[
        InputRequired(REQUIRED), NumberRange(1, 10_000_000_000, _l("Jumlah harus lebih dari Rp 0."))])
    reference = StringField(_l("Referensi transfer bank"), validators=[DataRequired(REQUIRED),
                                                                      Length(max=80)])
    # InputRequired, not DataRequired: a typed date the field could not read keeps its
    # own reason instead of "fill in the date".
    paid_on = DayField(_l("Tanggal transfer"), validators=[InputRequired(_l("Isi tanggal transfer."))])
    note = StringField(_l("Catatan (opsional)"), validators=[Optional(), Length(max=300)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The date picker offers only the days the server accepts.
        self.paid_on.render_kw = {"min": EARLIEST_PAYOUT.isoformat(),
                                  "max": today_in_jakarta().isoformat()}

    def validate_paid_on(self, field):
        """A payout records money already sent: not in the future (Jakarta's today), and
        not before Gerai's books began (year 1 and 9999 were both accepted once)."""
        if field.data is None:
            return  # unreadable: the field has said why
        if field.data > today_in_jakarta():
            raise ValidationError(_l("Tanggal transfer tidak boleh setelah hari ini."))
        if field.data < EARLIEST_PAYOUT:
            raise ValidationError(_l("Tanggal transfer paling awal 1 Januari 2020."))
