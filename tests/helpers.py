import re

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
