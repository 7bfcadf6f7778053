"""The category tree shoppers filter by: the office adds, renames, orders and removes."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..catalogue.models import Category
from ..extensions import db
from ..htmx import render
from ..params import id_or_400
from . import services
from .forms import CategoryForm, CategoryNameForm
from .views import bp, office_required, reader_required

NAME_TAKEN = _l("Sudah ada kategori bernama ini di tempat yang sama.")


def _category(category_id: int) -> Category:
    return db.session.get(Category, category_id) or abort(404)


def _page(add_form: CategoryForm | None = None, status: int = 200,
          rename_form: CategoryNameForm | None = None, **context):
    tree = services.category_tree()
    return render("admin/categories.html", tree=tree, counts=services.product_counts(),
                  add_form=add_form or CategoryForm(formdata=None, tops=tree),
                  rename_form=rename_form or CategoryNameForm(formdata=None), http_status=status,
                  **context)


@bp.get("/kategori")
@reader_required
def categories():
    return _page()


@bp.post("/kategori")
@office_required
def add_category():
    form = CategoryForm(tops=services.category_tree())
    if not form.validate_on_submit():
        return _page(form, 422)
    name = form.name.data.strip()
    parent = _category(id_or_400(form.parent.data)) if form.parent.data else None
    if services.name_taken(name, parent.id if parent else None):
        form.name.errors = [NAME_TAKEN]
        return _page(form, 422)
    services.add_category(name, parent, current_user)
    db.session.commit()
    flash(_("Kategori %(name)s ditambahkan.", name=name))
    return redirect(url_for(".categories"), 303)


@bp.post("/kategori/<int:category_id>/nama")
@office_required
def rename_category(category_id: int):
    category = _category(category_id)
    form = CategoryNameForm()
    if form.validate_on_submit():
        name = form.name.data.strip()
        if not services.name_taken(name, category.parent_id, category.id):
            services.rename_category(category, name, current_user)
            db.session.commit()
            flash(_("Nama kategori disimpan: %(name)s.", name=name))
            return redirect(url_for(".categories"), 303)
        form.name.errors = [NAME_TAKEN]
    return _page(status=422, rename_form=form, renaming=category.id)


@bp.post("/kategori/<int:category_id>/<any(naik, turun):direction>")
@office_required
def move_category(category_id: int, direction: str):
    category = _category(category_id)
    services.move_category(category, -1 if direction == "naik" else 1, current_user)
    db.session.commit()
    return redirect(url_for(".categories") + f"#kategori-{category.id}", 303)


@bp.post("/kategori/<int:category_id>/hapus")
@office_required
def delete_category(category_id: int):
    category = _category(category_id)
    name = category.name
    try:
        services.delete_category(category, current_user)
        db.session.commit()
    except services.CategoryInUse as in_use:
        if in_use.products:
            problem = _("Kategori %(name)s tidak bisa dihapus: masih dipakai %(count)d produk. "
                        "Pindahkan produknya ke kategori lain dulu.", name=name,
                        count=in_use.products)
        else:
            problem = _("Kategori %(name)s tidak bisa dihapus: masih punya %(count)d subkategori. "
                        "Hapus subkategorinya dulu.", name=name, count=in_use.children)
        return _page(status=409, problem=problem)
    flash(_("Kategori %(name)s dihapus.", name=name))
    return redirect(url_for(".categories"), 303)
