"""A small Stripe-compatible test gateway, so tests and the offline demo drive the
official stripe SDK end to end without reaching Stripe.

``create_sandbox_app(webhook_url=..., webhook_secret=..., secret_key=..., public_base=None)``
returns its own Flask app. It speaks the part of the Stripe API Gerai uses (Checkout
Sessions, PaymentIntents, Refunds, Events), serves a hosted payment page with "Bayar",
"Tolak" and "Biarkan tertunda", and POSTs Stripe-signed events to ``webhook_url``. Test
controls live under ``/_sandbox`` (see app.py); they, like the API, want the sandbox's
own ``secret_key`` as a bearer token. One process, in-memory state: a test
gateway, never a production one. This package must not import stripe.
"""

from .app import Sandbox, create_sandbox_app
from .delivery import signature_header

__all__ = ["Sandbox", "create_sandbox_app", "signature_header"]
