"""Gateway calls between transactions, for views, commands and the worker.

Settlement only flushes; this module is where a user action or a job that talks
to a gateway commits: it commits what it has before the call (so no row lock is
held while the gateway answers), calls the gateway, records the answer through
settlement, and commits again. It is the unit of work of those actions.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ..checkout.models import Purchase
from ..extensions import db
from ..orders.models import Order
from ..timeutil import utcnow
from . import gateway as contract
from . import settlement

log = logging.getLogger(__name__)


def start_payment(purchase: Purchase, success_url: str, cancel_url: str) -> str:
    """Ask the gateway for a payment page; returns where to send the shopper.

    Raises PaymentError with the purchase still pending (the caller closes it)."""
    if purchase.payment_url and purchase.status == "pending":
        return purchase.payment_url
    purchase_id, code, total, gateway_name = (purchase.id, purchase.code, purchase.total,
                                              purchase.gateway)
    db.session.commit()  # no transaction (and no row lock) open while the gateway answers
    try:
        payment = contract.current().create_payment(
            amount=total, reference=code, description=f"Gerai {code}", success_url=success_url,
            cancel_url=cancel_url, idempotency_key=f"purchase-{code}",
            expires_in_minutes=current_app.config.get("PAYMENT_EXPIRY_MINUTES", 30),
            metadata={"purchase": code})
    except contract.PaymentError as error:
        settlement.note_error("create", purchase, error, gateway=gateway_name)
        db.session.commit()
        raise
    settlement.started(purchase_id, gateway_name, payment)
    db.session.commit()
    return payment.url


def close(purchase: Purchase, status: str = "cancelled") -> None:
    """End a pending purchase that never reached the gateway (or whose call failed)."""
    settlement.close(purchase, status)
    db.session.commit()


def cancel(purchase: Purchase) -> Purchase:
    """The shopper or keeper takes back a pending payment: cancelled at the gateway first,
    so it cannot be paid after its stock went back."""
    if purchase.status != "pending":
        return purchase
    if not purchase.payment_id:
        close(purchase, "cancelled")
        return purchase
    payment_id = purchase.payment_id
    db.session.commit()
    gateway = contract.current()
    try:
        payment, source = _call(purchase, "cancel", lambda: gateway.cancel_payment(payment_id)), \
            "cancel"
    except contract.PaymentError:  # already paid, or the gateway is away: where does it stand?
        payment, source = _call(purchase, "retrieve",
                                lambda: gateway.retrieve_payment(payment_id)), "retrieve"
    settlement.apply(purchase, payment, source=source)
    db.session.commit()
    return purchase


def ask(purchase: Purchase, *, cancel_if_expired: bool = True) -> Purchase:
    """What the reconciler does for one pending purchase."""
    if purchase.status != "pending":
        return purchase
    if purchase.payment_id is None:
        # The gateway was never reached: nothing to ask, the hold just ends.
        if purchase.expires_at < utcnow():
            close(purchase, "expired")
        return purchase
    payment_id, expired = purchase.payment_id, purchase.expires_at < utcnow()
    db.session.commit()
    gateway = contract.current()
    payment, source = _call(purchase, "retrieve",
                            lambda: gateway.retrieve_payment(payment_id)), "retrieve"
    if payment.status == contract.PENDING and expired and cancel_if_expired:
        payment, source = _call(purchase, "cancel",
                                lambda: gateway.cancel_payment(payment_id)), "cancel"
    settlement.apply(purchase, payment, source=source)
    db.session.commit()
    return purchase


def _call(purchase: Purchase, kind: str, call):
    """One call to the gateway about this purchase, made with no transaction open; a
    failure is recorded (and committed) before it goes up to the caller."""
    try:
        return call()
    except contract.PaymentError as error:
        settlement.note_error(kind, purchase, error, gateway=purchase.gateway,
                              reference=purchase.payment_id)
        db.session.commit()
        raise


def refund(order: Order, reason: str, user) -> Order:
    """Give the money back for a paid order (a voided stand sale, a seller's cancellation).

    The claim (order cancelled, stock back, refund pending) commits first; then the
    gateway is asked, with no lock held; its answer is recorded as it is: a pending
    refund stays pending until a webhook or the reconciler says how it ended.
    Raises PaymentError when the gateway could not be asked (the refund shows as failed).
    """
    claim = settlement.claim_refund(order, reason, user)
    db.session.commit()
    if claim is None:
        return order
    if claim.payment is None:  # cash: handed back at the stand, done now
        settlement.refund_result(order, contract.Refund(id=f"cash_refund_{claim.order_code}",
                                                        amount=claim.amount, status="succeeded"),
                                 gateway=claim.gateway)
        db.session.commit()
        return order
    # One key per attempt: a retried call after a timeout reuses it (one refund at the
    # gateway), a new attempt after a refused refund gets a new one.
    attempt = settlement.refund_attempts(order)
    db.session.commit()
    try:
        answer = contract.current().refund(claim.payment, claim.amount,
                                           idempotency_key=f"refund-{claim.order_code}-{attempt}")
    except contract.PaymentError as error:
        settlement.refund_result(order, None, gateway=claim.gateway, error=error)
        db.session.commit()
        raise
    settlement.refund_result(order, answer, gateway=claim.gateway)
    db.session.commit()
    return order


def reconcile(older_than_minutes: int = 3) -> dict[str, int]:
    """Ask the gateway about every purchase still pending after a while, and every
    refund still pending (lost webhooks)."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    counts = {"checked": 0, "paid": 0, "closed": 0, "errors": 0, "refunds": 0}
    ids = db.session.scalars(select(Purchase.id).where(
        Purchase.status == "pending", Purchase.created_at < cutoff)).all()
    for purchase_id in ids:
        purchase = db.session.get(Purchase, purchase_id)
        counts["checked"] += 1
        try:
            ask(purchase)
        except contract.PaymentError as error:
            log.warning("reconcile %s: %s", purchase.code, error)
            counts["errors"] += 1
            continue
        if purchase.status == "paid":
            counts["paid"] += 1
        elif purchase.status != "pending":
            counts["closed"] += 1
    for order in settlement.pending_refunds():
        reference, gateway_name = order.refund_reference, order.purchase.gateway
        db.session.commit()
        try:
            answer = contract.current().retrieve_refund(reference)
        except contract.PaymentError as error:
            log.warning("reconcile refund %s: %s", order.code, error)
            counts["errors"] += 1
            continue
        settlement.refund_result(order, answer, gateway=gateway_name, kind="refund_check")
        db.session.commit()
        counts["refunds"] += 1
    return counts
