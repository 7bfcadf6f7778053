"""The sandbox gateway as its own Flask app: the Stripe API subset Gerai uses, a hosted
payment page, signed webhooks, and test controls under ``/_sandbox``.

Run it on its own loopback port (tests, benchmarks) or mount it inside Gerai in
development with werkzeug's ``DispatcherMiddleware`` at ``/sandbox-gateway``. It is a
test gateway for one process: its state is in memory and is lost on restart.

It answers only its own secret key, as Stripe answers only an account's keys: the API
and the test controls want ``Authorization: Bearer <secret key>`` (any other key is a
401, so no one can create a session naming another purchase, list the requests, pay
a session, or turn webhooks off), and the hosted page's buttons want the page's own
token. Still, never expose it publicly: it is a test gateway.
"""

from __future__ import annotations

import functools
import hmac
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, redirect, render_template_string, request, url_for
from werkzeug.exceptions import HTTPException

from . import pages, wire
from .delivery import WebhookSender
from .ledger import Ledger
from .wire import ApiError

EXTENSION = "stripe_sandbox"
# The key Gerai's "sandbox" gateway sends (storefront.payments.stripe_gateway.SANDBOX_API_KEY,
# not imported: this package never imports stripe).
DEVELOPMENT_SECRET_KEY = "sk_test_sandbox"


