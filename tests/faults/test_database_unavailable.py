"""Without its database Gerai answers 503 "try again soon", never a 500 or a traceback."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from storefront import create_app
from storefront.extensions import db
from tests.conftest import _test_config

pytestmark = pytest.mark.faults


@pytest.fixture
def client(tmp_path):
    # A database file in a folder that does not exist: every connection is refused.
    app = create_app(_test_config(f"sqlite:///{tmp_path / 'gone' / 'gerai.db'}", tmp_path))
    return app.test_client()


@pytest.mark.parametrize("path", ["/", "/katalog?q=keripik", "/toko"])
def test_pages_that_need_the_database_answer_503(client, path):
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Gerai sedang tidak bisa melayani" in response.get_data(as_text=True)


def test_a_signed_in_visitor_gets_the_503_page_too(client):
    # Loading the user from the session is the first thing that needs the database.
    with client.session_transaction() as session:
        session["_user_id"] = "a-session-token"
    response = client.get("/")
    assert response.status_code == 503
    assert "Layanan sedang sibuk" in response.get_data(as_text=True)


def test_the_health_check_needs_no_database(client):
    assert client.get("/sehat").status_code == 200


def test_a_page_made_before_the_database_went_away_still_goes_out(tmp_path, monkeypatch):
    # The server closed the connection between the page's last query and the end of the
    # request: ending the session (its rollback) fails, the page is still whole.
    app = create_app(_test_config(f"sqlite:///{tmp_path / 'gerai.db'}", tmp_path))
    with app.app_context():
        db.create_all()
    real_remove, failures = db.session.remove, []

    def remove_on_a_dead_connection():
        if not failures:
            failures.append("rollback")
            raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))
        real_remove()

    monkeypatch.setattr(db.session, "remove", remove_on_a_dead_connection)
    response = app.test_client().get("/")
    assert failures == ["rollback"]
    assert response.status_code == 200
