"""The API's shapes (pydantic): what requests may hold and what answers hold.

The OpenAPI document is generated from these, and spectree validates requests (and our
answers) against the same models. Money is whole rupiah (``integer``), as in the domain.
Numbers in query strings are ASCII digits only, read by storefront.params like every
page reads them: pydantic alone would take "٣", "1_000" or " 7 ".
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..params import MAX_ID, whole_number
from ..places import KECAMATAN

MAX_RUPIAH = 10**12  # no price or total of ours comes near: bigger is a typo or an attack


def _ascii_int(low: int, high: int):
    def read(value):
        if isinstance(value, bool):
            raise ValueError("not a number")
        number = whole_number(value, low=low, high=high)
        if number is None:
            raise ValueError("ASCII digits within range")
        return number
    return BeforeValidator(read)


Id = Annotated[int, _ascii_int(1, MAX_ID), Field(ge=1, le=MAX_ID)]
Rupiah = Annotated[int, _ascii_int(0, MAX_RUPIAH), Field(ge=0, le=MAX_RUPIAH)]
Limit = Annotated[int, _ascii_int(1, 100), Field(ge=1, le=100)]
# Text a client may send in a query: no control characters (PostgreSQL refuses NUL).
Text80 = Annotated[str, Field(max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")]
Cursor = Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def _no_nulls_in_a_query(schema: dict) -> None:
    """A query parameter is there or not; it is never JSON null."""
    for prop in schema.get("properties", {}).values():
        branches = prop.get("anyOf")
        if branches and {"type": "null"} in branches:
            rest = [b for b in branches if b != {"type": "null"}]
            prop.pop("anyOf")
            prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        if prop.get("default", 0) is None:
            prop.pop("default")


class Query(BaseModel):
    model_config = ConfigDict(json_schema_extra=_no_nulls_in_a_query)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- requests --------------------------------------------------------------------------------

class ProductSearch(Query):
    """Catalogue search: the same filters, facets and typo tolerance as /katalog."""

    q: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""
    category: Text80 | None = Field(None, description="category slug (top level or leaf)")
    kecamatan: Literal[KECAMATAN] | None = None  # type: ignore[valid-type]
    shop_type: Literal["umkm", "koperasi"] | None = None
    shop: Text80 | None = Field(None, description="a shop's slug: its products only")
    price_min: Rupiah | None = Field(None, description="rupiah, inclusive")
    price_max: Rupiah | None = Field(None, description="rupiah, inclusive")
    in_stock: bool | None = None
    sort: Literal["relevance", "newest", "price_asc", "price_desc"] = "relevance"
    cursor: Cursor | None = None
    limit: Limit = 24


class Page(Query):
    cursor: Cursor | None = None
    limit: Limit = 24


class ShopList(Page):
    kecamatan: Literal[KECAMATAN] | None = None  # type: ignore[valid-type]


# A day as the report page takes it: YYYY-MM-DD within 2000..2099 (storefront.params).
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2099, 12, 31))]


class ReportQuery(Query):
    date_from: Day | None = Field(None, alias="from", description="Asia/Jakarta day, inclusive")
    date_to: Day | None = Field(None, alias="to", description="Asia/Jakarta day, inclusive; "
                                "at most 731 days after from")
    by: Literal["kecamatan", "kelurahan", "kategori", "jenis", "koperasi", "kanal", "toko"] = \
        "kecamatan"
    channel: Literal["online", "fair_qr", "fair_cash", "fair_sqris"] | None = None


class CartLineIn(Strict):
    product_id: Id
    variant_id: Id | None = None
    quantity: Annotated[int, Field(ge=1, le=99, strict=True)]


class CartIn(Strict):
    lines: Annotated[list[CartLineIn], Field(min_length=1, max_length=50)]


OneLine = r"^[^\x00-\x1f\x7f]*$"


class ContactIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=120, pattern=OneLine)]
    whatsapp: Annotated[str, Field(min_length=1, max_length=24, pattern=OneLine)]
    email: Annotated[str, Field(max_length=254, pattern=OneLine)] | None = None


class ShopChoiceIn(Strict):
    shop_id: Id
    fulfilment: Literal["pickup", "delivery"] = "pickup"
    address: Annotated[str, Field(max_length=300, pattern=OneLine)] | None = None


class CheckoutIn(Strict):
    contact: ContactIn
    shops: Annotated[list[ShopChoiceIn], Field(max_length=50)] = []
    payment_method: Literal["qris", "card"] = "qris"
    idempotency_key: Annotated[str, Field(min_length=8, max_length=40,
                                          pattern=r"^[A-Za-z0-9_-]+$")]
    return_url: Annotated[str, Field(max_length=500, pattern=OneLine)] | None = Field(
        None, description="card payments: where the gateway's page sends the shopper back "
                          "(an https address on one of the client's configured origins); "
                          "without it, Gerai's receipt")


# --- answers ---------------------------------------------------------------------------------

class PhotoUrls(BaseModel):
    small: str = Field(description="320 px on the long side, WebP")
    medium: str = Field(description="640 px, WebP")
    large: str = Field(description="1280 px, WebP")


class Photo(BaseModel):
    alt: str
    width: int
    height: int
    urls: PhotoUrls


class ShopRef(BaseModel):
    id: int
    slug: str
    name: str
    type: Literal["umkm", "koperasi"]
    kecamatan: str
    kelurahan: str
    url: str


class CategoryRef(BaseModel):
    slug: str
    name: str


class Variant(BaseModel):
    id: int
    name: str
    price: int
    in_stock: bool


class Product(BaseModel):
    id: int
    name: str
    url: str = Field(description="the product's canonical page on Gerai")
    price: int = Field(description="rupiah; with variants, the lowest variant price")
    currency: Literal["IDR"] = "IDR"
    in_stock: bool
    stock: int
    shop: ShopRef
    category: CategoryRef
    photos: list[Photo]
    variants: list[Variant]
    option_name: str | None = None


class ProductDetail(Product):
    description: str


class ProductPage(BaseModel):
    data: list[Product]
    total: int = Field(description="matches in all (exact)")
    facets: dict[str, dict[str, int]] = Field(
        description="counts per value: categories, kecamatan, shop_type, in_stock, price_band "
                    "(on the first page; later pages, reached by cursor, leave them empty)")
    next_cursor: str | None
    degraded: bool = Field(description="the search engine was away and the database answered "
                                       "(no typo tolerance, no facets)")


class Shop(ShopRef):
    description: str
    delivery_fee: int | None = Field(description="rupiah for local delivery; null: pickup only")
    logo: PhotoUrls | None


class ShopPage(BaseModel):
    data: list[Shop]
    next_cursor: str | None


class Category(BaseModel):
    slug: str
    name: str
    children: list[CategoryRef]


class CategoryList(BaseModel):
    data: list[Category]


class Kelurahan(BaseModel):
    name: str
    code: str


class Kecamatan(BaseModel):
    name: str
    code: str
    kelurahan: list[Kelurahan]


class PlaceList(BaseModel):
    data: list[Kecamatan]


class StandRef(BaseModel):
    code: str
    zone: str
    url: str = Field(description="the stand's page, as its poster's QR code opens it")
    shop: ShopRef | None
    selling: bool


class Fair(BaseModel):
    slug: str
    name: str
    venue: str
    starts_on: date
    ends_on: date
    opens_at: time
    closes_at: time
    closed: bool


class FairDetail(Fair):
    stands: list[StandRef]


class FairPage(BaseModel):
    data: list[Fair]
    next_cursor: str | None


class Stand(StandRef):
    fair: str
    products: list[Product]


class OrderLine(BaseModel):
    product_id: int | None
    name: str
    variant_name: str | None
    unit_price: int
    quantity: int
    line_total: int


class Order(BaseModel):
    code: str
    shop: ShopRef
    status: Literal["awaiting_payment", "new", "processing", "ready", "shipped", "completed",
                    "cancelled"]
    fulfilment: Literal["pickup", "delivery", "stand"]
    subtotal: int
    delivery_fee: int
    total: int
    lines: list[OrderLine]


class Payment(BaseModel):
    method: Literal["qris", "card", "other"]
    status: Literal["pending", "paid", "failed", "expired", "cancelled"]
    url: str | None = Field(description="Gerai's or the gateway's payment page to open")
    qris: str | None = Field(description="the QRIS payload to show as a QR code while pending")
    expires_at: datetime


class Purchase(BaseModel):
    code: str
    status: Literal["pending", "paid", "failed", "expired", "cancelled"]
    total: int
    currency: Literal["IDR"] = "IDR"
    created_at: datetime
    paid_at: datetime | None
    receipt_url: str
    payment: Payment
    orders: list[Order]


class CartLine(BaseModel):
    product_id: int
    variant_id: int | None
    name: str
    unit_price: int
    quantity: int
    line_total: int


class CartShop(BaseModel):
    shop: ShopRef
    lines: list[CartLine]
    subtotal: int
    delivery_fee: int | None = Field(description="what delivery would add; null: pickup only")


class Cart(BaseModel):
    id: str = Field(description="the cart's token: whoever holds it may check it out")
    shops: list[CartShop]
    total: int = Field(description="rupiah, before any delivery fee")
    payment_methods: list[Literal["qris", "card"]]


class ReportRow(BaseModel):
    key: str
    label: str
    total: int
    count: int
    share: float


class Report(BaseModel):
    start: date = Field(description="first day (Asia/Jakarta)")
    end: date = Field(description="last day, inclusive")
    by: str
    channel: str | None
    total: int
    count: int
    rows: list[ReportRow]


class ProblemField(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str | None = None
    errors: list[ProblemField] | None = None
