"""The one place a purchase or an order changes payment state.

pending -> paid | failed | expired | cancelled for a purchase (and its orders);
paid -> refund pending -> refunded (or refund failed, to try again) for an order;
money that arrived and counts for nothing (a stray payment) -> given back, through the
gateway or in cash by a named person.
Online checkout, stand QR and cash sales, seller cancellations, stand voids,
webhooks and the reconciler all come here.

Rules:
- A payment counts only when its gateway id is the one recorded for the purchase
  and its amount (in whole rupiah) and currency equal the purchase's total, and the
  purchase was still waiting for it. Anything else (a QR paid after its charge closed,
  the wrong amount) is recorded as a mismatch and a stray payment to give back; it
  changes nothing else.
- Every call to a gateway and every event from one is a PaymentRecord row.
- Functions here only flush. Calls to the gateway happen in ``runner.py``, between
  transactions, so no row lock is held while a gateway answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import joinedload, lazyload, selectinload

from ..audit import record as audit
from ..basket.models import BasketLine
from ..checkout.models import PaymentEvent, Purchase
from ..extensions import db, insert_new
from ..inventory import services as inventory
from ..ledger import services as ledger
from ..money import format_rupiah
from ..orders.models import Order
from ..timeutil import utcnow
from . import gateway as contract
from .models import PaymentRecord, StrayPayment

log = logging.getLogger(__name__)

CLOSED = (contract.FAILED, contract.EXPIRED, contract.CANCELLED)


def note(kind: str, *, gateway: str, purchase: Purchase | None = None, order: Order | None = None,
         reference: str | None = None, amount: int | None = None, currency: str | None = None,
         result: str, message: str = "") -> PaymentRecord:
    """One line of the payment's story, in the caller's transaction."""
    row = PaymentRecord(purchase_id=purchase.id if purchase is not None else None,
                        order_id=order.id if order is not None else None, gateway=gateway[:20],
                        kind=kind, reference=(reference or None) and reference[:255],
                        amount=amount, currency=currency, result=result[:16],
                        message=message[:300])
    db.session.add(row)
    return row


def note_payment(kind: str, purchase: Purchase, payment: contract.Payment,
                 message: str = "") -> None:
    # Added to the session, not flushed: it goes in with the next statement's autoflush.
    note(kind, gateway=purchase.gateway, purchase=purchase, reference=payment.id,
         amount=payment.amount, currency=payment.currency, result=payment.status,
         message=message)


def note_error(kind: str, purchase: Purchase | None, error: contract.PaymentError, *,
               gateway: str, order: Order | None = None, reference: str | None = None) -> None:
    note(kind, gateway=gateway, purchase=purchase, order=order, reference=reference,
         result="error", message=f"{type(error).__name__}: {error}")


# --- starting a payment ----------------------------------------------------------------

def started(purchase_id: int, gateway_name: str, payment: contract.Payment) -> None:
    """The gateway made the payment page for this purchase: remember its id. Takes ids,
    not the object: the caller committed before the gateway call and need not reload."""
    db.session.add(PaymentRecord(purchase_id=purchase_id, gateway=gateway_name, kind="create",
                                 reference=payment.id, amount=payment.amount,
                                 currency=payment.currency, result=payment.status))
    db.session.execute(update(Purchase).where(Purchase.id == purchase_id,
                                              Purchase.payment_id.is_(None))
                       .values(payment_id=payment.id, payment_url=payment.url,
                               payment_qr=payment.qr_string)
                       .execution_options(synchronize_session=False))
    loaded = db.session.identity_map.get((Purchase, (purchase_id,), None))
    if loaded is not None:
        db.session.expire(loaded, ["payment_id", "payment_url", "payment_qr"])


# --- what the gateway says about a payment -----------------------------------------------

@dataclass(frozen=True)
class Verdict:
    counted: bool
    reason: str = ""


def judge(purchase: Purchase, payment: contract.Payment) -> Verdict:
    """Whether this payment is the purchase's own, whole payment."""
    # The reasons are for the office's page: Indonesian, with the gateway's figures.
    if purchase.payment_id is None or payment.id != purchase.payment_id:
        return Verdict(False, f"Pembayaran {payment.id} bukan pembayaran pembelian ini "
                              f"({purchase.payment_id or 'belum ada'}).")
    if payment.reference and payment.reference != purchase.code:
        return Verdict(False, f"Referensi {payment.reference} bukan {purchase.code}.")
    if (payment.currency or "").upper() != "IDR":
        return Verdict(False, f"Mata uang {payment.currency}, bukan IDR.")
    if not payment.whole_rupiah or payment.amount != purchase.total:
        return Verdict(False, f"Dibayar {format_rupiah(payment.amount)}"
                              f"{'' if payment.whole_rupiah else ' (bukan rupiah bulat)'}, "
                              f"totalnya {format_rupiah(purchase.total)}.")
    return Verdict(True)


