"""Product search behind one protocol; the storefront chooses the backend."""

from search.documents import (
    FACETS,
    PRICE_BANDS,
    SORTS,
    ProductDocument,
    SearchBackend,
    SearchQuery,
    SearchResults,
    SearchUnavailable,
    price_band_of,
)
from search.embedded import EmbeddedBackend
from search.highlight import highlight

__all__ = [
    "FACETS",
    "PRICE_BANDS",
    "SORTS",
    "EmbeddedBackend",
    "ProductDocument",
    "SearchBackend",
    "SearchQuery",
    "SearchResults",
    "SearchUnavailable",
    "highlight",
    "price_band_of",
]
