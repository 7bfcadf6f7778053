from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class SearchOutbox(db.Model):
    """A product whose search document must be rewritten (or removed).

    Written in the same transaction as the change itself, so the index can lag
    but never miss a change; the worker deletes a row only after the backend
    has taken it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(index=True)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Back-off: a failed batch is retried no earlier than this.
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