def apply(purchase: Purchase, payment: contract.Payment, *, source: str,
          message: str = "") -> str:
    """Bring the purchase to what the gateway says; safe in any order, any number of times.

    ``source`` is what told us (webhook, retrieve, cancel): it is recorded with the
    gateway's figures. Returns the purchase's state.
    """
    state = purchase.status
    # One flush at the end: this call's records and ledger lines go in as one batch each.
    with db.session.no_autoflush:
        note_payment(source, purchase, payment, message)
        if payment.status == contract.PAID:
            verdict = judge(purchase, payment)
            if not verdict.counted:
                _mismatch(purchase, payment, verdict.reason)
            elif _paid(purchase, payment):
                state = "paid"
            else:
                _mismatch(purchase, payment, LATE.format(status=_status_word(purchase)))
        elif payment.status in CLOSED:
            if payment.id == purchase.payment_id:
                if close(purchase, payment.status):
                    state = payment.status
            else:
                # Not the payment this purchase waits for (another session, an intent
                # event): it cannot end the purchase; the reconciler asks about ours.
                log.info("purchase %s: %s of another payment %s ignored", purchase.code,
                         payment.status, payment.id)
    db.session.flush()
    db.session.expire(purchase)  # read again only if the caller looks
    return state


LATE = ("Dibayar setelah tagihan {status} (misalnya dari tangkapan layar QR): "
        "tidak dihitung, uangnya dikembalikan.")


def _status_word(purchase: Purchase) -> str:
    status = db.session.scalar(select(Purchase.status).where(Purchase.id == purchase.id))
    return {"expired": "kedaluwarsa", "cancelled": "dibatalkan", "failed": "gagal"}.get(
        status, status or "ditutup")


def _mismatch(purchase: Purchase, payment: contract.Payment, reason: str) -> None:
    """Money that does not count: recorded for the office, and kept as a stray payment
    until it is given back (once per money movement, whatever the retries)."""
    log.error("purchase %s: payment %s does not count: %s", purchase.code, payment.id, reason)
    note("mismatch", gateway=purchase.gateway, purchase=purchase, reference=payment.id,
         amount=payment.amount, currency=payment.currency, result="needs_refund",
         message=reason)
    inserted = db.session.execute(
        insert_new(StrayPayment).values(
            gateway=purchase.gateway[:20], reference=(payment.charge_id or payment.id)[:255],
            payment_id=payment.id[:255], purchase_id=purchase.id, stand_id=purchase.stand_id,
            amount=payment.amount, currency=(payment.currency or "IDR")[:3].upper(),
            source=(payment.source or None) and payment.source[:30], reason=reason[:300],
            state="needs_refund", refund_attempts=0, created_at=utcnow(), updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["gateway", "reference"])
        .returning(StrayPayment.id)).scalar() is not None
    if inserted:
        audit(None, "payment.mismatch", purchase,
              after={"payment": payment.id, "amount": payment.amount,
                     "currency": payment.currency, "total": purchase.total}, note=reason[:200])


