"""What a shopper notices about search, whichever backend answers.

Written against the SearchBackend protocol only, so every backend in
conftest.BACKENDS must pass all of it.
"""

from __future__ import annotations

import dataclasses
import html
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import FACETS, SORTS, ProductDocument, SearchQuery, price_band_of


def find(backend, text: str = "", **fields):
    return backend.search(SearchQuery(text=text, limit=100, **fields))


def facets_of(documents) -> dict[str, dict[str, int]]:
    """Facet counts worked out by hand, zero counts left out."""
    counts = {name: Counter() for name in FACETS}
    for doc in documents:
        counts["categories"].update(set(doc.categories))
        counts["kecamatan"][doc.kecamatan] += 1
        counts["shop_type"][doc.shop_type] += 1
        if doc.in_stock:
            counts["in_stock"]["true"] += 1
        counts["price_band"][price_band_of(doc.price)] += 1
    return {name: dict(counted) for name, counted in counts.items()}


def passes_filters(doc: ProductDocument, query: SearchQuery) -> bool:
    return (
        (not query.categories or bool(set(doc.categories) & set(query.categories)))
        and (not query.kecamatan or doc.kecamatan in query.kecamatan)
        and (not query.kelurahan or doc.kelurahan in query.kelurahan)
        and (not query.stand_codes or bool(set(doc.stand_codes) & set(query.stand_codes)))
        and (query.shop_type is None or doc.shop_type == query.shop_type)
        and (query.shop_id is None or doc.shop_id == query.shop_id)
        and (query.in_stock is None or doc.in_stock == query.in_stock)
        and (query.price_min is None or doc.price >= query.price_min)
        and (query.price_max is None or doc.price < query.price_max)
    )


def newest_first(documents) -> list[int]:
    return [d.id for d in sorted(documents, key=lambda d: (d.created_at, d.id), reverse=True)]


# --- finding products by what was typed -------------------------------------


def test_empty_query_lists_every_product_newest_first(catalogue, catalogue_documents):
    results = find(catalogue)
    assert results.total == len(catalogue_documents)
    assert results.ids == newest_first(catalogue_documents)


def test_exact_name_comes_first(catalogue):
    assert find(catalogue, "Keripik Pedas").ids[0] == 1


@pytest.mark.parametrize("text", ["kopi", "KOPI", "Kópi", "  kopi  "])
def test_case_accents_and_spaces_do_not_matter(catalogue, text):
    assert set(find(catalogue, text).ids[:2]) == {2, 10}


def test_accented_names_are_found_without_accents(index_with_documents, make_product):
    backend = index_with_documents([make_product(id=30, name="Kue Crème Brûlée")])
    assert find(backend, "creme brulee").ids == [30]


@pytest.mark.parametrize(
    ("text", "expected_id"),
    [
        ("kripik pedes", 1),
        ("sambel", 3),
        ("batk", 4),
        ("madu hutn", 6),
        ("dodl betawi", 5),
        ("anyamna pandan", 7),  # a transposition is one typo
    ],
)
def test_typos_are_forgiven(catalogue, text, expected_id):
    # Not necessarily first: "batk" is one typo from Batok as much as from Batik.
    assert expected_id in find(catalogue, text).ids


@pytest.mark.parametrize(
    ("text", "expected_ids"),
    [("kop", {2, 10}), ("sam", {3}), ("kopi sus", {10}), ("nast", {9})],
)
def test_the_word_being_typed_matches_as_a_prefix(catalogue, text, expected_ids):
    assert expected_ids <= set(find(catalogue, text).ids)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("kripik", "Keripik Balado"),
        ("keripik", "Kripik Singkong"),
        ("sambel", "Sambal Terasi"),
        ("sambal", "Sambel Ijo"),
        ("cabe", "Cabai Rawit Kering"),
        ("coklat", "Cokelat Batang"),
        ("oleh2", "Oleh-oleh Khas Tangerang"),
        ("oleh oleh", "Paket Oleh2 Lebaran"),
    ],
)
def test_indonesian_spelling_variants_find_each_other(index_with_documents, make_product, text, name):
    backend = index_with_documents(
        [make_product(id=60, name=name), make_product(id=61, name="Teh Melati Wangi")]
    )
    assert find(backend, text).ids == [60]


def test_short_words_get_no_typo_allowance(catalogue):
    assert find(catalogue, "kuo").total == 0  # one typo from Kue


def test_every_word_must_match(catalogue):
    assert find(catalogue, "kopi susu").ids == [10]
    assert find(catalogue, "kopi robusta").ids == [2]


