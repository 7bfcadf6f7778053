"""The sandbox's memory: Checkout Sessions, PaymentIntents, Charges, Refunds, Events.

Everything lives in dictionaries of one process, guarded by one re-entrant lock
that the app holds for the whole of each request: a test gateway favours being
obviously right over being fast. Objects are plain dicts shaped like Stripe's
(``object``, ``id``, ``created``, ``livemode: false``...), so the official SDK
turns them into its own classes. Every change of state appends an event and
hands it to ``on_event`` (the webhook sender), while the lock is held.
"""

from __future__ import annotations

import copy
import heapq
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import wire
from .wire import ApiError

API_VERSION = "2026-10-28.endive"  # what events claim when no request named a version
MIN_EXPIRY = 30 * 60  # Stripe: a Checkout Session lives 30 minutes to 24 hours
MAX_EXPIRY = 24 * 60 * 60
CLOCK_SLACK = 10  # seconds of leeway on those bounds: clocks and requests take time
MAX_AMOUNT = 999_999_999_999  # Stripe's ceiling for IDR: twelve digits of minor units
NOT_OPEN = "This Checkout Session is no longer open (status: {status})."
CANCELLABLE = ("requires_payment_method", "requires_capture", "requires_confirmation",
               "requires_action", "processing")


@dataclass
class _SessionExtras:
    """What the sandbox knows about a session but Stripe does not return by default."""

    page_token: str  # proves a hosted-page form came from the hosted page
    hosted_url: str
    line_items: list[dict]
    payment_intent_data: dict = field(default_factory=dict)


