"""``flask create-user``: the first office account on a fresh install (and any later one)."""

from __future__ import annotations

import secrets

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..extensions import db
from . import services
from .models import ROLES, User
from .passwords import MAX_LENGTH, MIN_LENGTH, hash_password, is_common


def _chosen_password() -> str:
    while True:
        password = click.prompt("Kata sandi", hide_input=True, confirmation_prompt="Ulangi")
        if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
            click.echo(f"Kata sandi harus {MIN_LENGTH} sampai {MAX_LENGTH} karakter.", err=True)
        elif is_common(password):
            click.echo("Kata sandi ini terlalu umum dan mudah ditebak. Pilih yang lain.", err=True)
        else:
            return password


@click.command("create-user")
@click.argument("email")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), default=("admin",),
              show_default=True, help="may be given several times")
@click.option("--name", default="", help="the person's name (default: the part before @)")
@click.option("--link", is_flag=True,
              help="print a one-time link to choose the password instead of asking for it")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True,
              help="where Gerai is reached, for the --link address")
@with_appcontext
def create_user(email: str, roles: tuple[str, ...], name: str, link: bool, base_url: str):
    """Create an account (or give an existing one ROLEs): the first office account on a
    fresh install. Safe to run again: an existing account keeps its password."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise click.BadParameter("bukan alamat email", param_hint="EMAIL")
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        # An unusable password until one is chosen (here, or through the link).
        user = User(email=email, name=(name or email.split("@")[0])[:120],
                    password_hash=hash_password(secrets.token_urlsafe(32)))
        if not link:
            user.password_hash = hash_password(_chosen_password())
        db.session.add(user)
        created = True
    else:
        created = False
    for role in ("shopper", *roles):
        user.grant(role)
    db.session.commit()
    click.echo(f"{'Akun dibuat' if created else 'Akun sudah ada'}: {user.email} "
               f"({', '.join(sorted(user.role_names))}).")
    if link:
        from flask import current_app, url_for

        with current_app.test_request_context(base_url=base_url):
            address = url_for("accounts.reset", token=services.reset_token(user), _external=True)
        click.echo(f"Tautan sekali pakai untuk memilih kata sandi (berlaku 1 jam):\n{address}")
