"""Giving back money that counts for nothing (settlement's stray payments), from the
stand keeper's till and from the office's payments page: one form, one handler."""

from __future__ import annotations

from flask import flash, request
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..money import format_rupiah
from ..params import plain_text
from . import settlement


def record_cash_refund(stray) -> bool:
    """The form "given back in cash by <name>": True when it was recorded (and committed)."""
    name = plain_text(request.form.get("nama"), 120)
    if len(name) < 2:
        flash(_("Tulis nama orang yang mengembalikan uangnya secara tunai."), "error")
        return False
    if not settlement.stray_refunded_in_cash(stray, name, current_user):
        db.session.rollback()
        # A form shown before the reconciler asked the gateway to refund it: the money is
        # on its way back, not back yet, and must not be handed over a second time.
        flash(_("Uang ini sedang dikembalikan lewat gateway; jangan dikembalikan tunai.")
              if stray.state == "refund_pending" else _("Uang ini sudah dikembalikan."), "error")
        return False
    db.session.commit()
    flash(_("Pengembalian tunai %(amount)s oleh %(name)s tercatat.",
            amount=format_rupiah(stray.amount), name=name))
    return True
