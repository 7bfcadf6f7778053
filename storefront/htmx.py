"""One way to answer a page request: the whole page, or the block htmx asked for.

A page template names its swappable regions as blocks; a view passes the map of
``HX-Target`` id -> block name. Boosted requests and history restores get the
whole page, because htmx swaps those into <body>.
"""

from __future__ import annotations

from flask import make_response, render_template, request
from jinja2_fragments.flask import render_block, render_blocks

from . import fragments


def wants_fragment() -> bool:
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-History-Restore-Request") != "true"
        and headers.get("HX-Boosted") != "true"
    )


def render(template: str, blocks: dict[str, str] | None = None, *, http_status: int = 200,
           oob: tuple[str, ...] = (), cache_seconds: int = 0, **context):
    """``oob`` names blocks sent along with a fragment for htmx to swap out of band
    (each carries hx-swap-oob), e.g. the cart badge after adding to the cart.
    ``cache_seconds`` lets a fragment be shared (see fragments.py): only for
    blocks that carry nothing about the person asking.

    ``http_status`` has a name no template uses, and must be an int: a template
    variable called ``status`` (an order filter from the query string) once became
    the response's status line, headers and all.
    """
    if type(http_status) is not int or not 100 <= http_status <= 599:
        raise TypeError(f"http_status must be an int HTTP status, not {http_status!r}")
    block = None
    if blocks and wants_fragment():
        block = blocks.get(request.headers.get("HX-Target", ""))
    if block:
        body = render_blocks(template, [block, *oob], **context) if oob else \
            render_block(template, block, **context)
        if cache_seconds and http_status == 200:
            fragments.put(request.headers.get("HX-Target", ""), body, cache_seconds)
    else:
        body = render_template(template, **context)
    return _respond(body, http_status)


def _respond(body: str, status: int = 200):
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def cached_fragment(blocks: dict[str, str]):
    """A shared fragment for this request, if one is cached (the view then skips its work)."""
    target = request.headers.get("HX-Target", "")
    if not (wants_fragment() and target in blocks):
        return None
    body = fragments.get(target)
    return _respond(body) if body is not None else None


def unchanged(version: str) -> bool:
    """A poll that already shows ``version`` (it sends it back in X-Version, from the
    element's hx-headers): answer 204, which htmx leaves as it is, instead of rendering
    the same fragment again (the till's charge every second, a receipt every two)."""
    from flask import request

    return wants_fragment() and request.headers.get("X-Version") == version


def no_change():
    from flask import current_app

    return current_app.response_class(status=204, headers={"Cache-Control": "no-store"})
