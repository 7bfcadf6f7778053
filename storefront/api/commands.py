"""``flask api-key``: the city office's keys from a shell (issue, list, revoke) and the
webhook sender run by hand."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from . import keys, webhooks
from .models import EVENT_TYPES, SCOPES, ApiKey, WebhookSubscription


@click.group("api-key")
def api_key():
    """API keys of client apps (shown once, stored hashed)."""


@api_key.command("issue")
@click.option("--name", required=True, help="the client app, e.g. 'Tangerang LIVE'")
@click.option("--owner", required=True, help="who answers for it (agency, contact)")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES))
@click.option("--rate-limit", default=600, show_default=True, type=click.IntRange(1, 100_000),
              help="requests per minute")
@with_appcontext
def issue(name, owner, scopes, rate_limit):
    key, token = keys.issue(name, owner, scopes, rate_limit)
    db.session.commit()
    click.echo(f"key {key.prefix} for {name}: scopes {key.scopes or '(none)'}, {rate_limit}/min")
    click.echo("The key (shown this once; Gerai keeps only its hash):")
    click.echo(token)


@api_key.command("list")
@with_appcontext
def list_keys():
    for key in db.session.scalars(select(ApiKey).order_by(ApiKey.id)):
        state = "revoked " + key.revoked_at.isoformat() if key.revoked_at else "active"
        click.echo(f"{key.prefix}  {key.name} ({key.owner})  [{key.scopes}]  "
                   f"{key.rate_limit}/min  {state}")


@api_key.command("revoke")
@click.argument("prefix")
@with_appcontext
def revoke(prefix):
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise click.ClickException(f"no key {prefix}")
    changed = keys.revoke(key)
    db.session.commit()
    click.echo(f"{prefix} revoked" if changed else f"{prefix} was already revoked")


@api_key.command("webhook")
@click.argument("prefix")
@click.option("--url", required=True)
@click.option("--event", "events", multiple=True, type=click.Choice(EVENT_TYPES), required=True)
@with_appcontext
def subscribe(prefix, url, events):
    """Send these events to URL for the client app of key PREFIX."""
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise click.ClickException(f"no key {prefix}")
    subscription = WebhookSubscription(api_key_id=key.id, url=url, secret=webhooks.new_secret(),
                                       events=" ".join(e for e in EVENT_TYPES if e in events))
    db.session.add(subscription)
    db.session.commit()
    click.echo(f"subscription {subscription.id}: {subscription.events} -> {url}")
    click.echo("Signing secret (shown this once):")
    click.echo(subscription.secret)


@api_key.command("deliver")
@click.option("--limit", default=100, show_default=True)
@with_appcontext
def deliver(limit):
    """Send the webhook deliveries that are due (the worker does this by itself)."""
    click.echo(f"{webhooks.deliver_due(limit)} delivered")
