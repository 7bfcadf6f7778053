from dataclasses import dataclass

import pytest

from storefront.catalogue.models import Product
from tests.factories import CategoryFactory, ProductFactory, ShopFactory
from tests.helpers import sync_search


@dataclass
class Catalogue:
    keripik: Product
    kopi: Product
    sambal: Product  # out of stock, still visible
    draft: Product  # hidden: draft
    unverified: Product  # hidden: shop not verified
    archived: Product  # hidden: archived


@pytest.fixture
def catalogue(app) -> Catalogue:
    makanan = CategoryFactory(name="Makanan", slug="makanan")
    camilan = CategoryFactory(name="Keripik & Camilan", slug="keripik-camilan", parent=makanan)
    bumbu = CategoryFactory(name="Sambal & Bumbu", slug="sambal-bumbu", parent=makanan)
    minuman = CategoryFactory(name="Minuman", slug="minuman")
    kopi = CategoryFactory(name="Kopi", slug="kopi", parent=minuman)
    umkm = ShopFactory(name="Dapur Bu Sri", slug="dapur-bu-sri", kecamatan="Cipondoh",
                       kelurahan="Ketapang")
    koperasi = ShopFactory(name="Koperasi Warga Cimone", slug="koperasi-warga-cimone",
                           type="koperasi", kecamatan="Karawaci", kelurahan="Cimone")
    hidden_shop = ShopFactory(name="Toko Belum Diverifikasi", slug="toko-belum",
                              kecamatan="Benda", kelurahan="Benda", verified=False)
    made = Catalogue(
        keripik=ProductFactory(name="Keripik Pedas Level 5", shop=umkm, category=camilan,
                               price=15_000, stock=30),
        kopi=ProductFactory(name="Kopi Robusta Bubuk 250 g", shop=koperasi, category=kopi,
                            price=45_000, stock=12),
        sambal=ProductFactory(name="Sambal Bawang Extra Pedas", shop=umkm, category=bumbu,
                              price=25_000, stock=0),
        draft=ProductFactory(name="Keripik Rahasia Draft", shop=umkm, category=camilan,
                             status="draft"),
        unverified=ProductFactory(name="Kopi Tersembunyi Benda", shop=hidden_shop, category=kopi,
                                  price=30_000),
        archived=ProductFactory(name="Keripik Lama Arsip", shop=koperasi, category=camilan,
                                status="archived"),
    )
    sync_search()
    return made
