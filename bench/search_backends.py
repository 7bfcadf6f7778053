"""Both search backends side by side: relevance on the demo catalogue, then speed at scale.

    .venv/bin/python bench/search_backends.py [--products 100000] [--scratch /tmp/gerai-bench-100k]
                                              [--lag-seconds 20] [--rounds 3]

1. Relevance: the demo catalogue (``seed-demo``'s 640 products) in a temporary
   database, indexed by each backend; a judged set of queries (as meant,
   misspelled, half typed, Indonesian spelling variants, several words,
   category words), each with the products that must be in the top 10.
   Prints recall@10 per query kind and overall for each backend.
2. Scale, on the seeded scratch instance of bench/catalogue.py (made here when
   missing, reused when present): the full index build from documents in
   memory; the outbox lag while products are updated at 50 a second and the
   worker runs in a thread; and p50/p95 of the catalogue search fragment
   (htmx, ``HX-Target: hasil``) through the app with its fragment cache off.

Meilisearch is the server at MEILI_URL (with MEILI_MASTER_KEY), or else the
test binary from tests/meilisearch (``make test-search-server`` installs it) on
a free loopback port. Prints figures only; it never fails on a missed target.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# The project's packages (search, storefront, bench) from the project root. (No module in
# bench/ is named like one of them: this file was bench/search.py and shadowed search.)
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from search import EmbeddedBackend, ProductDocument, SearchQuery  # noqa: E402
from search.meili import MeiliBackend  # noqa: E402


def _catalogue_bench():
    """bench/catalogue.py (its scratch instance and URLs), imported when needed."""
    from bench import catalogue

    return catalogue


def percentiles(values):
    from bench._loadgen import percentiles

    return percentiles(values)

RECALL_TARGET = 0.95
LAG_RATE = 50  # product updates a second
P95_TARGET_MS = 25.0  # catalogue search fragment through the app, Meilisearch


@dataclass(frozen=True)
class Judged:
    text: str
    kind: str
    names: tuple[str, ...] = ()  # relevant: a name starting with one of these
    category: str | None = None  # or: in this category (slug)

    def relevant(self, doc: ProductDocument) -> bool:
        return (any(doc.name.startswith(name) for name in self.names)
                or (self.category is not None and self.category in doc.categories))


def _judged(kind: str, *rows) -> list[Judged]:
    return [Judged(text, kind, names=tuple(names) if isinstance(names, tuple) else (names,))
            for text, names in rows]


JUDGED = [
    *_judged("as meant",
             ("keripik pedas daun jeruk", "Keripik Pedas Daun Jeruk"), ("kopi robusta", "Kopi Robusta"),
             ("dodol betawi durian", "Dodol Betawi Durian"), ("batik tulis", "Batik Tulis"),
             ("tas anyaman pandan besar", "Tas Anyaman Pandan Besar"),
             ("madu kelulut", "Madu Kelulut"), ("sambal cumi", "Sambal Cumi"),
             ("bir pletok", "Bir Pletok"), ("jamu kunyit asam", "Jamu Kunyit Asam"),
             ("otak otak bandeng", "Otak-Otak Bandeng"), ("gula aren cair", "Gula Aren Cair"),
             ("anggrek bulan", "Anggrek Bulan"), ("wayang golek", "Wayang Golek"),
             ("kursi rotan teras", "Kursi Rotan Teras"), ("sabun sereh", "Sabun Sereh")),
    *_judged("misspelled",
             ("kripik pedes", "Keripik Pedas"), ("kopi robsta", "Kopi Robusta"),
             ("dodl betawi", "Dodol Betawi"), ("btik cap", "Batik Cap"),
             ("rempeyek kacnag", "Rempeyek Kacang"), ("somay ikan", "Siomay Ikan"),
             ("temulawak instant", "Temulawak Instan"), ("maddu hutan", "Madu Hutan"),
             ("kerudng segi empat", "Kerudung Segi Empat"),
             ("pempek kapal selem", "Pempek Kapal Selam"), ("bonsay beringin", "Bonsai Beringin")),
    *_judged("half typed",
             ("kop", "Kopi"), ("temula", "Temulawak"), ("batik tu", "Batik Tulis"),
             ("madu hu", "Madu Hutan"), ("kursi ro", "Kursi Rotan"), ("bons", "Bonsai"),
             ("lulur beng", "Lulur Bengkoang"), ("wedang u", "Wedang Uwuh")),
    *_judged("spelling variant",
             ("sambel terasi", "Sambal Terasi"), ("kripik singkong", "Keripik Singkong"),
             ("krupuk kulit", "Kerupuk Kulit"), ("kripik pisang", "Keripik Pisang"),
             ("sirop pala", "Sirup Pala"), ("kueh lapis", "Kue Lapis"), ("sambel bawang", "Sambal Bawang")),
    *[Judged(text, "category word", category=slug) for text, slug in (
        ("minuman tradisional", "minuman-tradisional"), ("tanaman hias", "tanaman-hias"),
        ("makanan beku", "makanan-beku"), ("pakaian muslim", "pakaian-muslim"),
        ("souvenir", "souvenir"), ("teh herbal", "teh-herbal"))],
]


# --- the backends ---------------------------------------------------------------------

class Meilisearch:
    """The server to use: MEILI_URL, or the test binary started here until close()."""

    def __init__(self, data_dir: Path):
        import os

        self.server = None
        if url := os.environ.get("MEILI_URL"):
            self.url, self.key = url, os.environ.get("MEILI_MASTER_KEY", "")
            return
        from tests.meili_server import MeiliServer, binary_missing

        if reason := binary_missing():
            raise SystemExit(f"no Meilisearch to measure: {reason}")
        self.server = MeiliServer(data_dir).start()
        self.url, self.key = self.server.url, self.server.key

    def backend(self, prefix: str) -> MeiliBackend:
        # A generous search timeout: this measures the engine, not the fallback.
        return MeiliBackend(self.url, self.key, prefix=prefix, timeout=5.0)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def demo_documents() -> list[ProductDocument]:
    """seed-demo's catalogue, through the app, as the search index sees it."""
    from storefront import create_app
    from storefront.demo.seed import seed
    from storefront.extensions import db
    from storefront.indexing.services import visible_document_batches

    with tempfile.TemporaryDirectory(prefix="gerai-relevance-") as folder:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/demo.db",
                          "SECRET_KEY": "bench", "SEARCH_BACKEND": "embedded",
                          "SEARCH_INDEX_PATH": "", "MEDIA_ROOT": f"{folder}/media"})
        with app.app_context():
            db.create_all()
            seed(products=640, media_root=None)
            documents = [doc for batch in visible_document_batches() for doc in batch]
            db.session.remove()
            db.engine.dispose()
    return documents


