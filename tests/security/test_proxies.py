"""Behind a TLS proxy, the app sees the browser's scheme, host and address."""

from tests.helpers import csrf_token


def test_a_same_site_post_through_a_tls_proxy_is_accepted(app, client):
    app.config["TRUSTED_PROXIES"] = 1
    from storefront import trust_proxies

    trust_proxies(app)
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "gerai.tangerangkota.go.id",
               "X-Forwarded-For": "203.0.113.7", "Origin": "https://gerai.tangerangkota.go.id"}
    response = client.post("/bahasa", headers=headers,
                           data={"bahasa": "en", "next": "/", "csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    evil = client.post("/bahasa", headers={**headers, "Origin": "https://jahat.example"},
                       data={"bahasa": "en", "next": "/", "csrf_token": csrf_token(client, "/")})
    assert evil.status_code == 403
