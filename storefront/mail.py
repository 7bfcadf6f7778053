"""Sending an email: by SMTP when MAIL_SERVER is set, otherwise into the log.

A development machine has no mail server: the message (with its link) is written
to the server's log, as a console mail backend does. Tests read what was sent from
``app.extensions["gerai.sent_mail"]``.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


def send(to: str, subject: str, body: str) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config.get("MAIL_FROM", "Gerai <noreply@gerai.local>")
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if current_app.testing:
        current_app.extensions.setdefault("gerai.sent_mail", []).append(message)
        return
    if not config.get("MAIL_SERVER"):
        log.info("email to %s (no MAIL_SERVER; logged instead):\n%s\n%s", to, subject, body)
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config.get("MAIL_PORT", 587), timeout=10) as smtp:
        if config.get("MAIL_USE_TLS", True):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        smtp.send_message(message)