def relevance(backends: dict, documents: list[ProductDocument]) -> dict[str, float]:
    print(f"\n1. Relevance: recall@10 on the demo catalogue ({len(documents)} visible products, "
          f"{len(JUDGED)} judged queries)")
    kinds = list(dict.fromkeys(j.kind for j in JUDGED))
    overall = {}
    misses: dict[str, list[str]] = {}
    per_kind: dict[str, dict[str, list[float]]] = {}
    for name, backend in backends.items():
        backend.replace_all([documents])
        recalls = []
        for judged in JUDGED:
            relevant = {d.id for d in documents if judged.relevant(d)}
            if not relevant:
                raise SystemExit(f"judged query {judged.text!r} has no relevant product")
            top = backend.search(SearchQuery(text=judged.text, limit=10, with_facets=False)).ids
            recall = len(relevant & set(top)) / min(len(relevant), 10)
            recalls.append(recall)
            per_kind.setdefault(name, {}).setdefault(judged.kind, []).append(recall)
            if recall < 1:
                misses.setdefault(name, []).append(f"{judged.text!r} {recall:.2f}")
        overall[name] = statistics.fmean(recalls)
    print(f"  {'query kind':<22}" + "".join(f"{n:>14}" for n in backends))
    for kind in kinds:
        count = sum(1 for j in JUDGED if j.kind == kind)
        print(f"  {kind + f' ({count})':<22}"
              + "".join(f"{statistics.fmean(per_kind[n][kind]):14.3f}" for n in backends))
    print(f"  {'all':<22}" + "".join(f"{overall[n]:14.3f}" for n in backends)
          + f"   (target >= {RECALL_TARGET})")
    for name, missed in misses.items():
        print(f"  below 1 on {name}: " + ", ".join(missed))
    return overall


