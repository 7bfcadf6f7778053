"""API keys of client apps, and the webhooks Gerai sends them.

A key is shown once when the city office issues it; only its SHA-256 is kept, found by
a short public prefix. Webhook events are rows written in the transaction of the change
they report (a payment settled, an order made ready); each subscription gets its own
delivery row, sent by ``webhooks.deliver_due`` with retries and a log of every attempt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

SCOPES = ("orders:read", "checkout:write", "reports:read")
EVENT_TYPES = ("order.paid", "order.ready_for_pickup", "stand.sale")
DELIVERY_STATES = ("pending", "delivered", "failed")


class ApiKey(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))  # the client app: "Tangerang LIVE"
    owner: Mapped[str] = mapped_column(String(200))  # who answers for it (agency, contact)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # public, for lookup
    secret_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the whole key
    scopes: Mapped[str] = mapped_column(String(200), default="")  # space-separated
    rate_limit: Mapped[int] = mapped_column(default=600)  # requests per minute
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiCheckout(db.Model):
    """A purchase a client app started: its key may read the buyer's details back."""

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"), index=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchase.id", ondelete="CASCADE"),
                                             unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookSubscription(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    # HMAC key for the signatures: shown once to the office, kept to sign with.
    secret: Mapped[str] = mapped_column(String(80))
    events: Mapped[str] = mapped_column(String(200))  # space-separated EVENT_TYPES
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    api_key: Mapped[ApiKey] = relationship()

    @property
    def event_set(self) -> frozenset[str]:
        return frozenset(self.events.split())


class WebhookEvent(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # evt_..., sent as header
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)  # the JSON body as sent, byte for byte
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookDelivery(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_event.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(300))

    event: Mapped[WebhookEvent] = relationship()
    subscription: Mapped[WebhookSubscription] = relationship()
    log: Mapped[list[WebhookAttempt]] = relationship(order_by="WebhookAttempt.id",
                                                     cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", name="uq_webhook_delivery"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )


class WebhookAttempt(db.Model):
    """One try at a delivery: when, what the receiver answered, how long it took."""

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id",
                                                        ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(300))
    milliseconds: Mapped[int] = mapped_column(default=0)
