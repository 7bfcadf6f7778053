"""Search on a Meilisearch server, through the official ``meilisearch`` client.

What a shopper sees matches the embedded backend: the same words reach the
engine (``query_words``: punctuation dropped, so no engine syntax gets
through), the same typo budget, every word required, the same facets and sort
orders, and highlights made by the shared highlighter.

Index settings are applied by ``setup()`` (the ``search-setup`` command) and by
``replace_all``; a search never sends settings. Writes wait for their tasks, so
a caller (the outbox worker) removes its rows only once Meilisearch has taken
the change; a failed or unfinished task raises ``SearchUnavailable`` and the
rows stay for a retry.

A search goes over a kept-alive connection of its own per thread (``_SearchConnection``),
with TCP_NODELAY and the request in one write: the SDK opens a new connection for every
call, and a reused connection that sends headers and body apart meets Nagle's algorithm
and the server's delayed ACK (a ~40 ms stall per search).

Filters are built here from a fixed list of attributes, and every value a
shopper can influence is either an integer formatted by Python or a string in
double quotes with backslash and quote escaped, so no value can change the
shape of the filter expression.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import requests
from meilisearch import Client
from meilisearch.errors import MeilisearchApiError, MeilisearchError

from search.documents import (
    FACETS,
    ProductDocument,
    SearchQuery,
    SearchResults,
    SearchUnavailable,
    price_band_of,
)
from search.highlight import highlight, query_words
from search.synonyms import synonym_map

# As the embedded backend: no shopper pages deeper, and offsets stay cheap.
MAX_WINDOW = 10_000
# Totals are exact up to this many matches (Meilisearch stops counting there).
MAX_TOTAL_HITS = 1_000_000

SEARCHABLE = ("name", "category_names", "shop_name", "description")
FILTERABLE = ("id", "categories", "kecamatan", "kelurahan", "shop_type", "shop_id", "in_stock",
              "price", "price_band", "stand_codes")
SETTINGS = {
    "searchableAttributes": list(SEARCHABLE),
    "filterableAttributes": list(FILTERABLE),
    "sortableAttributes": ["price", "created_at", "id"],
    # Meilisearch's defaults, spelled out: fewer missing words, fewer typos,
    # closer words, the better field (name first), then sort, then exact over prefix.
    "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
    # The typo budget of search.highlight.typo_budget: 1 from 4 letters, 2 from 8.
    "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 4, "twoTypos": 8}},
    "synonyms": synonym_map(),
    "stopWords": [],
    # Every ASCII punctuation mark splits words, as search.highlight.query_words splits
    # the query: by default "<b>Kopi" would be one word and "kopi" would not find it.
    "separatorTokens": list(string.punctuation),
    "faceting": {"maxValuesPerFacet": 1000},
    "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
    # Names are short: word pairs across the whole product cost index time for nothing.
    "proximityPrecision": "byAttribute",
}

_SORTS = {
    "newest": ["created_at:desc", "id:desc"],
    "price_asc": ["price:asc", "id:asc"],
    "price_desc": ["price:desc", "id:desc"],
}
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,200}")


def _as_fields(doc: ProductDocument) -> dict:
    return {
        "id": doc.id,
        "name": doc.name,
        "description": doc.description,
        "shop_id": doc.shop_id,
        "shop_name": doc.shop_name,
        "shop_type": doc.shop_type,
        "kecamatan": doc.kecamatan,
        "kelurahan": doc.kelurahan,
        "categories": list(doc.categories),
        "category_names": list(doc.category_names),
        "price": doc.price,
        "price_band": price_band_of(doc.price),
        "in_stock": doc.in_stock,
        "created_at": doc.created_at,
        "stand_codes": list(doc.stand_codes),
    }


# --- filters -------------------------------------------------------------------------

def quote(value: object) -> str:
    """A filter value as a Meilisearch string literal: nothing inside can end it."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _number(value: object) -> str:
    # bool is an int: True would become 1 and match ids or prices of 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return str(value)


def _any_of(attribute: str, values: Iterable[object]) -> str:
    return f"{attribute} IN [{', '.join(quote(v) for v in values)}]"


def filters_for(query: SearchQuery) -> list[str]:
    """The filter expressions for a query, ANDed by Meilisearch; attributes are fixed here."""
    filters = []
    for attribute in ("categories", "kecamatan", "kelurahan", "stand_codes"):
        if values := getattr(query, attribute):
            filters.append(_any_of(attribute, values))
    if query.shop_type is not None:
        filters.append(f"shop_type = {quote(query.shop_type)}")
    if query.shop_id is not None:
        filters.append(f"shop_id = {_number(query.shop_id)}")
    if query.in_stock is not None:
        filters.append("in_stock = true" if query.in_stock is True else "in_stock = false")
    if query.price_min is not None:
        filters.append(f"price >= {_number(query.price_min)}")
    if query.price_max is not None:
        filters.append(f"price < {_number(query.price_max)}")
    return filters


