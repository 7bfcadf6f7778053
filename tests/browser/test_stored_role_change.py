"""An organizer cannot make themselves admin through a category name (issue 13.2), in Chromium.

The organizer names a category with an htmx element that, were it markup on the
admin's page, would post a role change with the admin's CSRF token as soon as htmx
loaded. The admin then opens the category page in a real browser, htmx and all.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def office(live_app):
    """An organizer and an admin of their own; the organizer's category removed afterwards."""
    from sqlalchemy import delete, select

    from storefront.accounts.models import User, UserRole
    from storefront.accounts.passwords import hash_password
    from storefront.catalogue.models import Category
    from storefront.extensions import db
    from tests.conftest import TEST_PASSWORD

    with live_app.app_context():
        people = {}
        for email, roles in (("dinas-peran@gerai.test", ["organizer"]),
                             ("admin-peran@gerai.test", ["admin"])):
            user = User(name="Uji peran", email=email, password_hash=hash_password(TEST_PASSWORD))
            user.roles = [UserRole(role=role) for role in roles]
            db.session.add(user)
            db.session.flush()
            people[roles[0]] = (email, user.id)
        db.session.commit()
        db.session.remove()
    yield people

    with live_app.app_context():
        db.session.execute(delete(Category).where(Category.name.contains("hx-post")))
        for email, _ in people.values():
            user = db.session.scalar(select(User).where(User.email == email))
            db.session.delete(user)
        db.session.commit()
        db.session.remove()


def _roles(live_app, user_id: int) -> set[str]:
    from storefront.accounts.models import User
    from storefront.extensions import db

    with live_app.app_context():
        roles = set(db.session.get(User, user_id).role_names)
        db.session.remove()
    return roles


def test_a_category_name_does_not_change_roles_when_the_admin_looks(new_context, live_app, office):
    organizer_email, organizer_id = office["organizer"]
    payload = (f"<p hx-post=/admin/pengguna/{organizer_id}/peran "
               "hx-vals='{\"role\":\"admin\"}' hx-trigger=load>")

    organizer = log_in(new_context(), organizer_email)
    organizer.goto("/admin/kategori")
    organizer.get_by_label("Nama kategori").fill(payload)
    organizer.get_by_role("button", name="Tambah", exact=True).click()
    organizer.wait_for_url("**/admin/kategori")

    admin = log_in(new_context(), office["admin"][0])
    sent = []
    admin.on("request", lambda request: sent.append((request.method, request.url)))
    admin.goto("/admin/kategori")
    admin.wait_for_load_state("networkidle")
    admin.wait_for_timeout(500)  # hx-trigger=load would have fired by now

    assert admin.evaluate("typeof window.htmx") == "object"  # htmx ran on this page
    assert [url for method, url in sent if "/peran" in url or method == "POST"] == []
    assert _roles(live_app, organizer_id) == {"organizer"}
    # the name is shown as the text the organizer typed, in the list and the parent choices
    assert admin.locator("ol.category-tree strong", has_text="hx-post=/admin/pengguna").count() == 1
    assert admin.locator("select[name=parent] option", has_text="Sub dari <p hx-post").count() == 1
    assert admin.locator("main p[hx-post]").count() == 0
