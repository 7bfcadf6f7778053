import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..cooperatives.models import Cooperative
from ..extensions import db
from ..params import calendar_month
from ..timeutil import today_in_jakarta
from . import books, services
from .models import Posting, PostingLine


@click.command("books-check")
@with_appcontext
def books_check():
    """Prove the cooperatives' books balance: every posting and every cooperative, debit =
    credit; every member's balances = the sum of their postings; no bill paid beyond itself."""
    problems = books.check()
    postings = db.session.scalar(select(func.count(Posting.id)))
    total = db.session.scalar(select(func.coalesce(func.sum(PostingLine.debit), 0)))
    for problem in problems[:50]:
        click.echo(f"  ✗ {problem}", err=True)
    if problems:
        raise click.ClickException(f"buku koperasi TIDAK seimbang: {len(problems)} masalah")
    click.echo(f"buku koperasi seimbang: {postings} posting, debit = kredit = {total}")


def bill_run_all(month) -> services.RunResult:
    """The month's bill run in every cooperative, each committed on its own (``flask
    bills-run`` and the queue's hourly task own these transactions)."""
    totals = services.RunResult()
    for coop_id in db.session.scalars(select(Cooperative.id).order_by(Cooperative.id)).all():
        result = services.bill_run(coop_id, month)
        db.session.commit()
        totals.wajib += result.wajib
        totals.instalments += result.instalments
        totals.late_fees += result.late_fees
    return totals


@click.command("bills-run")
@click.option("--bulan", default="", help="YYYY-MM; bulan ini bila kosong")
@with_appcontext
def bills_run(bulan: str):
    """Raise the month's bills (simpanan wajib, instalments due, late fees) in every
    cooperative; safe to run again."""
    month = calendar_month(bulan) if bulan else today_in_jakarta().replace(day=1)
    if month is None:
        raise click.BadParameter("tulis bulan sebagai YYYY-MM", param_hint="--bulan")
    totals = bill_run_all(month)
    click.echo(f"tagihan {month:%Y-%m}: {totals.wajib} simpanan wajib, {totals.instalments} "
               f"angsuran, {totals.late_fees} denda")


@click.command("bills-remind")
@with_appcontext
def bills_remind():
    """Remind members of bills due within three days or overdue (once per bill each)."""
    from .reminders import send_by_email

    sent = send_by_email()
    click.echo(f"pengingat tagihan terkirim: {sent}")
