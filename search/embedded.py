"""Search inside the web process, on tantivy: no server to run for small deployments.

Ranking follows Meilisearch's default rules, in order: fewer mistyped words,
then the field that matched (name over categories over shop over description),
then an exact word over a prefix. Each rule gets a score tier wide enough that the
sum over up to ``MAX_QUERY_WORDS`` words never spills into the tier above, so
ordering by score is ordering by the rules.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import tantivy
from tantivy import Occur, Order, Query

from search.documents import (
    PRICE_BANDS,
    ProductDocument,
    SearchQuery,
    SearchResults,
    SearchUnavailable,
)
from search.highlight import MAX_WORD_CHARS, highlight, query_words, typo_budget
from search.synonyms import alternatives as other_spellings

ANALYZER = "gerai_fold"

# (field, score for a match in it); description adds nothing beyond its tier.
TEXT_FIELDS = (
    ("name", 300.0),
    ("category_names", 200.0),
    ("shop_name", 100.0),
    ("description", 0.0),
)
# The word still being typed is not prefix-matched in descriptions: their
# vocabulary is the largest, so a two-letter prefix expands to hundreds of
# terms covering most products, which costs the most and ranks nothing useful.
PREFIX_FIELDS = frozenset({"name", "category_names", "shop_name"})
NO_TYPO = 10_000.0
EXACT_WORD = 5.0

# Sort keys pack a value and the id in one u64, because tantivy orders by a
# single fast field and pages must not shuffle rows that tie on the value.
_LOW32 = 0xFFFF_FFFF
_SORT_FIELDS = {
    "newest": ("newest_key", Order.Desc),
    "price_asc": ("price_key", Order.Asc),
    "price_desc": ("price_key", Order.Desc),
}

# Tantivy holds offset + limit hits while collecting, and panics on absurd
# windows; no shopper pages this deep (Meilisearch stops at 1,000 by default).
MAX_WINDOW = 10_000

TERMS_FACETS = ("categories", "kecamatan", "shop_type", "in_stock")
# Larger than any real count of categories or kecamatan, so no bucket is cut.
_TERMS_SIZE = 10_000


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_WORD_CHARS + 1))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    for field, _ in TEXT_FIELDS:
        # Only which documents hold a word matters: scores are set per tier.
        builder.add_text_field(
            field, stored=field == "name", tokenizer_name=ANALYZER, index_option="basic"
        )
    for field in ("categories", "kecamatan", "kelurahan", "shop_type", "stand_codes"):
        builder.add_text_field(field, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("shop_id", indexed=True, fast=True)
    builder.add_boolean_field("in_stock", indexed=True, fast=True)
    builder.add_integer_field("price", indexed=True, fast=True)
    builder.add_unsigned_field("newest_key", fast=True)
    builder.add_unsigned_field("price_key", fast=True)
    return builder.build()


SCHEMA = _schema()

_PRICE_RANGES = [
    # The first band also takes negative prices, as price_band_of does.
    {"key": slug, **({"from": low} if i else {}), **({"to": high} if high is not None else {})}
    for i, (slug, low, high) in enumerate(PRICE_BANDS)
]
_FACET_AGGREGATIONS = {
    **{name: {"terms": {"field": name, "size": _TERMS_SIZE}} for name in TERMS_FACETS},
    "price_band": {"range": {"field": "price", "ranges": _PRICE_RANGES}},
}


def _pack(value: int, product_id: int) -> int:
    return (min(max(value, 0), _LOW32) << 32) | (product_id & _LOW32)


def _as_fields(doc: ProductDocument) -> dict:
    return {
        "id": doc.id,
        "name": doc.name,
        "category_names": list(doc.category_names),
        "shop_name": doc.shop_name,
        "description": doc.description,
        "categories": list(doc.categories),
        "kecamatan": doc.kecamatan,
        "kelurahan": doc.kelurahan,
        "shop_type": doc.shop_type,
        "stand_codes": list(doc.stand_codes),
        "shop_id": doc.shop_id,
        "in_stock": doc.in_stock,
        "price": doc.price,
        "newest_key": _pack(doc.created_at, doc.id),
        "price_key": _pack(doc.price, doc.id),
    }


def _word_query(word: str, last: bool) -> Query:
    """Any field holding the word; the best-ranked way it matched sets the score."""
    budget = typo_budget(word)
    alternatives = []
    for field, weight in TEXT_FIELDS:
        prefix = last and field in PREFIX_FIELDS
        # Another spelling of the word (kripik for keripik) counts as the word itself.
        for spelling in (word, *other_spellings(word)):
            alternatives.append(
                Query.const_score_query(
                    Query.term_query(SCHEMA, field, spelling, index_option="basic"),
                    NO_TYPO + weight + EXACT_WORD,
                )
            )
        if prefix:
            alternatives.append(
                Query.const_score_query(
                    Query.fuzzy_term_query(SCHEMA, field, word, 0, True, True), NO_TYPO + weight
                )
            )
        if budget:
            alternatives.append(
                Query.const_score_query(
                    Query.fuzzy_term_query(SCHEMA, field, word, budget, True, prefix), weight
                )
            )
    return Query.disjunction_max_query(alternatives)


def _filters(query: SearchQuery) -> list[Query]:
    filters = []
    for field in ("categories", "kecamatan", "kelurahan", "stand_codes"):
        values = getattr(query, field)
        if values:
            filters.append(Query.term_set_query(SCHEMA, field, list(values)))
    if query.shop_type is not None:
        filters.append(Query.term_query(SCHEMA, "shop_type", query.shop_type))
    if query.shop_id is not None:
        filters.append(Query.term_query(SCHEMA, "shop_id", query.shop_id))
    if query.in_stock is not None:
        filters.append(Query.term_query(SCHEMA, "in_stock", query.in_stock))
    if query.price_min is not None or query.price_max is not None:
        filters.append(
            Query.range_query(
                SCHEMA,
                "price",
                tantivy.FieldType.Integer,
                query.price_min,
                query.price_max,
                include_upper=query.price_max is None,
            )
        )
    return filters


def _engine_query(words: list[str] | tuple[str, ...], filters: list[Query]) -> Query:
    last = len(words) - 1
    clauses = [(Occur.Must, _word_query(word, i == last)) for i, word in enumerate(words)]
    # Filters narrow the matches but must not move scores between tiers.
    clauses += [(Occur.Must, Query.const_score_query(f, 0.0)) for f in filters]
    if not clauses:
        return Query.all_query()
    return Query.boolean_query(clauses)


def _facets(aggregations: dict) -> dict[str, dict[str, int]]:
    facets = {}
    for name, result in aggregations.items():
        facets[name] = {
            bucket.get("key_as_string", bucket["key"]): bucket["doc_count"]
            for bucket in result["buckets"]
            if bucket["doc_count"]
        }
    # A storefront shows how many are in stock, not how many are not.
    facets["in_stock"] = {k: n for k, n in facets["in_stock"].items() if k == "true"}
    return facets


class EmbeddedBackend:
    """A tantivy index, in memory (``path=None``) or in a directory it owns."""

    name = "embedded"

    def __init__(self, path: str | None = None, *, writer_heap_bytes: int = 64_000_000) -> None:
        self._index = self._open(path)
        # Query words go through the analyzer that indexed the documents, so
        # folding can never differ between the two.
        self._analyzer = _analyzer()
        self._index.register_tokenizer(ANALYZER, self._analyzer)
        self._writer_heap_bytes = writer_heap_bytes
        # Tantivy allows one writer per index, across processes too; it is made
        # on the first write, so processes that only search never hold its lock.
        self._writer: tantivy.IndexWriter | None = None
        self._write_lock = threading.Lock()
        self._facet_pool: ThreadPoolExecutor | None = None
        self._facet_pool_pid = 0
        self._facet_pool_lock = threading.Lock()

    @staticmethod
    def _open(path: str | None) -> tantivy.Index:
        if path is None:
            return tantivy.Index(SCHEMA)
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        if tantivy.Index.exists(str(directory)):
            try:
                if tantivy.Index.is_compatible(str(directory)):
                    index = tantivy.Index.open(str(directory))
                    if index.schema == SCHEMA:
                        return index
            except (ValueError, OSError):
                pass  # unreadable: rebuilt below like an incompatible one
            # Built by another schema or tantivy: the index is derived data,
            # so start empty and let the caller's rebuild refill it.
            shutil.rmtree(directory)
            directory.mkdir()
        return tantivy.Index(SCHEMA, str(directory), reuse=False)

    def _facet_workers(self) -> ThreadPoolExecutor:
        # Tantivy lets go of the GIL, so facets are counted on another core
        # while this thread ranks: a search costs the longer pass, not both.
        # A pool made before a fork (gunicorn --preload) has no threads in the
        # child, so each process makes its own.
        with self._facet_pool_lock:
            if self._facet_pool is None or self._facet_pool_pid != os.getpid():
                self._facet_pool = ThreadPoolExecutor(
                    max_workers=os.cpu_count() or 1, thread_name_prefix="gerai-facets"
                )
                self._facet_pool_pid = os.getpid()
            return self._facet_pool

    def _writer_locked(self) -> tantivy.IndexWriter:
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=self._writer_heap_bytes)
            except ValueError as exc:
                raise SearchUnavailable(f"cannot write the search index: {exc}") from exc
        return self._writer

    def _publish(self, writer: tantivy.IndexWriter) -> None:
        writer.commit()
        self._index.reload()

    def upsert(self, documents: list[ProductDocument]) -> None:
        with self._write_lock:
            writer = self._writer_locked()
            for doc in documents:
                writer.delete_documents_by_term("id", doc.id)
                writer.add_document(tantivy.Document.from_dict(_as_fields(doc), SCHEMA))
            self._publish(writer)

    def delete(self, ids: list[int]) -> None:
        with self._write_lock:
            writer = self._writer_locked()
            for product_id in ids:
                writer.delete_documents_by_term("id", product_id)
            self._publish(writer)

    def setup(self) -> None:
        """Nothing to set up: the schema is fixed in code."""

    def clear(self) -> None:
        with self._write_lock:
            writer = self._writer_locked()
            writer.delete_all_documents()
            self._publish(writer)

    def replace_all(
        self,
        documents: Iterable[list[ProductDocument]],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Rebuild from batches; searches see the old index until the one commit."""
        with self._write_lock:
            writer = self._writer_locked()
            try:
                writer.delete_all_documents()
                for batch in documents:
                    for doc in batch:
                        writer.add_document(tantivy.Document.from_dict(_as_fields(doc), SCHEMA))
                    if progress is not None:
                        progress(len(batch))
                self._publish(writer)
            except BaseException:
                writer.rollback()
                raise

    def close(self) -> None:
        """Let go of the writer's lock and the facet threads; searching still works."""
        with self._write_lock:
            if self._writer is not None:
                self._writer.wait_merging_threads()
                self._writer = None
        with self._facet_pool_lock:
            if self._facet_pool is not None:
                self._facet_pool.shutdown()
                self._facet_pool = None

    def count(self) -> int:
        return self._index.searcher().num_docs

    def search(self, query: SearchQuery) -> SearchResults:
        words = [term for word in query_words(query.text) for term in self._analyzer.analyze(word)]
        engine_query = _engine_query(words, _filters(query))
        sort = query.sort if query.sort in _SORT_FIELDS else "relevance"
        if sort == "relevance" and not words:
            sort = "newest"
        offset = min(max(query.offset, 0), MAX_WINDOW)
        limit = min(max(query.limit, 0), MAX_WINDOW - offset)
        # Tantivy refuses a limit of 0; a caller may want only the total and facets.
        engine_limit = max(limit, 1)
        try:
            searcher = self._index.searcher()
            counting = (
                self._facet_workers().submit(searcher.aggregate, engine_query, _FACET_AGGREGATIONS)
                if query.with_facets
                else None
            )
            if sort == "relevance":
                found = searcher.search(engine_query, engine_limit, count=True, offset=offset)
            else:
                field, order = _SORT_FIELDS[sort]
                found = searcher.search(
                    engine_query,
                    engine_limit,
                    count=True,
                    order_by_field=field,
                    offset=offset,
                    order=order,
                )
            addresses = [address for _, address in found.hits[:limit]]
            ids = searcher.fast_field_values("id", addresses)
            names = [searcher.doc(address).get_first("name") for address in addresses]
            facets = _facets(counting.result()) if counting is not None else {}
        except (ValueError, OSError) as exc:
            raise SearchUnavailable(f"embedded search failed: {exc}") from exc
        return SearchResults(
            ids=ids,
            total=found.count,
            facets=facets,
            highlights={pid: highlight(name, query.text) for pid, name in zip(ids, names)},
        )
