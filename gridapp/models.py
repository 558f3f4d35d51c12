"""Imports every capability's tables, so that Alembic and ``flask verify`` see the whole schema."""
from .auth.models import PasswordReset, User  # noqa: F401
from .community.models import Household, Team  # noqa: F401
from .goods.models import Donation, DonationLine, Item, Lot, Sponsor, StockMovement, Stocktake, StocktakeLine  # noqa: F401,E501
from .numbering import NumberSequence  # noqa: F401
from .duty.models import Attendance, DutySession, DutyType  # noqa: F401
from .once import FormSubmission  # noqa: F401
from .points.models import PointsEntry  # noqa: F401
from .counter.models import CounterSession, Redemption, RedemptionDay, RedemptionLine  # noqa: F401
from .campaigns.models import Campaign, CampaignAward, CampaignZone  # noqa: F401
from .reports.models import HazardPoints, PartnerUnit, Report, ReportEvent, ReportPhoto  # noqa: F401
from .publicity.models import HonourRollOptOut, Objection, Posting, PostingLine  # noqa: F401
from .org.models import OrgUnit, StaffAssignment  # noqa: F401
