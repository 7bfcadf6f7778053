"""One uploaded catalogue file, from preview to the finished import.

The uploaded bytes live in the row itself (``content``, at most 5 MB), bound to
the shop: a confirm can only apply a file that the same shop uploaded, and every
web worker process sees the same file without a shared disk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow

JOB_STATUSES = ("pending", "running", "done", "failed")


class ImportJob(db.Model):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(default=0)
    # Deferred: listing a shop's jobs never drags the files along.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # pending: uploaded and previewed, waiting for the seller's confirmation.
    status: Mapped[str] = mapped_column(String(10), default="pending")
    total: Mapped[int] = mapped_column(default=0)  # data rows in the file
    done: Mapped[int] = mapped_column(default=0)  # rows applied (see imports.progress_of)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)  # rows with errors at the last check
    error: Mapped[str | None] = mapped_column(Text)
    # {"p<product id>"|"v<variant id>": stock} of the rows the file counts, at the preview;
    # and, after the import, the rows whose stock moved meanwhile and was left alone.
    stock_seen: Mapped[str | None] = mapped_column(Text, deferred=True)
    stock_kept: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("status in ('pending', 'running', 'done', 'failed')",
                        name="import_job_status"),
    )
