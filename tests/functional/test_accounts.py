"""People registering, logging in and out, and choosing a language."""

import re

import pytest
from argon2 import PasswordHasher

from storefront.accounts.models import User
from storefront.extensions import db
from tests.conftest import TEST_PASSWORD
from tests.factories import UserFactory
from tests.helpers import csrf_token


def register(client, **fields):
    data = {"name": "Siti Aminah", "email": "siti@contoh.id",
            "csrf_token": csrf_token(client, "/daftar"), **fields}
    return client.post("/daftar", data=data)


def link_in(app) -> str:
    body = app.extensions["gerai.sent_mail"][-1].get_content()
    return re.search(r"http://localhost(/daftar/selesai/\S+)", body).group(1)


def finish(client, url, password=TEST_PASSWORD, confirm=None):
    return client.post(url, data={"password": password, "confirm": confirm or password,
                                  "csrf_token": csrf_token(client, url)})


def test_register_sends_a_link_that_makes_the_account_and_logs_in(client, app):
    response = register(client)
    assert response.status_code == 303
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0  # nothing until the link
    [sent] = app.extensions["gerai.sent_mail"]
    assert sent["To"] == "siti@contoh.id"
    url = link_in(app)
    assert "Siti Aminah" in client.get(url).get_data(as_text=True)
    assert finish(client, url).status_code == 303
    user = db.session.scalar(db.select(User).where(User.email == "siti@contoh.id"))
    assert user.role_names == {"shopper"}
    assert "Siti Aminah" in client.get("/").get_data(as_text=True)
    used = client.get(url)
    assert used.status_code == 409 and "sudah punya akun" in used.get_data(as_text=True)


def test_register_as_seller_grants_both_roles(client, app):
    register(client, wants_to_sell="y")
    finish(client, link_in(app))
    user = db.session.scalar(db.select(User).where(User.email == "siti@contoh.id"))
    assert user.role_names == {"shopper", "seller"}


@pytest.mark.parametrize("password, message", [
    ("pendek", "8 sampai 128 karakter"),
    ("x" * 129, "8 sampai 128 karakter"),
    ("password", "terlalu umum"),
    ("12345678", "terlalu umum"),
    ("Bismillah", "terlalu umum"),
])
def test_weak_passwords_are_refused_next_to_the_field(client, app, password, message):
    register(client)
    response = finish(client, link_in(app), password)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="password-error">[^<]*' + message, body)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_mismatched_confirmation(client, app):
    register(client)
    body = finish(client, link_in(app), confirm="lain-sekali-123").get_data(as_text=True)
    assert "Kedua kata sandi tidak sama" in body


def test_a_registration_form_error_keeps_what_was_typed(client, app):
    response = register(client, email="bukan-email")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Alamat email tidak valid" in body
    assert 'value="Siti Aminah"' in body and 'value="bukan-email"' in body


def test_a_taken_email_gets_the_same_answer_and_its_owner_a_mail(client, app):
    UserFactory(email="siti@contoh.id")
    response = register(client, email="Siti@Contoh.ID")
    assert response.status_code == 303 and response.headers["Location"] == "/masuk"
    [sent] = app.extensions["gerai.sent_mail"]
    assert sent["To"] == "siti@contoh.id" and "sudah punya akun" in sent.get_content()
    assert "/daftar/selesai/" not in sent.get_content()


def test_a_tampered_or_expired_registration_link_is_refused(client, app, monkeypatch):
    from storefront.accounts import services

    token = services.registration_token("Siti", "siti@contoh.id", False)
    assert client.get(f"/daftar/selesai/{token[:-3]}xyz").status_code == 400
    monkeypatch.setattr(services, "REGISTRATION_SECONDS", -1)
    assert client.get(f"/daftar/selesai/{token}").status_code == 400


def test_password_is_stored_as_argon2id(client, app):
    register(client)
    finish(client, link_in(app))
    user = db.session.scalar(db.select(User))
    assert user.password_hash.startswith("$argon2id$")
    assert TEST_PASSWORD not in user.password_hash


