import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..extensions import db
from ..money import format_rupiah
from . import services
from .models import LedgerEntry


@click.command("ledger-check")
@with_appcontext
def ledger_check():
    """Prove the sales ledger balances: every paid order, refund and payout posted exactly."""
    problems = services.check()
    entries, total = db.session.execute(
        select(func.count(LedgerEntry.id), func.coalesce(func.sum(LedgerEntry.amount), 0))).one()
    for problem in problems[:50]:
        click.echo(f"  ✗ {problem}", err=True)
    if problems:
        raise click.ClickException(f"buku besar TIDAK seimbang: {len(problems)} masalah")
    click.echo(f"buku besar seimbang: {entries} entri, saldo semua toko {format_rupiah(int(total))}")
