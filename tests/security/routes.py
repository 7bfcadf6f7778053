"""Every route of the app, who may use it, and how to call it on the Bravo side's objects.

A route missing here fails tests/security/test_inventory.py: a new route must say who
it is for before it ships.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EVERYONE = frozenset({"anonymous", "shopper_a", "shopper_b", "seller_a", "seller_b", "manager_a",
                      "manager_b", "organizer", "admin", "observer"})
LOGGED_IN = EVERYONE - {"anonymous"}
SELLERS = frozenset({"seller_a", "seller_b"})
OFFICE = frozenset({"organizer", "admin"})
READERS = OFFICE | {"observer"}
ADMIN = frozenset({"admin"})
NOBODY: frozenset = frozenset()


# No browser session may use these, whoever is signed in: only an API key in the
# Authorization header (tests/api/test_keys.py: every actor's session, with and without a
# CSRF token, gets 401 and changes nothing).
API_KEY_ONLY = "api key only"


@dataclass(frozen=True)
class Route:
    url: str  # formatted with World.ids
    get: frozenset = NOBODY  # who may GET it (an empty set: GET not served)
    post: frozenset = NOBODY  # who may POST to it
    data: dict = field(default_factory=dict)  # a POST body that would otherwise be accepted
    note: str = ""


ROUTES: dict[str, Route] = {
    # --- shoppers and the public ---
    "catalogue.home": Route("/", get=EVERYONE),
    "catalogue.catalogue": Route("/katalog?q=keripik", get=EVERYONE),
    "catalogue.product": Route("/produk/{public_product_id}", get=EVERYONE),
    "catalogue.shops": Route("/toko", get=EVERYONE),
    "catalogue.shop": Route("/toko/{shop_slug}", get=EVERYONE),
    "catalogue.health": Route("/sehat", get=EVERYONE),
    "observability.ready": Route("/siap", get=EVERYONE,
                                 note="what is up or down, never a secret: for load balancers"),
    "observability.metrics": Route("/metrics", get=EVERYONE,
                                   note="loopback or METRICS_TOKEN only (test_operations.py); "
                                        "the test client comes from 127.0.0.1"),
    "media.serve": Route("/media/p/{missing_media}", get=EVERYONE),
    "accounts.login": Route("/masuk", get=EVERYONE, post=EVERYONE,
                            data={"email": "x@gerai.test", "password": "salah-sekali-1"}),
    "accounts.register": Route("/daftar", get=EVERYONE, post=EVERYONE,
                               data={"name": "Baru", "email": "baru@gerai.test"}),
    "accounts.finish_registration": Route(
        "/daftar/selesai/bukan-token", get=EVERYONE, post=EVERYONE,
        data={"password": "kopi-susu-gula-aren", "confirm": "kopi-susu-gula-aren"},
        note="the signed token is the capability"),
    "accounts.logout": Route("/keluar", post=LOGGED_IN),
    "accounts.forgot": Route("/lupa-sandi", get=EVERYONE, post=EVERYONE,
                             data={"email": "shopper_b@gerai.test"}),
    "accounts.reset": Route("/sandi-baru/bukan-token", get=EVERYONE, post=EVERYONE,
                            data={"password": "kopi-susu-gula-aren", "confirm": "kopi-susu-gula-aren"},
                            note="the signed token is the capability"),
    "accounts.choose_language": Route("/bahasa", post=EVERYONE, data={"bahasa": "en", "next": "/"}),
    "basket.show": Route("/keranjang", get=EVERYONE),
    "basket.add": Route("/keranjang/tambah", post=EVERYONE,
                        data={"product_id": "{public_product_id}", "quantity": "1"}),
    "basket.change": Route("/keranjang/baris/{line_id}", post=frozenset({"shopper_b"}),
                           data={"quantity": "3"}),
    "basket.remove": Route("/keranjang/baris/{line_id}/hapus", post=frozenset({"shopper_b"})),
    "basket.accept_prices": Route("/keranjang/harga-baru", post=EVERYONE),
    "checkout.details": Route("/checkout", get=EVERYONE, post=EVERYONE),
    "checkout.review": Route("/checkout/periksa", get=EVERYONE),
    "checkout.pay": Route("/checkout/bayar", post=EVERYONE),
    "checkout.history": Route("/akun/pesanan", get=LOGGED_IN),
    "checkout.done": Route("/pesanan/{purchase_code}", get=frozenset({"shopper_b"})),
    "checkout.cancelled": Route("/pesanan/{purchase_code}/batal", get=frozenset({"shopper_b"})),
    "checkout.cancel": Route("/pesanan/{purchase_code}/batal", post=frozenset({"shopper_b"})),
    "checkout.qris_picture": Route("/pesanan/{purchase_code}/qris.png",
                                   get=frozenset({"shopper_b"})),
    "webhooks.receive": Route("/payments/webhooks/sandbox", note="signed by the gateway: "
                              "tests/functional/test_checkout.py refuses unsigned and altered events"),
    # --- fairs ---
    "exhibitions.stand_page": Route("/pameran/{fair}/{stand}", get=EVERYONE),
    "till.visitor_basket": Route("/pameran/{fair}/{stand}/beli", post=EVERYONE),
    "till.pay": Route("/bayar/{pay_token}", get=EVERYONE, note="the token is the capability"),
    "till.pay_start": Route("/bayar/{pay_token}", post=EVERYONE),
    "till.pay_qris_picture": Route("/bayar/{pay_token}/qris.png", get=EVERYONE,
                                   note="the token is the capability"),
    "till.worker": Route("/pameran/kasir-sw.js", get=EVERYONE, note="the till's service worker: a public script"),
    "till.screen": Route("/pameran/{fair}/{stand}/kasir", get=frozenset({"seller_b"})),
    "till.goods": Route("/pameran/{fair}/{stand}/kasir/barang", get=frozenset({"seller_b"}),
                        post=frozenset({"seller_b"})),
    "till.sell": Route("/pameran/{fair}/{stand}/kasir/jual", post=frozenset({"seller_b"}),
                       data={"metode": "cash", "kunci": "kunci-serangan-1", "nominal": "5.000"}),
    "till.sales": Route("/pameran/{fair}/{stand}/kasir/penjualan", get=frozenset({"seller_b"})),
    "till.void": Route("/pameran/{fair}/{stand}/kasir/penjualan/{sale}/batal",
                       get=frozenset({"seller_b"}), post=frozenset({"seller_b"}),
                       data={"alasan": "Serangan"}),
    "till.confirm_static": Route("/pameran/{fair}/{stand}/kasir/penjualan/{sale}/cek",
                                 post=frozenset({"seller_b"})),
    "till.stray_cash": Route("/pameran/{fair}/{stand}/kasir/uang-kembali/1",
                             post=frozenset({"seller_b"}), data={"nama": "Serangan"}),
    "till.hand_over": Route("/pameran/{fair}/{stand}/kasir/pesanan/{sale}/serahkan",
                            post=frozenset({"seller_b"})),
    "till.charge": Route("/pameran/{fair}/{stand}/kasir/tagihan/{charge}",
                         get=frozenset({"seller_b"})),
    "till.cancel_charge": Route("/pameran/{fair}/{stand}/kasir/tagihan/{charge}/batal",
                                post=frozenset({"seller_b"})),
    "exhibitions.fairs": Route("/pameran", get=OFFICE),
    "exhibitions.new_fair": Route("/pameran/baru", get=OFFICE, post=OFFICE,
                                  data={"name": "Pameran Serangan", "venue": "X",
                                        "starts_on": "2026-12-01", "ends_on": "2026-12-02",
                                        "opens_at": "09:00", "closes_at": "17:00"}),
    "exhibitions.fair": Route("/pameran/{fair}", get=OFFICE),
    "exhibitions.add_stands": Route("/pameran/{fair}/stan", post=OFFICE,
                                    data={"zone": "Z", "first": "1", "count": "2"}),
    "exhibitions.assign": Route("/pameran/{fair}/stan/{stand}/toko", post=OFFICE,
                                data={"shop_id": ""}),
    "exhibitions.poster": Route("/pameran/{fair}/stan/{stand}/poster", get=OFFICE),
    "exhibitions.close_fair": Route("/pameran/{fair}/tutup", post=OFFICE),
    "exhibitions.switch_stand": Route("/pameran/{fair}/stan/{stand}/nonaktifkan", post=OFFICE),
    "exhibitions.dashboard": Route("/pameran/{fair}/dasbor", get=OFFICE),
    "exhibitions.export": Route("/pameran/{fair}/penjualan.csv", get=OFFICE),
    "exhibitions.recap": Route("/pameran/{fair}/rekap", get=OFFICE),
    # --- sellers: their own shop; objects of the Bravo shop ---
    "seller.open_shop": Route("/penjual/toko/buka", get=LOGGED_IN, post=LOGGED_IN),
    "seller.dashboard": Route("/penjual", get=SELLERS),
    "seller.edit_shop": Route("/penjual/toko", get=SELLERS, post=SELLERS),
    "seller.static_qris": Route("/penjual/qris", get=SELLERS, post=SELLERS,
                                data={"aksi": "baca", "isi": "bukan qris"}),
    "seller.kelurahan_options": Route("/penjual/kelurahan?kecamatan=Cipondoh", get=LOGGED_IN),
    "seller.products": Route("/penjual/produk", get=SELLERS),
    "seller.new_product": Route("/penjual/produk/baru", get=SELLERS, post=SELLERS),
    "seller.export_products": Route("/penjual/produk/ekspor", get=SELLERS),
    "seller.import_products": Route("/penjual/produk/impor", get=SELLERS, post=SELLERS),
    "seller.import_template": Route("/penjual/produk/impor/templat.csv", get=SELLERS),
    "seller.edit_product": Route("/penjual/produk/{product_id}", get=frozenset({"seller_b"}),
                                 post=frozenset({"seller_b"}), data={"name": "Serangan"}),
    "seller.quick_edit": Route("/penjual/produk/{product_id}/cepat", post=frozenset({"seller_b"}),
                               data={"price": "1", "stock": "0"}),
    "seller.upload_photos": Route("/penjual/produk/{product_id}/foto", post=frozenset({"seller_b"})),
    "seller.photo_action": Route("/penjual/produk/{public_product_id}/foto/{image_id}/hapus",
                                 post=frozenset({"seller_b"})),
    "seller.duplicate": Route("/penjual/produk/{product_id}/salin", post=frozenset({"seller_b"})),
    "seller.change_status": Route("/penjual/produk/{product_id}/status/archived",
                                  post=frozenset({"seller_b"})),
    "seller.stock": Route("/penjual/produk/{product_id}/stok", get=frozenset({"seller_b"}),
                          post=frozenset({"seller_b"}), data={"change": "5", "reason": "restock"}),
    "seller.orders": Route("/penjual/pesanan", get=SELLERS),
    "seller.order": Route("/penjual/pesanan/{order_id}", get=frozenset({"seller_b"}),
                          post=frozenset({"seller_b"}), data={"status": "cancelled", "note": "x"}),
    "seller.retry_refund": Route("/penjual/pesanan/{order_id}/kembalikan-dana",
                                 post=frozenset({"seller_b"})),
    "seller.import_job": Route("/penjual/produk/impor/{job_id}", get=frozenset({"seller_b"})),
    "seller.import_file": Route("/penjual/produk/impor/{job_id}/berkas", get=frozenset({"seller_b"})),
    "seller.import_progress": Route("/penjual/produk/impor/{job_id}/progres",
                                    get=frozenset({"seller_b"})),
    "seller.confirm_import": Route("/penjual/produk/impor/{job_id}/jalankan",
                                   post=frozenset({"seller_b"})),
    "ledger.mine": Route("/penjual/rekening", get=SELLERS),
    "cooperatives.membership": Route("/penjual/koperasi", get=SELLERS, post=SELLERS,
                                     data={"koperasi": "999999"}),
    "cooperatives.answer": Route("/penjual/koperasi/{membership_id}/terima",
                                 post=frozenset({"seller_b"})),
    # --- cooperatives ---
    "cooperatives.mine": Route("/koperasi", get=frozenset({"manager_a", "manager_b"}) | READERS),
    "cooperatives.home": Route("/koperasi/{coop}", get=frozenset({"manager_b"}) | READERS),
    "cooperatives.live": Route("/koperasi/{coop}/baru", get=frozenset({"manager_b"}) | READERS),
    "cooperatives.export": Route("/koperasi/{coop}/penjualan.csv",
                                 get=frozenset({"manager_b"}) | READERS),
    "cooperatives.invite": Route("/koperasi/{coop}/undang", post=frozenset({"manager_b"}),
                                 data={"toko": "{shop_slug}"}),
    "cooperatives.decide": Route("/koperasi/{coop}/anggota/{membership_id}/tolak",
                                 post=frozenset({"manager_b"})),
    "cooperatives.office_list": Route("/admin/koperasi", get=READERS, post=OFFICE),
    # --- the city office ---
    "admin.verification": Route("/admin/verifikasi", get=READERS),
    "admin.approve": Route("/admin/verifikasi/{pending_shop_id}/setujui", post=OFFICE),
    "admin.reject": Route("/admin/verifikasi/{pending_shop_id}/tolak", post=OFFICE,
                          data={"reason": "Data belum lengkap sama sekali"}),
    "admin.search_status": Route("/admin/pencarian", get=READERS),
    "admin.search_retry": Route("/admin/pencarian/ulangi", post=OFFICE),
    "admin.payments": Route("/admin/pembayaran", get=READERS),
    "admin.payment_story": Route("/admin/pembayaran/{purchase_code}", get=READERS),
    "admin.stray_cash": Route("/admin/pembayaran/uang-kembali/1", post=OFFICE,
                              data={"nama": "Serangan"}),
    "admin.confirm_static": Route("/admin/pembayaran/qris-statis/{sale}/cek", post=OFFICE),
    "admin.audit": Route("/admin/audit", get=READERS),
    "admin.audit_export": Route("/admin/audit.csv", get=READERS),
    "admin.categories": Route("/admin/kategori", get=READERS),
    "admin.add_category": Route("/admin/kategori", post=OFFICE, data={"name": "Serangan"}),
    "admin.rename_category": Route("/admin/kategori/{category_id}/nama", post=OFFICE,
                                   data={"name": "Serangan"}),
    "admin.move_category": Route("/admin/kategori/{category_id}/naik", post=OFFICE),
    "admin.delete_category": Route("/admin/kategori/{category_id}/hapus", post=OFFICE),
    "admin.users": Route("/admin/pengguna", get=ADMIN),
    "admin.grant_role": Route("/admin/pengguna/{user_id}/peran", post=ADMIN,
                              data={"role": "admin"}),
    "admin.revoke_role": Route("/admin/pengguna/{user_id}/peran/shopper/cabut", post=ADMIN),
    "ledger.balances": Route("/admin/rekening", get=frozenset({"admin", "observer"})),
    "ledger.shop_statement": Route("/admin/toko/{shop_id}/rekening",
                                   get=frozenset({"admin", "observer"}), post=ADMIN,
                                   data={"amount": "1.000", "reference": "X", "paid_on": "2026-11-20"}),
    "reports.index": Route("/laporan", get=READERS),
    "reports.export": Route("/laporan/ekspor.csv", get=READERS),
    "reports.coverage": Route("/laporan/cakupan", get=READERS),
    "reports.growth": Route("/laporan/naik-kelas", get=READERS),
    # --- the JSON API (storefront/api): public reads, and calls a key authenticates ---
    "api.openapi": Route("/api/v1/openapi.json", get=EVERYONE),
    "api.search_products": Route("/api/v1/products?q=keripik", get=EVERYONE),
    "api.product": Route("/api/v1/products/{public_product_id}", get=EVERYONE),
    "api.shops": Route("/api/v1/shops", get=EVERYONE),
    "api.shop": Route("/api/v1/shops/{shop_slug}", get=EVERYONE),
    "api.categories": Route("/api/v1/categories", get=EVERYONE),
    "api.places": Route("/api/v1/places", get=EVERYONE),
    "api.fair_list": Route("/api/v1/fairs", get=EVERYONE),
    "api.fair": Route("/api/v1/fairs/{fair}", get=EVERYONE),
    "api.stand": Route("/api/v1/fairs/{fair}/stands/{stand}", get=EVERYONE),
    "api.order": Route("/api/v1/orders/{purchase_code}", note=API_KEY_ONLY),
    "api.create_cart": Route("/api/v1/carts", note=API_KEY_ONLY),
    "api.cart": Route("/api/v1/carts/x", note=API_KEY_ONLY),
    "api.start_checkout": Route("/api/v1/carts/x/checkout", note=API_KEY_ONLY),
    "api.sales_report": Route("/api/v1/reports/sales", note=API_KEY_ONLY),
    "api.reference": Route("/api/v1/", get=EVERYONE),
    "admin.api_clients": Route("/admin/api", get=READERS),
    "admin.issue_api_key": Route("/admin/api", post=ADMIN,
                                 data={"name": "Serangan", "owner": "X", "scopes": "orders:read",
                                       "rate_limit": "60"}),
    "admin.revoke_api_key": Route("/admin/api/{api_key_id}/cabut", post=ADMIN),
    "admin.add_webhook": Route("/admin/api/{api_key_id}/webhook", post=ADMIN,
                               data={"url": "https://klien.example/hook", "events": "order.paid"}),
    "admin.stop_webhook": Route("/admin/api/webhook/{webhook_id}/hentikan", post=ADMIN),
}

# Served by other code than Gerai's views: the static folder (no state at all).
NOT_VIEWS = {"static"}


def url_of(route: Route, ids: dict) -> str:
    return route.url.format(missing_media="0" * 64 + "-320.webp", **ids)


def data_of(route: Route, ids: dict) -> dict:
    return {k: v.format(**ids) if isinstance(v, str) else v for k, v in route.data.items()}
