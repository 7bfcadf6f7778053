from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ..basket.models import MAX_QUANTITY
from ..forms import EmailAddress, GeraiForm
from ..params import MAX_ID, WholeNumberField
from ..seller.phone import normalise_whatsapp


class AddToBasketForm(GeraiForm):
    product_id = WholeNumberField(validators=[InputRequired(), NumberRange(1, MAX_ID)])
    variant_id = WholeNumberField(validators=[Optional(), NumberRange(1, MAX_ID)])
    quantity = WholeNumberField(_l("Jumlah"), default=1, validators=[
        InputRequired(_l("Isi jumlahnya.")),
        NumberRange(1, MAX_QUANTITY, _l("Jumlah 1 sampai %(max)d.", max=MAX_QUANTITY))])


class QuantityForm(GeraiForm):
    quantity = WholeNumberField(_l("Jumlah"), validators=[
        InputRequired(_l("Isi jumlahnya.")),
        NumberRange(1, MAX_QUANTITY, _l("Jumlah 1 sampai %(max)d.", max=MAX_QUANTITY))])


class ContactForm(GeraiForm):
    name = StringField(_l("Nama penerima"), validators=[DataRequired(_l("Wajib diisi.")), Length(max=120)])
    whatsapp = StringField(_l("Nomor WhatsApp"), validators=[DataRequired(_l("Wajib diisi.")), Length(max=24)])
    email = EmailField(_l("Email (opsional)"), validators=[
        Optional(), EmailAddress(), Length(max=254)])

    def validate_whatsapp(self, field):
        try:
            field.data = normalise_whatsapp(field.data)
        except ValueError:
            raise ValidationError(_l("Tulis nomor WhatsApp Indonesia, misalnya 0812-3456-7890.")) from None


class PayForm(GeraiForm):
    attempt = HiddenField(validators=[DataRequired()])
    fingerprint = HiddenField(validators=[DataRequired()])
