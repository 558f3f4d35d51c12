"""Imports every capability's tables, so that Alembic and ``flask verify`` see the whole schema."""
from .auth.models import User  # noqa: F401
from .community.models import Household, Team  # noqa: F401
from .goods.models import Sponsor  # noqa: F401
from .duty.models import Attendance, DutySession, DutyType  # noqa: F401
from .once import FormSubmission  # noqa: F401
from .points.models import PointsEntry  # noqa: F401
