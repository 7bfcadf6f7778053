from __future__ import annotations

import hashlib

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask_limiter.util import get_remote_address

from search import PRICE_BANDS

from ..extensions import limiter
from ..htmx import cached_fragment, render
from ..params import whole_number
from ..places import KECAMATAN
from . import services
from .forms import MAX_PAGE, PAGE_SIZE, CatalogueForm

bp = Blueprint("catalogue", __name__)


@bp.get("/sehat")
def health():
    """For load balancers: the process answers. Also the benchmarks' ceiling."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/")
def home():
    return render(
        "catalogue/home.html",
        categories=services.top_categories(),
        featured=services.featured_products(),
        newest=services.newest_products(),
        kecamatan_counts=services.shops_per_kecamatan(),
    )


def _url_with(args: dict[str, str], **changes) -> str:
    merged = {**args, **changes}
    return url_for("catalogue.catalogue", **{k: v for k, v in merged.items() if v not in (None, "")})


CATALOGUE_BLOCKS = {"hasil": "results", "berikutnya": "more"}


def _searcher() -> str:
    """Search limits count per browser when the server knows it: a fair's visitors share
    one address. Known means a session this server signed, holding its CSRF secret
    (random, stable for the session). A cookie the client merely sends is not: a made-up
    cart cookie per request once bought a fresh budget each time. Without a signed
    session, the address; the address's own ceiling bounds a client that keeps asking
    for new sessions."""
    stable = session.get("csrf_token")
    if isinstance(stable, str) and stable:  # a digest, the same in every process
        return "browser:" + hashlib.sha256(stable.encode()).hexdigest()[:24]
    return f"address:{get_remote_address()}"


@bp.get("/katalog")
@limiter.limit("240 per minute", key_func=_searcher)
@limiter.limit("3000 per minute")
def catalogue():
    if cached := cached_fragment(CATALOGUE_BLOCKS):
        return cached
    form = CatalogueForm(request.args)
    form.validate()  # errors are shown next to their fields; bad values are ignored
    query = form.to_query()
    page = services.search_catalogue(query)
    active = form.active_filters()
    has_more = query.offset + len(page.products) < page.total and form.page < 400
    return render(
        "catalogue/index.html",
        # the search form swaps #hasil; the scroll sentinel #berikutnya asks for the next cards
        blocks=CATALOGUE_BLOCKS,
        cache_seconds=0 if page.degraded else current_app.config["FRAGMENT_CACHE_SECONDS"],
        form=form,
        page=page,
        page_number=form.page,
        page_size=PAGE_SIZE,
        active=active,
        has_more=has_more,
        next_url=_url_with(active, hal=form.page + 1) if has_more else None,
        prev_url=_url_with(active, hal=form.page - 1) if form.page > 1 else None,
        url_with=_url_with,
        categories=services.top_categories(),
        category_by_slug=services.category_names(),
        kecamatan_list=KECAMATAN,
        price_bands=PRICE_BANDS,
    )


@bp.get("/produk/<int:product_id>")
@bp.get("/produk/<int:product_id>/<slug>")
def product(product_id: int, slug: str | None = None):
    item = services.visible_product(product_id)
    if item is None:
        abort(404)
    if slug != item.slug:
        return redirect(url_for(".product", product_id=item.id, slug=item.slug), 301)
    more, _ = services.shop_products(item.shop, page=1, page_size=8, exclude=item.id)
    return render("catalogue/product.html", product=item, more_from_shop=more)


@bp.get("/toko")
def shops():
    kecamatan = request.args.get("kecamatan") or None
    if kecamatan and kecamatan not in KECAMATAN:
        kecamatan = None
    return render("catalogue/shops.html", shops=services.verified_shops(kecamatan),
                  kecamatan=kecamatan, kecamatan_counts=services.shops_per_kecamatan())


@bp.get("/toko/<slug>")
def shop(slug: str):
    found = services.visible_shop(slug)
    if found is None:
        abort(404)
    page = whole_number(request.args.get("hal"), low=1, high=MAX_PAGE, default=1)
    products, total = services.shop_products(found, page=page, page_size=PAGE_SIZE)
    return render("catalogue/shop.html", shop=found, products=products, total=total,
                  page_number=page, page_size=PAGE_SIZE)
