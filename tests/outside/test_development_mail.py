"""A password reset can be finished on a development machine (issue 13.10).

`make run` has no mail server. The reset link used to go to the log at INFO, which the
console never shows, and the demo accounts (``@gerai.test``) got 422 on /lupa-sandi.
Here the app runs as `make run` runs it (``flask run`` in development, in its own
process), a demo shopper asks for a reset, reads the link on the console and sets a
new password with it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from storefront import config as settings
from storefront import create_app, mail
from storefront.accounts.models import User
from storefront.accounts.passwords import hash_password
from storefront.extensions import db
from tests.conftest import _test_config
from tests.outside.conftest import Browser

DEMO_EMAIL = "pembeli@gerai.test"
OLD, NEW = "gerai-demo-2026", "teh-manis-pagi-hari"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """What a process prints, as the person running `make run` sees it."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, seconds: float = 15) -> re.Match:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if found := re.search(pattern, self.text):
                return found
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never appeared on the console:\n{self.text[-3000:]}")


@pytest.fixture
def make_run(tmp_path):
    """Gerai in development, in its own process, with one demo shopper."""
    database = f"sqlite:///{tmp_path / 'gerai.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "dev-test",
                      "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1})
    with app.app_context():
        db.create_all()
        user = User(name="Pembeli Demo", email=DEMO_EMAIL, password_hash=hash_password(OLD))
        user.grant("shopper")
        db.session.add(user)
        db.session.commit()
        db.engine.dispose()

    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in {"MAIL_SERVER", "MAIL_CONSOLE", "ACCEPT_TEST_EMAIL_DOMAINS", "REDIS_URL",
                          "MEILI_URL", "SEARCH_BACKEND", "FLASK_DEBUG"}}
    env.update({"GERAI_ENV": "development", "GERAI_INSTANCE": str(tmp_path / "instance"),
                "DATABASE_URL": database, "SECRET_KEY": "dev-test",
                "SEARCH_INDEX_PATH": str(tmp_path / "search-index"),
                "MEDIA_ROOT": str(tmp_path / "media"), "PYTHONUNBUFFERED": ""})
    env.pop("PYTHONUNBUFFERED")  # the mail must reach a pipe without it, as `make run | tee` does
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "storefront", "run", "--host", "127.0.0.1",
         "--port", str(port)], cwd=settings.ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    console = Console(process.stdout)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/sehat", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the development server did not start:\n{console.text}")
            time.sleep(0.1)
        yield base, console
    finally:
        process.terminate()
        process.wait(10)


def test_a_demo_shopper_resets_the_password_from_the_console_link(make_run):
    base, console = make_run
    with Browser(base) as browser:
        asked = browser.post("/lupa-sandi", data={"email": DEMO_EMAIL,
                                                  "csrf_token": browser.token("/lupa-sandi")})
        assert asked.status_code == 200 and "/masuk" in asked.url
        assert asked.history and asked.history[0].status_code == 303

        link = console.wait_for(rf"{re.escape(base)}/sandi-baru/\S+").group(0)
        assert f"To: {DEMO_EMAIL}" in console.text

        form = browser.get(link)
        assert form.status_code == 200 and 'autocomplete="new-password"' in form.text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.text).group(1)
        done = browser.post(link, data={"csrf_token": token, "password": NEW, "confirm": NEW})
        assert done.status_code == 200 and "Kata sandi baru tersimpan" in done.text

        assert browser.login(DEMO_EMAIL, OLD).status_code == 422
        welcome = browser.login(DEMO_EMAIL, NEW)
        assert welcome.status_code == 200 and "Keluar" in welcome.text


@pytest.fixture
def app_config(_schema, tmp_path):  # noqa: PT004 (the suite's app, as production configures it)
    return {**_test_config(_schema, tmp_path / "media"), "ACCEPT_TEST_EMAIL_DOMAINS": False}


def test_outside_development_the_demo_domain_is_not_an_address(app, browser):
    refused = browser.post("/lupa-sandi", data={"email": DEMO_EMAIL,
                                                "csrf_token": browser.token("/lupa-sandi")})
    assert refused.status_code == 422 and "Alamat email tidak valid" in refused.text
    assert not app.extensions.get("gerai.sent_mail")


def test_without_a_mail_server_outside_development_no_link_is_printed_or_logged(
        app_config, capsys, caplog):
    quiet = create_app({**app_config, "TESTING": False, "MAIL_SERVER": "", "MAIL_CONSOLE": False})
    with quiet.app_context(), caplog.at_level(logging.DEBUG):
        mail.send("sari@contoh.id", "Atur ulang kata sandi Gerai", "http://x/sandi-baru/RAHASIA")
    assert "RAHASIA" not in capsys.readouterr().out and "RAHASIA" not in caplog.text
    assert "not sent" in caplog.text