def _paid(purchase: Purchase, payment: contract.Payment) -> bool:
    """The purchase's own payment arrived. False when the purchase had already closed
    (expired, cancelled): the money is then a late payment, not a sale."""
    now = utcnow()
    changed = db.session.execute(
        update(Purchase).where(Purchase.id == purchase.id, Purchase.status == "pending")
        .values(status="paid", paid_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        # Already paid (a replay: nothing to do), or closed before the money came.
        return db.session.scalar(select(Purchase.status).where(Purchase.id == purchase.id)) \
            == "paid"
    note("settled", gateway=purchase.gateway, purchase=purchase, reference=payment.id,
         amount=payment.amount, currency=payment.currency, result="paid")
    purchase_id, code = purchase.id, purchase.code
    short = inventory.consume(purchase_id, code)
    if short:
        # Paid after its hold ran out and the goods sold meanwhile: the money is real,
        # the order stands, and the seller and office see it to refund or restock.
        log.error("purchase %s paid after its hold ended; short of %s", purchase.code, short)
        audit(None, "payment.late_short", purchase, after={"short": short})
    # Goods rung up at a fair stand change hands the moment they are paid.
    db.session.execute(update(Order).where(Order.purchase_id == purchase_id).values(
        status=case((Order.fulfilment == "stand", "completed"), else_="new"), paid_at=now,
        cancel_reason=None).execution_options(synchronize_session=False))
    # The orders as now written, with their shops and lines, in two statements.
    orders = db.session.scalars(
        select(Order).where(Order.purchase_id == purchase_id)
        .options(joinedload(Order.shop), selectinload(Order.lines))
        .execution_options(populate_existing=True)).unique().all()
    for order in orders:
        ledger.post_sale(order, now)
    from ..api import webhooks  # order.paid / stand.sale for client apps, in this transaction

    webhooks.paid(orders)
    if not orders:  # a cooperative member's bills: allocated and booked in this transaction
        from ..members import books as member_books

        member_books.purchase_paid(purchase, payment, now)
    _empty_basket(purchase.basket_id, orders)
    if payment.fee:
        record_fee(purchase, payment.fee, orders)
    return True


def record_fee(purchase: Purchase, fee: int, orders: list[Order] | None = None) -> bool:
    """The gateway's fee on a paid purchase, split over its orders by their totals (the
    rupiah left by rounding go to the largest), each a line on its shop's statement.
    Once per purchase: False when it was already recorded."""
    if isinstance(fee, bool) or not isinstance(fee, int) or fee <= 0:
        return False
    if db.session.scalar(select(PaymentRecord.id).where(PaymentRecord.purchase_id == purchase.id,
                                                       PaymentRecord.kind == "fee")):
        return False
    orders = orders if orders is not None else list(db.session.scalars(
        select(Order).where(Order.purchase_id == purchase.id).order_by(Order.id)))
    if not orders:  # a cooperative member's bills: the fee is the cooperative's expense
        from ..members import books as member_books

        if member_books.gateway_fee(purchase, fee):
            note("fee", gateway=purchase.gateway, purchase=purchase, amount=fee,
                 currency="IDR", result="recorded", message="MDR")
            db.session.flush()
            return True
        return False
    total = sum(o.total for o in orders) or 1
    shares = {o.id: fee * o.total // total for o in orders}
    largest = max(orders, key=lambda o: (o.total, -o.id))
    shares[largest.id] += fee - sum(shares.values())
    note("fee", gateway=purchase.gateway, purchase=purchase, amount=fee, currency="IDR",
         result="recorded", message="MDR")
    for order in orders:
        if shares[order.id]:
            db.session.execute(update(Order).where(Order.id == order.id)
                               .values(gateway_fee=shares[order.id])
                               .execution_options(synchronize_session=False))
            ledger.post_gateway_fee(order, shares[order.id])
    db.session.flush()
    return True


def unfeed(limit: int = 200) -> list[Purchase]:
    """Paid QRIS purchases whose gateway fee is not recorded yet (the reconciler asks)."""
    has_fee = select(PaymentRecord.id).where(PaymentRecord.purchase_id == Purchase.id,
                                             PaymentRecord.kind == "fee").exists()
    return list(db.session.scalars(select(Purchase).where(
        Purchase.status == "paid", Purchase.payment_qr.is_not(None), ~has_fee)
        .order_by(Purchase.id).limit(limit)))


def close(purchase: Purchase, status: str) -> bool:
    """The payment will not happen: the orders are cancelled, the holds go back.
    False when the purchase was no longer pending (nothing changed)."""
    changed = db.session.execute(
        update(Purchase).where(Purchase.id == purchase.id, Purchase.status == "pending")
        .values(status=status, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if changed:
        db.session.execute(update(Order).where(Order.purchase_id == purchase.id)
                           .values(status="cancelled", cancel_reason=status)
                           .execution_options(synchronize_session=False))
        inventory.release(purchase.id, f"{purchase.code} tidak dibayar")
    db.session.flush()
    db.session.expire(purchase)
    return bool(changed)


def cash_paid(purchase: Purchase, payment: contract.Payment) -> None:
    """Cash counted at the stand: paid the moment it is recorded."""
    db.session.execute(update(Purchase).where(Purchase.id == purchase.id)
                       .values(payment_id=payment.id)
                       .execution_options(synchronize_session=False))
    db.session.refresh(purchase)
    note_payment("cash", purchase, payment)
    _paid(purchase, payment)


def _empty_basket(basket_id: int | None, orders: list[Order]) -> None:
    """Paid lines leave the cart; anything added since stays."""
    if basket_id is None:
        return
    bought = {(l.product_id, l.variant_id): l.quantity for o in orders for l in o.lines}
    for line in db.session.scalars(select(BasketLine).where(BasketLine.basket_id == basket_id)
                                   .options(lazyload("*"))):
        quantity = bought.get((line.product_id, line.variant_id))
        if quantity is None:
            continue
        if line.quantity <= quantity:
            db.session.delete(line)
        else:
            line.quantity -= quantity


def confirm_received(order: Order, user) -> bool:
    """The keeper or the office saw a static-QRIS sale's money in the shop's bank: the
    sale stops being labelled unconfirmed. False when there was nothing to confirm."""
    changed = db.session.execute(
        update(Order).where(Order.id == order.id, Order.channel == "fair_sqris",
                            Order.confirmed_at.is_(None), Order.paid_at.is_not(None))
        .values(confirmed_at=utcnow(), confirmed_by_id=user.id if user else None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(order)
    if changed:
        audit(user, "order.static_qris_confirmed", order, after={"total": order.total})
    return bool(changed)


def unconfirmed_static(limit: int = 200, stand_id: int | None = None) -> list[Order]:
    query = select(Order).where(Order.channel == "fair_sqris", Order.confirmed_at.is_(None),
                                Order.paid_at.is_not(None), Order.refunded_at.is_(None))
    if stand_id is not None:
        query = query.where(Order.stand_id == stand_id)
    return list(db.session.scalars(query.order_by(Order.id.desc()).limit(limit)))


# --- webhooks ---------------------------------------------------------------------------

def seen_before(gateway_name: str, event: contract.WebhookEvent) -> bool:
    """Record the event once; True when it was already applied (a replay). One INSERT ...
    ON CONFLICT DO NOTHING: a replay racing the first delivery waits for it, then sees it.
    RETURNING says whether a row was made: PostgreSQL's driver reports rowcount -1 here,
    which read as "inserted" and let every replay through (found by an interleaving test)."""
    inserted = db.session.execute(
        insert_new(PaymentEvent).values(gateway=gateway_name, event_id=event.id[:255],
                                    type=event.type[:60], received_at=utcnow(),
                                    payment_id=event.payment.id if event.payment else None)
        .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
        .returning(PaymentEvent.id)).scalar()
    return inserted is None


def apply_event(gateway_name: str, event: contract.WebhookEvent) -> tuple[int, dict]:
    """A verified webhook event: (HTTP status, answer) for the gateway."""
    refund = event.data.get("refund") if event.data else None
    if isinstance(refund, contract.Refund):
        order = db.session.scalar(select(Order).where(Order.refund_reference == refund.id))
        if order is None:
            stray = db.session.scalar(select(StrayPayment).where(
                StrayPayment.gateway == gateway_name, StrayPayment.refund_reference == refund.id))
            if stray is None:
                return 200, {"ignored": event.type}
            if seen_before(gateway_name, event):
                return 200, {"duplicate": event.id}
            stray_refund_result(stray, refund)
            return 200, {"applied": event.id, "stray": stray.state}
        if seen_before(gateway_name, event):
            return 200, {"duplicate": event.id}
        refund_result(order, refund, gateway=gateway_name, kind="webhook")
        return 200, {"applied": event.id, "refund": order.refund_status}
    if event.payment is None or not event.payment.reference:
        return 200, {"ignored": event.type}
    purchase = db.session.scalar(select(Purchase).where(Purchase.code == event.payment.reference))
    if purchase is None:
        # Not committed yet, or not ours: the gateway retries later.
        return 409, {"error": "unknown purchase"}
    if purchase.payment_id is None and event.payment.status == contract.PAID:
        # The payment page's id is not stored yet (checkout has not committed it):
        # answering 409 makes the gateway try again, when the id is known.
        return 409, {"error": "payment not recorded yet"}
    if seen_before(gateway_name, event):
        return 200, {"duplicate": event.id}
    state = apply(purchase, event.payment, source="webhook", message=f"{event.type} {event.id}")
    return 200, {"applied": event.id, "purchase": state}


# --- refunds ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RefundClaim:
    """A refund this request took on: what to ask the gateway for, outside any transaction."""

    order_id: int
    order_code: str
    gateway: str
    payment: contract.Payment | None  # None: cash, given back by hand at the stand
    amount: int


def claim_refund(order: Order, reason: str, user) -> RefundClaim | None:
    """Take on the refund of a paid order, once: the order is cancelled, its stock returns,
    and the refund is pending until the gateway says it succeeded. None: nothing to do."""
    if order.paid_at is None or order.refunded_at is not None:
        return None
    now = utcnow()
    before = order.status
    claimed = db.session.execute(
        update(Order).where(Order.id == order.id, Order.paid_at.is_not(None),
                            Order.refunded_at.is_(None),
                            (Order.refund_status.is_(None)) | (Order.refund_status == "failed"))
        .values(refund_status="pending", status="cancelled", cancel_reason=reason[:300],
                refunded_by_id=user.id if user else Order.refunded_by_id, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:
        return None  # another request is refunding it
    db.session.refresh(order)
    purchase = order.purchase
    if before != "cancelled":
        # The goods come back the moment the sale is taken back (not again on a retry).
        inventory.give_back(purchase.id if purchase else 0,
                            [inventory.Line(l.product_id, l.variant_id, l.quantity, l.name)
                             for l in order.lines if l.product_id is not None],
                            f"{order.code} dibatalkan", user_id=user.id if user else None)
    audit(user, "order.refund", order, before={"status": before},
          after={"status": "cancelled", "refund": "pending", "amount": order.total}, note=reason)
    gateway_name = purchase.gateway if purchase is not None else "cash"
    payment = None
    if purchase is not None and purchase.payment_id and gateway_name != "cash":
        payment = contract.Payment(id=purchase.payment_id, status=contract.PAID,
                                   amount=purchase.total, reference=purchase.code)
    return RefundClaim(order.id, order.code, gateway_name, payment, order.total)


def refund_result(order: Order, refund: contract.Refund | None, *, gateway: str,
                  kind: str = "refund", error: contract.PaymentError | None = None) -> None:
    """What the gateway answered about a refund (or the error it gave). Where the payer's
    app cannot take a refund (GoPay-paid QRIS), the refund is due in cash ("cash_due")
    until someone records handing it back (``refunded_in_cash``)."""
    if error is not None:
        note_error(kind, order.purchase, error, gateway=gateway, order=order)
        status = "cash_due" if isinstance(error, contract.RefundNotSupported) else "failed"
        reference = order.refund_reference
    else:
        note(kind, gateway=gateway, purchase=order.purchase, order=order, reference=refund.id,
             amount=refund.amount, currency="IDR", result=refund.status)
        status, reference = refund.status, refund.id
    if order.refunded_at is not None:
        return  # already refunded: a late or repeated answer changes nothing
    now = utcnow()
    values = {"refund_status": status, "refund_reference": reference}
    if status == "succeeded":
        values["refunded_at"] = now
    changed = db.session.execute(
        update(Order).where(Order.id == order.id, Order.refunded_at.is_(None),
                            Order.refund_status.in_(("pending", "failed", "cash_due")))
        .values(**values).execution_options(synchronize_session=False)).rowcount
    db.session.refresh(order)
    if changed and status == "succeeded":
        ledger.post_refund(order, now)
        note("refund_result", gateway=gateway, purchase=order.purchase, order=order,
             reference=reference, amount=order.total, currency="IDR", result="refunded")
    elif changed and status == "failed":
        audit(None, "order.refund_failed", order, after={"refund": reference},
              note=str(error or "")[:200])
    elif changed and status == "cash_due":
        audit(None, "order.cash_refund_needed", order, after={"amount": order.total},
              note=str(error or "")[:200])


def refunded_in_cash(order: Order, name: str, user) -> bool:
    """Someone handed a refund back in cash that the gateway could not make: the refund
    is done (ledger and all), with their name on record. False when none was due."""
    if order.refund_status != "cash_due" or order.refunded_at is not None:
        return False
    gateway = order.purchase.gateway if order.purchase is not None else "cash"
    refund_result(order, contract.Refund(id=f"tunai oleh {name}"[:255], amount=order.total,
                                         status="succeeded"), gateway=gateway)
    audit(user, "order.refunded_cash", order, after={"amount": order.total, "by": name})
    return order.refunded_at is not None


def refund_attempts(order: Order) -> int:
    """How many refunds of this order the gateway has answered as failed: the refund's
    idempotency key. An error (timeout, dropped connection, 5xx) leaves the outcome unknown
    and so does not count: the retry reuses the key and the gateway answers with the
    refund it may already have made, not a second one."""
    return db.session.scalar(select(func.count(PaymentRecord.id)).where(
        PaymentRecord.order_id == order.id, PaymentRecord.kind.in_(("refund", "webhook",
                                                                     "refund_check")),
        PaymentRecord.result == "failed")) or 0


def lost_refunds(limit: int = 200) -> list[Order]:
    """Orders whose last refund call ended in an error (timeout, dropped connection, 5xx):
    the gateway may have made the refund; the reconciler asks again under the same key."""
    last = (select(PaymentRecord.result).where(
        PaymentRecord.order_id == Order.id,
        PaymentRecord.kind.in_(("refund", "webhook", "refund_check")))
        .order_by(PaymentRecord.id.desc()).limit(1).correlate(Order).scalar_subquery())
    return list(db.session.scalars(
        select(Order).where(Order.refund_status == "failed", Order.refunded_at.is_(None),
                            last == "error").limit(limit)
        .execution_options(populate_existing=True)))


def pending_refunds() -> list[Order]:
    # populate_existing: an Order already in this session is read again, not trusted.
    return list(db.session.scalars(select(Order).where(Order.refund_status == "pending",
                                                        Order.refund_reference.is_not(None))
                                   .execution_options(populate_existing=True)))


# --- stray payments: money that counts for nothing goes back --------------------------------

def strays(*, stand_id: int | None = None, open_only: bool = False,
           limit: int = 200) -> list[StrayPayment]:
    query = select(StrayPayment).order_by(StrayPayment.id.desc()).limit(limit)
    if stand_id is not None:
        query = query.where(StrayPayment.stand_id == stand_id)
    if open_only:
        query = query.where(StrayPayment.state.in_(("needs_refund", "refund_pending",
                                                    "cash_needed")))
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def claim_stray_refund(stray: StrayPayment) -> contract.Payment | None:
    """Take on giving a stray payment back through its gateway: what to ask the gateway to
    refund, or None when it is not this request's to refund. A refund whose answer was
    lost (refund_pending with no refund id) is asked again under the same key
    (``refund_attempts`` counts only refunds the gateway refused), so the gateway answers
    with the refund it made, if it made one."""
    claimed = db.session.execute(
        update(StrayPayment).where(
            StrayPayment.id == stray.id,
            (StrayPayment.state == "needs_refund")
            | ((StrayPayment.state == "refund_pending") & StrayPayment.refund_reference.is_(None)))
        .values(state="refund_pending", updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(stray)
    if not claimed:
        return None
    charge = stray.reference if stray.reference != stray.payment_id else None
    return contract.Payment(id=stray.payment_id, status=contract.PAID, amount=stray.amount,
                            reference="", currency=stray.currency, charge_id=charge)


def stray_refund_result(stray: StrayPayment, refund: contract.Refund | None,
                        error: contract.PaymentError | None = None) -> None:
    """What the gateway said about giving a stray payment back. After an error the outcome
    is unknown (the refund may have been made): the stray stays refund_pending, offered to
    nobody for a cash refund, until the gateway answers the same-key retry."""
    if isinstance(error, contract.RefundNotSupported):
        state, reference, result = "cash_needed", stray.refund_reference, "not_supported"
    elif error is not None:
        state, reference, result = "refund_pending", stray.refund_reference, "error"
    else:
        state = {"succeeded": "refunded", "failed": "needs_refund"}.get(refund.status,
                                                                         "refund_pending")
        reference, result = refund.id, refund.status
    note("stray_refund", gateway=stray.gateway, purchase=stray.purchase,
         reference=reference or stray.reference, amount=stray.amount, currency=stray.currency,
         result=result, message=str(error or "")[:300])
    refused = result == "failed"  # a definite no: the next refund is a new one, new key
    db.session.execute(update(StrayPayment).where(
        StrayPayment.id == stray.id,
        StrayPayment.state.in_(("refund_pending",) if refused else ("refund_pending",
                                                                    "needs_refund")))
        .values(state=state, refund_reference=reference, updated_at=utcnow(),
                refund_attempts=StrayPayment.refund_attempts + (1 if refused else 0))
        .execution_options(synchronize_session=False))
    db.session.refresh(stray)
    if state == "cash_needed":
        audit(None, "payment.cash_refund_needed", stray.purchase,
              after={"payment": stray.reference, "amount": stray.amount, "app": stray.source},
              note=(stray.reason or "")[:200])


def stray_refunded_in_cash(stray: StrayPayment, name: str, user) -> bool:
    """A named person gave the money back by hand; False when it was already given back."""
    changed = db.session.execute(update(StrayPayment).where(
        StrayPayment.id == stray.id,
        StrayPayment.state.in_(("needs_refund", "cash_needed")))
        .values(state="refunded_cash", refunded_by_name=name[:120],
                refunded_by_id=user.id if user else None, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(stray)
    if changed:
        note("stray_refund", gateway=stray.gateway, purchase=stray.purchase,
             reference=stray.reference, amount=stray.amount, currency=stray.currency,
             result="refunded_cash", message=f"tunai oleh {name}"[:300])
        audit(user, "payment.refunded_cash", stray.purchase,
              after={"payment": stray.reference, "amount": stray.amount, "by": name})
    return bool(changed)


def mismatches(limit: int = 200) -> list[PaymentRecord]:
    return list(db.session.scalars(select(PaymentRecord).where(PaymentRecord.kind == "mismatch")
                                   .order_by(PaymentRecord.id.desc()).limit(limit)))


def story(purchase: Purchase) -> list[PaymentRecord]:
    return list(db.session.scalars(select(PaymentRecord)
                                   .where(PaymentRecord.purchase_id == purchase.id)
                                   .order_by(PaymentRecord.id)))
