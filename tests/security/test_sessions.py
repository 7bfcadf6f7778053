"""Sessions: a new one at login, and a cookie copied before logout is worthless after it."""

from tests.conftest import IsolatedClient
from tests.factories import UserFactory


def test_the_session_is_renewed_at_login_and_dies_at_logout(app, client, auth):
    UserFactory(email="siti@contoh.id", roles=["seller"])
    client.get("/masuk")
    before = client.get_cookie("gerai")
    auth.login("siti@contoh.id")
    after = client.get_cookie("gerai")
    assert before is not None and after.value != before.value
    assert client.get("/akun/pesanan").status_code == 200
    stolen = after.value
    auth.logout()
    app.test_client_class = IsolatedClient
    thief = app.test_client()
    thief.set_cookie("gerai", stolen)
    response = thief.get("/akun/pesanan")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]
