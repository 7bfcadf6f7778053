"""CSRF, cross-site writes, authorization by object, and GETs that change nothing, for every route.

Each check walks the whole route table in one test (one world, one report listing
every route that fails) rather than one test per route: the same proof, built once.
"""

import pytest

from tests.conftest import AuthActions, IsolatedClient
from tests.helpers import csrf_token
from tests.security.conftest import ACTORS, SECRET, fingerprint
from tests.security.routes import ROUTES, data_of, url_of

REFUSED = {301, 302, 303, 400, 403, 404, 405, 409, 422}
POSTS = sorted(e for e, r in ROUTES.items() if r.post)
GETS = sorted(e for e, r in ROUTES.items() if r.get)
# Who may see the Bravo side's private data: its own people and the city office.
BRAVO_SIDE = {"seller_b", "shopper_b", "manager_b", "organizer", "admin", "observer"}


@pytest.fixture
def clients(app, world):
    """One browser per actor, logged in before anything is measured (logging in writes)."""
    app.test_client_class = IsolatedClient  # each request in its own app context
    made = {}
    for actor in ACTORS:
        client = app.test_client()
        if actor != "anonymous":
            AuthActions(client).login(world.emails[actor])
        made[actor] = client
    return made


def first_allowed(actors) -> str:
    return sorted(actors, key=lambda a: (a == "anonymous", a))[0]


def test_writes_without_a_csrf_token_are_refused_and_change_nothing(app, clients, world):
    app.config["WTF_CSRF_ENABLED"] = True
    failures = []
    for endpoint in POSTS:
        route = ROUTES[endpoint]
        before = fingerprint()
        response = clients[first_allowed(route.post)].post(url_of(route, world.ids),
                                                           data=data_of(route, world.ids))
        if response.status_code != 403 or fingerprint() != before:
            failures.append((endpoint, response.status_code))
    assert not failures


def test_writes_from_another_site_are_refused_even_with_a_token(clients, world):
    failures = []
    for endpoint in POSTS:
        route = ROUTES[endpoint]
        client = clients[first_allowed(route.post)]
        token = csrf_token(client, "/")
        before = fingerprint()
        for headers in ({"Origin": "https://jahat.example"}, {"Sec-Fetch-Site": "cross-site"}):
            response = client.post(url_of(route, world.ids), headers=headers,
                                   data={**data_of(route, world.ids), "csrf_token": token})
            if response.status_code != 403:
                failures.append((endpoint, headers, response.status_code))
        if fingerprint() != before:
            failures.append((endpoint, "changed something"))
    assert not failures


def test_writes_by_anyone_else_are_refused_and_change_nothing(clients, world):
    failures = []
    for endpoint in POSTS:
        route = ROUTES[endpoint]
        before = fingerprint()
        for actor in (a for a in ACTORS if a not in route.post):
            client = clients[actor]
            response = client.post(url_of(route, world.ids), data={
                **data_of(route, world.ids), "csrf_token": csrf_token(client, "/")})
            if response.status_code not in REFUSED or SECRET in response.get_data(as_text=True):
                failures.append((endpoint, actor, response.status_code))
        if fingerprint() != before:
            failures.append((endpoint, "changed something"))
    assert not failures


def test_reads_by_anyone_else_are_refused_and_show_no_foreign_data(clients, world):
    failures = []
    for endpoint in GETS:
        route = ROUTES[endpoint]
        for actor in ACTORS:
            response = clients[actor].get(url_of(route, world.ids))
            body = response.get_data(as_text=True)
            response.close()  # a streamed export lets go of its request here, not later
            allowed = actor in route.get
            if (not allowed and response.status_code not in REFUSED) or response.status_code >= 500:
                failures.append((endpoint, actor, response.status_code))
            if actor not in BRAVO_SIDE and SECRET in body:
                failures.append((endpoint, actor, "shows the Bravo side's data"))
    assert not failures


def test_no_get_changes_anything(clients, world):
    changed = []
    for endpoint in GETS:
        route = ROUTES[endpoint]
        before = fingerprint()
        clients[first_allowed(route.get)].get(url_of(route, world.ids)).close()
        if fingerprint() != before:
            changed.append(endpoint)
    assert not changed


def test_enumerated_ids_show_nothing_foreign(clients, world):
    """Another seller walking ids 1..12 on every id-taking page sees only refusals."""
    client, seen = clients["seller_a"], []
    for number in range(1, 13):
        for url in (f"/penjual/produk/{number}", f"/penjual/produk/{number}/stok",
                    f"/penjual/pesanan/{number}", f"/penjual/produk/impor/{number}",
                    f"/penjual/produk/impor/{number}/berkas", f"/admin/toko/{number}/rekening",
                    f"/pesanan/GR-PEMBEL-{number}"):
            response = client.get(url)
            if SECRET in response.get_data(as_text=True):
                seen.append(url)
    assert not seen