# --- at scale ---------------------------------------------------------------------------

def scratch_app(scratch: Path, backend_config: dict):
    from storefront import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch / 'gerai.db'}",
        "SECRET_KEY": "gerai-bench-only-not-a-secret",
        "MEDIA_ROOT": str(scratch / "media"),
        "FRAGMENT_CACHE_SECONDS": 0,  # every request asks the engine
        "WORKER_THREAD": False,
        "RATELIMIT_ENABLED": False,
        **backend_config,
    })


def build_time(backends: dict, documents: list[ProductDocument]) -> dict[str, float]:
    print(f"\n2. Full index build ({len(documents):,} documents in memory, batches of 2,000)")
    batches = [documents[i:i + 2000] for i in range(0, len(documents), 2000)]
    seconds = {}
    for name, backend in backends.items():
        started = time.perf_counter()
        backend.replace_all(iter(batches))
        seconds[name] = time.perf_counter() - started
        print(f"  {name:<14}{seconds[name]:7.1f} s   ({backend.count():,} documents, "
              f"{len(documents) / seconds[name]:,.0f} a second)")
    return seconds


def outbox_lag(app, seconds: float, rng: random.Random) -> dict:
    """Update products at LAG_RATE a second while the worker runs; sample the oldest pending row."""
    from sqlalchemy import select

    from storefront import worker
    from storefront.catalogue.models import Product
    from storefront.extensions import db
    from storefront.indexing import services
    from storefront.indexing.models import SearchOutbox
    from storefront.timeutil import utcnow

    stop = threading.Event()
    samples: list[float] = []

    def work():
        with app.app_context():
            worker.run(stop, search=True, payments=False, interval=0.05)

    with app.app_context():
        services.drain_outbox()
        ids = list(db.session.scalars(select(Product.id).where(Product.status == "active")))
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        started = time.perf_counter()
        made = 0
        next_sample = started
        while (now := time.perf_counter()) - started < seconds:
            if made < (now - started) * LAG_RATE:
                product = db.session.get(Product, rng.choice(ids))
                product.price += 500
                db.session.commit()
                made += 1
            if now >= next_sample:
                oldest = db.session.scalar(select(db.func.min(SearchOutbox.enqueued_at)))
                samples.append((utcnow() - oldest).total_seconds() if oldest else 0.0)
                db.session.rollback()
                next_sample = now + 0.1
            time.sleep(0.002)
        drain_started = time.perf_counter()
        while services.pending_count() and time.perf_counter() - drain_started < 60:
            db.session.rollback()
            time.sleep(0.02)
        drained = time.perf_counter() - drain_started
        left = services.pending_count()
        stop.set()
        thread.join(10)
        db.session.remove()
    cuts = percentiles([s * 1000 for s in samples])
    return {"updates": made, "p50": cuts["p50"], "p95": cuts["p95"], "max": max(samples) * 1000,
            "drain_s": drained, "left": left}


class NewConnectionEachTime:
    """A search as the meilisearch SDK sends it: requests.post, a new connection each time."""

    def __init__(self, url: str, key: str):
        self.url, self.key = url.rstrip("/"), key

    def post(self, path: str, body: dict) -> tuple[int, bytes]:
        import requests

        answer = requests.post(self.url + path, json=body, timeout=5,
                               headers={"Authorization": f"Bearer {self.key}"})
        return answer.status_code, answer.content


