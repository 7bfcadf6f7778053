"""Forgotten passwords: a link by email, good for an hour and for one use."""

import re

from storefront.accounts import services
from tests.factories import UserFactory
from tests.helpers import csrf_token

NEW = "teh-manis-pagi-hari"


def ask(client, email: str):
    return client.post("/lupa-sandi", data={"email": email, "csrf_token": csrf_token(client, "/lupa-sandi")})


def link_in(app) -> str:
    body = app.extensions["gerai.sent_mail"][-1].get_content()
    return re.search(r"http://localhost(/sandi-baru/\S+)", body).group(1)


def test_a_link_by_email_sets_a_new_password_once(app, client, auth):
    UserFactory(email="sari@contoh.id")
    response = ask(client, "Sari@Contoh.id ")
    assert response.status_code == 303
    url = link_in(app)
    page = client.get(url)
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.get_data(as_text=True)
    weak = client.post(url, data={"password": "12345678", "confirm": "12345678",
                                  "csrf_token": csrf_token(client, url)})
    assert weak.status_code == 422 and "terlalu umum" in weak.get_data(as_text=True)
    done = client.post(url, data={"password": NEW, "confirm": NEW, "csrf_token": csrf_token(client, url)})
    assert done.status_code == 303
    assert services.authenticate("sari@contoh.id", NEW) is not None
    again = client.get(url)
    assert again.status_code == 400 and "sudah tidak berlaku" in again.get_data(as_text=True)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(app, client):
    response = ask(client, "tidak-ada@contoh.id")
    assert response.status_code == 303
    assert not app.extensions.get("gerai.sent_mail")


def test_a_tampered_or_expired_link_is_refused(app, client, monkeypatch):
    user = UserFactory(email="budi@contoh.id")
    token = services.reset_token(user)
    assert client.get(f"/sandi-baru/{token[:-3]}xyz").status_code == 400
    monkeypatch.setattr(services, "RESET_SECONDS", -1)
    assert client.get(f"/sandi-baru/{token}").status_code == 400


def test_a_new_password_ends_other_sessions(app, client, auth):
    from tests.conftest import TEST_PASSWORD, IsolatedClient

    user = UserFactory(email="rina@contoh.id")
    app.test_client_class = IsolatedClient
    other = app.test_client()
    other.post("/masuk", data={"email": "rina@contoh.id", "password": TEST_PASSWORD,
                               "csrf_token": csrf_token(other, "/masuk")})
    assert other.get("/akun/pesanan").status_code == 200
    url = f"/sandi-baru/{services.reset_token(user)}"
    client.post(url, data={"password": NEW, "confirm": NEW, "csrf_token": csrf_token(client, url)})
    assert other.get("/akun/pesanan").status_code == 302


def test_the_common_passwords_are_refused_and_a_long_passphrase_is_not(app, client):
    """Issue 20.10: a sample of 200 from the 3,000 most common passwords (zxcvbn's list,
    in frequency order), each refused with a message; a 64-character passphrase taken."""
    import random

    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    from storefront.accounts.models import User
    from storefront.extensions import db

    user = UserFactory(email="umum@contoh.id")
    top = FREQUENCY_LISTS["passwords"][:3000]
    sample = random.Random(2026).sample(top, 200)
    url = f"/sandi-baru/{services.reset_token(user)}"
    token = csrf_token(client, url)
    accepted = []
    for password in sample:
        answer = client.post(url, data={"password": password, "confirm": password,
                                        "csrf_token": token})
        page = answer.get_data(as_text=True)
        if answer.status_code != 422 or not ("terlalu umum" in page or "karakter" in page):
            accepted.append(password)
    assert accepted == []
    passphrase = "kopi tubruk di tepi cisadane sambil menunggu kereta ke tanah abang"[:64]
    assert len(passphrase) == 64
    done = client.post(url, data={"password": passphrase, "confirm": passphrase,
                                  "csrf_token": token})
    assert done.status_code == 303
    db.session.expire_all()
    assert services.authenticate("umum@contoh.id", passphrase) == db.session.get(User, user.id)
