"""POST /payments/webhooks/<gateway>: signed events from the gateway, each applied once."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

from ..extensions import csrf, db
from . import gateway as contract
from . import settlement

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__)


@bp.post("/payments/webhooks/<name>")
@csrf.exempt  # the signature is the proof of origin here, not a session
def receive(name: str):
    if name not in contract.enabled() or name == "cash":
        abort(404)
    try:
        event = contract.get(name).parse_webhook(request.get_data(), dict(request.headers))
    except contract.InvalidWebhook as error:
        log.warning("webhook refused: %s", error)
        return {"error": "invalid signature"}, 400
    status, answer = settlement.apply_event(name, event)
    if status == 200:
        db.session.commit()
    else:
        db.session.rollback()
    return answer, status