def fragment_times(app, rounds: int, variants: dict | None = None) -> dict:
    """p50/p95 of the catalogue's search fragment. ``variants`` (name -> a function that
    sets the app up so) are asked in turn for each URL: load that comes and goes on the
    machine falls on each alike, so their difference is theirs."""
    catalogue_bench = _catalogue_bench()
    urls = catalogue_bench.query_urls() + catalogue_bench.facet_urls()
    client = app.test_client()
    variants = variants or {"": lambda: None}
    for url in urls:  # warm: engine caches, templates, the category tree
        for switch in variants.values():
            switch()
            client.get(url, headers=catalogue_bench.HX)
    millis = {name: [] for name in variants}
    degraded = dict.fromkeys(variants, 0)
    bad = dict.fromkeys(variants, 0)
    for _ in range(rounds):
        for url in urls:
            for name, switch in variants.items():
                switch()
                started = time.perf_counter()
                response = client.get(url, headers=catalogue_bench.HX)
                millis[name].append((time.perf_counter() - started) * 1000)
                body = response.get_data()
                bad[name] += response.status_code != 200
                degraded[name] += b"pencarian sederhana" in body or b"simple search" in body
    figures = {}
    for name in variants:
        cuts = percentiles(millis[name])
        figures[name] = {"p50": cuts["p50"], "p95": cuts["p95"], "requests": len(millis[name]),
                         "degraded": degraded[name], "bad": bad[name]}
    return figures if len(variants) > 1 else figures[""]


