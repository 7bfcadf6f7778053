"""The payment sandbox mounted in development answers only its own key (issue 13.3).

Before, anyone who could reach a development Gerai could create checkout sessions with
any ``sk_test_...`` key (naming another purchase's code), read every request the
sandbox had seen at ``/_sandbox/requests``, pay any session through the test controls
without its hosted page, and switch webhooks off for everyone. Here a stranger tries
each of those over HTTP, and the hosted page's pay button is tried without its token.
"""

from __future__ import annotations

import re

import pytest
import requests

from storefront import create_app
from storefront.extensions import db
from storefront.payments.stripe_gateway import SANDBOX_API_KEY
from tests.helpers import Served

PREFIX = "/sandbox-gateway"
SESSION = {
    "mode": "payment",
    "line_items[0][price_data][currency]": "idr",
    "line_items[0][price_data][unit_amount]": "1500000",
    "line_items[0][price_data][product_data][name]": "Keripik",
    "line_items[0][quantity]": "1",
    "success_url": "http://127.0.0.1/pesanan/GR-LAIN",
    "metadata[reference]": "GR-LAIN",
}


@pytest.fixture
def gerai(app_config):
    """Gerai as `make run` serves it: the sandbox mounted at /sandbox-gateway."""
    app = create_app({**app_config, "PAYMENT_GATEWAY": "sandbox", "SANDBOX_MOUNT": True,
                      "SANDBOX_GATEWAY_URL": "http://127.0.0.1:9/sandbox-gateway",
                      "SANDBOX_WEBHOOK_URL": None, "SANDBOX_WEBHOOK_SECRET": "whsec_outside"})
    served = Served(app)
    yield served.url + PREFIX
    served.close()
    with app.app_context():
        db.engine.dispose()


def key(value: str) -> dict:
    return {"Authorization": f"Bearer {value}"}


def _session(base: str) -> dict:
    answer = requests.post(f"{base}/v1/checkout/sessions", data=SESSION,
                           headers=key(SANDBOX_API_KEY), timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _status(base: str, session_id: str) -> tuple[str, str]:
    session = requests.get(f"{base}/v1/checkout/sessions/{session_id}",
                           headers=key(SANDBOX_API_KEY), timeout=5).json()
    return session["status"], session["payment_status"]


@pytest.mark.parametrize("headers", [{}, key("sk_test_anything"), key("sk_test_sandbox2"),
                                     key(SANDBOX_API_KEY[:-1]), key("sk_live_abcdefghijkl"),
                                     {"Authorization": f"Basic {SANDBOX_API_KEY}"}])
def test_the_api_refuses_any_key_but_its_own(gerai, headers):
    create = requests.post(f"{gerai}/v1/checkout/sessions", data=SESSION, headers=headers, timeout=5)
    listing = requests.get(f"{gerai}/v1/events", headers=headers, timeout=5)
    assert (create.status_code, listing.status_code) == (401, 401)
    assert create.json()["error"]["type"] == "invalid_request_error"
    assert requests.get(f"{gerai}/v1/events", headers=key(SANDBOX_API_KEY),
                        timeout=5).status_code == 200


@pytest.mark.parametrize("headers", [{}, key("sk_test_anything")])
def test_the_test_controls_want_the_key(gerai, headers):
    session = _session(gerai)
    event = requests.get(f"{gerai}/v1/events", headers=key(SANDBOX_API_KEY), timeout=5).json()
    controls = [("GET", "/_sandbox/requests"), ("GET", "/_sandbox/deliveries"),
                ("POST", "/_sandbox/webhooks/off"), ("POST", "/_sandbox/webhooks/on"),
                *[("POST", f"/_sandbox/sessions/{session['id']}/{action}")
                  for action in ("pay", "decline", "expire", "lapse")],
                ("POST", f"/_sandbox/events/{(event['data'] or [{'id': 'evt_x'}])[0]['id']}/resend")]
    for method, path in controls:
        answer = requests.request(method, gerai + path, headers=headers, timeout=5)
        assert answer.status_code == 401, (method, path, answer.status_code)
        assert "GR-LAIN" not in answer.text and session["id"] not in answer.text
    assert _status(gerai, session["id"]) == ("open", "unpaid")
    # with the key, they work as before
    listed = requests.get(f"{gerai}/_sandbox/requests", headers=key(SANDBOX_API_KEY), timeout=5)
    assert listed.status_code == 200 and "GR-LAIN" in listed.text
    paid = requests.post(f"{gerai}/_sandbox/sessions/{session['id']}/pay",
                         headers=key(SANDBOX_API_KEY), timeout=5)
    assert paid.status_code == 200
    assert _status(gerai, session["id"]) == ("complete", "paid")


def test_the_pay_button_wants_the_pages_token(gerai):
    session = _session(gerai)
    page = requests.get(session["url"], timeout=5)
    assert page.status_code == 200
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    target = requests.compat.urljoin(session["url"], action)

    for form in ({"choice": "pay"}, {"choice": "pay", "token": ""},
                 {"choice": "pay", "token": "x" * len(token)}, {"choice": "pay", "token": token[:-1]}):
        refused = requests.post(target, data=form, allow_redirects=False, timeout=5)
        assert refused.status_code == 400, form
        assert _status(gerai, session["id"]) == ("open", "unpaid")

    paid = requests.post(target, data={"choice": "pay", "token": token}, allow_redirects=False,
                         timeout=5)
    assert paid.status_code == 303
    assert _status(gerai, session["id"]) == ("complete", "paid")
