"""Public reads: the catalogue, shops, categories, places and fairs. No key needed."""

from __future__ import annotations

import base64
import binascii
import dataclasses

from flask import g, request, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from ..catalogue import services as catalogue
from ..catalogue.forms import MAX_PAGE, PAGE_SIZE, SORT_TO_ENGINE, CatalogueForm
from ..catalogue.models import Shop
from ..exhibitions import services as fairs
from ..exhibitions.models import Fair, Stand
from ..extensions import db
from ..params import MAX_ID, whole_number
from ..places import KECAMATAN_CODES, KELURAHAN_BY_KECAMATAN, KELURAHAN_CODES
from . import bp, schemas, serialize
from .contract import Responses, document, spec
from .problems import ApiProblem, language

# Offsets past what the page lets anyone scroll to are refused the same way.
MAX_OFFSET = (MAX_PAGE - 1) * PAGE_SIZE
ENGINE_TO_SORT = {engine: page for page, engine in SORT_TO_ENGINE.items()}
TAGS = ("catalogue",)


# --- cursors -----------------------------------------------------------------------------------

def encode_cursor(kind: str, number: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{number}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None, high: int) -> int | None:
    """The number inside a cursor this API made for this list, or a 400."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found_kind, _, number = text.partition(":")
    value = whole_number(number, low=0, high=high) if found_kind == kind else None
    if value is None:
        raise ApiProblem(400, _l("Kursor halaman tidak valid. Pakai next_cursor dari jawaban "
                                 "sebelumnya."), slug="invalid-cursor")
    return value


def keyset_page(statement, limit: int, kind: str):
    """A page of rows ordered by id, and the cursor of the next one (None at the end)."""
    rows = list(db.session.scalars(statement.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(kind, rows[-1].id) if more else None


# --- the document --------------------------------------------------------------------------------

@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API (generated from the code)."""
    return document()


# --- catalogue -------------------------------------------------------------------------------------

def _page_form(query: schemas.ProductSearch) -> CatalogueForm:
    """The catalogue page's own form, filled from the API's names: one set of rules."""
    fields = {"q": query.q, "kategori": query.category, "kecamatan": query.kecamatan,
              "jenis": query.shop_type, "min": query.price_min, "max": query.price_max,
              "stok": "1" if query.in_stock else None, "urut": ENGINE_TO_SORT[query.sort]}
    form = CatalogueForm(MultiDict({k: str(v) for k, v in fields.items() if v not in (None, "")}))
    with force_locale(language()):
        if not form.validate():
            names = {"kategori": "category", "jenis": "shop_type", "min": "price_min",
                     "max": "price_max", "urut": "sort", "stok": "in_stock"}
            raise ApiProblem(422, slug="invalid-request", errors=[
                {"field": "query." + names.get(name, name), "message": str(messages[0])}
                for name, messages in form.errors.items()])
    return form


@bp.get("/products")
@spec.validate(query=schemas.ProductSearch, resp=Responses(HTTP_200=schemas.ProductPage),
               tags=TAGS)
def search_products():
    """Search the catalogue

    The same search as the catalogue page (/katalog): the same engine, filters, facets,
    typo tolerance and order. Paginate with ``cursor`` = the last answer's ``next_cursor``.
    """
    query: schemas.ProductSearch = request.context.query
    offset = decode_cursor("o", query.cursor, MAX_OFFSET) or 0
    engine_query = dataclasses.replace(_page_form(query).to_query(), offset=offset,
                                       limit=query.limit, with_facets=offset == 0)
    if query.shop:
        found = catalogue.visible_shop(query.shop)
        engine_query = dataclasses.replace(engine_query, shop_id=found.id if found else 0)
    page = catalogue.search_catalogue(engine_query)
    g.api_no_cache = page.degraded  # the database answered for a while: not for sharing
    following = offset + query.limit
    more = following < page.total and following <= MAX_OFFSET
    return schemas.ProductPage(
        data=[serialize.product(p) for p in page.products], total=page.total,
        facets=page.facets, degraded=page.degraded,
        next_cursor=encode_cursor("o", following) if more else None)


@bp.get("/products/<int:product_id>")
@spec.validate(resp=Responses(HTTP_200=schemas.ProductDetail), tags=TAGS)
def product(product_id: int):
    """One product, as its page shows it"""
    item = catalogue.visible_product(product_id)
    if item is None:
        raise ApiProblem(404)
    return serialize.product(item, detail=True)