def at_scale(args, meili: Meilisearch) -> dict:
    catalogue_bench = _catalogue_bench()
    scratch, _ = catalogue_bench.prepare_scratch(args)
    env = catalogue_bench.scratch_env(scratch)
    if not (scratch / catalogue_bench.MARKER).exists():
        print(f"\nSeeding {args.products:,} products into {scratch} (kept for later runs)")
        catalogue_bench.seed(scratch, env, args.products, args.shops, args.seed_timeout)
    else:
        catalogue_bench.flask_cli(env, "db", "upgrade", timeout=args.seed_timeout)
        catalogue_bench.flask_cli(env, "search-reindex", "--if-stale", timeout=args.seed_timeout)
    configs = {
        "embedded": {"SEARCH_BACKEND": "embedded",
                     "SEARCH_INDEX_PATH": str(scratch / "search-index-bench")},
        "meilisearch": {"SEARCH_BACKEND": "meilisearch", "MEILI_URL": meili.url,
                        "MEILI_MASTER_KEY": meili.key, "MEILI_INDEX_PREFIX": "bench",
                        "MEILI_TIMEOUT": 5.0},
    }
    apps = {name: scratch_app(scratch, config) for name, config in configs.items()}
    from storefront.extensions import db
    from storefront.indexing import services

    with apps["embedded"].app_context():
        documents = [doc for batch in services.visible_document_batches() for doc in batch]
        db.session.remove()
    backends = {}
    for name, app in apps.items():
        with app.app_context():
            backends[name] = services.backend()
            backends[name].setup()
    built = build_time(backends, documents)

    print(f"\n3. Outbox lag: {LAG_RATE} product updates a second for {args.lag_seconds:g} s, "
          "the worker in a thread (age of the oldest pending change, sampled every 0.1 s)")
    lag = {}
    for name, app in apps.items():
        lag[name] = outbox_lag(app, args.lag_seconds, random.Random(7))
        figures = lag[name]
        print(f"  {name:<14}p50 {figures['p50']:7.0f} ms  p95 {figures['p95']:7.0f} ms  "
              f"max {figures['max']:7.0f} ms   ({figures['updates']} updates; drained "
              f"{figures['drain_s']:.2f} s after the last, {figures['left']} left)")

    print(f"\n4. Catalogue search fragment through the app (Flask test client, one at a time, "
          f"fragment cache off, {args.rounds} rounds of bench/catalogue.py's query and facet URLs)")
    fragments = {"embedded": fragment_times(apps["embedded"], args.rounds)}
    # Meilisearch two ways in turn, on the same index, URL by URL: the backend's kept-alive
    # connection (TCP_NODELAY), and a new connection for each search as the meilisearch
    # SDK makes them (requests.post).
    meili_backend = backends["meilisearch"]
    kept = meili_backend._search_connection
    fragments.update(fragment_times(apps["meilisearch"], args.rounds, {
        "meilisearch": lambda: setattr(meili_backend, "_search_connection", kept),
        "meili, a new connection each search": lambda: setattr(
            meili_backend, "_search_connection",
            lambda: NewConnectionEachTime(meili.url, meili.key)),
    }))
    meili_backend._search_connection = kept
    for name, figures in fragments.items():
        print(f"  {name:<14}p50 {figures['p50']:6.2f} ms  p95 {figures['p95']:6.2f} ms   "
              f"({figures['requests']} requests, {figures['bad']} not 200, "
              f"{figures['degraded']} answered by the database fallback)")
    print("\n5. The Meilisearch search call alone, the two connections in turn (400 typed queries "
          "of bench/search_engine.py over these documents)")
    from bench.search_engine import queries as typed_queries

    asked = typed_queries(documents, 400)
    calls = {"kept-alive, TCP_NODELAY": kept,
             "a new connection each search (SDK)":
                 lambda: NewConnectionEachTime(meili.url, meili.key)}
    took = {name: [] for name in calls}
    for query in asked:
        for name, connection in calls.items():
            meili_backend._search_connection = connection
            started = time.perf_counter()
            meili_backend.search(query)
            took[name].append((time.perf_counter() - started) * 1000)
    meili_backend._search_connection = kept
    for name, millis in took.items():
        cuts = percentiles(millis)
        print(f"  {name:<36}p50 {cuts['p50']:6.2f} ms  p95 {cuts['p95']:6.2f} ms  "
              f"({sum(m >= 40 for m in millis)} of {len(millis)} took 40 ms or more)")
    bare = apps["embedded"].test_client()
    took = []
    for _ in range(200):
        started = time.perf_counter()
        bare.get("/sehat")
        took.append((time.perf_counter() - started) * 1000)
    cuts = percentiles(took)
    print(f"  {'bare /sehat':<14}p50 {cuts['p50']:6.2f} ms  p95 {cuts['p95']:6.2f} ms   (the "
          "baseline, same client, same run)")
    for backend in backends.values():
        if isinstance(backend, EmbeddedBackend):
            backend.close()
    return {"build": built, "lag": lag, "fragments": fragments, "documents": len(documents)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--shops", type=int, default=None)
    parser.add_argument("--scratch", default="/tmp/gerai-bench-100k",
                        help="seeded scratch instance (bench/catalogue.py --scratch makes the same)")
    parser.add_argument("--lag-seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the fragment URLs")
    parser.add_argument("--seed-timeout", type=float, default=1800)
    parser.add_argument("--relevance-only", action="store_true")
    args = parser.parse_args()

    import os
    import platform

    print(f"Gerai search backends side by side ({os.cpu_count()} cores, {platform.machine()}, "
          f"Python {platform.python_version()}); load average at start: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="gerai-bench-meili-") as folder:
        meili = Meilisearch(Path(folder))
        try:
            print(f"Meilisearch at {meili.url}"
                  + (" (the test binary, started here)" if meili.server else ""))
            backends = {"embedded": EmbeddedBackend(), "meilisearch": meili.backend("relevance")}
            backends["meilisearch"].setup()
            recall = relevance(backends, demo_documents())
            backends["embedded"].close()
            scale = None if args.relevance_only else at_scale(args, meili)
        finally:
            meili.close()

    print("\nSummary")
    rows = [(f"recall@10 {name} >= {RECALL_TARGET}", f"{value:.3f}", value >= RECALL_TARGET)
            for name, value in recall.items()]
    if scale:
        docs = scale["documents"]
        for name in ("embedded", "meilisearch"):
            rows.append((f"full build {docs:,} documents, {name}",
                         f"{scale['build'][name]:.1f} s", None))
            rows.append((f"outbox lag p95 at {LAG_RATE}/s, {name}",
                         f"{scale['lag'][name]['p95']:.0f} ms", None))
            p95 = scale["fragments"][name]["p95"]
            target = name == "meilisearch"
            rows.append((f"search fragment p95, {name}" + (f" < {P95_TARGET_MS:g} ms" if target else ""),
                         f"{p95:.2f} ms", p95 < P95_TARGET_MS if target else None))
        other = scale["fragments"]["meili, a new connection each search"]["p95"]
        rows.append(("... meilisearch, a new connection each search (SDK)", f"{other:.2f} ms",
                     None))
    for label, figure, met in rows:
        verdict = "" if met is None else ("met" if met else "NOT MET")
        print(f"  {label:<48}{figure:>12}   {verdict}")


if __name__ == "__main__":
    main()
