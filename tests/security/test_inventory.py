"""Every route of the app is in the security matrices (tests/security/routes.py)."""

from tests.security.routes import NOT_VIEWS, ROUTES


def test_every_route_says_who_it_is_for(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - NOT_VIEWS
    missing = sorted(endpoints - set(ROUTES))
    assert not missing, f"routes with no entry in tests/security/routes.py: {missing}"
    stale = sorted(set(ROUTES) - endpoints)
    assert not stale, f"entries for routes that no longer exist: {stale}"


def test_the_matrix_matches_the_methods_each_route_serves(app):
    served: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        served.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    for endpoint, route in ROUTES.items():
        if route.note.startswith("signed"):
            continue
        if route.get:
            assert "GET" in served[endpoint], endpoint
        if route.post:
            assert "POST" in served[endpoint], endpoint
