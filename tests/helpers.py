import re
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from storefront.indexing.services import drain_outbox

_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sync_search() -> int:
    """What the worker does in production: apply every pending outbox row."""
    return drain_outbox()


def htmx_get(client, url: str, target: str, **headers):
    return client.get(url, headers={"HX-Request": "true", "HX-Target": target, **headers})


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request drowns the test output
        pass


class Served:
    """A WSGI app on a free loopback port, until close()."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True,
                                  request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name=f"served-{self.server.server_port}")
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def ring_up(*args, **kwargs):
    """A stand sale as the till's view makes it: rung up, then committed."""
    from storefront.exhibitions import till
    from storefront.extensions import db

    result = till.ring_up(*args, **kwargs)
    db.session.commit()
    return result


def void(*args, **kwargs):
    from storefront.exhibitions import till
    from storefront.extensions import db

    result = till.void(*args, **kwargs)
    db.session.commit()
    return result


def gateway_says(purchase, payment):
    """The gateway's word on a purchase's payment, as a webhook brings it: the payment
    page had been made for the purchase first (so its id is the one on record)."""
    from dataclasses import replace

    from storefront.extensions import db
    from storefront.payments import settlement
    from storefront.payments.gateway import PENDING

    if purchase.payment_id is None:
        settlement.started(purchase.id, purchase.gateway, replace(payment, status=PENDING))
    settlement.apply(purchase, payment, source="webhook")
    db.session.commit()
    return purchase


def redis_reason(url: str = "redis://127.0.0.1:6379/0") -> str | None:
    """Why the Redis server cannot be used (None when it answers)."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return f"no Redis at {url}: {error}"
    return None
