"""API tests: the functional catalogue, and keys issued the way the city office issues them."""

from __future__ import annotations

import pytest

from storefront.api import keys
from storefront.extensions import db
from tests.functional.conftest import catalogue, sandbox_app, sandbox_server  # noqa: F401

ALL_SCOPES = ("orders:read", "checkout:write", "reports:read")


@pytest.fixture
def issue_key(app):
    def issue(scopes=ALL_SCOPES, rate_limit=600, name="Tangerang LIVE"):
        key, token = keys.issue(name, "Diskominfo Kota Tangerang", scopes, rate_limit)
        db.session.commit()
        return key, token
    return issue


@pytest.fixture
def api_key(issue_key) -> str:
    return issue_key()[1]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- QRIS through the Xendit-compatible sandbox, for checkout through the API -------------

XENDIT_KEY = "xnd_development_api_tests"


@pytest.fixture(scope="module")
def xendit_server():
    from storefront.payments.xendit_sandbox import create_xendit_sandbox_app
    from tests.helpers import Served

    app = create_xendit_sandbox_app(secret_key=XENDIT_KEY, callback_url=None,
                                    callback_token="api-tests")
    served = Served(app)
    yield served
    served.close()


@pytest.fixture
def qris_app(app, xendit_server):
    app.config.update(QRIS_GATEWAY="xendit", XENDIT_API_URL=xendit_server.url,
                      XENDIT_SECRET_KEY=XENDIT_KEY, XENDIT_CALLBACK_TOKEN="api-tests",
                      PAYMENT_GATEWAY_TIMEOUT=5, PAYMENT_GATEWAY="none")
    app.extensions["gerai.gateways"] = {}
    return app


def pay_in_the_sandbox(xendit_server, code: str):
    """The shopper's wallet pays the QRIS; the reconciler then asks the gateway (no callback)."""
    import requests

    from storefront.checkout.models import Purchase
    from storefront.payments import runner

    purchase = db.session.scalar(db.select(Purchase).where(Purchase.code == code))
    answer = requests.post(f"{xendit_server.url}/_sandbox/qr_codes/{purchase.payment_id}/pay",
                           json={}, auth=(XENDIT_KEY, ""), timeout=5)
    assert answer.status_code == 200, answer.text
    runner.ask(purchase)
    return purchase


def api_checkout(client, token: str, lines, key: str = "idem-0000001", method: str = "qris",
                 **extra):
    cart = client.post("/api/v1/carts", json={"lines": lines}, headers=bearer(token))
    assert cart.status_code == 201, cart.json
    body = {"contact": {"name": "Siti Aminah", "whatsapp": "0812-3456-7890"},
            "payment_method": method, "idempotency_key": key, **extra}
    return cart.json, client.post(f"/api/v1/carts/{cart.json['id']}/checkout", json=body,
                                  headers=bearer(token))