def test_production_hash_parameters_meet_owasp():
    from storefront.config import from_environment

    config = from_environment()
    hasher = PasswordHasher(time_cost=config["ARGON2_TIME_COST"],
                            memory_cost=config["ARGON2_MEMORY_COST"],
                            parallelism=config["ARGON2_PARALLELISM"])
    # OWASP: argon2id with at least 19 MiB memory and 2 iterations (or more memory, fewer passes)
    assert config["ARGON2_MEMORY_COST"] >= 19 * 1024 and config["ARGON2_TIME_COST"] >= 2
    assert hasher.hash("x").startswith("$argon2id$v=19$m=65536,t=3")


def test_login_with_wrong_password_says_so(auth, app):
    UserFactory(email="budi@contoh.id")
    response = auth.login("budi@contoh.id", "salah-salah-salah")
    assert response.status_code == 422
    assert "Email atau kata sandi salah" in response.get_data(as_text=True)


def test_login_unknown_email_answers_the_same(auth, app):
    response = auth.login("tidak-ada@contoh.id", "salah-salah-salah")
    assert response.status_code == 422
    assert "Email atau kata sandi salah" in response.get_data(as_text=True)


def test_login_renews_the_session(client, auth, app):
    UserFactory(email="budi@contoh.id")
    client.get("/masuk")
    before = client.get_cookie("gerai").value
    auth.login("budi@contoh.id")
    after = client.get_cookie("gerai").value
    assert before != after
    assert "Keluar" in client.get("/").get_data(as_text=True)


def test_a_cookie_captured_before_logout_is_dead_after(client, auth, app):
    UserFactory(email="budi@contoh.id", name="Budi Santoso")
    auth.login("budi@contoh.id")
    stolen = client.get_cookie("gerai").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("gerai", stolen)
    page = thief.get("/").get_data(as_text=True)
    assert "Budi Santoso" not in page and "Masuk" in page


def test_login_redirects_only_to_this_site(client, auth, app):
    UserFactory(email="budi@contoh.id")
    token = csrf_token(client, "/masuk")
    for target, expected in [("/katalog?q=kopi", "/katalog?q=kopi"), ("https://evil.example/", "/"),
                             ("//evil.example/", "/"), ("/\\evil.example", "/")]:
        response = client.post(f"/masuk?next={target}", data={
            "email": "budi@contoh.id", "password": TEST_PASSWORD, "csrf_token": token})
        assert response.headers["Location"] == expected
        token = csrf_token(client, "/masuk")


@pytest.mark.parametrize("path", ["/masuk", "/daftar", "/keluar", "/bahasa"])
def test_forms_without_csrf_token_are_refused(client, app, path):
    UserFactory(email="budi@contoh.id")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(path, data={"email": "budi@contoh.id", "password": TEST_PASSWORD,
                                       "bahasa": "en"})
    assert response.status_code == 403
    assert "Sesi formulir kedaluwarsa" in response.get_data(as_text=True)


def test_session_cookie_flags(client, auth, app):
    UserFactory(email="budi@contoh.id")
    response = auth.login("budi@contoh.id")
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("gerai=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure_and_host_bound(monkeypatch):
    from storefront.config import from_environment

    monkeypatch.setenv("GERAI_ENV", "production")
    config = from_environment()
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_english_by_choice_and_remembered(client, app):
    assert "Masuk" in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    response = client.post("/bahasa", data={"bahasa": "en", "next": "/katalog", "csrf_token": token})
    assert response.headers["Location"] == "/katalog"
    page = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in page and "Log in" in page
    assert "Log in" in client.get("/masuk").get_data(as_text=True)


def test_logged_in_choice_is_kept_on_the_account(client, auth, app):
    user = UserFactory(email="budi@contoh.id")
    auth.login("budi@contoh.id")
    client.post("/bahasa", data={"bahasa": "en", "csrf_token": csrf_token(client, "/")})
    db.session.refresh(user)
    assert user.locale == "en"


def test_dates_are_shown_in_jakarta_time(app):
    from datetime import datetime

    from flask_babel import format_datetime

    with app.test_request_context("/"):
        assert "19.00" in format_datetime(datetime(2026, 8, 17, 12, 0), "short") \
            or "19:00" in format_datetime(datetime(2026, 8, 17, 12, 0), "short")
