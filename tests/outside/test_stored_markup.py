"""A name an officer types stays text on the admin's pages (issue 13.2).

An organizer once named a category
``<p hx-post=/admin/pengguna/<id>/peran hx-vals='{"role":"admin"}' hx-trigger=load>``:
the parent-category choices interpolated it into a lazy translated string, which
WTForms trusted as markup, and htmx on the admin's next visit to /admin/kategori
posted the role change with the admin's CSRF token. Here the organizer stores it as
a stranger would, through the forms over HTTP, and the admin's page must show it
escaped, inside an element htmx ignores.
"""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from storefront.accounts.models import User
from storefront.extensions import db
from tests.factories import UserFactory
from tests.outside.conftest import Browser


def role_payload(user_id: int) -> str:
    return (f"<p hx-post=/admin/pengguna/{user_id}/peran hx-vals='{{\"role\":\"admin\"}}' "
            "hx-trigger=load>")


def _token(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


@pytest.fixture
def organizer(app, browser):
    user = UserFactory(email="dinas@gerai.test", roles=["organizer"])
    assert browser.login("dinas@gerai.test").status_code == 200
    return user


@pytest.fixture
def admin(app, live):
    UserFactory(email="admin@gerai.test", roles=["admin"])
    with Browser(live.url) as session:
        assert session.login("admin@gerai.test").status_code == 200
        yield session


def _add_category(browser, name: str, parent: str = "") -> None:
    page = browser.get("/admin/kategori")
    answer = browser.post("/admin/kategori", data={"csrf_token": _token(page.text), "name": name,
                                                   "parent": parent}, allow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]


def _roles(user_id: int) -> set[str]:
    db.session.expire_all()
    return set(db.session.get(User, user_id).role_names)


@pytest.fixture
def stored(organizer, browser):
    """The payload as a top category (so it becomes a parent choice) and as a renamed one."""
    payload = role_payload(organizer.id)
    assert len(payload) <= 80  # the field's limit: this is what an organizer can type
    _add_category(browser, payload)
    _add_category(browser, "Keripik")
    page = browser.get("/admin/kategori").text
    keripik = re.search(r'id="kategori-(\d+)">\s*<strong[^>]*>Keripik<', page).group(1)
    renamed = payload.replace("<p ", "<b ")
    answer = browser.post(f"/admin/kategori/{keripik}/nama",
                          data={"csrf_token": _token(page), "name": renamed},
                          allow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    return payload, renamed


def test_the_admin_sees_category_names_as_text(stored, admin, organizer):
    payload, renamed = stored
    page = admin.get("/admin/kategori")
    assert page.status_code == 200
    body = page.text
    assert "<p hx-post" not in body and "<b hx-post" not in body
    for name in (payload, renamed):
        escaped = str(escape(name))
        assert escaped in body
        # the parent choice that once carried it raw
        assert f"Sub dari {escaped}</option>" in body
    select = re.search(r"<select[^>]*\bname=\"parent\"[^>]*>", body).group(0)
    assert "hx-disable" in select
    assert _roles(organizer.id) == {"organizer"}


def test_the_organizer_cannot_grant_roles_directly(stored, browser, organizer):
    """What the payload would have made the admin's browser do, the organizer cannot do."""
    page = browser.get("/admin/kategori").text
    answer = browser.post(f"/admin/pengguna/{organizer.id}/peran",
                          data={"csrf_token": _token(page), "role": "admin"},
                          allow_redirects=False)
    assert answer.status_code == 403
    assert _roles(organizer.id) == {"organizer"}


def test_flashed_category_names_stay_text(organizer, browser):
    """The confirmation after adding a category names it; the flash goes through the session."""
    payload = role_payload(organizer.id)
    page = browser.get("/admin/kategori")
    answer = browser.post("/admin/kategori", data={"csrf_token": _token(page.text), "name": payload})
    assert answer.status_code == 200
    assert "<p hx-post" not in answer.text
    assert str(escape(payload)) in answer.text
