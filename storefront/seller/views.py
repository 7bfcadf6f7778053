"""The seller's workspace (/penjual): their shop, listings, photos, stock and orders.

Every route works on the logged-in seller's own shop; an id from another shop
answers 404, never someone else's data.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..catalogue.models import Product, ProductImage
from ..catalogue.services import top_categories
from ..exhibitions.services import current_stands
from ..extensions import db
from ..htmx import render, wants_fragment
from ..inventory import services as inventory
from ..media import PictureRejected, StorageUnavailable, load_picture, store_picture
from ..orders.models import ORDER_STATUSES, Order
from ..params import MAX_ID, plain_text, whole_number
from ..payments import runner
from ..payments.gateway import PaymentError
from ..places import KELURAHAN_BY_KECAMATAN
from ..urls import safe_next
from . import services
from .forms import (
    AltForm,
    OrderStatusForm,
    PhotoForm,
    ProductForm,
    QuickEditForm,
    ShopForm,
    StockForm,
)

bp = Blueprint("seller", __name__, url_prefix="/penjual")


def shop_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        g.shop = services.shop_of(current_user)
        if g.shop is None:
            return redirect(url_for(".open_shop"))
        return view(*args, **kwargs)
    return wrapper


def _own_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or product.shop_id != g.shop.id:
        abort(404)
    return product


def _own_image(product: Product, image_id: int) -> ProductImage:
    image = db.session.get(ProductImage, image_id)
    if image is None or image.product_id != product.id:
        abort(404)
    return image


def _picture_from(field, form_field) -> object | None:
    """Decode and store an uploaded file; a bad one (or a media folder that cannot
    take it) puts its reason next to the field and answers False."""
    upload = field
    if not upload or not getattr(upload, "filename", ""):
        return None
    try:
        return store_picture(load_picture(upload.stream))
    except (PictureRejected, StorageUnavailable) as refused:
        form_field.errors = list(form_field.errors) + [refused.message]
        g.storage_unavailable = isinstance(refused, StorageUnavailable)
        return False


def _form_status(form) -> int:
    """422 for what the user can fix; 503 when our media folder refused the picture."""
    if g.get("storage_unavailable"):
        return 503
    return 422 if form.is_submitted() else 200


# --- shop -------------------------------------------------------------------------------

@bp.route("/toko/buka", methods=["GET", "POST"])
@login_required
def open_shop():
    if services.shop_of(current_user):
        return redirect(url_for(".edit_shop"))
    form = ShopForm()
    if not form.is_submitted():
        form.owner_name.data = current_user.name
    if form.validate_on_submit():
        logo = _picture_from(form.logo.data, form.logo)
        if logo is not False:
            services.open_shop(current_user, form.details(), logo)
            db.session.commit()
            flash(_("Toko Anda sudah terdaftar dan menunggu verifikasi Dinas."))
            return redirect(url_for(".dashboard"))
    return render("seller/shop_form.html", form=form, shop=None, http_status=_form_status(form))


@bp.route("/toko", methods=["GET", "POST"])
@shop_required
def edit_shop():
    form = ShopForm(obj=g.shop)
    if form.validate_on_submit():
        logo = _picture_from(form.logo.data, form.logo)
        if logo is not False:
            resubmitted = g.shop.status == "rejected"
            services.update_shop(g.shop, form.details(), logo)
            db.session.commit()
            flash(_("Data toko disimpan dan diajukan ulang ke Dinas untuk diverifikasi.")
                  if resubmitted else _("Data toko disimpan."))
            return redirect(url_for(".edit_shop"))
    return render("seller/shop_form.html", form=form, shop=g.shop, http_status=_form_status(form))


@bp.get("/kelurahan")
@login_required
def kelurahan_options():
    """The kelurahan list narrowed to the chosen kecamatan (htmx swaps the <select>)."""
    form = ShopForm(formdata=None)
    kecamatan = request.args.get("kecamatan", "")
    names = KELURAHAN_BY_KECAMATAN.get(kecamatan)
    if names:
        form.kelurahan.choices = [SelectChoice("", _("Pilih kelurahan"))] + [SelectChoice(k, k) for k in names]
    return render("seller/shop_form.html", blocks={"kelurahan-field": "kelurahan_field"},
                  form=form, shop=None)


# --- dashboard --------------------------------------------------------------------------

@bp.get("")
@shop_required
def dashboard():
    return render("seller/dashboard.html", shop=g.shop, figures=services.dashboard(g.shop),
                  stands=current_stands(g.shop))


# --- listings ---------------------------------------------------------------------------

def _category_choices():
    return [(c.id, c.name) for top in top_categories() for c in [top, *top.children]]


def _product_form(product: Product | None = None, *, bound: bool = True) -> ProductForm:
    """The listing form; ``bound=False`` shows the product as saved even while another
    form on the page (a photo's alt text) was posted."""
    form = ProductForm(obj=product) if bound else ProductForm(formdata=None, obj=product)
    form.category_id.choices = _category_choices()
    if not bound or not form.is_submitted():
        form.stock_seen.data = product.stock if product is not None else 0
        if product is not None:
            for variant in product.variants:
                form.variants.append_entry(
                    {"id": variant.id, "name": variant.name, "price": variant.price,
                     "stock": variant.stock, "stock_seen": variant.stock, "sku": variant.sku})
    # room for new variant rows, without JavaScript
    filled = len([v for v in form.variants if not v.form.is_blank])
    while len(form.variants) < min(filled + 2, form.variants.max_entries):
        form.variants.append_entry()
    return form


def _variant_inputs(form: ProductForm) -> list[services.VariantInput]:
    return [services.VariantInput(name=v.name.data.strip(), price=v.price.data,
                                  stock=v.stock.data or 0, sku=(v.sku.data or "").strip() or None,
                                  id=_small_int(v.id.data), seen=_small_int(v.stock_seen.data) or 0)
            for v in form.filled_variants()]


def _small_int(value) -> int | None:
    """A hidden field's number (an id, the stock seen): 0 to 2**31 - 1, else None."""
    return whole_number(value, low=0, high=MAX_ID)


def _product_details(form: ProductForm) -> dict:
    return {"name": form.name.data.strip(), "description": form.description.data or "",
            "price": form.price.data if form.price.data is not None else 0,
            "stock": form.stock.data or 0, "weight_grams": form.weight_grams.data,
            "status": form.status.data, "category_id": form.category_id.data,
            "sku": (form.sku.data or "").strip() or None, "option_name": form.option_name.data,
            "stock_seen": _small_int(form.stock_seen.data) or 0}


def _save(form: ProductForm, product: Product | None):
    """Validate and save; returns the product, or None with errors on the form."""
    if not form.validate_on_submit():
        return None
    try:
        saved = services.save_product(g.shop, _product_details(form), _variant_inputs(form),
                                      product, current_user)
    except services.SkuTaken as taken:
        db.session.rollback()
        form.sku.errors = list(form.sku.errors) + [
            _("SKU %(sku)s sudah dipakai produk lain di toko Anda.", sku=taken.sku)]
        return None
    except inventory.StockChanged as changed:
        db.session.rollback()
        _stock_moved(form, changed)
        return None
    db.session.commit()
    return saved


def _stock_moved(form: ProductForm, changed: inventory.StockChanged) -> None:
    """A sale (or another tab) moved the stock since the form was opened: say so next to
    the field, keep what the seller typed, and let the next save count from now."""
    message = _("Stok berubah dari %(seen)d menjadi %(now)d sejak halaman ini dibuka (ada "
                "penjualan atau perubahan lain). Periksa angkanya lalu simpan lagi.",
                seen=changed.seen, now=changed.current)
    form.stale = True
    form.stale_message = message  # also at the top of the form: on a phone the field is far down
    if changed.variant_id is None:
        form.stock.errors = list(form.stock.errors) + [message]
        form.stock_seen.data = changed.current
        return
    for entry in form.variants:
        if _small_int(entry.form.id.data) == changed.variant_id:
            entry.form.stock.errors = list(entry.form.stock.errors) + [message]
            entry.form.stock_seen.data = changed.current


@bp.get("/produk")
@shop_required
def products():
    status = request.args.get("status") or None
    if status not in (None, "draft", "active", "archived"):
        status = None
    text = plain_text(request.args.get("q"), 100)
    page = whole_number(request.args.get("hal"), low=1, high=999, default=1)
    rows, total = services.list_products(g.shop, status, text, page)
    return render("seller/products.html", blocks={"daftar-produk": "product_rows"},
                  shop=g.shop, products=rows, total=total, status=status, text=text, page=page,
                  quick=QuickEditForm(formdata=None))


@bp.route("/produk/baru", methods=["GET", "POST"])
@shop_required
def new_product():
    form = _product_form()
    if not form.is_submitted():
        form.status.data = "active"  # a seller adds a product to sell it; Draf stays a choice
    product = _save(form, None)
    if product:
        files = [f for f in request.files.getlist("photos") if f and f.filename]
        problems = _first_photos(product, files)
        for problem in problems:
            flash(problem, "error")
        flash(_("Produk disimpan.") if files and not problems
              else _("Produk disimpan. Tambahkan foto agar lebih menarik."))
        return redirect(url_for(".edit_product", product_id=product.id)
                        + ("#foto" if problems or not files else ""))
    return render("seller/product_form.html", form=form, product=None,
                  http_status=422 if form.is_submitted() else 200)


@bp.route("/produk/<int:product_id>", methods=["GET", "POST"])
@shop_required
def edit_product(product_id: int):
    product = _own_product(product_id)
    form = _product_form(product)
    saved = _save(form, product) if form.is_submitted() else None
    if saved:
        flash(_("Perubahan disimpan."))
        return redirect(url_for(".edit_product", product_id=product.id))
    status = 200
    if form.is_submitted():
        status = 409 if getattr(form, "stale", False) else 422
    return _product_page(product, form, PhotoForm(formdata=None), status)


def _store_photos(product: Product, files) -> tuple[list[str], StorageUnavailable | None]:
    """Each uploaded file stored and added, each committed; what was refused and why, and
    our own disk's failure (which stops the rest: the next file would fail the same way)."""
    problems = []
    for upload in files:
        try:
            services.add_photo(product, store_picture(load_picture(upload.stream)))
            db.session.commit()
        except PictureRejected as rejected:
            problems.append(f"{upload.filename}: {rejected.message}")
        except services.TooManyPhotos:
            problems.append(_("Maksimal 8 foto per produk."))
            break
        except StorageUnavailable as unavailable:
            return problems, unavailable
    return problems, None


def _first_photos(product: Product, files) -> list[str]:
    """Photos sent with a new product's form; what could not be kept, and why. The product
    is saved already: a refused photo is said on its page, where another can be added."""
    problems, unavailable = _store_photos(product, files)
    return problems + ([unavailable.message] if unavailable else [])


def _product_page(product: Product, form: ProductForm, photo_form: PhotoForm, status: int,
                  **extra):
    return render("seller/product_form.html", form=form, product=product,
                  photo_form=photo_form, stock_form=_stock_form(product, None),
                  history=services.stock_history(product, 10), http_status=status, **extra)


@bp.post("/produk/<int:product_id>/cepat")
@shop_required
def quick_edit(product_id: int):
    """Inline edit of price and stock from the listing, of the product or of each of its
    variants (htmx swaps the row)."""
    product = _own_product(product_id)
    form = QuickEditForm()
    status = 200
    if not form.validate_on_submit():
        status = 422
    else:
        try:
            if product.variants or form.variants.entries:  # a row's variants, checked
                services.quick_update_variants(product, _quick_variant_edits(form), current_user)
            else:
                services.quick_update(product, form.price.data, form.stock.data,
                                      _small_int(form.stock_seen.data) or 0, current_user)
        except inventory.StockChanged as changed:
            db.session.rollback()
            db.session.refresh(product)
            field = form.stock if changed.variant_id is None else \
                form.entry_for(changed.variant_id).stock
            field.errors = [_("Stok berubah dari %(seen)d menjadi %(now)d sejak daftar ini "
                              "dibuka. Periksa lalu simpan lagi.", seen=changed.seen,
                              now=changed.current)]
            status = 409
        except services.VariantsChanged:
            db.session.rollback()
            db.session.refresh(product)
            form = QuickEditForm(formdata=None)
            form.row_error = _("Varian produk ini berubah sejak daftar dibuka. Periksa lalu "
                               "simpan lagi.")
            status = 409
        else:
            db.session.commit()
            form = QuickEditForm(formdata=None)
    row = f"produk-{product.id}"
    if not (wants_fragment() and request.headers.get("HX-Target") == row):
        if status == 200:
            flash(_("Harga dan stok %(name)s disimpan.", name=product.name))
        else:  # without the row swapped in, its reason comes up top
            flash(_("Harga dan stok %(name)s tidak disimpan: %(reason)s", name=product.name,
                    reason=_first_error(form)), "error")
        return redirect(url_for(".products"))
    return render("seller/products.html", blocks={row: "product_row"},
                  shop=g.shop, product=product, quick=form, saved=status == 200, http_status=status)


def _first_error(form: QuickEditForm) -> str:
    """The first reason a row was not saved (a variant's errors come as dicts)."""
    def messages(errors):
        for error in errors.values() if isinstance(errors, dict) else errors:
            yield from messages(error) if isinstance(error, list | dict) else [str(error)]
    return getattr(form, "row_error", None) or next(messages(form.errors), "")


def _quick_variant_edits(form: QuickEditForm) -> list[services.VariantQuickEdit]:
    """The posted variant rows; an id that is not a number matches no variant (the
    service then answers that the variants changed)."""
    return [services.VariantQuickEdit(id=_small_int(v.id.data) or 0, price=v.price.data,
                                      stock=v.stock.data, seen=_small_int(v.stock_seen.data) or 0)
            for v in (entry.form for entry in form.variants)]


@bp.post("/produk/<int:product_id>/salin")
@shop_required
def duplicate(product_id: int):
    copy = services.duplicate_product(_own_product(product_id))
    db.session.commit()
    flash(_("Salinan dibuat sebagai draf. Periksa lalu aktifkan."))
    return redirect(url_for(".edit_product", product_id=copy.id))


@bp.post("/produk/<int:product_id>/status/<any(active, draft, archived):status>")
@shop_required
def change_status(product_id: int, status: str):
    product = _own_product(product_id)
    services.set_status(product, status)
    db.session.commit()
    messages = {"archived": _("Produk diarsipkan; tidak tampil lagi di katalog."),
                "draft": _("Produk dijadikan draf."), "active": _("Produk aktif di katalog.")}
    flash(messages[status])
    return redirect(safe_next(request.form.get("next"), "seller.products"))


# --- photos -----------------------------------------------------------------------------

@bp.post("/produk/<int:product_id>/foto")
@shop_required
def upload_photos(product_id: int):
    product = _own_product(product_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        abort(400)
    files = [f for f in request.files.getlist(form.photos.name) if f and f.filename]
    problems, unavailable = _store_photos(product, files)
    if unavailable is not None:
        # Our disk, not the seller's file: say so next to the field, keeping the photos
        # already stored.
        form.photos.errors = [unavailable.message, *problems]
        return _product_page(product, _product_form(product), form, 503)
    if not files:
        problems.append(_("Pilih foto untuk diunggah."))
    if problems and len(problems) >= len(files):
        # Nothing was kept: the reasons next to the photo field, with a status that says
        # so (a bomb, a polyglot that is no picture, a file too large for its kind).
        form.photos.errors = problems
        return _product_page(product, _product_form(product), form, 422)
    for problem in problems:
        flash(problem, "error")
    if not problems:
        flash(_("Foto ditambahkan."))
    return redirect(url_for(".edit_product", product_id=product.id) + "#foto", 303)


@bp.post("/produk/<int:product_id>/foto/<int:image_id>/<any(naik, turun, sampul, hapus, alt):action>")
@shop_required
def photo_action(product_id: int, image_id: int, action: str):
    product = _own_product(product_id)
    image = _own_image(product, image_id)
    if action == "naik":
        services.move_photo(product, image, -1)
    elif action == "turun":
        services.move_photo(product, image, +1)
    elif action == "sampul":
        services.make_cover(product, image)
    elif action == "hapus":
        services.remove_photo(product, image)
    if action != "alt":
        db.session.commit()
    else:
        form = AltForm()
        if not form.validate_on_submit():
            # Too long (or a stale form): the text comes back next to its photo, with why.
            return _product_page(product, _product_form(product, bound=False),
                                 PhotoForm(formdata=None), 422, alt_form=form,
                                 alt_image_id=image.id)
        image.alt = form.alt.data or ""
        db.session.commit()
    return redirect(url_for(".edit_product", product_id=product.id) + "#foto", 303)


# --- stock ------------------------------------------------------------------------------

def _stock_form(product: Product, formdata=None) -> StockForm:
    form = StockForm(formdata=formdata) if formdata is not None else StockForm(formdata=None)
    form.variant_id.choices = [(0, _("Tanpa varian"))] if not product.variants else \
        [(v.id, v.name) for v in product.variants]
    return form


@bp.route("/produk/<int:product_id>/stok", methods=["GET", "POST"])
@shop_required
def stock(product_id: int):
    product = _own_product(product_id)
    form = _stock_form(product, request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        variant = next((v for v in product.variants if v.id == form.variant_id.data), None)
        if product.variants and variant is None:
            form.variant_id.errors = [_("Pilih varian.")]
            status = 422
        elif form.validate():
            try:
                services.adjust_stock(product, form.change.data, form.reason.data, current_user,
                                      form.note.data or "", variant)
            except services.NotEnoughStock:
                db.session.rollback()
                form.change.errors = [_("Stok tidak cukup untuk dikurangi sebanyak itu.")]
                status = 409
            else:
                db.session.commit()
                flash(_("Stok diperbarui."))
                return redirect(url_for(".stock", product_id=product.id), 303)
        else:
            status = 422
    return render("seller/stock.html", product=product, form=form,
                  history=services.stock_history(product), http_status=status)


# --- orders -----------------------------------------------------------------------------

def _own_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None or order.shop_id != g.shop.id or order.status == "awaiting_payment":
        abort(404)
    return order


@bp.get("/pesanan")
@shop_required
def orders():
    status = request.args.get("status") or None
    if status not in ORDER_STATUSES:
        status = None  # a filter the page never offers shows every order
    return render("seller/orders.html", orders=services.shop_orders(g.shop, status), status=status)


@bp.post("/pesanan/<int:order_id>/kembalikan-dana")
@shop_required
def retry_refund(order_id: int):
    """A refund the gateway refused is asked for again (same idempotency key per order)."""
    found = _own_order(order_id)
    if found.refund_status != "failed":
        flash(_("Tidak ada pengembalian dana yang gagal untuk pesanan ini."))
        return redirect(url_for(".order", order_id=found.id), 303)
    try:
        runner.refund(found, found.cancel_reason or _("Dibatalkan penjual"), current_user)
    except PaymentError as error:
        flash(str(error.message), "error")
    else:
        flash(_("Pengembalian dana diminta lagi."))
    return redirect(url_for(".order", order_id=found.id), 303)


@bp.route("/pesanan/<int:order_id>", methods=["GET", "POST"])
@shop_required
def order(order_id: int):
    found = _own_order(order_id)
    form = OrderStatusForm()
    status = 200
    if form.is_submitted() and form.status.data not in found.next_statuses:
        # A form from before the order moved on (another tab, a refund): that is what the
        # seller needs to hear, not what the note lacks, which no form here shows now.
        form.status.errors = [_("Status pesanan tidak bisa diubah ke sana dari status sekarang.")]
        status = 409
    elif form.validate_on_submit():
        note = (form.note.data or "").strip() or None
        try:
            if form.status.data == "cancelled" and found.paid_at is not None \
                    and "cancelled" in found.next_statuses:
                # A paid order the seller cannot fill: the buyer gets the money back.
                runner.refund(found, note or _("Dibatalkan penjual"), current_user)
            else:
                services.advance_order(found, form.status.data, note, current_user)
                db.session.commit()
        except services.TransitionNotAllowed:
            form.status.errors = [_("Status pesanan tidak bisa diubah ke sana dari status sekarang.")]
            status = 409
        except PaymentError as error:
            form.status.errors = [str(error.message)]
            status = 503
        else:
            flash(_("Status pesanan diperbarui."))
            return redirect(url_for(".order", order_id=found.id), 303)
    elif form.is_submitted():
        status = 422
    return render("seller/order.html", order=found, form=form, http_status=status)
