"""Neither registration nor the reset form says whether an address has an account
(issue 13.11).

The reset form already answered the same for any address, while registration said
"Email ini sudah terdaftar": a stranger could test addresses there. Now registration
answers "check your email" for every address; the mail says which case it is, and
only the owner of the address reads it. A new address gets a link where its owner
chooses the password; a taken one gets the way to log in or reset.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PASSWORD
from tests.factories import UserFactory
from tests.outside.conftest import Browser

KNOWN, UNKNOWN = "siti@contoh.id", "baru@contoh.id"


def _register(browser, email: str):
    return browser.post("/daftar", data={"name": "Siti Aminah", "email": email,
                                         "csrf_token": browser.token("/daftar")})


def _forgot(browser, email: str):
    return browser.post("/lupa-sandi", data={"email": email,
                                             "csrf_token": browser.token("/lupa-sandi")})


def _what_a_stranger_sees(response, email: str) -> tuple:
    main = re.search(r"<main.*</main>", response.text, re.S).group(0)
    main = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "TOKEN", main)
    flash = re.search(r'<div class="flash".*?</div>', response.text, re.S)
    return (response.status_code, [r.status_code for r in response.history], response.url,
            main, flash.group(0).replace(email, "EMAIL") if flash else None)


@pytest.mark.parametrize("ask", [_register, _forgot], ids=["registration", "reset"])
def test_a_known_and_an_unknown_address_get_the_same_answer(app, live, ask):
    UserFactory(email=KNOWN)
    answers = []
    for email in (KNOWN, UNKNOWN):
        with Browser(live.url) as stranger:
            answers.append(_what_a_stranger_sees(ask(stranger, email), email))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and answers[0][1] == [303]
    assert "sudah terdaftar" not in answers[0][3]


def test_the_owner_of_a_taken_address_is_told_by_mail(app, browser):
    UserFactory(email=KNOWN)
    _register(browser, KNOWN)
    [sent] = app.extensions["gerai.sent_mail"]
    body = sent.get_content()
    assert sent["To"] == KNOWN and "sudah punya akun" in body
    assert "/masuk" in body and "/sandi-baru/" in body and "/daftar/selesai/" not in body


def test_a_new_address_finishes_registration_from_the_link(app, browser, live):
    answer = _register(browser, UNKNOWN)
    assert "Periksa email Anda" in answer.text
    [sent] = app.extensions["gerai.sent_mail"]
    link = re.search(r"http://\S+/daftar/selesai/\S+", sent.get_content()).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    # The link is the capability: opened in another browser (the phone's mail app), it works.
    with Browser(live.url) as phone:
        page = phone.get(f"/{path}")
        assert page.status_code == 200 and "Siti Aminah" in page.text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        done = phone.post(f"/{path}", data={"csrf_token": token, "password": TEST_PASSWORD,
                                            "confirm": TEST_PASSWORD})
        assert done.status_code == 200 and "Selamat datang di Gerai, Siti Aminah" in done.text
        assert "Keluar" in done.text

        used = phone.get(f"/{path}")
        assert used.status_code == 409 and "sudah punya akun" in used.text
    assert browser.login(UNKNOWN).status_code == 200
