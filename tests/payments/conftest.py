"""The official stripe SDK against the sandbox gateway, over real HTTP on loopback.

Session-scoped: the sandbox (its own Flask app) and a small webhook receiver, each
served by werkzeug on a free port in a daemon thread. Tests tell their payments
apart by id, so they share both. Nothing here needs Gerai's database.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from werkzeug.wrappers import Request, Response

from storefront.payments.sandbox import create_sandbox_app
from storefront.payments.stripe_gateway import StripeGateway
from storefront.payments.xendit_sandbox import create_xendit_sandbox_app
from tests.helpers import Served

WEBHOOK_SECRET = "whsec_test_gerai_sandbox"
API_KEY = "sk_test_gerai"


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    """Records every POST to /webhooks/stripe as it came (raw body, headers); answers 200.

    Also stands in for a broken gateway: anything under /broken answers 503.
    """

    def __init__(self):
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.startswith("/broken"):
            body = json.dumps({"error": {"type": "api_error", "message": "down for a test"}})
            return Response(body, 503, mimetype="application/json")(environ, start_response)
        if request.method == "POST" and request.path == "/webhooks/stripe":
            delivery = Delivery(request.get_data(), dict(request.headers))
            with self._changed:
                self.deliveries.append(delivery)
                self._changed.notify_all()
        return Response("ok")(environ, start_response)

    def wait_for(self, event_type: str, object_id: str, *, count: int = 1,
                 timeout: float = 5.0) -> list[Delivery]:
        """The deliveries of ``event_type`` about ``object_id``, once ``count`` have arrived."""

        def matching():
            return [d for d in self.deliveries
                    if d.event["type"] == event_type
                    and d.event["data"]["object"]["id"] == object_id]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                raise AssertionError(f"no {event_type} for {object_id} within {timeout}s; got "
                                     f"{[d.event['type'] for d in self.deliveries]}")
            return matching()

    def about(self, object_id: str) -> list[Delivery]:
        with self._changed:
            return [d for d in self.deliveries if d.event["data"]["object"]["id"] == object_id]


@pytest.fixture(scope="session")
def webhook_receiver():
    receiver = WebhookReceiver()
    served = Served(receiver)
    receiver.url = served.url
    yield receiver
    served.close()


@dataclass
class SandboxServer:
    url: str
    app: object

    @property
    def state(self):
        return self.app.extensions["stripe_sandbox"]

    def control(self, path: str) -> dict:
        status, _, body = http_request("POST", f"{self.url}/_sandbox/{path}",
                                       headers={"Authorization": f"Bearer {API_KEY}"})
        assert status == 200, body
        return json.loads(body)

    def get(self, path: str):
        status, _, body = http_request("GET", f"{self.url}{path}",
                                       headers={"Authorization": f"Bearer {API_KEY}"})
        return status, json.loads(body)

    def last_request(self, path: str) -> dict:
        status, _, body = http_request("GET", f"{self.url}/_sandbox/requests",
                                       headers={"Authorization": f"Bearer {API_KEY}"})
        return [r for r in json.loads(body) if r["path"] == path][-1]


@pytest.fixture(scope="session")
def sandbox(webhook_receiver):
    app = create_sandbox_app(webhook_url=f"{webhook_receiver.url}/webhooks/stripe",
                             webhook_secret=WEBHOOK_SECRET, secret_key=API_KEY)
    served = Served(app)
    yield SandboxServer(served.url, app)
    app.extensions["stripe_sandbox"].drain(10)
    served.close()


@pytest.fixture(autouse=True)
def _webhooks_on(request):
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").control("webhooks/on")


@pytest.fixture
def gateway(sandbox):
    gateway = StripeGateway(api_key=API_KEY, api_base=sandbox.url, webhook_secret=WEBHOOK_SECRET,
                            timeout=5.0)
    yield gateway
    gateway.close()


_counter = iter(range(1, 1_000_000))


@pytest.fixture
def new_payment(gateway):
    """Create a pending payment with a fresh reference and idempotency key."""

    def create(amount: int = 15_000, **fields):
        number = next(_counter)
        values = {
            "amount": amount,
            "reference": f"GR-{time.time_ns()}-{number}",
            "description": "Kopi robusta Cisadane 250 g",
            "success_url": "http://gerai.test/bayar/selesai?sesi={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://gerai.test/bayar/batal",
            "idempotency_key": f"test-create-{time.time_ns()}-{number}",
        }
        values.update(fields)
        return gateway.create_payment(**values)

    return create


# -- plain HTTP, as a browser or Stripe would send it ------------------------------------------

def http_request(method: str, url: str, form: dict | None = None,
                 headers: dict | None = None) -> tuple[int, dict[str, str], str]:
    """One request, no redirects followed: (status, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        body = urlencode(form) if form is not None else None
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8")
    finally:
        connection.close()


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.scripts = 0
        self.inline_handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.inline_handlers += [name for name in attributes if name.startswith("on")]
        if tag == "script":
            self.scripts += 1
        elif tag == "form":
            self.forms.append({"action": attributes.get("action"),
                               "method": attributes.get("method"), "fields": {},
                               "button": None})
        elif tag == "input" and self.forms:
            self.forms[-1]["fields"][attributes.get("name")] = attributes.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1]["button"] = ""
            self._in_button = True

    def handle_data(self, data):
        if getattr(self, "_in_button", False):
            self.forms[-1]["button"] += data.strip()

    def handle_endtag(self, tag):
        if tag == "button":
            self._in_button = False