@bp.get("/shops")
@spec.validate(query=schemas.ShopList, resp=Responses(HTTP_200=schemas.ShopPage), tags=TAGS)
def shops():
    """Verified shops, by id"""
    query: schemas.ShopList = request.context.query
    after = decode_cursor("s", query.cursor, MAX_ID) or 0
    statement = select(Shop).where(Shop.verified, Shop.id > after).order_by(Shop.id)
    if query.kecamatan:
        statement = statement.where(Shop.kecamatan == query.kecamatan)
    rows, next_cursor = keyset_page(statement, query.limit, "s")
    return schemas.ShopPage(data=[serialize.shop(s) for s in rows], next_cursor=next_cursor)


@bp.get("/shops/<slug>")
@spec.validate(resp=Responses(HTTP_200=schemas.Shop), tags=TAGS)
def shop(slug: str):
    """One verified shop (its products: /products?shop=<slug>)"""
    found = catalogue.visible_shop(slug)
    if found is None:
        raise ApiProblem(404)
    return serialize.shop(found)


@bp.get("/categories")
@spec.validate(resp=Responses(HTTP_200=schemas.CategoryList), tags=TAGS)
def categories():
    """The category tree (two levels)"""
    return schemas.CategoryList(data=[
        schemas.Category(slug=top.slug, name=top.name, children=[
            schemas.CategoryRef(slug=c.slug, name=c.name) for c in top.children])
        for top in catalogue.top_categories()])


@bp.get("/places")
@spec.validate(resp=Responses(HTTP_200=schemas.PlaceList), tags=TAGS)
def places():
    """Kota Tangerang's kecamatan and kelurahan, with their Kemendagri codes"""
    return schemas.PlaceList(data=[
        schemas.Kecamatan(name=k, code=KECAMATAN_CODES[k], kelurahan=[
            schemas.Kelurahan(name=name, code=KELURAHAN_CODES[(k, name)]) for name in names])
        for k, names in KELURAHAN_BY_KECAMATAN.items()])


# --- fairs ---------------------------------------------------------------------------------------

FAIR_TAGS = ("fairs",)


def _fair(found: Fair, cls=schemas.Fair, **extra):
    return cls(slug=found.slug, name=found.name, venue=found.venue, starts_on=found.starts_on,
               ends_on=found.ends_on, opens_at=found.opens_at, closes_at=found.closes_at,
               closed=found.closed_at is not None, **extra)


def _stand_ref(at: Fair, stand: Stand, cls=schemas.StandRef, **extra):
    return cls(code=stand.code, zone=stand.zone or "",
               url=url_for("exhibitions.stand_page", slug=at.slug, code=stand.code,
                           _external=True),
               shop=serialize.shop_ref(stand.shop) if stand.shop and stand.shop.verified else None,
               selling=fairs.why_closed(at, stand) is None, **extra)


def _public_fair(slug: str) -> Fair:
    found = db.session.scalar(select(Fair).where(Fair.slug == slug)
                              .options(selectinload(Fair.stands).joinedload(Stand.shop)))
    if found is None:
        raise ApiProblem(404)
    return found


@bp.get("/fairs")
@spec.validate(query=schemas.Page, resp=Responses(HTTP_200=schemas.FairPage), tags=FAIR_TAGS)
def fair_list():
    """Fairs, newest first"""
    query: schemas.Page = request.context.query
    before = decode_cursor("f", query.cursor, MAX_ID)
    statement = select(Fair).order_by(Fair.id.desc())
    if before is not None:
        statement = statement.where(Fair.id < before)
    rows, next_cursor = keyset_page(statement, query.limit, "f")
    return schemas.FairPage(data=[_fair(f) for f in rows], next_cursor=next_cursor)


@bp.get("/fairs/<slug>")
@spec.validate(resp=Responses(HTTP_200=schemas.FairDetail), tags=FAIR_TAGS)
def fair(slug: str):
    """A fair with its stands (and whether each sells now)"""
    found = _public_fair(slug)
    with force_locale(language()):
        return _fair(found, schemas.FairDetail,
                     stands=[_stand_ref(found, s) for s in found.stands])


@bp.get("/fairs/<slug>/stands/<code>")
@spec.validate(resp=Responses(HTTP_200=schemas.Stand), tags=FAIR_TAGS)
def stand(slug: str, code: str):
    """A stand and what it sells"""
    found = _public_fair(slug)
    stand = fairs.stand_by_code(found, code)
    if stand is None:
        raise ApiProblem(404)
    with force_locale(language()):
        return _stand_ref(found, stand, schemas.Stand, fair=found.slug, products=[
            serialize.product(p) for p in fairs.stand_products(stand)])
