"""The data that crosses the search boundary.

The storefront turns visible products into ``ProductDocument``s and asks with a
``SearchQuery``; a backend answers with ``SearchResults`` that carry product ids
in rank order (the database supplies the rows shown), an exact total, and facet
counts. Nothing here knows about Flask or SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

SORTS = ("relevance", "newest", "price_asc", "price_desc")

# Facets a backend must count. "categories" holds both the top-level and the
# leaf category slug of a product, so one facet serves both levels of the tree.
FACETS = ("categories", "kecamatan", "shop_type", "in_stock", "price_band")

# Price bands shown as a facet, in rupiah: (slug, lowest, highest or None).
PRICE_BANDS = (
    ("0-25000", 0, 25_000),
    ("25000-50000", 25_000, 50_000),
    ("50000-100000", 50_000, 100_000),
    ("100000-250000", 100_000, 250_000),
    ("250000-", 250_000, None),
)


def price_band_of(price: int) -> str:
    """The band slug a price falls in; a band includes its low end only."""
    for slug, low, high in PRICE_BANDS:
        if price >= low and (high is None or price < high):
            return slug
    return PRICE_BANDS[0][0]


@dataclass(frozen=True, slots=True)
class ProductDocument:
    id: int
    name: str
    description: str
    shop_id: int
    shop_name: str
    shop_type: str  # "umkm" | "koperasi"
    kecamatan: str
    kelurahan: str
    categories: tuple[str, ...]  # slugs: (top, leaf) or (top,)
    category_names: tuple[str, ...]  # words a shopper may type ("Kopi", "Makanan Ringan")
    price: int  # rupiah
    in_stock: bool
    created_at: int  # unix seconds; "newest" sorts on it
    stand_codes: tuple[str, ...] = ()  # fair stands selling it (fair issue)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str = ""
    categories: tuple[str, ...] = ()  # any of these slugs
    kecamatan: tuple[str, ...] = ()
    kelurahan: tuple[str, ...] = ()
    stand_codes: tuple[str, ...] = ()  # products on any of these fair stands
    shop_type: str | None = None
    shop_id: int | None = None
    in_stock: bool | None = None
    price_min: int | None = None  # inclusive
    price_max: int | None = None  # exclusive, like the bands
    sort: str = "relevance"
    offset: int = 0
    limit: int = 24
    with_facets: bool = True


@dataclass(slots=True)
class SearchResults:
    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    # id -> name with matched words wrapped in <mark>; the text is HTML-escaped first.
    highlights: dict[int, str] = field(default_factory=dict)


class SearchUnavailable(Exception):
    """The engine cannot answer now; the storefront falls back and says so."""


class SearchBackend(Protocol):
    name: str

    def upsert(self, documents: list[ProductDocument]) -> None: ...

    def delete(self, ids: list[int]) -> None: ...

    def clear(self) -> None: ...

    def setup(self) -> None:
        """Create the index and apply its settings, waiting until done (never per request)."""
        ...

    def search(self, query: SearchQuery) -> SearchResults: ...

    def count(self) -> int: ...

    def replace_all(self, documents, progress=None) -> None:
        """Rebuild from scratch; ``documents`` is an iterable of batches."""
        ...