def parse_page(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def press(page_url: str, button: str) -> tuple[int, dict[str, str], str]:
    """Open the hosted page and submit the form whose button says ``button``."""
    status, _, html = http_request("GET", page_url)
    assert status == 200, html
    forms = [f for f in parse_page(html).forms if f["button"] == button]
    assert forms, f"no {button!r} button on {page_url}"
    form = forms[0]
    assert form["method"] == "post"
    parts = urlsplit(page_url)
    return http_request("POST", f"{parts.scheme}://{parts.netloc}{form['action']}",
                        form=form["fields"])


# -- the Xendit-compatible QRIS sandbox (storefront.payments.xendit_sandbox) ----------------------

XENDIT_KEY = "xnd_development_tests"
XENDIT_TOKEN = "callback-token-for-tests"


class CallbackReceiver:
    """Where the sandbox sends its callbacks: keeps each (headers, body) and answers 200."""

    def __init__(self):
        self.calls: list[tuple[dict, dict]] = []
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        with self.changed:
            self.calls.append((dict(request.headers), json.loads(request.get_data())))
            self.changed.notify_all()
        return Response("ok")(environ, start_response)

    def wait(self, event: str, data_id: str, count: int = 1, timeout: float = 5):
        def found():
            return [c for c in self.calls if c[1]["event"] == event and c[1]["data"]["id"] == data_id]

        with self.changed:
            assert self.changed.wait_for(lambda: len(found()) >= count, timeout), self.calls[-3:]
            return found()


@pytest.fixture(scope="module")
def callback_receiver():
    receiver = CallbackReceiver()
    served = Served(receiver)
    receiver.url = served.url
    yield receiver
    served.close()


@pytest.fixture(scope="module")
def xendit_sandbox(callback_receiver):
    app = create_xendit_sandbox_app(secret_key=XENDIT_KEY, callback_url=callback_receiver.url,
                                    callback_token=XENDIT_TOKEN, retry_delays=(0.05, 0.1))
    served = Served(app)
    served.app = app
    yield served
    app.extensions["xendit_sandbox"].drain(5)
    served.close()


def xendit_control(sandbox, path, body=None, key=XENDIT_KEY):
    return requests.post(f"{sandbox.url}/_sandbox/{path}", json=body or {}, auth=(key, ""),
                         timeout=5)
