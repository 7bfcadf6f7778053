"""What only the embedded (tantivy) backend promises: its directory and its threads."""

from __future__ import annotations

import threading

import pytest
import tantivy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import EmbeddedBackend, SearchQuery, SearchUnavailable, highlight
from search.embedded import _analyzer
from search.highlight import fold


def test_on_disk_index_reopens_with_its_documents(tmp_path, catalogue_documents):
    first = EmbeddedBackend(str(tmp_path / "index"))
    first.upsert(catalogue_documents)
    first.close()

    reopened = EmbeddedBackend(str(tmp_path / "index"))
    assert reopened.count() == len(catalogue_documents)
    assert reopened.search(SearchQuery(text="kripik pedes")).ids == [1]
    reopened.upsert([catalogue_documents[0]])  # the writer's lock was let go
    assert reopened.count() == len(catalogue_documents)
    reopened.close()


def test_an_index_of_another_schema_is_rebuilt_empty(tmp_path, catalogue_documents):
    directory = tmp_path / "index"
    directory.mkdir()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("title", stored=True)
    old = tantivy.Index(builder.build(), str(directory))
    writer = old.writer()
    writer.add_document(tantivy.Document(title="Kopi lama"))
    writer.commit()
    writer.wait_merging_threads()
    del old

    backend = EmbeddedBackend(str(directory))
    assert backend.count() == 0
    backend.upsert(catalogue_documents)
    assert backend.search(SearchQuery(text="kopi")).total > 0
    backend.close()


def test_a_second_writer_on_one_directory_is_reported_unavailable(tmp_path, make_product):
    path = str(tmp_path / "index")
    writing = EmbeddedBackend(path)
    writing.upsert([make_product(id=1, name="Kopi")])
    other = EmbeddedBackend(path)
    assert other.search(SearchQuery(text="kopi")).ids == [1]  # reading needs no lock
    with pytest.raises(SearchUnavailable):
        other.upsert([make_product(id=2, name="Teh")])
    writing.close()
    other.close()


def test_searches_while_a_worker_writes(embedded_backend, make_product):
    backend = embedded_backend
    backend.upsert([make_product(id=i, name=f"Kopi Robusta {i}") for i in range(1, 51)])
    failures: list[BaseException] = []
    writing = threading.Event()

    def shopper():
        while writing.is_set():
            try:
                results = backend.search(SearchQuery(text="kopi", sort="price_asc", limit=10))
                assert results.total >= 50 and len(results.ids) == 10
                assert sum(results.facets["shop_type"].values()) == results.total
            except BaseException as exc:  # surfaced in the main thread below
                failures.append(exc)
                return

    writing.set()
    shoppers = [threading.Thread(target=shopper) for _ in range(4)]
    for thread in shoppers:
        thread.start()
    for start in range(51, 251, 20):
        batch = [make_product(id=i, name=f"Kopi Susu {i}") for i in range(start, start + 20)]
        backend.upsert(batch)
        backend.delete([start])
    writing.clear()
    for thread in shoppers:
        thread.join()

    assert failures == []
    assert backend.count() == 250 - 10


def test_rebuild_serves_the_old_catalogue_until_it_commits(embedded_backend, make_product):
    backend = embedded_backend
    backend.upsert([make_product(id=1, name="Kopi Lama")])
    seen_midway = []

    def progress(done: int) -> None:
        seen_midway.append(backend.search(SearchQuery()).ids)

    batches = [[make_product(id=i, name=f"Teh Baru {i}")] for i in (2, 3)]
    backend.replace_all(iter(batches), progress=progress)
    assert seen_midway == [[1], [1]]
    assert sorted(backend.search(SearchQuery()).ids) == [2, 3]


def test_a_failed_rebuild_keeps_the_old_catalogue(embedded_backend, make_product):
    backend = embedded_backend
    backend.upsert([make_product(id=1, name="Kopi Lama")])

    def batches():
        yield [make_product(id=2, name="Teh Baru")]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        backend.replace_all(batches())
    assert backend.search(SearchQuery()).ids == [1]
    backend.upsert([make_product(id=3, name="Teh Tarik")])  # the writer still works
    assert sorted(backend.search(SearchQuery()).ids) == [1, 3]


def test_absurd_pages_do_not_crash_the_engine(embedded_backend, catalogue_documents):
    embedded_backend.upsert(catalogue_documents)
    results = embedded_backend.search(SearchQuery(offset=10**12, limit=10**12))
    assert results.ids == [] and results.total == len(catalogue_documents)


def test_highlighter_folds_latin_letters_as_the_index_does():
    # Otherwise a match found by the engine could go unmarked.
    analyzer = _analyzer()
    for letter in (chr(cp) for cp in range(0xC0, 0x180)):
        indexed = "".join(analyzer.analyze(letter))
        if letter.isalpha() and indexed.isascii():
            assert fold(letter) == indexed, letter


# Few letters, so random words often sit one or two edits apart.
near_words = st.text(alphabet="abikop", min_size=1, max_size=10)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(typed=near_words, listed=near_words)
def test_highlighter_marks_exactly_what_the_engine_matched(
    embedded_backend, make_product, typed, listed
):
    backend = embedded_backend
    backend.replace_all([[make_product(id=1, name=listed, shop_name="", category_names=())]])
    # The word being typed (last, so prefix and typos allowed) ...
    assert (backend.search(SearchQuery(text=typed)).total == 1) == (
        "<mark>" in highlight(listed, typed)
    )
    # ... and a finished word before it (whole word, typos allowed). The
    # engine needs every word to match, so the listed word itself comes last;
    # "zz" stands in for it in the highlighter, where one match is enough.
    assert (backend.search(SearchQuery(text=f"{typed} {listed}")).total == 1) == (
        "<mark>" in highlight(listed, f"{typed} zz")
    )