@dataclass
class Sandbox:
    """What a running sandbox holds: ``app.extensions["stripe_sandbox"]``."""

    ledger: Ledger
    sender: WebhookSender
    public_base: str | None
    requests: deque = field(default_factory=lambda: deque(maxlen=500))
    idempotency: dict = field(default_factory=dict)
    # Test control: this many next refunds are made (and their key saved), then the answer
    # is lost (a 500, as a dropped connection or a gateway timeout looks to the caller).
    lose_refund_answers: int = 0

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until webhooks in flight are delivered (or given up); for tests and shutdown."""
        return self.sender.drain(timeout)


@dataclass(frozen=True)
class _Saved:
    fingerprint: tuple
    status: int
    body: bytes
    request_id: str


def create_sandbox_app(*, webhook_url: str | None, webhook_secret: str,
                       secret_key: str = DEVELOPMENT_SECRET_KEY, public_base: str | None = None,
                       clock: Callable[[], float] = time.time) -> Flask:
    """A Stripe-compatible test gateway.

    ``webhook_url``: where events are POSTed (None: only kept, listed at /v1/events).
    ``webhook_secret``: the endpoint secret that signs them (the ``whsec_...`` of Stripe).
    ``secret_key``: the one API key it accepts, for the API and the test controls
    (``sk_test_...``); by default the development key Gerai's sandbox gateway sends.
    ``public_base``: the address browsers use for the hosted pages; by default the
    address the API request came in on (including the mount prefix).
    """
    if not secret_key.startswith("sk_test_"):
        raise ValueError("the sandbox's secret key is a test key: sk_test_...")
    app = Flask(__name__)
    app.json.sort_keys = False  # "id" and "object" first, as Stripe answers
    sender = WebhookSender(webhook_url, webhook_secret)
    ledger = Ledger(clock=clock, on_event=sender.send_in_background)
    sandbox = Sandbox(ledger=ledger, sender=sender,
                      public_base=public_base.rstrip("/") if public_base else None)
    app.extensions[EXTENSION] = sandbox

    def api(view):
        """Authenticated, logged, serialized by the ledger's lock, idempotent when asked."""

        @functools.wraps(view)
        def wrapper(**kwargs):
            g.request_id = wire.new_id("req_", 14)
            api_key = _api_key(secret_key)
            source = request.form if request.method == "POST" else request.args
            params = wire.parse_params(source.items(multi=True))
            key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
            sandbox.requests.append({"method": request.method, "path": request.path,
                                     "params": params, "idempotency_key": key,
                                     "request_id": g.request_id})
            with ledger.lock:
                ledger.sweep()
                if key is None:
                    return _answer(view, params, kwargs)
                if len(key) > 255:
                    raise wire.invalid("Idempotency-Key", "Idempotency keys are at most 255 "
                                                          "characters.", code="idempotency_key_too_long")
                fingerprint = (request.path, tuple(sorted(source.items(multi=True))))
                saved = sandbox.idempotency.get((api_key, key))
                if saved is not None:
                    if saved.fingerprint != fingerprint:
                        raise ApiError(
                            400, "Keys for idempotent requests can only be used with the same "
                                 "parameters they were first used with. Try using a key other "
                                 f"than '{key}' if you meant to execute a different request.",
                            type="idempotency_error")
                    replay = Response(saved.body, saved.status, mimetype="application/json")
                    replay.headers["Idempotent-Replayed"] = "true"
                    replay.headers["Original-Request"] = saved.request_id
                    return replay
                ledger.request_info = {"id": g.request_id, "idempotency_key": key}
                try:
                    response = _answer(view, params, kwargs)
                finally:
                    ledger.request_info = {"id": None, "idempotency_key": None}
                # Like Stripe, only requests that ran are saved; a refused one may be retried.
                sandbox.idempotency[(api_key, key)] = _Saved(
                    fingerprint, response.status_code, response.get_data(), g.request_id)
                if request.path == "/v1/refunds" and sandbox.lose_refund_answers > 0:
                    sandbox.lose_refund_answers -= 1
                    raise ApiError(500, "The refund was made; its answer was lost (test control).",
                                   type="api_error")
                response.headers["Idempotency-Key"] = key
                return response

        return wrapper

    def _answer(view, params: dict, kwargs: dict) -> Response:
        obj, status = view(params, **kwargs)
        expand = wire.string_list(params, "expand")
        if expand and obj.get("object") != "list":
            obj = ledger.expanded(obj, expand)
        response = jsonify(obj)
        response.status_code = status
        return response

    def hosted_base() -> str:
        return sandbox.public_base or request.url_root.rstrip("/")

    # -- the API ---------------------------------------------------------------------------------

    @app.post("/v1/checkout/sessions")
    @api
    def create_session(params):
        return ledger.create_session(params, hosted_base=hosted_base()), 200

    @app.get("/v1/checkout/sessions/<session_id>")
    @api
    def retrieve_session(params, session_id):
        wire.reject_unknown(params, {"expand"})
        return ledger.session(session_id), 200

    @app.post("/v1/checkout/sessions/<session_id>/expire")
    @api
    def expire_session(params, session_id):
        wire.reject_unknown(params, {"expand"})
        return ledger.expire_session(session_id), 200

    @app.post("/v1/payment_intents")
    @api
    def create_payment_intent(params):
        return ledger.create_payment_intent(params), 200

    @app.get("/v1/payment_intents/<intent_id>")
    @api
    def retrieve_payment_intent(params, intent_id):
        wire.reject_unknown(params, {"expand"})
        return ledger.payment_intent(intent_id), 200

    @app.post("/v1/payment_intents/<intent_id>/cancel")
    @api
    def cancel_payment_intent(params, intent_id):
        return ledger.cancel_payment_intent(intent_id, params), 200

    @app.post("/v1/refunds")
    @api
    def create_refund(params):
        return ledger.create_refund(params), 200

    @app.get("/v1/refunds/<refund_id>")
    @api
    def retrieve_refund(params, refund_id):
        wire.reject_unknown(params, {"expand"})
        return ledger.refund(refund_id), 200

    @app.get("/v1/events")
    @api
    def list_events(params):
        return ledger.list_events(params), 200

    @app.get("/v1/events/<event_id>")
    @api
    def retrieve_event(params, event_id):
        wire.reject_unknown(params, {"expand"})
        return ledger.event(event_id), 200

    # -- the hosted payment page ----------------------------------------------------------------

    @app.get("/_assets/pay.css")
    def stylesheet():
        response = Response(pages.CSS, mimetype="text/css")
        response.cache_control.max_age = 3600
        return response

    @app.get("/pay/<session_id>")
    def pay_page(session_id):
        with ledger.lock:
            ledger.sweep()
            session = ledger.sessions.get(session_id)
            if session is None:
                return _page("missing", None, 404)
            message = pages.MESSAGES["pending"] if request.args.get("tertunda") else None
            return _page(_page_state(session), session, 200, message=message)

    @app.post("/pay/<session_id>")
    def pay_page_choice(session_id):
        with ledger.lock:
            ledger.sweep()
            session = ledger.sessions.get(session_id)
            if session is None:
                return _page("missing", None, 404)
            token = request.form.get("token", "")
            if not hmac.compare_digest(token.encode(),
                                       ledger.extras[session_id].page_token.encode()):
                return _page("bad_form", None, 400)
            choice = request.form.get("choice")
            if choice not in ("pay", "decline", "pending"):
                return _page("bad_form", None, 400)
            state = _page_state(session)
            if state != "open":  # paid, declined or expired: nothing more can happen here
                return _page(state, session, 409, message=pages.MESSAGES[state])
            if choice == "pay":
                ledger.pay_session(session_id)
                return redirect(_success_url(session), 303)
            if choice == "decline":
                ledger.decline_session(session_id)
                return redirect(url_for("pay_page", session_id=session_id), 303)
            return redirect(url_for("pay_page", session_id=session_id, tertunda=1), 303)

    def _page(state: str, session: dict | None, status: int, message: str | None = None):
        context = {"state": state, "title": pages.TITLES[state], "session": session,
                   "message": message, "css_url": url_for("stylesheet"), "link": None}
        if state in ("missing", "bad_form"):
            context["message"] = pages.MESSAGES[state]
        if session is not None:
            extras = ledger.extras[session["id"]]
            context.update(
                items=extras.line_items,
                amount=pages.format_amount(session["amount_total"], session["currency"]),
                action=url_for("pay_page_choice", session_id=session["id"]),
                choices=pages.CHOICES,
                token=extras.page_token)
            if state == "paid":
                context.update(link=_success_url(session), link_text="Kembali ke toko")
            elif state in ("declined", "expired") and session["cancel_url"]:
                context.update(link=session["cancel_url"], link_text="Kembali ke toko")
        response = Response(render_template_string(pages.PAGE, **context), status,
                            mimetype="text/html")
        form_targets = "'self'"
        if session is not None:
            parts = urlsplit(session["success_url"])
            form_targets += f" {parts.scheme}://{parts.netloc}"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
            f"form-action {form_targets}; frame-ancestors 'none'")
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- test controls: what a shopper or the passing of time would do ------------------------------

    actions = {"pay": ledger.pay_session, "decline": ledger.decline_session,
               "expire": ledger.expire_session, "lapse": ledger.lapse_session}

    @app.before_request
    def controls_want_the_key():
        # Paying without the page, switching webhooks off for everyone and reading every
        # request (and so every purchase code) are for whoever holds the secret key.
        if request.path.startswith("/_sandbox/"):
            _api_key(secret_key)

    @app.post("/_sandbox/sessions/<session_id>/<action>")
    def control_session(session_id, action):
        if action not in actions:
            raise ApiError(404, f"Unknown test control: {action}", code="resource_missing")
        with ledger.lock:
            ledger.sweep()
            return jsonify(actions[action](session_id))

    @app.post("/_sandbox/refunds/<switch>")
    def control_refunds(switch):
        """New refunds stay pending ("wait") or succeed at once ("instant")."""
        if switch not in ("wait", "instant"):
            raise ApiError(404, "Use /_sandbox/refunds/wait or /_sandbox/refunds/instant",
                           code="resource_missing")
        with ledger.lock:
            ledger.refunds_wait = switch == "wait"
        return jsonify({"refunds": switch})

    @app.post("/_sandbox/refunds/lose-answer")
    def control_lose_refund_answer():
        """The next refund is made, then its answer is lost: the caller cannot tell."""
        with ledger.lock:
            sandbox.lose_refund_answers += 1
        return jsonify({"lose_refund_answers": sandbox.lose_refund_answers})

    @app.post("/_sandbox/refunds/<refund_id>/<outcome>")
    def control_refund(refund_id, outcome):
        if outcome not in ("succeed", "fail"):
            raise ApiError(404, f"Unknown test control: {outcome}", code="resource_missing")
        with ledger.lock:
            return jsonify(ledger.finish_refund(refund_id, outcome))

    @app.post("/_sandbox/events/<event_id>/resend")
    def control_resend(event_id):
        with ledger.lock:
            event = ledger.event(event_id)
        return jsonify(sender.send_now(event))  # outside the lock: the receiver may call us

    @app.post("/_sandbox/webhooks/<switch>")
    def control_webhooks(switch):
        if switch not in ("on", "off"):
            raise ApiError(404, "Use /_sandbox/webhooks/on or /_sandbox/webhooks/off",
                           code="resource_missing")
        sender.enabled = switch == "on"
        return jsonify({"webhooks": switch})

    @app.get("/_sandbox/requests")
    def control_requests():
        return jsonify(list(sandbox.requests))

    @app.get("/_sandbox/deliveries")
    def control_deliveries():
        return jsonify(list(sender.log))

    # -- errors ----------------------------------------------------------------------------------

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        response = jsonify(error.body)
        response.status_code = error.status
        if request_id := g.get("request_id"):
            response.headers["Request-Id"] = request_id
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if not request.path.startswith(("/v1/", "/_sandbox/")):
            return error
        message = (f"Unrecognized request URL ({request.method}: {request.path})."
                   if error.code in (404, 405) else error.description)
        return api_error(ApiError(error.code or 500, message, code=None))

    @app.after_request
    def request_id_header(response: Response):
        if request_id := g.get("request_id"):
            response.headers.setdefault("Request-Id", request_id)
        return response

    return app


def _api_key(secret_key: str) -> str:
    """The request's key, if it is the sandbox's own; a 401 as Stripe answers otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if not header:
        raise ApiError(401, "You did not provide an API key. You need to provide your API key "
                            "in the Authorization header, using Bearer auth.",
                       code="api_key_missing")
    key = key.strip()
    if scheme.lower() != "bearer" or not hmac.compare_digest(key.encode(), secret_key.encode()):
        shown = (key[:8] + "*" * 4 + key[-4:]) if len(key) > 12 else "****"
        hint = ("The sandbox accepts test secret keys only (sk_test_...)."
                if not key.startswith("sk_test_") else "It is not this sandbox's secret key.")
        raise ApiError(401, f"Invalid API Key provided: {shown}. {hint}", code="api_key_invalid")
    return key


def _page_state(session: dict) -> str:
    if session["status"] == "open":
        return "open"
    if session["status"] == "expired":
        return "expired"
    return "paid" if session["payment_status"] == "paid" else "declined"


def _success_url(session: dict) -> str:
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
