"""Who may do what: the admin grants and revokes roles, each change in the audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.models import ROLES, User
from ..extensions import db
from ..htmx import render
from . import services
from .forms import ROLE_LABELS, RoleForm, UserSearchForm
from .views import admin_required, bp


def _user(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _page(status: int = 200, role_form: RoleForm | None = None, granting: User | None = None,
          **context):
    search = UserSearchForm(request.args)
    text = (search.q.data or "").strip() if search.validate() else ""
    if search.errors:
        status = 422
    users = services.find_users(text)
    if granting is not None and granting not in users:  # the form with the error is shown
        users.insert(0, granting)
    return render("admin/users.html", search=search, users=users, searched=bool(text),
                  role_labels=ROLE_LABELS, role_form=role_form or RoleForm(formdata=None),
                  granting=granting.id if granting else None, http_status=status, **context)


def _back(user: User):
    return redirect(url_for(".users", q=request.args.get("q") or user.email) + f"#pengguna-{user.id}",
                    303)


@bp.get("/pengguna")
@admin_required
def users():
    return _page()


@bp.post("/pengguna/<int:user_id>/peran")
@admin_required
def grant_role(user_id: int):
    user = _user(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _page(status=422, role_form=form, granting=user)
    role = form.role.data
    granted = services.grant_role(user, role, current_user)
    db.session.commit()
    if granted:
        flash(_("%(user)s sekarang punya peran %(role)s.", user=user.email, role=ROLE_LABELS[role]))
    else:
        flash(_("%(user)s sudah punya peran %(role)s.", user=user.email, role=ROLE_LABELS[role]))
    return _back(user)


@bp.post("/pengguna/<int:user_id>/peran/<role>/cabut")
@admin_required
def revoke_role(user_id: int, role: str):
    user = _user(user_id)
    if role not in ROLES:
        abort(404)
    try:
        revoked = services.revoke_role(user, role, current_user)
        db.session.commit()
    except services.OwnAdminRole:
        return _page(status=409, problem=_(
            "Anda tidak bisa mencabut peran admin Anda sendiri. Minta admin lain melakukannya."))
    if revoked:
        flash(_("Peran %(role)s dicabut dari %(user)s.", role=ROLE_LABELS[role], user=user.email))
    return _back(user)
