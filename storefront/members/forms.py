from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ..forms import EmailAddress, GeraiForm, RupiahField
from ..params import DayField, WholeNumberField
from .privacy import valid_nik

REQUIRED = _l("Wajib diisi.")
POSITIVE = NumberRange(min=1, message=_l("Tulis jumlah lebih dari nol."))


class MemberForm(GeraiForm):
    name = StringField(_l("Nama lengkap"), validators=[DataRequired(REQUIRED), Length(max=120)])
    number = StringField(_l("Nomor anggota (kosongkan: otomatis)"),
                         validators=[Optional(), Length(max=30)])
    phone = StringField(_l("Nomor HP/WhatsApp"), validators=[Optional(), Length(max=20)])
    email = StringField(_l("Email (akun Gerai anggota, bila ada)"),
                        validators=[Optional(), Length(max=254), EmailAddress()])
    kelurahan = StringField(_l("Kelurahan"), validators=[Optional(), Length(max=40)])
    address = StringField(_l("Alamat"), validators=[Optional(), Length(max=200)])
    joined_on = DayField(_l("Tanggal bergabung"), validators=[Optional()])
    nik = StringField(_l("NIK (tidak wajib)"), validators=[Optional(), Length(max=16)])

    def validate_phone(self, field):
        digits = field.data.replace(" ", "").replace("-", "")
        if digits and not (digits.lstrip("+").isascii() and digits.lstrip("+").isdigit()
                           and 8 <= len(digits.lstrip("+")) <= 15):
            raise ValidationError(_l("Tulis nomor HP dengan angka, misalnya 0812 3456 7890."))
        field.data = digits

    def validate_nik(self, field):
        if field.data and not valid_nik(field.data):
            raise ValidationError(_l("NIK terdiri dari 16 angka."))


class AmountForm(GeraiForm):
    amount = RupiahField(_l("Jumlah (Rp)"), validators=[DataRequired(REQUIRED)])
    attempt = HiddenField()

    def validate_amount(self, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(_l("Tulis jumlah lebih dari nol."))


class CashForm(AmountForm):
    amount = RupiahField(_l("Uang tunai diterima (Rp)"), validators=[DataRequired(REQUIRED)])


class DepositForm(AmountForm):
    amount = RupiahField(_l("Setoran sukarela (Rp)"), validators=[DataRequired(REQUIRED)])


class WithdrawForm(AmountForm):
    amount = RupiahField(_l("Jumlah penarikan (Rp)"), validators=[DataRequired(REQUIRED)])


class BillForm(AmountForm):
    description = StringField(_l("Keterangan"), validators=[DataRequired(REQUIRED),
                                                             Length(max=200)])
    due_on = DayField(_l("Jatuh tempo"), validators=[DataRequired(REQUIRED)])


class PayForm(AmountForm):
    method = SelectField(_l("Cara bayar"), choices=[])


class LoanForm(GeraiForm):
    amount = RupiahField(_l("Jumlah pinjaman (Rp)"), validators=[DataRequired(REQUIRED)])
    term = WholeNumberField(_l("Jangka waktu (bulan)"), validators=[
        DataRequired(REQUIRED), NumberRange(min=1, max=120,
                                            message=_l("Jangka waktu 1 sampai 120 bulan."))])
    method = SelectField(_l("Cara angsuran"), choices=[
        SelectChoice("flat", _l("Flat (jasa tetap dari pokok awal)")),
        SelectChoice("declining", _l("Menurun (jasa dari sisa pokok)"))])
    purpose = StringField(_l("Keperluan"), validators=[DataRequired(REQUIRED), Length(max=300)])

    def validate_amount(self, field):
        if field.data is not None and field.data <= 0:
            raise ValidationError(_l("Tulis jumlah lebih dari nol."))


class DecisionForm(GeraiForm):
    reason = StringField(_l("Alasan / catatan"), validators=[Optional(), Length(max=300)])
    revolving = BooleanField(_l("Didanai dana bergulir kota"))
    via = SelectField(_l("Dicairkan"), default="cash", choices=[SelectChoice("cash", _l("Tunai")),
                                                SelectChoice("transfer", _l("Transfer"))])
    reference = StringField(_l("Referensi transfer"), validators=[Optional(), Length(max=80)])


class TermsForm(GeraiForm):
    pokok = RupiahField(_l("Simpanan pokok (sekali)"), validators=[InputRequired(REQUIRED)])
    wajib = RupiahField(_l("Simpanan wajib per bulan"), validators=[InputRequired(REQUIRED)])
    due_day = WholeNumberField(_l("Tanggal jatuh tempo tiap bulan (1–28)"), validators=[
        InputRequired(REQUIRED), NumberRange(min=1, max=28)])
    rate_bp = WholeNumberField(_l("Jasa pinjaman per bulan (basis poin, 150 = 1,5%)"),
                               validators=[InputRequired(REQUIRED),
                                           NumberRange(min=0, max=1000)])
    late_fee = RupiahField(_l("Denda per angsuran terlambat per bulan"),
                           validators=[InputRequired(REQUIRED)])
    shu_capital_pct = WholeNumberField(_l("SHU jasa modal (%)"), validators=[
        InputRequired(REQUIRED), NumberRange(min=0, max=100)])
    shu_business_pct = WholeNumberField(_l("SHU jasa usaha (%)"), validators=[
        InputRequired(REQUIRED), NumberRange(min=0, max=100)])
    rat_held_on = DayField(_l("Tanggal RAT terakhir"), validators=[Optional()])
    shop = StringField(_l("Toko koperasi di Gerai (alamat toko, milik pengurus)"),
                       validators=[Optional(), Length(max=140)])

    def validate_shu_business_pct(self, field):
        if (field.data or 0) + (self.shu_capital_pct.data or 0) > 100:
            raise ValidationError(_l("Jasa modal dan jasa usaha bersama paling banyak 100%."))


class StaffForm(GeraiForm):
    email = StringField(_l("Email akun petugas"), validators=[DataRequired(REQUIRED),
                                                              Length(max=254), EmailAddress()])
