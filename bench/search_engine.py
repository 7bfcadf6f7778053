"""How fast the embedded search engine indexes and answers, on generated products.

    .venv/bin/python -m bench.search_engine [--docs 100000] [--queries 1000]

Prints figures only: timings depend on the machine, so nothing here asserts them.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import time

from search import EmbeddedBackend, ProductDocument, SearchQuery

KELURAHAN = {
    "Batuceper": ("Batuceper", "Poris Gaga", "Batujaya", "Kebon Besar"),
    "Benda": ("Benda", "Belendung", "Jurumudi", "Pajang"),
    "Cibodas": ("Cibodas", "Cibodas Baru", "Uwung Jaya", "Panunggangan Barat"),
    "Ciledug": ("Sudimara Barat", "Sudimara Timur", "Paninggilan", "Tajur"),
    "Cipondoh": ("Cipondoh", "Poris Plawad", "Ketapang", "Petir"),
    "Jatiuwung": ("Alam Jaya", "Gandasari", "Keroncong", "Manis Jaya"),
    "Karangtengah": ("Karang Tengah", "Pedurenan", "Ciledug", "Parung Jaya"),
    "Karawaci": ("Karawaci", "Bojong Jaya", "Cimone", "Nusa Jaya"),
    "Larangan": ("Larangan Utara", "Larangan Selatan", "Gaga", "Cipadu"),
    "Neglasari": ("Neglasari", "Karang Sari", "Kedaung Baru", "Mekarsari"),
    "Periuk": ("Periuk", "Gebang Raya", "Sangiang Jaya", "Gembor"),
    "Pinang": ("Pinang", "Panunggangan", "Cipete", "Kunciran"),
    "Tangerang": ("Babakan", "Sukarasa", "Buaran Indah", "Sukasari"),
}

# (top category, leaf category) -> (products, variants); a category's name is its slug titled.
PRODUCTS = {
    ("makanan", "keripik"): (
        ("Keripik Singkong", "Keripik Pisang", "Keripik Tempe"),
        ("Pedas", "Balado", "Original", "Manis"),
    ),
    ("makanan", "sambal"): (
        ("Sambal Bawang", "Sambal Terasi", "Sambal Roa"),
        ("Level 3", "Ekstra Pedas", "Botol 200g"),
    ),
    ("makanan", "dodol"): (
        ("Dodol Betawi", "Dodol Durian", "Dodol Ketan"),
        ("Hitam", "Kemasan Besar", "Oleh-oleh"),
    ),
    ("makanan", "kue"): (
        ("Kue Nastar", "Kue Kastengel", "Kue Lapis", "Kue Cucur"),
        ("Toples", "Premium", "Lebaran"),
    ),
    ("minuman", "kopi"): (
        ("Kopi Robusta", "Kopi Arabika", "Kopi Susu"),
        ("Bubuk 250g", "Biji Sangrai", "Literan"),
    ),
    ("minuman", "madu"): (
        ("Madu Hutan", "Madu Klanceng", "Madu Randu"),
        ("Murni", "Botol 500ml", "Asli"),
    ),
    ("fashion", "batik"): (
        ("Batik Tulis", "Batik Cap", "Kemeja Batik"),
        ("Motif Cisadane", "Motif Kembang", "Lengan Panjang"),
    ),
    ("kerajinan", "bambu"): (
        ("Kerajinan Bambu", "Keranjang Bambu", "Lampu Bambu"),
        ("Hias", "Ukuran Sedang", "Anyaman Halus"),
    ),
    ("kerajinan", "anyaman"): (
        ("Tas Anyaman", "Tikar Anyaman", "Topi Anyaman"),
        ("Pandan", "Rotan", "Eceng Gondok"),
    ),
}

DESCRIPTION_WORDS = (
    "buatan tangan asli tangerang segar renyah gurih enak tanpa pengawet halal cocok untuk "
    "oleh-oleh keluarga hadiah dikemas rapi dikirim cepat tahan lama bahan pilihan resep "
    "turun temurun produksi rumahan warga kampung kualitas terbaik harga terjangkau"
).split()
SYLLABLES = "ka ri pu sa ma ni ta wa ja ya ba lu se go ro di na ti".split()


def invented_word(rng: random.Random) -> str:
    """Brand and place names, so the vocabulary is as large as real listings make it."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def generate(count: int, seed: int = 7) -> list[ProductDocument]:
    rng = random.Random(seed)
    shops = []
    for shop_id in range(1, max(count // 50, 1) + 1):
        kecamatan = rng.choice(tuple(KELURAHAN))
        shop_type = "koperasi" if rng.random() < 0.2 else "umkm"
        owner = invented_word(rng).title()
        name = f"Koperasi {owner} Jaya" if shop_type == "koperasi" else f"Toko {owner}"
        shops.append((shop_id, name, shop_type, kecamatan, rng.choice(KELURAHAN[kecamatan])))
    documents = []
    for product_id in range(1, count + 1):
        shop_id, shop_name, shop_type, kecamatan, kelurahan = rng.choice(shops)
        (top, leaf), (bases, variants) = rng.choice(list(PRODUCTS.items()))
        brand = invented_word(rng).title()
        name = f"{rng.choice(bases)} {rng.choice(variants)} {brand}"
        words = rng.sample(DESCRIPTION_WORDS, 8) + [invented_word(rng) for _ in range(3)]
        documents.append(
            ProductDocument(
                id=product_id,
                name=name,
                description=f"{name} dari {kelurahan}, {' '.join(words)}.",
                shop_id=shop_id,
                shop_name=shop_name,
                shop_type=shop_type,
                kecamatan=kecamatan,
                kelurahan=kelurahan,
                categories=(top, leaf),
                category_names=(top.title(), leaf.title()),
                price=rng.choice((5, 12, 18, 25, 35, 48, 60, 85, 120, 240, 350)) * 1000,
                in_stock=rng.random() < 0.85,
                created_at=1_700_000_000 + rng.randint(0, 30_000_000),
            )
        )
    return documents


def misspell(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("drop", "swap", "replace"))
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + rng.choice("aiueo") + word[i + 1 :]


def queries(documents: list[ProductDocument], count: int, seed: int = 11) -> list[SearchQuery]:
    """Two words of a listed name, typed right, mistyped, or cut short mid-word."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        words = rng.choice(documents).name.lower().split()[:2]
        kind = rng.choice(("exact", "misspelled", "prefix"))
        if kind == "misspelled":
            words = [misspell(w, rng) if len(w) >= 4 else w for w in words]
        elif kind == "prefix":
            words[-1] = words[-1][: rng.randint(2, 4)]
        filters: dict = {}
        chosen = rng.sample(("kecamatan", "in_stock", "price", "categories"), rng.randint(0, 2))
        for name in chosen:
            if name == "kecamatan":
                filters["kecamatan"] = (rng.choice(tuple(KELURAHAN)),)
            elif name == "in_stock":
                filters["in_stock"] = True
            elif name == "price":
                filters["price_min"], filters["price_max"] = 20_000, 100_000
            else:
                filters["categories"] = (rng.choice(list(PRODUCTS))[0],)
        made.append(SearchQuery(text=" ".join(words), with_facets=True, **filters))
    return made


def percentiles(millis: list[float]) -> str:
    cuts = statistics.quantiles(millis, n=100, method="inclusive")
    return f"p50 {cuts[49]:.2f} ms  p95 {cuts[94]:.2f} ms  p99 {cuts[98]:.2f} ms"


def timed(backend: EmbeddedBackend, asked: list[SearchQuery]) -> list[float]:
    millis = []
    for query in asked:
        started = time.perf_counter()
        backend.search(query)
        millis.append((time.perf_counter() - started) * 1000)
    return millis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()

    documents = generate(args.docs)
    backend = EmbeddedBackend()
    started = time.perf_counter()
    backend.replace_all(documents[i : i + 1000] for i in range(0, len(documents), 1000))
    build_seconds = time.perf_counter() - started

    asked = queries(documents, args.queries)
    # A running shop has warm caches (the highlighter's memo, the OS page cache).
    timed(backend, asked)
    with_facets = timed(backend, asked)
    without_facets = timed(backend, [dataclasses.replace(q, with_facets=False) for q in asked])
    browse = timed(backend, [SearchQuery(kecamatan=q.kecamatan, sort="newest") for q in asked])

    print(f"docs               {backend.count()}")
    print(f"build seconds      {build_seconds:.2f}")
    print(f"queries            {len(asked)} (2 words: exact, misspelled or prefix; 0-2 filters)")
    print(f"with facets        {percentiles(with_facets)}")
    print(f"without facets     {percentiles(without_facets)}")
    print(f"browse, no text    {percentiles(browse)}  (facets over all or one kecamatan)")


if __name__ == "__main__":
    main()