def test_words_may_match_different_fields(catalogue):
    # The product's name and its shop's name.
    assert find(catalogue, "dodol koperasi").ids == [5]


def test_name_matches_rank_above_description_matches(catalogue):
    ids = find(catalogue, "kopi").ids
    assert set(ids[:2]) == {2, 10}
    assert 11 in ids[2:]  # "Gula Aren Cair" only mentions kopi in its description


def test_exact_words_rank_above_typos(catalogue):
    assert find(catalogue, "batik").ids == [4, 8]  # Batik, then Batok one typo away


def test_unmatched_query_finds_nothing(catalogue):
    results = find(catalogue, "televisi")
    assert (results.ids, results.total) == ([], 0)


# --- input a shopper (or a bot) should not be able to break ------------------


def test_a_ten_thousand_character_query_returns_normally(catalogue):
    results = find(catalogue, "kopi " * 2000)
    assert {2, 10} <= set(results.ids)
    assert find(catalogue, "x" * 10_000).total == 0


@pytest.mark.parametrize("text", ["!!!", "?? -- ** ::", '"', "()[]{}^~*:\\/"])
def test_punctuation_only_query_lists_everything(catalogue, catalogue_documents, text):
    assert find(catalogue, text).total == len(catalogue_documents)


@pytest.mark.parametrize(
    "text",
    ['"kopi robusta', "kopi:robusta", "kopi^ (robusta", "+kopi -robusta*", "kopi~ [robusta"],
)
def test_engine_syntax_is_just_words(catalogue, text):
    assert find(catalogue, text).ids == [2]


# --- filters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        {"categories": ("kopi",)},
        {"categories": ("kopi", "kerajinan")},
        {"categories": ("makanan",)},
        {"kecamatan": ("Cipondoh",)},
        {"kecamatan": ("Cipondoh", "Ciledug")},
        {"kelurahan": ("Poris Plawad",)},
        {"shop_type": "koperasi"},
        {"shop_type": "umkm"},
        {"shop_id": 2},
        {"in_stock": True},
        {"in_stock": False},
        {"price_min": 50_000},
        {"price_max": 50_000},
        {"price_min": 25_000, "price_max": 100_000},
        {"categories": ("makanan",), "kecamatan": ("Ciledug",), "in_stock": True},
        {"shop_type": "koperasi", "price_max": 50_000},
        {"categories": ("fashion",), "in_stock": True},
        {"stand_codes": ("A-01",)},
        {"stand_codes": ("B-12", "C-99")},
        {"stand_codes": ("A-01",), "shop_type": "koperasi"},
    ],
    ids=repr,
)
def test_filters_keep_exactly_the_matching_products(catalogue, catalogue_documents, filters):
    query = SearchQuery(limit=100, **filters)
    expected = {d.id for d in catalogue_documents if passes_filters(d, query)}
    results = catalogue.search(query)
    assert set(results.ids) == expected
    assert results.total == len(expected)


def test_filters_combine_with_text(catalogue):
    results = find(
        catalogue, "kopi", categories=("minuman",), kecamatan=("Karawaci",), in_stock=True
    )
    assert results.ids == [10]


def test_price_min_is_inclusive_and_price_max_exclusive(catalogue):
    # Sambal Bawang costs exactly 25,000; Kue Nastar 24,999.
    from_25k = set(find(catalogue, price_min=25_000).ids)
    under_25k = set(find(catalogue, price_max=25_000).ids)
    assert 3 in from_25k and 9 not in from_25k
    assert 9 in under_25k and 3 not in under_25k


def test_empty_price_range_finds_nothing(catalogue):
    assert find(catalogue, price_min=50_000, price_max=50_000).total == 0


# What a crafted URL could put in a filter: each is one value that no product has.
INJECTIONS = [
    '" OR status = "draft',
    "1 OR 1=1",
    'Karawaci" OR kecamatan EXISTS OR kecamatan = "',
    '\\" OR id > 0 OR kecamatan = "\\',
    "') OR ('1'='1",
    "Karawaci]",
    "\\",
]


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("field", ["categories", "kecamatan", "kelurahan", "stand_codes", "shop_type"])
def test_filter_values_are_matched_literally_never_as_syntax(catalogue, field, value):
    query = SearchQuery(limit=100, **{field: value if field == "shop_type" else (value,)})
    results = catalogue.search(query)
    assert (results.ids, results.total) == ([], 0)
    # Beside a real value it neither widens nor breaks the filter.
    if field == "kecamatan":
        assert set(find(catalogue, kecamatan=(value, "Cipondoh")).ids) == {2, 5}


