"""A webhook body nested deeper than Python's parser goes is refused like any other body
that is not the gateway's event: 400, not a 500 (found by the outside review of issue 20).

Both checks come first (Xendit's token, Stripe's signature), so only someone holding the
secret can send one; a leaked secret still must not make Gerai answer with a crash that
the gateway then retries six times."""

from __future__ import annotations

import time

import pytest
import stripe

from storefront.payments import gateway as contract
from storefront.payments.stripe_gateway import StripeGateway
from storefront.payments.xendit_gateway import XenditGateway

TOKEN = "nested-callback-token"
SECRET = "whsec_nested_bodies"
DEEP = 100_000


@pytest.mark.parametrize("body", [
    "[" * DEEP + "]" * DEEP,
    '{"event": "qr.payment", "data": {"id": "qrpy_1", "x": ' + "[" * DEEP + "]" * DEEP + "}}",
], ids=["whole body", "inside data"])
def test_a_deeply_nested_xendit_callback_is_refused(body):
    xendit = XenditGateway("xnd_development_nested", TOKEN, "http://127.0.0.1:9")
    with pytest.raises(contract.InvalidWebhook):
        xendit.parse_webhook(body.encode(), {"x-callback-token": TOKEN})


def test_a_deeply_nested_stripe_event_is_refused():
    gateway = StripeGateway(api_key="sk_test_nested", api_base="http://127.0.0.1:9",
                            webhook_secret=SECRET)
    body = '{"id": "evt_1", "type": "x", "data": {"object": ' + "[" * DEEP + "]" * DEEP + "}}"
    header = stripe.WebhookSignature.generate_signature_header(body, SECRET, int(time.time()))
    with pytest.raises(contract.InvalidWebhook):
        gateway.parse_webhook(body.encode(), {"Stripe-Signature": header})