def _facets(distribution: dict) -> dict[str, dict[str, int]]:
    facets = {name: {k: n for k, n in distribution.get(name, {}).items() if n} for name in FACETS}
    # A storefront shows how many are in stock, not how many are not.
    facets["in_stock"] = {k: n for k, n in facets["in_stock"].items() if k == "true"}
    return facets


def _page(offset: int, limit: int) -> tuple[int, int, int]:
    """(page, hitsPerPage, hits to skip in the answer) for an offset and a limit.

    Page numbers give exact totals (offset and limit only estimate them); an
    offset that is not a whole number of pages is read from the first page.
    """
    if limit == 0:
        return 1, 0, 0
    if offset % limit == 0:
        return offset // limit + 1, limit, 0
    return 1, offset + limit, offset


class _SearchConnection:
    """One kept-alive HTTP/1.1 connection to Meilisearch for searches: TCP_NODELAY, the
    whole request in one write, and one fresh connection when a kept one was closed."""

    def __init__(self, url: str, key: str | None, timeout: float):
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._host, self._port, timeout=self._timeout)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def post(self, path: str, body: dict) -> tuple[int, bytes]:
        data = json.dumps(body).encode()
        for attempt in (1, 2):
            fresh = self._connection is None
            if fresh:
                self._connection = self._connect()
            try:
                # bytes: http.client sends headers and body in one write
                self._connection.request("POST", self._base + path, body=data,
                                         headers=self._headers)
                answer = self._connection.getresponse()
                return answer.status, answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest, http.client.BadStatusLine):
                self.close()
                if fresh or attempt == 2:
                    raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class MeiliBackend:
    """One Meilisearch index, ``<prefix>_products``, on a server the operator runs.

    ``key`` is the master key; or give ``search_key`` for searches and
    ``admin_key`` for writes and settings. ``timeout`` (seconds) bounds a
    search: past it the storefront answers from the database instead.
    """

    name = "meilisearch"

    def __init__(self, url: str, key: str | None = None, *, prefix: str = "gerai",
                 search_key: str | None = None, admin_key: str | None = None,
                 timeout: float = 0.3, write_timeout: float = 30.0,
                 retry_after: float = 2.0) -> None:
        if not url:
            raise ValueError("MEILI_URL is not set")
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(f"index prefix {prefix!r}: letters, digits, - and _ only")
        self.url = url.rstrip("/")
        self.uid = f"{prefix}_products"
        self.rebuild_uid = f"{prefix}_products_rebuild"
        self._search_key = search_key or key
        self._admin_key = admin_key or key
        self._timeout = timeout
        self._write_timeout = write_timeout
        # After a search fails to connect, the next ones fall back at once for a
        # moment instead of each waiting out the timeout.
        self._retry_after = retry_after
        self._down_until = 0.0
        # The client keeps headers in a shared dict it changes per request, so
        # each thread gets its own clients.
        self._local = threading.local()
        self._ready = False

    # --- clients ------------------------------------------------------------------

    def _search_connection(self) -> _SearchConnection:
        if (connection := getattr(self._local, "search_connection", None)) is None:
            connection = self._local.search_connection = _SearchConnection(
                self.url, self._search_key, self._timeout)
        return connection

    def _admin(self) -> Client:
        if (client := getattr(self._local, "admin", None)) is None:
            client = self._local.admin = Client(self.url, self._admin_key,
                                                timeout=self._write_timeout)
        return client

    # --- tasks and settings -------------------------------------------------------

    def _wait(self, task_uids: list[int]) -> None:
        deadline_ms = int(self._write_timeout * 1000)
        for uid in task_uids:
            task = self._admin().wait_for_task(uid, timeout_in_ms=deadline_ms, interval_in_ms=10)
            if task.status != "succeeded":
                error = (task.error or {}).get("message", task.status)
                raise SearchUnavailable(f"Meilisearch task {uid} {task.status}: {error}")

    def _exists(self, uid: str) -> bool:
        try:
            self._admin().get_raw_index(uid)
        except MeilisearchApiError as error:
            if error.code == "index_not_found":
                return False
            raise
        return True

    def _create(self, uid: str) -> None:
        """An index with Gerai's settings (applied to an existing one too)."""
        admin = self._admin()
        tasks = []
        if not self._exists(uid):
            tasks.append(admin.create_index(uid, {"primaryKey": "id"}).task_uid)
        tasks.append(admin.index(uid).update_settings(SETTINGS).task_uid)
        self._wait(tasks)

    def _delete_index(self, uid: str) -> None:
        self._wait([self._admin().delete_index(uid).task_uid])

    def _writing(self, action: Callable[[], None], what: str) -> None:
        try:
            if not self._ready:
                # Once per process: a server started empty gets the index with its
                # settings before the first write, never one created bare by it.
                self._create(self.uid)
                self._ready = True
            action()
        except (MeilisearchError, requests.RequestException) as error:
            raise SearchUnavailable(f"Meilisearch {what} failed: {error}") from error

    def setup(self) -> None:
        """Create the index if needed and apply the settings, waiting for both."""
        self._ready = False  # applied again, even if this process did it before
        self._writing(lambda: None, "setup")

    # --- writes -------------------------------------------------------------------

    def _targets(self) -> list[str]:
        # While a rebuild fills its index, changes go there too, so the swap
        # does not bring back what the outbox applied meanwhile.
        return [self.uid, self.rebuild_uid] if self._exists(self.rebuild_uid) else [self.uid]

    def upsert(self, documents: list[ProductDocument]) -> None:
        if not documents:
            return
        fields = [_as_fields(doc) for doc in documents]

        def add():
            admin = self._admin()
            self._wait([admin.index(uid).add_documents(fields, primary_key="id").task_uid
                        for uid in self._targets()])

        self._writing(add, "upsert")

    def delete(self, ids: list[int]) -> None:
        if not ids:
            return
        expression = f"id IN [{', '.join(_number(i) for i in ids)}]"

        def remove():
            admin = self._admin()
            self._wait([admin.index(uid).delete_documents(filter=expression).task_uid
                        for uid in self._targets()])

        self._writing(remove, "delete")

    def clear(self) -> None:
        self._writing(
            lambda: self._wait([self._admin().index(self.uid).delete_all_documents().task_uid]),
            "clear")

    def replace_all(self, documents: Iterable[list[ProductDocument]],
                    progress: Callable[[int], None] | None = None) -> None:
        """Fill a fresh index, then swap it with the live one: searches never see a gap."""

        def rebuild():
            admin = self._admin()
            if self._exists(self.rebuild_uid):  # left by a rebuild that died
                self._delete_index(self.rebuild_uid)
            self._create(self.rebuild_uid)
            building = admin.index(self.rebuild_uid)
            # A few batches in flight: Meilisearch indexes one while the next is read.
            in_flight: deque[tuple[int, int]] = deque()
            try:
                for batch in documents:
                    task = (building.add_documents([_as_fields(d) for d in batch], primary_key="id")
                            if batch else None)
                    in_flight.append((task.task_uid if task else None, len(batch)))
                    while len(in_flight) > 3:
                        self._finish(in_flight, progress)
                while in_flight:
                    self._finish(in_flight, progress)
                self._wait([admin.swap_indexes([{"indexes": [self.uid, self.rebuild_uid]}])
                            .task_uid])
            finally:
                # After the swap it holds the old catalogue; after a failure, a partial one.
                self._delete_index(self.rebuild_uid)

        self._writing(rebuild, "rebuild")

    def _finish(self, in_flight: deque[tuple[int | None, int]], progress: Callable[[int], None] | None) -> None:
        uid, size = in_flight.popleft()
        self._wait([uid] if uid is not None else [])
        if progress is not None:
            progress(size)

    # --- reads --------------------------------------------------------------------

    def count(self) -> int:
        try:
            stats = self._admin().index(self.uid).get_stats()
        except MeilisearchApiError as error:
            if error.code == "index_not_found":
                return 0
            raise SearchUnavailable(f"Meilisearch count failed: {error}") from error
        except (MeilisearchError, requests.RequestException) as error:
            raise SearchUnavailable(f"Meilisearch count failed: {error}") from error
        return stats.number_of_documents

    def search(self, query: SearchQuery) -> SearchResults:
        if time.monotonic() < self._down_until:
            raise SearchUnavailable("Meilisearch did not answer a moment ago")
        words = query_words(query.text)
        sort = query.sort if query.sort in _SORTS else "relevance"
        if sort == "relevance" and not words:
            sort = "newest"
        offset = min(max(query.offset, 0), MAX_WINDOW)
        limit = min(max(query.limit, 0), MAX_WINDOW - offset)
        page, per_page, skip = _page(offset, limit)
        params: dict = {
            "filter": filters_for(query),
            "matchingStrategy": "all",
            "page": page,
            "hitsPerPage": per_page,
            "attributesToRetrieve": ["id", "name"],
        }
        if sort in _SORTS:
            params["sort"] = _SORTS[sort]
        if query.with_facets:
            params["facets"] = list(FACETS)
        try:
            status, body = self._search_connection().post(
                f"/indexes/{self.uid}/search", {"q": " ".join(words), **params})
        except (OSError, http.client.HTTPException) as error:  # timeouts are OSErrors
            self._down_until = time.monotonic() + self._retry_after
            raise SearchUnavailable(f"Meilisearch search failed: {error!r}") from error
        if status != 200:  # the server answered: an API error, not a server that is down
            raise SearchUnavailable(f"Meilisearch search failed: HTTP {status} "
                                    f"{body[:300].decode(errors='replace')}")
        try:
            answer = json.loads(body)
        except ValueError as error:
            raise SearchUnavailable(f"Meilisearch search answered no JSON: {error}") from error
        hits = answer["hits"][skip:]
        ids = [hit["id"] for hit in hits]
        return SearchResults(
            ids=ids,
            total=answer.get("totalHits", 0),
            facets=_facets(answer.get("facetDistribution", {})) if query.with_facets else {},
            highlights={hit["id"]: highlight(hit["name"], query.text) for hit in hits},
        )
