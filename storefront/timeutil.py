"""Times are stored as naive UTC; Flask-Babel shows them in Asia/Jakarta."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def jakarta_day_start(day: date) -> datetime:
    """The UTC instant at which ``day`` starts in Jakarta (stored times are naive UTC)."""
    local = datetime.combine(day, time.min, tzinfo=JAKARTA)
    return local.astimezone(UTC).replace(tzinfo=None)


def today_in_jakarta(now: datetime | None = None) -> date:
    now = now or utcnow()
    return now.replace(tzinfo=UTC).astimezone(JAKARTA).date()


def jakarta_hour(moment: datetime) -> int:
    return moment.replace(tzinfo=UTC).astimezone(JAKARTA).hour