class Ledger:
    def __init__(self, *, clock: Callable[[], float] = time.time,
                 on_event: Callable[[dict], None] | None = None):
        self.lock = threading.RLock()
        self.clock = clock
        self.on_event = on_event or (lambda event: None)
        self.sessions: dict[str, dict] = {}
        self.extras: dict[str, _SessionExtras] = {}
        self.payment_intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        # Like Stripe for methods that settle later: refunds may stay "pending" until a
        # test control finishes them (succeeded or failed, with refund.updated / refund.failed).
        self.refunds_wait = False
        self.events: list[dict] = []
        self.events_by_id: dict[str, dict] = {}
        self.request_info: dict = {"id": None, "idempotency_key": None}
        self.api_version = API_VERSION
        self._expiries: list[tuple[int, str]] = []

    def now(self) -> int:
        return int(self.clock())

    # -- events ------------------------------------------------------------------------------

    def emit(self, type: str, obj: dict) -> dict:
        event = {
            "id": wire.new_id("evt_"),
            "object": "event",
            "api_version": self.api_version,
            "created": self.now(),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": dict(self.request_info),
            "type": type,
        }
        self.events.append(event)
        self.events_by_id[event["id"]] = event
        self.on_event(event)
        return event

    def event(self, event_id: str) -> dict:
        if event_id not in self.events_by_id:
            raise wire.no_such("event", event_id)
        return self.events_by_id[event_id]

    def list_events(self, params: dict) -> dict:
        wire.reject_unknown(params, {"limit", "starting_after", "ending_before", "type",
                                     "types", "created", "expand"})
        limit = wire.integer(params, "limit", minimum=1, maximum=100) or 10
        events = list(reversed(self.events))  # newest first, as Stripe lists
        types = wire.string_list(params, "types") or wire.string_list(params, "type")
        if types:
            events = [e for e in events if any(_type_matches(t, e["type"]) for t in types)]
        created = params.get("created")
        if isinstance(created, dict):
            bounds = {op: wire.integer(created, op, label=f"created[{op}]")
                      for op in ("gt", "gte", "lt", "lte")}
            events = [e for e in events if _within(e["created"], bounds)]
        elif created not in (None, ""):
            moment = wire.integer(params, "created")
            events = [e for e in events if e["created"] == moment]
        ids = [e["id"] for e in events]
        if after := params.get("starting_after"):
            if after not in self.events_by_id:
                raise wire.no_such("event", after, "starting_after")
            events = events[ids.index(after) + 1:] if after in ids else []
        elif before := params.get("ending_before"):
            if before not in self.events_by_id:
                raise wire.no_such("event", before, "ending_before")
            events = events[:ids.index(before)][-limit:] if before in ids else []
        return {"object": "list", "data": events[:limit], "has_more": len(events) > limit,
                "url": "/v1/events"}

    # -- checkout sessions ---------------------------------------------------------------------

    def create_session(self, params: dict, *, hosted_base: str) -> dict:
        wire.reject_unknown(params, {
            "mode", "line_items", "success_url", "cancel_url", "client_reference_id",
            "metadata", "expires_at", "payment_intent_data", "customer_email", "locale",
            "payment_method_types", "submit_type", "expand"})
        mode = wire.text(params, "mode", required=True)
        if mode != "payment":
            raise wire.invalid("mode", "The sandbox supports mode=payment only.")
        items = params.get("line_items")
        if not items:
            raise wire.missing("line_items")
        if not isinstance(items, list):
            raise wire.invalid("line_items", "Invalid array: line_items")
        line_items = [self._line_item(item, f"line_items[{i}]") for i, item in enumerate(items)]
        currencies = {item["currency"] for item in line_items}
        if len(currencies) > 1:
            raise wire.invalid("line_items", "All line items must use the same currency.")
        total = sum(item["amount_total"] for item in line_items)
        if total > MAX_AMOUNT:
            raise ApiError(400, f"Amount must be no more than {MAX_AMOUNT}",
                           code="amount_too_large", param="line_items")
        now = self.now()
        expires_at = wire.integer(params, "expires_at")
        if expires_at is None:
            expires_at = now + MAX_EXPIRY
        elif not now + MIN_EXPIRY - CLOCK_SLACK <= expires_at <= now + MAX_EXPIRY + CLOCK_SLACK:
            raise wire.invalid("expires_at", "The expires_at timestamp must be between 30 "
                                             "minutes and 24 hours from Checkout Session creation.")
        intent_data = params.get("payment_intent_data") or {}
        if not isinstance(intent_data, dict):
            raise wire.invalid("payment_intent_data", "Invalid object: payment_intent_data")
        wire.reject_unknown(intent_data, {"metadata", "description"}, "payment_intent_data")
        session_id = wire.new_id("cs_test_", 58)
        hosted_url = f"{hosted_base.rstrip('/')}/pay/{session_id}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": wire.url(params, "cancel_url"),
            "client_reference_id": wire.text(params, "client_reference_id", max_length=200),
            "created": now,
            "currency": currencies.pop(),
            "customer_email": wire.text(params, "customer_email", max_length=800),
            "expires_at": expires_at,
            "livemode": False,
            "locale": wire.text(params, "locale", max_length=10),
            "metadata": wire.metadata(params),
            "mode": "payment",
            "payment_intent": None,  # made when the shopper pays, as Stripe does
            "payment_method_types": wire.string_list(params, "payment_method_types") or ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": wire.url(params, "success_url", required=True),
            "url": hosted_url,
        }
        self.sessions[session_id] = session
        self.extras[session_id] = _SessionExtras(
            page_token=wire.new_id("", 32), hosted_url=hosted_url, line_items=line_items,
            payment_intent_data={
                "metadata": wire.metadata(intent_data, label="payment_intent_data[metadata]"),
                "description": wire.text(intent_data, "description",
                                         label="payment_intent_data[description]"),
            })
        heapq.heappush(self._expiries, (expires_at, session_id))
        return session

    def _line_item(self, item, name: str) -> dict:
        if not isinstance(item, dict):
            raise wire.invalid(name, f"Invalid object: {name}")
        wire.reject_unknown(item, {"price_data", "quantity", "price"}, name)
        if "price" in item:
            raise wire.invalid(f"{name}[price]", "The sandbox knows no Prices: use price_data.")
        price = item.get("price_data")
        if not isinstance(price, dict):
            raise wire.missing(f"{name}[price_data]")
        wire.reject_unknown(price, {"currency", "unit_amount", "product_data"},
                            f"{name}[price_data]")
        currency = wire.text(price, "currency", required=True, max_length=3,
                             label=f"{name}[price_data][currency]").lower()
        unit_amount = wire.integer(price, "unit_amount", required=True, minimum=1,
                                   maximum=MAX_AMOUNT, label=f"{name}[price_data][unit_amount]")
        product = price.get("product_data")
        if not isinstance(product, dict):
            raise wire.missing(f"{name}[price_data][product_data]")
        wire.reject_unknown(product, {"name", "description"}, f"{name}[price_data][product_data]")
        title = wire.text(product, "name", required=True, max_length=250,
                          label=f"{name}[price_data][product_data][name]")
        quantity = wire.integer(item, "quantity", required=True, minimum=1, maximum=999_999,
                                label=f"{name}[quantity]")
        return {
            "id": wire.new_id("li_"),
            "object": "item",
            "amount_subtotal": unit_amount * quantity,
            "amount_total": unit_amount * quantity,
            "currency": currency,
            "description": title,
            "price": {"object": "price", "currency": currency, "unit_amount": unit_amount,
                      "product_data": {"name": title,
                                       "description": product.get("description")}},
            "quantity": quantity,
        }

    def session(self, session_id: str) -> dict:
        if session_id not in self.sessions:
            raise wire.no_such("checkout.session", session_id, "session")
        return self.sessions[session_id]

    def expire_session(self, session_id: str) -> dict:
        session = self.session(session_id)
        if session["status"] != "open":
            raise ApiError(400, "Only Checkout Sessions with a status in [open] can be expired. "
                                f"This one is {session['status']}.",
                           code="checkout_session_not_open")
        return self._expire(session)

    def _expire(self, session: dict) -> dict:
        session.update(status="expired", url=None)
        self.emit("checkout.session.expired", session)
        return session

    def lapse_session(self, session_id: str) -> dict:
        """Time passes: the session's deadline is now behind us (it expires on next access)."""
        session = self._open(session_id)
        session["expires_at"] = self.now() - 1
        heapq.heappush(self._expiries, (session["expires_at"], session_id))
        return session

    def sweep(self) -> None:
        """Expire open sessions whose time is up: lazily, whenever anyone looks."""
        now = self.now()
        while self._expiries and self._expiries[0][0] <= now:
            _, session_id = heapq.heappop(self._expiries)
            session = self.sessions.get(session_id)
            if session and session["status"] == "open" and session["expires_at"] <= now:
                self._expire(session)

    def _open(self, session_id: str) -> dict:
        session = self.session(session_id)
        if session["status"] != "open":
            raise ApiError(400, NOT_OPEN.format(status=session["status"]),
                           code="checkout_session_not_open")
        return session

    def pay_session(self, session_id: str) -> dict:
        session = self._open(session_id)
        intent, charge = self._intent_for(session, succeeded=True)
        session.update(status="complete", payment_status="paid", payment_intent=intent["id"],
                       url=None)
        self.emit("checkout.session.completed", session)
        return session

    def decline_session(self, session_id: str) -> dict:
        """The card is declined: the session ends unpaid and its PaymentIntent keeps the error."""
        session = self._open(session_id)
        intent, charge = self._intent_for(session, succeeded=False)
        session.update(status="complete", payment_status="unpaid", payment_intent=intent["id"],
                       url=None)
        self.emit("checkout.session.async_payment_failed", session)
        return session

    def _intent_for(self, session: dict, *, succeeded: bool) -> tuple[dict, dict]:
        extras = self.extras[session["id"]]
        intent = self._new_intent(session["amount_total"], session["currency"],
                                  extras.payment_intent_data["metadata"],
                                  extras.payment_intent_data["description"])
        charge = {
            "id": wire.new_id("ch_"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"] if succeeded else 0,
            "amount_refunded": 0,
            "captured": succeeded,
            "created": self.now(),
            "currency": intent["currency"],
            "failure_code": None if succeeded else "card_declined",
            "failure_message": None if succeeded else "Your card was declined.",
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "paid": succeeded,
            "payment_intent": intent["id"],
            "refunded": False,
            "status": "succeeded" if succeeded else "failed",
        }
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        if succeeded:
            intent.update(status="succeeded", amount_received=intent["amount"])
        else:
            intent["last_payment_error"] = {
                "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                "charge": charge["id"], "message": "Your card was declined."}
        return intent, charge

    # -- payment intents -----------------------------------------------------------------------

    def _new_intent(self, amount: int, currency: str, metadata: dict,
                    description: str | None) -> dict:
        intent = {
            "id": wire.new_id("pi_"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "created": self.now(),
            "currency": currency,
            "description": description,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": dict(metadata),
            "payment_method_types": ["card"],
            "status": "requires_payment_method",
        }
        self.payment_intents[intent["id"]] = intent
        return intent

    def create_payment_intent(self, params: dict) -> dict:
        wire.reject_unknown(params, {"amount", "currency", "metadata", "description",
                                     "payment_method_types", "expand"})
        amount = wire.integer(params, "amount", required=True, minimum=1, maximum=MAX_AMOUNT)
        currency = wire.text(params, "currency", required=True, max_length=3).lower()
        return self._new_intent(amount, currency, wire.metadata(params),
                                wire.text(params, "description"))

    def payment_intent(self, intent_id: str) -> dict:
        if intent_id not in self.payment_intents:
            raise wire.no_such("payment_intent", intent_id, "intent")
        return self.payment_intents[intent_id]

    def cancel_payment_intent(self, intent_id: str, params: dict) -> dict:
        wire.reject_unknown(params, {"cancellation_reason", "expand"})
        reason = wire.text(params, "cancellation_reason", choices=(
            "duplicate", "fraudulent", "requested_by_customer", "abandoned"))
        intent = self.payment_intent(intent_id)
        if intent["status"] not in CANCELLABLE:
            raise ApiError(
                400, f"You cannot cancel this PaymentIntent because it has a status of "
                     f"{intent['status']}. Only a PaymentIntent with one of the following "
                     f"statuses may be canceled: {', '.join(CANCELLABLE)}.",
                code="payment_intent_unexpected_state")
        intent.update(status="canceled", canceled_at=self.now(), cancellation_reason=reason)
        self.emit("payment_intent.canceled", intent)
        return intent

    # -- refunds -------------------------------------------------------------------------------

    def create_refund(self, params: dict) -> dict:
        wire.reject_unknown(params, {"payment_intent", "charge", "amount", "reason", "metadata",
                                     "expand"})
        intent_id = wire.text(params, "payment_intent")
        charge_id = wire.text(params, "charge")
        if intent_id:
            if intent_id not in self.payment_intents:
                raise wire.no_such("payment_intent", intent_id, "payment_intent")
            intent = self.payment_intents[intent_id]
            if intent["status"] != "succeeded":
                raise ApiError(400, "This PaymentIntent does not have a successful charge to "
                                    "refund.", code="charge_not_refundable",
                               param="payment_intent")
            charge_id = intent["latest_charge"]
        elif not charge_id:
            raise ApiError(400, "One of the following params should be provided for this "
                                "request: payment_intent or charge.", code="parameter_missing")
        if charge_id not in self.charges:
            raise wire.no_such("charge", charge_id, "charge")
        charge = self.charges[charge_id]
        if charge["status"] != "succeeded":
            raise ApiError(400, f"Charge {charge_id} has not succeeded.",
                           code="charge_not_refundable", param="charge")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            raise ApiError(400, f"Charge {charge_id} has already been refunded.",
                           code="charge_already_refunded", param="charge")
        amount = wire.integer(params, "amount", minimum=1) or remaining
        if amount > remaining:
            raise ApiError(400, f"Refund amount ({amount}) is greater than unrefunded amount "
                                f"on charge ({remaining})", code="amount_too_large",
                           param="amount")
        refund = {
            "id": wire.new_id("re_"),
            "object": "refund",
            "amount": amount,
            "charge": charge_id,
            "created": self.now(),
            "currency": charge["currency"],
            "metadata": wire.metadata(params),
            "payment_intent": charge["payment_intent"],
            "reason": wire.text(params, "reason", choices=(
                "duplicate", "fraudulent", "requested_by_customer")),
            "status": "pending" if self.refunds_wait else "succeeded",
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self.emit("refund.created", refund)
        self.emit("charge.refunded", charge)
        return refund

    def finish_refund(self, refund_id: str, outcome: str) -> dict:
        """A pending refund ends: "succeed" or "fail" (the money did not go back)."""
        refund = self.refund(refund_id)
        if refund["status"] != "pending":
            raise ApiError(400, f"Refund {refund_id} is {refund['status']}, not pending.",
                           code="refund_not_pending")
        if outcome == "fail":
            refund.update(status="failed", failure_reason="lost_or_stolen_card")
            charge = self.charges[refund["charge"]]
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False
            self.emit("refund.failed", refund)
        else:
            refund["status"] = "succeeded"
        self.emit("refund.updated", refund)
        return refund

    def refund(self, refund_id: str) -> dict:
        if refund_id not in self.refunds:
            raise wire.no_such("refund", refund_id, "refund")
        return self.refunds[refund_id]

    # -- expansion -----------------------------------------------------------------------------

    def expanded(self, obj: dict, paths: list[str]) -> dict:
        """A copy of ``obj`` with the ids named in ``expand[]`` replaced by their objects."""
        result = copy.deepcopy(obj)
        for path in paths:
            self._expand(result, path.split("."), path)
        return result

    def _expand(self, obj: dict, parts: list[str], path: str) -> None:
        name, rest = parts[0], parts[1:]
        if name == "line_items" and obj.get("object") == "checkout.session":
            items = copy.deepcopy(self.extras[obj["id"]].line_items)
            obj["line_items"] = {"object": "list", "data": items, "has_more": False,
                                 "url": f"/v1/checkout/sessions/{obj['id']}/line_items"}
            return
        value = obj.get(name)
        stores = {"pi_": self.payment_intents, "ch_": self.charges, "re_": self.refunds,
                  "cs_": self.sessions}
        if isinstance(value, str):
            store = next((s for prefix, s in stores.items() if value.startswith(prefix)), None)
            if store is None or value not in store:
                raise ApiError(400, f"This property cannot be expanded ({path}).",
                               param="expand")
            obj[name] = value = copy.deepcopy(store[value])
        elif name not in obj or (value is not None and not isinstance(value, dict)):
            raise ApiError(400, f"This property cannot be expanded ({path}).", param="expand")
        if rest and isinstance(value, dict):
            self._expand(value, rest, path)


def _type_matches(pattern: str, event_type: str) -> bool:
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def _within(moment: int, bounds: dict) -> bool:
    return ((bounds["gt"] is None or moment > bounds["gt"])
            and (bounds["gte"] is None or moment >= bounds["gte"])
            and (bounds["lt"] is None or moment < bounds["lt"])
            and (bounds["lte"] is None or moment <= bounds["lte"]))
