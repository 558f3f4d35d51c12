"""Imports every capability's tables, so that Alembic and ``flask verify`` see the whole schema."""
from .auth.models import User  # noqa: F401
from .community.models import Household, Team  # noqa: F401
from .goods.models import Sponsor  # noqa: F401
