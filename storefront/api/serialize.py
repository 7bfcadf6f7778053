"""Rows to API shapes: canonical web URLs and the three photo sizes on every item."""

from __future__ import annotations

from urllib.parse import quote

from flask import g, url_for

from ..media import WIDTHS
from . import schemas


def _media(key: str, width: int) -> str:
    if "api_media_prefix" not in g:
        g.api_media_prefix = url_for("media.serve", filename="p/", _external=True)
    return f"{g.api_media_prefix}{key}-{width}.webp"


# Built from rows the database checked, so without pydantic's validation: a page of 100
# products validated field by field cost more than reading them (bench/api.py). The
# answers are still checked against the document by tests/api/test_schemathesis.py.
def photo_urls(key: str) -> schemas.PhotoUrls:
    small, medium, large = WIDTHS
    return schemas.PhotoUrls.model_construct(small=_media(key, small), medium=_media(key, medium),
                                             large=_media(key, large))


def _page_url(endpoint: str, marker: str, tail: str) -> str:
    """``url_for(endpoint, ..., _external=True)``, built once a request per endpoint (a
    page of 100 products needs 200 of these): the route with a marker, then the tail."""
    prefixes = g.setdefault("api_url_prefixes", {})
    if endpoint not in prefixes:
        args = {"catalogue.shop": {"slug": marker},
                "catalogue.product": {"product_id": 1, "slug": marker}}[endpoint]
        prefixes[endpoint] = url_for(endpoint, **args, _external=True).rsplit(
            "/1/" + marker if endpoint == "catalogue.product" else marker, 1)[0]
    return prefixes[endpoint] + tail


def shop_url(slug: str) -> str:
    return _page_url("catalogue.shop", "slug-marker", quote(slug))


def product_url(product_id: int, slug: str) -> str:
    return _page_url("catalogue.product", "slug-marker", f"/{product_id}/{quote(slug)}")


def shop_ref(shop) -> schemas.ShopRef:
    return schemas.ShopRef.model_construct(
        id=shop.id, slug=shop.slug, name=shop.name, type=shop.type, kecamatan=shop.kecamatan,
        kelurahan=shop.kelurahan, url=shop_url(shop.slug))


def shop(found) -> schemas.Shop:
    return schemas.Shop(**shop_ref(found).model_dump(), description=found.description or "",
                        delivery_fee=found.delivery_fee,
                        logo=photo_urls(found.logo_key) if found.logo_key else None)


def product(item, detail: bool = False):
    fields = dict(
        id=item.id, name=item.name,
        url=product_url(item.id, item.slug),
        price=item.price, in_stock=item.in_stock, stock=item.stock, shop=shop_ref(item.shop),
        category=schemas.CategoryRef.model_construct(slug=item.category.slug,
                                                     name=item.category.name),
        photos=[schemas.Photo.model_construct(alt=image.alt or item.name, width=image.width,
                                              height=image.height, urls=photo_urls(image.key))
                for image in item.images],
        variants=[schemas.Variant.model_construct(id=v.id, name=v.name, price=v.price,
                                                  in_stock=v.stock > 0) for v in item.variants],
        option_name=item.option_name, currency="IDR")
    if detail:
        return schemas.ProductDetail.model_construct(**fields, description=item.description or "")
    return schemas.Product.model_construct(**fields)
