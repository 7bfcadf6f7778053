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


def start_payment(purchase: Purchase, success_url: str, cancel_url: str) -> str | None:
    """Ask the purchase's gateway for its payment: returns where to send the shopper, or
    None for a QRIS payment (its code is then ``purchase.payment_qr``, to show).

    Raises PaymentError with the purchase still pending (the caller closes it)."""
    if purchase.status == "pending" and (purchase.payment_url or purchase.payment_qr):
        return purchase.payment_url
    purchase_id, code, total, gateway_name, purchase_expires = (
        purchase.id, purchase.code, purchase.total, purchase.gateway, purchase.expires_at)
    db.session.commit()  # no transaction (and no row lock) open while the gateway answers
    try:
        payment = contract.get(gateway_name).create_payment(
            amount=total, reference=code, description=f"Gerai {code}", success_url=success_url,
            cancel_url=cancel_url, idempotency_key=f"purchase-{code}",
            expires_in_minutes=current_app.config.get("PAYMENT_EXPIRY_MINUTES", 30),
            metadata={"purchase": code}, expires_at=purchase_expires)
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
    gateway = contract.get(purchase.gateway)
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
    gateway = contract.get(purchase.gateway)
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
    # One key per refused refund: a retry after a timeout or an error reuses it (the
    # gateway answers with the refund it may have made), only a refusal moves it on.
    attempt = settlement.refund_attempts(order)
    db.session.commit()
    try:
        answer = contract.get(claim.gateway).refund(claim.payment, claim.amount,
                                           idempotency_key=f"refund-{claim.order_code}-{attempt}")
    except contract.PaymentError as error:
        settlement.refund_result(order, None, gateway=claim.gateway, error=error)
        db.session.commit()
        raise
    settlement.refund_result(order, answer, gateway=claim.gateway)
    db.session.commit()
    return order


def refund_stray(stray) -> None:
    """Give a stray payment back through its gateway; where the payer's app cannot take a
    refund, it is marked for a cash refund."""
    payment = settlement.claim_stray_refund(stray)
    db.session.commit()
    if payment is None:
        return
    try:
        # Keyed by the gateway's own payment id (unique there, unlike our row id) and by
        # the refusals so far: a retry after an unknown outcome asks for the same refund.
        answer = contract.get(stray.gateway).refund(
            payment, stray.amount,
            idempotency_key=f"stray-{stray.reference}-{stray.refund_attempts}")
    except contract.PaymentError as error:
        settlement.stray_refund_result(stray, None, error)
        db.session.commit()
        if not isinstance(error, contract.RefundNotSupported):
            raise
        return
    settlement.stray_refund_result(stray, answer)
    db.session.commit()


def collect_fees(limit: int = 200) -> int:
    """Ask the QRIS gateway what it kept of each paid QRIS purchase (MDR) and record it."""
    recorded = 0
    for purchase in settlement.unfeed(limit):
        gateway = contract.get(purchase.gateway)
        if not hasattr(gateway, "fee"):
            continue
        payment_id = purchase.payment_id
        db.session.commit()
        try:
            paid = gateway.retrieve_payment(payment_id)
            fee = gateway.fee(paid.charge_id) if paid.charge_id else None
        except contract.PaymentError as error:
            log.warning("fee of %s: %s", purchase.code, error)
            continue
        if fee is None:
            continue
        if fee == 0:
            settlement.note("fee", gateway=purchase.gateway, purchase=purchase, amount=0,
                            currency="IDR", result="recorded", message="MDR 0%")
        else:
            settlement.record_fee(purchase, fee)
        db.session.commit()
        recorded += 1
    return recorded


def _refund_answer(gateway_name: str, reference: str, counts: dict, record) -> bool:
    """Ask the gateway where a pending refund stands (no transaction open) and record the
    answer; False (counted as an error) when the gateway could not say."""
    db.session.commit()
    try:
        answer = contract.get(gateway_name).retrieve_refund(reference)
    except contract.PaymentError as error:
        log.warning("reconcile refund %s: %s", reference, error)
        counts["errors"] += 1
        return False
    record(answer)
    db.session.commit()
    return True


def reconcile(older_than_minutes: int = 3) -> dict[str, int]:
    """Ask the gateway about every purchase still pending after a while, and every
    refund still pending (lost webhooks)."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    counts = {"checked": 0, "paid": 0, "closed": 0, "errors": 0, "refunds": 0, "strays": 0}
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
    for order in settlement.lost_refunds():  # its answer was lost: same key, same refund
        try:
            refund(order, order.cancel_reason or "", None)
        except contract.PaymentError as error:
            log.warning("refund of %s: %s", order.code, error)
            counts["errors"] += 1
    for order in settlement.pending_refunds():
        if _refund_answer(order.purchase.gateway, order.refund_reference, counts, lambda answer:
                          settlement.refund_result(order, answer, gateway=order.purchase.gateway,
                                                   kind="refund_check")):
            counts["refunds"] += 1
    # Money that counts for nothing goes back by itself (three refusals, then a person);
    # a refund whose callback was lost (or came before its id was stored) is asked about,
    # and one whose answer was lost (no id) is asked for again under the same key.
    for stray in settlement.strays(open_only=True):
        if stray.state == "refund_pending" and stray.refund_reference:
            _refund_answer(stray.gateway, stray.refund_reference, counts,
                           lambda answer: settlement.stray_refund_result(stray, answer))
            continue
        lost = stray.state == "refund_pending" and stray.updated_at < cutoff
        if not lost and (stray.state != "needs_refund" or stray.refund_attempts >= 3):
            continue
        try:
            refund_stray(stray)
        except contract.PaymentError as error:
            log.warning("refund of stray payment %s: %s", stray.reference, error)
            counts["errors"] += 1
            continue
        counts["strays"] += 1
    counts["fees"] = collect_fees()
    return counts
