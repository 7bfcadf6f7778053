"""How fast a catalogue file imports through the import service, and what memory it takes.

    .venv/bin/python bench/catalogue_import.py [--rows 10000] [--keep] [--scratch DIR]

Makes a scratch instance (a temporary GERAI_INSTANCE with a SQLite DATABASE_URL),
generates a CSV of ``--rows`` rows (about 70% simple products, the rest variant
rows in groups of three, prices typed "15.000"), and runs the same path as the web
import and the CLI: read_table -> build_plan (the preview) -> apply_plan -> one
commit. Two phases:

1. first import: every row is new;
2. re-import of the file with prices and stock changed: every row is an update
   (with a stock adjustment per changed stock).

Each phase runs twice on separate shops: once plain for the timings, once under
tracemalloc for the Python heap peak (tracemalloc slows code down, so its run is
not timed). RSS is the process's resident size after the phase and its peak so
far (ru_maxrss). Prints figures only; no targets, no assertions.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def make_csv(rows: int, slugs: list[str], prefix: str, price_bump: int = 0, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["sku", "nama", "kategori", "harga", "stok", "berat_gram", "status",
                     "deskripsi", "opsi", "varian"])
    written = product = 0
    while written < rows:
        product += 1
        slug = rng.choice(slugs)
        name = f"Produk UMKM {prefix} nomor {product}"
        description = "Buatan rumahan dari Kota Tangerang, tanpa pengawet. " * rng.randint(1, 4)
        if rng.random() < 0.1 and rows - written >= 3:
            for size in ("S", "M", "L"):
                price = rng.randrange(20, 200) * 1000 + price_bump
                writer.writerow([f"{prefix}-{product}-{size}", name, slug, f"{price:,}".replace(",", "."),
                                 rng.randint(0, 50) + price_bump // 1000, 200, "aktif",
                                 description, "Ukuran", size])
                written += 1
        else:
            price = rng.randrange(5, 500) * 500 + price_bump
            writer.writerow([f"{prefix}-{product}", name, slug, f"{price:,}".replace(",", "."),
                             rng.randint(0, 100) + price_bump // 1000, rng.randint(50, 2000),
                             "aktif", description, "", ""])
            written += 1
    return out.getvalue().encode("utf-8")


def run_phase(imports, db, data: bytes, shop_id: int, measure_memory: bool) -> dict:
    if measure_memory:
        tracemalloc.start()
    started = time.perf_counter()
    table = imports.read_table(data, "bench.csv")
    plan = imports.build_plan(table, shop_id)
    planned = time.perf_counter()
    if not plan.ok:
        first = plan.error_rows[0]
        raise SystemExit(f"the generated file has errors, e.g. row {first.number}: {first.errors}")
    outcome = imports.apply_plan(plan, shop_id, progress=lambda n: None, note="bench")
    db.session.commit()
    finished = time.perf_counter()
    figures = {"rows": len(plan.rows), "counts": plan.counts, "plan_s": planned - started,
               "apply_s": finished - planned, "total_s": finished - started,
               "products_created": outcome.products_created,
               "products_updated": outcome.products_updated}
    if measure_memory:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures["heap_peak_mb"] = peak / 2**20
    figures["rss_mb"] = rss_mb()
    figures["rss_peak_mb"] = peak_rss_mb()
    db.session.remove()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--scratch", type=Path, help="scratch folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()

    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="gerai-import-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    os.environ["GERAI_INSTANCE"] = str(scratch)
    os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'bench.db'}"
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["SEARCH_BACKEND"] = "embedded"

    from storefront import create_app
    from storefront.accounts.models import User
    from storefront.catalogue.models import Category, Product, Shop, StockAdjustment
    from storefront.extensions import db
    from storefront.indexing.services import pending_count
    from storefront.seller import imports

    app = create_app({"SEARCH_INDEX_PATH": ""})
    try:
        with app.app_context():
            db.create_all()
            food = Category(name="Makanan", slug="makanan")
            db.session.add(food)
            db.session.flush()
            slugs = ["makanan"]
            for n, name in enumerate(["Keripik & Camilan", "Sambal & Bumbu", "Kue Basah", "Kopi"]):
                child = Category(name=name, slug=f"sub-{n}", parent_id=food.id, position=n)
                db.session.add(child)
                slugs.append(child.slug)
            owner = User(email="bench@gerai.test", name="Bench", password_hash="-")
            db.session.add(owner)
            db.session.flush()
            shops = {}
            for key in ("timed", "memory"):
                shop = Shop(owner_id=owner.id, name=f"Toko {key}", slug=f"toko-{key}",
                            kecamatan="Cipondoh", kelurahan="Ketapang", status="verified")
                db.session.add(shop)
                db.session.flush()
                shops[key] = shop.id
            db.session.commit()

        first = make_csv(args.rows, slugs, "B")
        again = make_csv(args.rows, slugs, "B", price_bump=1000)
        print(f"Catalogue import benchmark: {args.rows:,} rows, {len(first) / 2**20:.2f} MB CSV, "
              f"SQLite at {scratch}")
        print(f"Python {sys.version.split()[0]}, RSS at start {rss_mb():.0f} MB")
        results = {}
        for phase, data in (("first import", first), ("re-import", again)):
            for key in ("timed", "memory"):
                with app.app_context():
                    results[(phase, key)] = run_phase(imports, db, data, shops[key],
                                                      measure_memory=key == "memory")
        with app.app_context():
            products = db.session.query(Product).count()
            adjustments = db.session.query(StockAdjustment).count()
            outbox = pending_count()

        print()
        print(f"{'phase':<14}{'rows':>8}{'new':>8}{'upd':>8}{'same':>7}{'preview s':>11}"
              f"{'apply s':>9}{'total s':>9}{'rows/s':>9}{'heap MB':>9}{'RSS MB':>8}{'peak RSS':>10}")
        for phase in ("first import", "re-import"):
            timed, memory = results[(phase, "timed")], results[(phase, "memory")]
            counts = timed["counts"]
            print(f"{phase:<14}{timed['rows']:>8,}{counts['new']:>8,}{counts['update']:>8,}"
                  f"{counts['same']:>7,}{timed['plan_s']:>11.2f}{timed['apply_s']:>9.2f}"
                  f"{timed['total_s']:>9.2f}{timed['rows'] / timed['total_s']:>9,.0f}"
                  f"{memory['heap_peak_mb']:>9.1f}{memory['rss_mb']:>8.0f}{memory['rss_peak_mb']:>10.0f}")
        print()
        print(f"Database afterwards: {products:,} products in two shops, {adjustments:,} stock "
              f"adjustments, {outbox:,} search outbox rows waiting.")
        print("rows/s = rows / (preview + apply + commit); heap MB = tracemalloc peak of the "
              "phase (separate run); RSS = resident size after the phase, peak RSS = process peak.")
    finally:
        if not args.keep and not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        elif args.keep:
            print(f"Scratch kept at {scratch}")


if __name__ == "__main__":
    main()
