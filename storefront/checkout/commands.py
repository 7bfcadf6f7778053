import click
from flask.cli import with_appcontext

from ..payments import runner


@click.command("payments-reconcile")
@click.option("--older-than", default=3, show_default=True, help="Minutes a payment may stay pending.")
@with_appcontext
def payments_reconcile(older_than: int):
    """Ask the gateway about purchases and refunds still pending: settles what webhooks missed."""
    counts = runner.reconcile(older_than)
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
