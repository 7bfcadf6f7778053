"""Sending an email: by SMTP when MAIL_SERVER is set.

A development machine has no mail server: with MAIL_CONSOLE (on in development) the
message is printed whole on the console ``make run`` shows, as a console mail backend
does, so a reset link can be followed locally. Anywhere else a message without a
server is not sent, and the log says so without its body (a reset link in a log is a
password for whoever reads the log). Tests read what was sent from
``app.extensions["gerai.sent_mail"]``.
"""

from __future__ import annotations

import logging
import smtplib
import sys
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
        if config.get("MAIL_CONSOLE"):
            _print(message, body)
        else:
            log.error("email to %s not sent (%s): MAIL_SERVER is not set", to, subject)
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config.get("MAIL_PORT", 587), timeout=10) as smtp:
        if config.get("MAIL_USE_TLS", True):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        smtp.send_message(message)


def _print(message: EmailMessage, body: str) -> None:
    """One write, flushed: the console shows it at once, even through a pipe."""
    rule = "-" * 72
    sys.stdout.write(f"{rule}\nEmail (development: printed here, not sent)\n"
                     f"From: {message['From']}\nTo: {message['To']}\n"
                     f"Subject: {message['Subject']}\n\n{body}\n{rule}\n")
    sys.stdout.flush()