# --- facets -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "kopi", "makanan", "koperasi", "televisi"])
def test_facet_counts_equal_the_matching_products(catalogue, catalogue_documents, text):
    results = find(catalogue, text)
    matched = [d for d in catalogue_documents if d.id in set(results.ids)]
    assert results.total == len(matched)
    assert results.facets == facets_of(matched)


def test_facets_count_after_filters(catalogue, catalogue_documents):
    query = SearchQuery(categories=("makanan",), in_stock=True, limit=100)
    results = catalogue.search(query)
    assert results.facets == facets_of(d for d in catalogue_documents if passes_filters(d, query))


def test_price_bands_split_at_their_low_end(catalogue):
    assert find(catalogue).facets["price_band"] == {
        "0-25000": 3,  # 15,000, 18,000 and 24,999
        "25000-50000": 3,  # 25,000, 30,000 and 45,000
        "50000-100000": 2,  # 50,000 and 85,000
        "100000-250000": 2,  # 100,000 and 120,000
        "250000-": 1,
    }


def test_facets_can_be_skipped(catalogue):
    results = catalogue.search(SearchQuery(text="kopi", with_facets=False))
    assert results.facets == {}
    assert results.total == find(catalogue, "kopi").total


# --- order and pages ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("price_asc", lambda d: d.price, False),
        ("price_desc", lambda d: d.price, True),
        ("newest", lambda d: d.created_at, True),
    ],
)
@pytest.mark.parametrize("text", ["", "makanan"])
def test_sort_orders(catalogue, catalogue_documents, sort, key, descending, text):
    by_id = {d.id: d for d in catalogue_documents}
    results = find(catalogue, text, sort=sort)
    values = [key(by_id[i]) for i in results.ids]
    assert results.ids and values == sorted(values, reverse=descending)
    assert results.total == len(results.ids)


def test_newest_breaks_ties_by_higher_id(index_with_documents, make_product):
    same_moment = 1_700_000_000
    backend = index_with_documents(
        [make_product(id=i, name=f"Kue {i}", created_at=same_moment) for i in (3, 1, 2)]
    )
    assert find(backend, sort="newest").ids == [3, 2, 1]


def test_unknown_sort_still_answers(catalogue, catalogue_documents):
    assert find(catalogue, sort="termurah").total == len(catalogue_documents)


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("text", ["", "makanan"])
def test_pages_cover_every_match_once_with_exact_totals(catalogue, sort, text):
    everything = find(catalogue, text, sort=sort)
    pages = [
        catalogue.search(SearchQuery(text=text, sort=sort, offset=offset, limit=4))
        for offset in range(0, everything.total, 4)
    ]
    assert all(page.total == everything.total for page in pages)
    paged_ids = [i for page in pages for i in page.ids]
    assert paged_ids == everything.ids
    assert len(set(paged_ids)) == everything.total


def test_page_past_the_end_is_empty_but_counts(catalogue, catalogue_documents):
    results = catalogue.search(SearchQuery(offset=500, limit=24))
    assert (results.ids, results.total) == ([], len(catalogue_documents))


def test_limit_zero_gives_only_total_and_facets(catalogue, catalogue_documents):
    results = catalogue.search(SearchQuery(limit=0))
    assert results.ids == []
    assert results.total == len(catalogue_documents)
    assert results.facets == facets_of(catalogue_documents)


# --- keeping the index in step with the shop ------------------------------------


def test_upsert_replaces_a_changed_price(catalogue, catalogue_documents):
    keripik = next(d for d in catalogue_documents if d.id == 1)
    catalogue.upsert([dataclasses.replace(keripik, price=60_000)])
    assert catalogue.count() == len(catalogue_documents)
    bands = find(catalogue).facets["price_band"]
    assert bands["0-25000"] == 2 and bands["50000-100000"] == 3
    assert 1 in find(catalogue, price_min=50_000, price_max=100_000).ids
    assert 1 not in find(catalogue, price_max=25_000).ids


def test_renamed_product_is_found_by_its_new_name_only(catalogue, catalogue_documents):
    keripik = next(d for d in catalogue_documents if d.id == 1)
    renamed = dataclasses.replace(keripik, name="Rempeyek Kacang", description="Rempeyek renyah.")
    catalogue.upsert([renamed])
    assert find(catalogue, "rempeyek").ids == [1]
    assert 1 not in find(catalogue, "pedas").ids


