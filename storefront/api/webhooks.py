"""Webhooks out: order paid, order ready for pickup, stand sale.

``record(kind, order)`` is called once, by the code that owns the change (settlement
when a payment counts, the seller's order service when an order is ready), inside its
transaction: the event row and one delivery row per subscription commit with the change
or not at all. ``deliver_due(limit)`` sends what is due, outside any transaction, and is
what the task queue schedules (every few seconds).

Each POST is signed like Stripe's: ``Gerai-Signature: t=<unix seconds>,v1=<hex>``, the
HMAC-SHA256 with the subscription's secret over ``"<t>.<body>"``; ``Gerai-Event-Id``
names the event (the same on every retry), so a receiver rejects old timestamps and
applies each id once. A failed delivery is tried again after 30 s, 2 min, 10 min, 1 h,
6 h, then daily, eight attempts in all; every attempt is logged for the office.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..timeutil import utcnow
from .models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription

log = logging.getLogger(__name__)
BACKOFF = (30, 120, 600, 3600, 6 * 3600, 24 * 3600, 24 * 3600)  # seconds after attempt n
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=2)  # a sender that died mid-call frees its deliveries after this


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _order_data(order) -> dict:
    return {"code": order.code, "purchase": order.purchase.code if order.purchase else None,
            "status": order.status, "channel": order.channel, "fulfilment": order.fulfilment,
            "shop": {"id": order.shop.id, "slug": order.shop.slug, "name": order.shop.name},
            "stand": order.stand.code if order.stand_id else None,
            "fair": order.stand.fair.slug if order.stand_id else None,
            "subtotal": order.subtotal, "delivery_fee": order.delivery_fee, "total": order.total,
            "currency": "IDR", "paid_at": order.paid_at.isoformat() + "Z" if order.paid_at else None,
            "lines": [{"product_id": l.product_id, "name": l.name, "variant_name": l.variant_name,
                       "unit_price": l.unit_price, "quantity": l.quantity,
                       "line_total": l.line_total} for l in order.lines]}


def record(kind: str, order) -> WebhookEvent | None:
    """Add the event and its deliveries to the current transaction (the caller commits).
    Nothing is written when no subscription wants this kind."""
    subscriptions = [s for s in db.session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.active)) if kind in s.event_set
        and s.api_key.active]
    if not subscriptions:
        return None
    public_id = "evt_" + secrets.token_hex(12)
    payload = json.dumps({"id": public_id, "type": kind, "created": int(time.time()),
                          "data": {"order": _order_data(order)}}, ensure_ascii=False,
                         separators=(",", ":"))
    event = WebhookEvent(public_id=public_id, type=kind, payload=payload)
    db.session.add(event)
    db.session.flush()
    for subscription in subscriptions:
        db.session.add(WebhookDelivery(event_id=event.id, subscription_id=subscription.id,
                                       next_attempt_at=utcnow()))
    db.session.flush()
    return event


def paid(orders) -> None:
    """Settlement's one call when a purchase's payment counts: each order is an
    ``order.paid`` (bought online) or a ``stand.sale`` (rung up or bought at a stand)."""
    for order in orders:
        record("stand.sale" if order.stand_id else "order.paid", order)


def deliver_due(limit: int = 50, now=None) -> int:
    """Send up to ``limit`` deliveries that are due; returns how many were sent (answered
    2xx). Each is claimed first (its next attempt moved a lease ahead in one conditional
    UPDATE), so two workers never send the same delivery at once."""
    now = now or utcnow()
    due = db.session.execute(
        select(WebhookDelivery.id).where(WebhookDelivery.status == "pending",
                                         WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)).scalars().all()
    sent = 0
    for delivery_id in due:
        claimed = db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                          WebhookDelivery.status == "pending",
                                          WebhookDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + LEASE).execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.rollback()
            continue
        delivery = db.session.get(WebhookDelivery, delivery_id)
        url, secret = delivery.subscription.url, delivery.subscription.secret
        event_id, kind, body = (delivery.event.public_id, delivery.event.type,
                                delivery.event.payload.encode())
        db.session.commit()  # the claim; no transaction open while the receiver answers
        code, error, started = None, None, time.perf_counter()
        timestamp = int(time.time())
        try:
            answer = requests.post(url, data=body, timeout=current_app.config["WEBHOOK_TIMEOUT"],
                                   allow_redirects=False, headers={
                                       "Content-Type": "application/json",
                                       "User-Agent": "Gerai-Webhooks/1",
                                       "Gerai-Event-Id": event_id, "Gerai-Event-Type": kind,
                                       "Gerai-Signature": f"t={timestamp},v1={sign(secret, timestamp, body)}"})
            code = answer.status_code
            answer.close()
        except requests.RequestException as failure:
            error = f"{type(failure).__name__}: {failure}"[:300]
        milliseconds = int((time.perf_counter() - started) * 1000)
        delivery = db.session.get(WebhookDelivery, delivery_id)
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = code, error
        delivery.log.append(WebhookAttempt(status_code=code, error=error, milliseconds=milliseconds))
        if code is not None and 200 <= code < 300:
            delivery.status, delivery.delivered_at = "delivered", utcnow()
            sent += 1
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
            log.warning("webhook %s to %s failed for good after %d attempts", event_id, url,
                        delivery.attempts)
        else:
            delivery.next_attempt_at = utcnow() + timedelta(seconds=BACKOFF[delivery.attempts - 1])
        db.session.commit()
    return sent
