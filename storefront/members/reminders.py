"""Reminders of bills: a few days before the due date and after it, once each per bill.

The message is plain text with nothing but what the member needs (their cooperative,
the bills, the total and where to pay), so the same text goes by email now and by
WhatsApp when a WhatsApp sender is configured: ``message`` is channel-neutral.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db, insert_new
from ..money import format_rupiah
from ..timeutil import today_in_jakarta, utcnow
from .models import Bill, CoopMember, Reminder

DAYS_BEFORE = 3


@dataclass
class Message:
    to: str
    subject: str
    body: str


def message(member: CoopMember, bills: list[Bill], moment: str) -> Message | None:
    address = member.email or (member.user.email if member.user else None)
    if not address:
        return None
    owed = sum(b.amount - b.paid for b in bills)
    lines = [f"- {b.description}: {format_rupiah(b.amount - b.paid)} "
             f"({_('jatuh tempo %(date)s', date=b.due_on.isoformat())})" for b in bills]
    if moment == "before":
        opening = _("Tagihan Anda di %(coop)s segera jatuh tempo.", coop=member.cooperative.name)
    else:
        opening = _("Tagihan Anda di %(coop)s sudah lewat jatuh tempo.",
                    coop=member.cooperative.name)
    link = _link(member.id)
    body = "\n".join([_("Halo %(name)s,", name=member.name), "", opening, "", *lines, "",
                      _("Jumlah: %(total)s", total=format_rupiah(owed)),
                      _("Bayar semua sekaligus dengan QRIS: %(link)s", link=link),
                      _("atau tunai di kantor koperasi."), "", member.cooperative.name])
    return Message(address, _("Tagihan koperasi: %(total)s", total=format_rupiah(owed)), body)


def _link(member_id: int) -> str:
    """The member's page, from a request or, in the command, from GERAI_URL."""
    if has_request_context():
        return url_for("members.own_page", member_id=member_id, _external=True)
    base = os.environ.get("GERAI_URL", "http://127.0.0.1:5000")
    with current_app.test_request_context(base_url=base):
        return url_for("members.own_page", member_id=member_id, _external=True)


def due(today: date | None = None) -> dict[tuple[int, str], list[Bill]]:
    """Open bills to remind of, by (member, moment), not reminded yet."""
    today = today or today_in_jakarta()
    sent = select(Reminder.id).where(Reminder.bill_id == Bill.id).correlate(Bill)
    found: dict[tuple[int, str], list[Bill]] = {}
    for moment, condition in (
            ("before", (Bill.due_on > today) & (Bill.due_on <= today + timedelta(DAYS_BEFORE))),
            ("after", Bill.due_on < today)):
        for bill in db.session.scalars(
                select(Bill).join(CoopMember, CoopMember.id == Bill.member_id)
                .where(Bill.status == "open", CoopMember.status == "active", condition,
                       ~sent.where(Reminder.moment == moment).exists())
                .order_by(Bill.member_id, Bill.due_on)):
            found.setdefault((bill.member_id, moment), []).append(bill)
    return found


def send_all(send, today: date | None = None) -> int:
    """Send what is due through ``send(message)``; each bill and moment once (the row is
    written before the next member's message, so a rerun after a crash skips it)."""
    count = 0
    for (member_id, moment), bills in due(today).items():
        member = db.session.get(CoopMember, member_id)
        made = message(member, bills, moment)
        if made is None:
            continue
        for bill in bills:
            db.session.execute(insert_new(Reminder).values(
                bill_id=bill.id, moment=moment, channel="email", body=made.body[:4000],
                sent_at=utcnow()).on_conflict_do_nothing(index_elements=["bill_id", "moment"]))
        db.session.commit()
        send(made)
        count += 1
    return count


def send_by_email(today: date | None = None) -> int:
    """``send_all`` through Gerai's mail (``flask bills-remind`` and the queue's daily task)."""
    from ..mail import send

    return send_all(lambda message: send(message.to, message.subject, message.body), today)
