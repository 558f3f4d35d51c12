"""Who may open which route. Every view declares its access with one of these decorators.

The declaration is stored on the view function (``view.access``) so that a test can
check that no route was left without one, and probe each route with each role.
"""
from functools import wraps

from flask import abort
from flask_login import current_user

from ..extensions import login_manager

ANY_ROLE = "any-logged-in"
PUBLIC = "public"


def public(view):
    """Open to everyone, logged in or not."""
    view.access = PUBLIC
    return view


def roles_required(*roles):
    """Logged-in users with one of ``roles``; others get 403, anonymous visitors the login page."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles != (ANY_ROLE,) and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.access = roles
        return wrapped

    return decorator


def login_required(view):
    """Any logged-in user, whatever the role."""
    return roles_required(ANY_ROLE)(view)
