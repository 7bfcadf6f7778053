"""POST /payments/webhooks/<gateway>: signed events from the gateway, each applied once."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..checkout.models import PaymentEvent, Purchase
from ..checkout.services import gateway, settle
from ..extensions import csrf, db
from . import gateway as contract

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


@bp.post("/payments/webhooks/<name>")
@csrf.exempt  # the signature is the proof of origin here, not a session
def receive(name: str):
    if name != current_app.config["PAYMENT_GATEWAY"]:
        abort(404)
    try:
        event = gateway().parse_webhook(request.get_data(), dict(request.headers))
    except contract.InvalidWebhook as error:
        log.warning("webhook refused: %s", error)
        return {"error": "invalid signature"}, 400
    if event.payment is None or not event.payment.reference:
        return {"ignored": event.type}, 200
    purchase = db.session.scalar(select(Purchase).where(Purchase.code == event.payment.reference))
    if purchase is None:
        # Not committed yet, or not ours: the gateway retries later.
        return {"error": "unknown purchase"}, 409
    db.session.add(PaymentEvent(gateway=name, event_id=event.id, type=event.type,
                                payment_id=event.payment.id))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return {"duplicate": event.id}, 200
    settle(purchase, event.payment)
    db.session.commit()
    return {"applied": event.id, "purchase": purchase.status}, 200
