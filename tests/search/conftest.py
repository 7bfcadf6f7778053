"""Backends under the search contract, and a small catalogue of Kota Tangerang products.

Each backend has a ``<name>_backend`` fixture; the contract suite runs once per
name in ``BACKENDS``. Nothing here may import the storefront.
"""

from __future__ import annotations

import dataclasses

import pytest

from search import EmbeddedBackend, ProductDocument

# A new backend is one more name here plus its "<name>_backend" fixture below.
BACKENDS = ["embedded", "meilisearch"]

_BASE = ProductDocument(
    id=0,
    name="",
    description="",
    shop_id=1,
    shop_name="Toko Bu Ani",
    shop_type="umkm",
    kecamatan="Karawaci",
    kelurahan="Bojong Jaya",
    categories=("makanan",),
    category_names=("Makanan",),
    price=10_000,
    in_stock=True,
    created_at=1_700_000_000,
)


def product(**fields) -> ProductDocument:
    """A document with plausible defaults; tests name only what they care about."""
    return dataclasses.replace(_BASE, **fields)


CATALOGUE = [
    product(
        id=1,
        name="Keripik Pedas",
        description="Keripik singkong renyah dengan bumbu cabai rawit.",
        categories=("makanan", "keripik"),
        category_names=("Makanan", "Keripik"),
        price=15_000,
        created_at=1_700_000_100,
        stand_codes=("A-01",),
    ),
    product(
        id=2,
        name="Kopi Robusta Bubuk",
        description="Biji robusta sangrai sedang, digiling halus.",
        shop_id=2,
        shop_name="Koperasi Maju Bersama",
        shop_type="koperasi",
        kecamatan="Cipondoh",
        kelurahan="Poris Plawad",
        categories=("minuman", "kopi"),
        category_names=("Minuman", "Kopi"),
        price=45_000,
        created_at=1_700_000_200,
    ),
    product(
        id=3,
        name="Sambal Bawang",
        description="Sambal bawang goreng dalam botol kaca.",
        shop_id=3,
        shop_name="Dapur Mak Iyah",
        kecamatan="Ciledug",
        kelurahan="Sudimara Barat",
        categories=("makanan", "sambal"),
        category_names=("Makanan", "Sambal"),
        price=25_000,
        created_at=1_700_000_300,
    ),
    product(
        id=4,
        name="Batik Tulis Motif Cisadane",
        description="Kain batik tulis tangan, motif sungai Cisadane.",
        shop_id=4,
        shop_name="Galeri Batik Pasar Lama",
        kecamatan="Tangerang",
        kelurahan="Sukarasa",
        categories=("fashion", "batik"),
        category_names=("Fashion", "Batik"),
        price=350_000,
        in_stock=False,
        created_at=1_700_000_400,
    ),
    product(
        id=5,
        name="Dodol Betawi Ketan Hitam",
        description="Dodol diaduk delapan jam di kuali tembaga.",
        shop_id=2,
        shop_name="Koperasi Maju Bersama",
        shop_type="koperasi",
        kecamatan="Cipondoh",
        kelurahan="Poris Plawad",
        categories=("makanan", "dodol"),
        category_names=("Makanan", "Dodol"),
        price=50_000,
        created_at=1_700_000_500,
        stand_codes=("A-01", "B-12"),
    ),
    product(
        id=6,
        name="Madu Hutan Murni",
        description="Madu liar dari lebah hutan, tanpa campuran.",
        shop_id=5,
        shop_name="Rumah Madu Pinang",
        kecamatan="Pinang",
        kelurahan="Kunciran",
        categories=("minuman", "madu"),
        category_names=("Minuman", "Madu"),
        price=100_000,
        in_stock=False,
        created_at=1_700_000_600,
    ),
    product(
        id=7,
        name="Tas Anyaman Pandan",
        description="Tas jinjing anyaman daun pandan, cocok untuk belanja.",
        shop_id=6,
        shop_name="Koperasi Wanita Periuk",
        shop_type="koperasi",
        kecamatan="Periuk",
        kelurahan="Gebang Raya",
        categories=("kerajinan", "anyaman"),
        category_names=("Kerajinan", "Anyaman"),
        price=85_000,
        created_at=1_700_000_700,
    ),
    product(
        id=8,
        name="Batok Kelapa Ukir",
        description="Mangkuk dari batok kelapa yang diukir tangan.",
        shop_id=7,
        shop_name="Sanggar Benda",
        kecamatan="Benda",
        kelurahan="Belendung",
        categories=("kerajinan", "kelapa"),
        category_names=("Kerajinan", "Kelapa"),
        price=120_000,
        created_at=1_700_000_800,
    ),
    product(
        id=9,
        name="Kue Nastar Toples",
        description="Nastar selai nanas, mentega asli.",
        shop_id=8,
        shop_name="Toko Kue Larangan",
        kecamatan="Larangan",
        kelurahan="Gaga",
        categories=("makanan", "kue"),
        category_names=("Makanan", "Kue"),
        price=24_999,
        created_at=1_700_000_900,
    ),
    product(
        id=10,
        name="Kopi Susu Gula Aren",
        description="Kopi susu literan, manis gula aren.",
        categories=("minuman", "kopi"),
        category_names=("Minuman", "Kopi"),
        price=18_000,
        created_at=1_700_001_000,
    ),
    product(
        id=11,
        name="Gula Aren Cair",
        description="Pemanis untuk kopi dan teh, tanpa pengawet.",
        shop_id=3,
        shop_name="Dapur Mak Iyah",
        kecamatan="Ciledug",
        kelurahan="Sudimara Barat",
        categories=("makanan", "bumbu"),
        category_names=("Makanan", "Bumbu"),
        price=30_000,
        created_at=1_700_001_100,
    ),
]


@pytest.fixture
def embedded_backend():
    backend = EmbeddedBackend()
    yield backend
    backend.close()


@pytest.fixture
def meilisearch_backend(meili_server):
    from search.meili import MeiliBackend
    from tests.meili_server import unique_prefix

    url, key = meili_server
    backend = MeiliBackend(url, key, prefix=unique_prefix())
    backend.setup()
    yield backend
    admin = backend._admin()
    admin.wait_for_task(admin.delete_index(backend.uid).task_uid)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture
def index_with_documents(backend):
    def index(documents: list[ProductDocument]):
        backend.upsert(list(documents))
        return backend

    return index


@pytest.fixture
def make_product():
    return product


@pytest.fixture
def catalogue_documents() -> list[ProductDocument]:
    return list(CATALOGUE)


@pytest.fixture
def catalogue(index_with_documents, catalogue_documents):
    """A backend holding ``catalogue_documents``."""
    return index_with_documents(catalogue_documents)
