"""The audit log: every administrative action, who did it, and the object before and after.

Nothing in the app edits or deletes an entry; the table is append-only by design
(and by a database trigger on PostgreSQL, see the migration).
"""

from __future__ import annotations

from .extensions import db
from .ledger.models import AuditEntry


def record(actor, action: str, obj, *, before: dict | None = None, after: dict | None = None,
           note: str = "") -> AuditEntry:
    """Add an entry to the current transaction; the caller commits it with the change."""
    entry = AuditEntry(actor_id=actor.id if actor is not None and hasattr(actor, "id") else None,
                       action=action, object_type=type(obj).__name__.lower(),
                       object_id=str(getattr(obj, "id", obj)), before=before, after=after,
                       note=note)
    db.session.add(entry)
    return entry
