from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..forms import EmailAddress, GeraiForm
from .passwords import MAX_LENGTH, MIN_LENGTH, is_common


class LoginForm(GeraiForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Email wajib diisi.")),
                                                Length(max=254)])
    password = PasswordField(_l("Kata sandi"), validators=[
        DataRequired(_l("Kata sandi wajib diisi.")), Length(max=MAX_LENGTH)])


class ChosenPassword(GeraiForm):
    """A new password typed twice, long enough and not a common one."""

    password = PasswordField(_l("Kata sandi"), validators=[
        DataRequired(_l("Kata sandi wajib diisi.")),
        Length(min=MIN_LENGTH, max=MAX_LENGTH,
               message=_l("Kata sandi harus %(min)d sampai %(max)d karakter.",
                          min=MIN_LENGTH, max=MAX_LENGTH))])
    confirm = PasswordField(_l("Ulangi kata sandi"), validators=[
        DataRequired(_l("Ulangi kata sandi Anda.")),
        EqualTo("password", _l("Kedua kata sandi tidak sama."))])

    def validate_password(self, field):
        if is_common(field.data or ""):
            raise ValidationError(_l("Kata sandi ini terlalu umum dan mudah ditebak. Pilih yang lain."))


class RegisterForm(GeraiForm):
    """Who is registering; the password is chosen from the link sent to the address."""

    name = StringField(_l("Nama lengkap"), validators=[
        DataRequired(_l("Nama wajib diisi.")),
        Length(max=120, message=_l("Nama paling banyak 120 karakter."))])
    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Email wajib diisi.")),
        EmailAddress(), Length(max=254)])
    wants_to_sell = BooleanField(_l("Saya juga ingin berjualan (UMKM atau koperasi)"))


class ForgotForm(GeraiForm):
    email = EmailField(_l("Email"), filters=[lambda value: value.strip() if value else value],
                       validators=[
        DataRequired(_l("Email wajib diisi.")),
        EmailAddress(), Length(max=254)])


class NewPasswordForm(ChosenPassword):
    pass


class FinishRegistrationForm(ChosenPassword):
    pass
