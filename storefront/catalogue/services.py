"""What shoppers see: search through the engine, rows from the database."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from search import SearchQuery, SearchResults, SearchUnavailable

from .. import fragments
from ..extensions import db
from ..indexing.services import backend
from .models import Category, Product, Shop, visible_products

log = logging.getLogger(__name__)


@dataclass
class CataloguePage:
    products: list[Product]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    highlights: dict[int, str] = field(default_factory=dict)
    degraded: bool = False  # the engine was down and the database answered


def load_in_order(ids: list[int]) -> list[Product]:
    """The rows for ``ids`` in the engine's order, skipping any that became hidden since.

    Looked up by primary key, then checked: joining on the shop first lets SQLite
    pick a plan that walks every verified shop (9 ms at 100k products, not 0.2).
    """
    if not ids:
        return []
    rows = db.session.scalars(
        select(Product).where(Product.id.in_(ids))
        .options(selectinload(Product.images), selectinload(Product.variants))
    ).unique()
    by_id = {p.id: p for p in rows if p.is_visible}
    return [by_id[i] for i in ids if i in by_id]


def search_catalogue(query: SearchQuery) -> CataloguePage:
    try:
        results: SearchResults = backend().search(query)
    except SearchUnavailable as error:
        log.warning("search engine unavailable, answering from the database: %s", error)
        return database_search(query)
    return CataloguePage(
        products=load_in_order(results.ids),
        total=results.total,
        facets=results.facets,
        highlights=results.highlights,
    )


def database_search(query: SearchQuery) -> CataloguePage:
    """A plainer search straight from the database: no typos forgiven, no facets."""
    statement = visible_products()
    for word in query.text.split()[:5]:
        pattern = f"%{word.lower()}%"
        statement = statement.where(or_(func.lower(Product.name).like(pattern),
                                        func.lower(Product.description).like(pattern)))
    if query.categories:
        slugs = select(Category.id).where(
            or_(Category.slug.in_(query.categories),
                Category.parent_id.in_(select(Category.id).where(Category.slug.in_(query.categories)))))
        statement = statement.where(Product.category_id.in_(slugs))
    if query.kecamatan:
        statement = statement.where(Shop.kecamatan.in_(query.kecamatan))
    if query.shop_type:
        statement = statement.where(Shop.type == query.shop_type)
    if query.shop_id:
        statement = statement.where(Product.shop_id == query.shop_id)
    if query.stand_codes:
        from ..exhibitions.models import Fair, Stand, StandItem

        on_stands = (select(StandItem.product_id).join(Stand, Stand.id == StandItem.stand_id)
                     .join(Fair, Fair.id == Stand.fair_id)
                     .where((Fair.slug + "/" + Stand.code).in_(query.stand_codes)))
        statement = statement.where(Product.id.in_(on_stands))
    if query.in_stock:
        statement = statement.where(Product.stock > 0)
    if query.price_min is not None:
        statement = statement.where(Product.price >= query.price_min)
    if query.price_max is not None:
        statement = statement.where(Product.price < query.price_max)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    order = {
        "price_asc": (Product.price.asc(), Product.id),
        "price_desc": (Product.price.desc(), Product.id),
    }.get(query.sort, (Product.created_at.desc(), Product.id.desc()))
    products = list(db.session.scalars(
        statement.order_by(*order).offset(query.offset).limit(query.limit)
        .options(selectinload(Product.images), selectinload(Product.variants))
    ).unique())
    return CataloguePage(products=products, total=total, degraded=True)


@dataclass(frozen=True)
class CategoryView:
    """A category as pages show it: plain data, safe to keep between requests."""

    id: int
    parent_id: int | None
    name: str
    slug: str
    children: tuple[CategoryView, ...] = ()


_category_cache: dict[str, tuple[CategoryView, ...]] = {}


def top_categories() -> tuple[CategoryView, ...]:
    """The tree, kept per process until the catalogue version changes (fragments.py):
    every catalogue page needs it, and categories change a few times a year."""
    version = fragments.version()
    if version in _category_cache:
        return _category_cache[version]
    tops = db.session.scalars(
        select(Category).where(Category.parent_id.is_(None)).order_by(Category.position)
        .options(selectinload(Category.children))).all()
    tree = tuple(
        CategoryView(t.id, None, t.name, t.slug,
                     tuple(CategoryView(c.id, t.id, c.name, c.slug) for c in t.children))
        for t in tops)
    _category_cache.clear()  # only the current version is worth keeping
    _category_cache[version] = tree
    return tree


def category_names() -> dict[str, CategoryView]:
    return {c.slug: c for top in top_categories() for c in (top, *top.children)}


def newest_products(limit: int = 8) -> list[Product]:
    return list(db.session.scalars(
        visible_products().order_by(Product.created_at.desc(), Product.id.desc()).limit(limit)
        .options(selectinload(Product.images), selectinload(Product.variants))
    ).unique())


def featured_products(limit: int = 8, today: date | None = None) -> list[Product]:
    """A selection of in-stock products that changes daily and is the same all day."""
    day = (today or date.today()).toordinal()
    return list(db.session.scalars(
        visible_products().where(Product.stock > 0)
        .order_by((Product.id * 7919 + day) % 1009, Product.id).limit(limit)
        .options(selectinload(Product.images), selectinload(Product.variants))
    ).unique())


def shops_per_kecamatan() -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(Shop.kecamatan, func.count(Shop.id)).where(Shop.verified)
        .group_by(Shop.kecamatan).order_by(Shop.kecamatan))
    return [(kecamatan, count) for kecamatan, count in rows]


def verified_shops(kecamatan: str | None = None) -> list[Shop]:
    statement = select(Shop).where(Shop.verified).order_by(Shop.name)
    if kecamatan:
        statement = statement.where(Shop.kecamatan == kecamatan)
    return list(db.session.scalars(statement))


def visible_product(product_id: int) -> Product | None:
    return db.session.scalars(
        visible_products().where(Product.id == product_id).options(selectinload(Product.images), selectinload(Product.variants))
    ).unique().one_or_none()


def visible_shop(slug: str) -> Shop | None:
    return db.session.scalar(select(Shop).where(Shop.slug == slug, Shop.verified))


def shop_products(shop: Shop, page: int, page_size: int, exclude: int | None = None):
    statement = visible_products().where(Product.shop_id == shop.id)
    if exclude:
        statement = statement.where(Product.id != exclude)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    products = list(db.session.scalars(
        statement.order_by(Product.created_at.desc(), Product.id.desc())
        .offset((page - 1) * page_size).limit(page_size).options(selectinload(Product.images), selectinload(Product.variants))
    ).unique())
    return products, total