def test_delete_removes(catalogue, catalogue_documents):
    catalogue.delete([2, 999])  # an id never indexed is no error
    assert catalogue.count() == len(catalogue_documents) - 1
    assert find(catalogue, "robusta").total == 0
    assert 2 not in find(catalogue).ids


def test_clear_empties(catalogue):
    catalogue.clear()
    results = find(catalogue)
    assert catalogue.count() == 0
    assert (results.ids, results.total) == ([], 0)
    assert all(counts == {} for counts in results.facets.values())


def test_replace_all_swaps_the_whole_catalogue(catalogue, make_product):
    batches = [[make_product(id=40, name="Bir Pletok")], [make_product(id=41, name="Kerak Telor")]]
    done = []
    catalogue.replace_all(iter(batches), progress=done.append)
    assert done == [1, 1]
    assert sorted(find(catalogue).ids) == [40, 41]


# --- highlights -----------------------------------------------------------------


def test_highlights_mark_the_matched_words(catalogue):
    results = find(catalogue, "kopi")
    assert set(results.highlights) == set(results.ids)
    assert results.highlights[2] == "<mark>Kopi</mark> Robusta Bubuk"


def test_highlights_mark_typos_and_prefixes(catalogue):
    marked = find(catalogue, "kripik pedes").highlights[1]
    assert marked == "<mark>Keripik</mark> <mark>Pedas</mark>"
    assert find(catalogue, "kop").highlights[2] == "<mark>Kopi</mark> Robusta Bubuk"


def test_highlights_escape_html_in_names(index_with_documents, make_product):
    backend = index_with_documents([make_product(id=50, name="<b>Kopi</b> Luwak & Teh")])
    marked = find(backend, "kopi").highlights[50]
    assert "<b>" not in marked
    assert marked == "&lt;b&gt;<mark>Kopi</mark>&lt;/b&gt; Luwak &amp; Teh"


def test_empty_query_highlights_nothing(index_with_documents, make_product):
    name = "<i>Dodol</i> & Wajik"
    backend = index_with_documents([make_product(id=51, name=name)])
    assert find(backend).highlights == {51: html.escape(name)}


# --- one property over random catalogues ------------------------------------------

PRICES = st.sampled_from([0, 24_999, 25_000, 49_999, 50_000, 100_000, 250_000]) | st.integers(
    0, 400_000
)
KECAMATAN = ("Karawaci", "Cipondoh", "Periuk")
KELURAHAN = ("Bojong Jaya", "Poris Plawad", "Gebang Raya")
TOP_CATEGORIES = ("makanan", "minuman")
LEAF_CATEGORIES = ("kopi", "keripik", "madu")

random_documents = st.lists(
    st.builds(
        ProductDocument,
        id=st.integers(1, 10_000),
        name=st.sampled_from(["Kopi", "Keripik", "Madu"]),
        description=st.just(""),
        shop_id=st.integers(1, 3),
        shop_name=st.just("Toko"),
        shop_type=st.sampled_from(["umkm", "koperasi"]),
        kecamatan=st.sampled_from(KECAMATAN),
        kelurahan=st.sampled_from(KELURAHAN),
        categories=st.tuples(st.sampled_from(TOP_CATEGORIES))
        | st.tuples(st.sampled_from(TOP_CATEGORIES), st.sampled_from(LEAF_CATEGORIES)),
        category_names=st.just(()),
        price=PRICES,
        in_stock=st.booleans(),
        created_at=st.integers(1_700_000_000, 1_700_000_050),
    ),
    max_size=15,
    unique_by=lambda d: d.id,
)


def some_of(values):
    return st.lists(st.sampled_from(values), max_size=2, unique=True).map(tuple)


random_filters = st.builds(
    SearchQuery,
    categories=some_of(TOP_CATEGORIES + LEAF_CATEGORIES),
    kecamatan=some_of(KECAMATAN),
    kelurahan=some_of(KELURAHAN),
    shop_type=st.none() | st.sampled_from(["umkm", "koperasi"]),
    shop_id=st.none() | st.integers(1, 3),
    in_stock=st.none() | st.booleans(),
    price_min=st.none() | PRICES,
    price_max=st.none() | PRICES,
    limit=st.just(100),
)


@settings(
    max_examples=60,
    deadline=None,
    # One backend serves every example: replace_all resets it each time.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(documents=random_documents, query=random_filters)
def test_filtered_totals_and_facets_match_plain_python(backend, documents, query):
    backend.replace_all([documents])
    expected = [d for d in documents if passes_filters(d, query)]
    results = backend.search(query)
    assert results.total == len(expected)
    assert results.ids == newest_first(expected)
    assert results.facets == facets_of(expected)
