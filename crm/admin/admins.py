"""The admins of the CRM: the list, invitations by e-mail, deactivation and reactivation."""

from flask import abort, flash, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import mail, sync
from ..auth import sessions, tokens
from ..auth.forms import InviteAdminForm
from ..auth.views import find_user_by_email
from ..extensions import db
from ..htmx import redirect_to, render
from ..models import User, utcnow
from .views import active_admins, bp


def admin_list():
    """Return every admin, oldest first."""
    return select(User).where(User.role == "admin").order_by(User.created_at, User.id)


def get_admin_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id) if user_id <= 2**31 - 1 else None
    if user is None or not user.is_admin:
        abort(404)
    return user


@bp.get("/admins")
def admins_page():
    """List the admins, with the form that invites another."""
    return admins_view(InviteAdminForm())


def admins_view(form: InviteAdminForm, status: int = 200):
    return render("admin/admins.html", status=status, form=form, admins=db.session.scalars(admin_list()).all())


@bp.post("/admins/invite")
def invite_admin():
    """Invite an admin by e-mail: they choose their own password through a single-use link."""
    form = InviteAdminForm()
    if not form.validate_on_submit():
        return admins_view(form, status=422)
    user = find_user_by_email(form.email.data)
    if user is not None and not user.is_admin:
        form.email.errors.append("This address belongs to an owner account; invite another address.")
    elif user is not None and not user.is_active:
        form.email.errors.append("This admin was deactivated; reactivate them from the list instead.")
    elif user is not None and user.has_password:
        form.email.errors.append("This person is already an admin.")
    if form.email.errors:
        return admins_view(form, status=422)
    if user is None:
        # No password until they follow the link: an empty hash matches nothing.
        user = User(
            email=form.email.data,
            role="admin",
            password_hash="",
            first_name=form.first_name.data.strip(),
            last_name=form.last_name.data.strip(),
        )
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:  # the same address invited by another admin a moment ago
            db.session.rollback()
            form.email.errors.append("This person has just been invited by another admin.")
            return admins_view(form, status=422)
    token = tokens.issue(user, "admin_invite", created_by=current_user)
    mail.queue(
        user.email,
        "admin_invite",
        user=user,
        inviter=current_user,
        days=tokens.LIFETIMES["admin_invite"].days,
        invite_url=mail.link("auth.accept_invitation", token=token),
    )
    sync.commit()
    flash(
        f"Invitation sent to {user.email}. The link works once, within {tokens.LIFETIMES['admin_invite'].days} days.",
        "success",
    )
    return redirect_to(url_for("admin.admins_page"))


def deactivation_refusal(actor: User, target: User) -> str | None:
    """Say why `actor` may not deactivate `target`, or None when they may."""
    if target.id == actor.id:
        return "You cannot deactivate your own account. Ask another admin."
    # Lock the active admins (PostgreSQL; SQLite writers queue anyway) so that two admins
    # deactivating each other at once cannot leave nobody able to sign in.
    active = list(db.session.scalars(active_admins().with_for_update()))
    if active == [target]:
        return "This is the last active admin: invite or reactivate another admin first."
    return None


@bp.post("/admins/<int:user_id>/deactivate")
def deactivate_admin(user_id: int):
    """Deactivate an admin: they cannot sign in, and every session of theirs ends now."""
    user = get_admin_or_404(user_id)
    refusal = deactivation_refusal(current_user, user)
    if refusal:
        flash(refusal, "error")
    elif user.deactivated_at is None:
        user.deactivated_at = utcnow()
        sessions.end_sessions(user)
        tokens.expire(user, "admin_invite")
        tokens.expire(user, "password_reset")
        db.session.commit()
        flash(f"{user.full_name} is deactivated and has been signed out everywhere.", "success")
    return redirect_to(url_for("admin.admins_page"))


@bp.post("/admins/<int:user_id>/reactivate")
def reactivate_admin(user_id: int):
    """Let a deactivated admin sign in again with their password."""
    user = get_admin_or_404(user_id)
    if user.deactivated_at is not None:
        user.deactivated_at = None
        db.session.commit()
        flash(f"{user.full_name} can sign in again.", "success")
    return redirect_to(url_for("admin.admins_page"))
