"""Guessing a password is limited per account; a fair's shared Wi-Fi still logs in
(issue 13.6).

From outside, 54 wrong passwords for one account from 6 loopback addresses were all
answered and the right one then logged in, while one address was shut out after 10
logins however many people stood behind it. Here browsers on several source addresses
(127.0.0.x all reach the loopback server) do both again.
"""

from __future__ import annotations

import re

import pytest
from requests.adapters import HTTPAdapter

from tests.conftest import TEST_PASSWORD, _test_config
from tests.factories import UserFactory
from tests.outside.conftest import Browser

VICTIM = "korban@contoh.id"
LOCKED = "Terlalu banyak percobaan masuk ke akun ini"


@pytest.fixture
def app_config(_schema, tmp_path):  # noqa: PT004 (the suite's app, with its rate limits on)
    return {**_test_config(_schema, tmp_path / "media"), "RATELIMIT_ENABLED": True}


class FromAddress(HTTPAdapter):
    """Connections from one source address, as if from another machine."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def browser_at(live, address: str) -> Browser:
    browser = Browser(live.url)
    browser.mount("http://", FromAddress(address))
    return browser


def attempt(browser, email: str, password: str, token: str):
    return browser.post("/masuk", data={"email": email, "password": password,
                                        "csrf_token": token})


def _main(page: str) -> str:
    main = re.search(r"<main.*</main>", page, re.S).group(0)
    main = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "TOKEN", main)
    return re.sub(r"\d+ menit", "N menit", main)  # a second apart, minutes may round apart


def test_guessing_one_account_from_six_addresses_is_stopped(app, live):
    UserFactory(email=VICTIM)
    UserFactory(email="tetangga@contoh.id")
    browsers = [browser_at(live, f"127.0.0.{n}") for n in range(2, 8)]
    tokens = [b.token("/masuk") for b in browsers]
    answers = [attempt(browsers[n % 6], VICTIM, f"tebakan-ke-{n}", tokens[n % 6])
               for n in range(54)]
    assert [a.status_code for a in answers[:10]] == [422] * 10
    assert {a.status_code for a in answers[10:]} == {429}

    # The right password from yet another address waits too, and says why and how long.
    right = attempt(browsers[0], VICTIM, TEST_PASSWORD, tokens[0])
    assert right.status_code == 429 and LOCKED in right.text
    assert 0 < int(right.headers["Retry-After"]) <= 15 * 60
    assert re.search(r"coba lagi dalam \d+ menit", right.text)
    assert f'value="{VICTIM}"' in right.text  # what was typed is still there
    assert "Keluar" not in right.text

    # One notice to the owner, not one per guess, with a way back in.
    notices = [m for m in app.extensions.get("gerai.sent_mail", []) if m["To"] == VICTIM]
    assert len(notices) == 1 and "/sandi-baru/" in notices[0].get_content()

    # The addresses are not shut out: the neighbour on the same Wi-Fi logs in.
    assert attempt(browsers[1], "tetangga@contoh.id", TEST_PASSWORD, tokens[1]).status_code == 200

    # The owner follows the notice's link: a new password opens the account at once.
    link = re.search(r"http://\S+(/sandi-baru/\S+)", notices[0].get_content()).group(1)
    owner = browser_at(live, "127.0.0.9")
    page = owner.get(link).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    owner.post(link, data={"csrf_token": token, "password": "teh-manis-pagi-hari",
                           "confirm": "teh-manis-pagi-hari"})
    back = owner.login(VICTIM, "teh-manis-pagi-hari")
    assert back.status_code == 200 and "Keluar" in back.text
    for browser in [*browsers, owner]:
        browser.close()


def test_an_unknown_address_is_limited_the_same_way(app, live):
    UserFactory(email=VICTIM)
    pages = []
    for email, address in ((VICTIM, "127.0.0.2"), ("tidak-ada@contoh.id", "127.0.0.3")):
        with browser_at(live, address) as browser:
            token = browser.token("/masuk")
            statuses = [attempt(browser, email, "salah-sekali-123", token).status_code
                        for _ in range(11)]
            assert statuses == [422] * 10 + [429]
            pages.append(_main(attempt(browser, email, "salah-sekali-123", token).text)
                         .replace(email, "EMAIL"))
    assert pages[0] == pages[1]


def test_a_fair_wifi_full_of_people_logs_in(app, live):
    """40 stand keepers behind one address, each mistyping once: nobody waits."""
    people = [UserFactory(email=f"penjaga{n}@contoh.id").email for n in range(40)]
    statuses = []
    for email in people:
        with browser_at(live, "127.0.0.4") as keeper:
            token = keeper.token("/masuk")
            statuses.append(attempt(keeper, email, "salah-ketik-123", token).status_code)
            statuses.append(attempt(keeper, email, TEST_PASSWORD, token).status_code)
    assert statuses == [422, 200] * 40


def test_one_address_trying_many_accounts_meets_a_ceiling(app, live):
    """Credential stuffing from one address: failures there are counted too."""
    with browser_at(live, "127.0.0.5") as stuffer:
        token = stuffer.token("/masuk")
        statuses = [attempt(stuffer, f"orang{n}@contoh.id", "password123", token).status_code
                    for n in range(61)]
        assert statuses == [422] * 60 + [429]
        last = attempt(stuffer, "orang99@contoh.id", "password123", token)
        assert "dari jaringan ini" in last.text and int(last.headers["Retry-After"]) <= 60
