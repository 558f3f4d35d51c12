"""What the volunteer's home page puts first: what matters now, without saying anything twice.

Order: today's (or the next) exchange counter; my current or next duty with its check-in button; my
campaign zone (a campaign's zone sessions are folded into its card, never listed again as duties); then
the rest. Duties the volunteer is done with (checked out, confirmed, rejected) leave "today and upcoming".
"""
from dataclasses import dataclass, field
from datetime import date, datetime

from ..auth.models import User
from ..campaigns import service as campaigns
from ..duty import service as duty
from ..goods import stock

DONE = ("checked_out", "confirmed", "rejected")


UPCOMING_ON_HOME = 3


@dataclass
class CounterDay:
    day: date
    is_today: bool
    days_away: int
    place: str
    hours: str
    affordable_count: int
    affordable: list


@dataclass
class VolunteerHome:
    counter: CounterDay
    featured: tuple[duty.SessionLine, duty.AttendanceLine | None] | None  # my current or next duty
    campaigns: list = field(default_factory=list)  # (campaign, (zone, attendance) | None, zone session open?)
    zone_counts: dict = field(default_factory=dict)  # campaign id -> how many zones it has
    upcoming: list = field(default_factory=list)  # the next other duties of the coming days (at most 3)

    @property
    def my_campaigns(self):
        return [c for c in self.campaigns if c[1] is not None]

    @property
    def other_campaigns(self):
        return [c for c in self.campaigns if c[1] is None]


def _featured(sessions, now: datetime):
    """The duty to show first: one I am on now, else one I can check in to now, else my next sign-up."""
    for wanted in (lambda s, a: a is not None and a.status == "checked_in",
                   lambda s, a: (a is None or a.status in ("signed_up", "cancelled")) and s.window_open(now)
                   and not (a is None and s.is_full),
                   lambda s, a: a is not None and a.status == "signed_up"):
        for session, attendance in sessions:
            if wanted(session, attendance):
                return session, attendance
    return None


def volunteer_home(volunteer: User, now: datetime, today: date, counter_day: date, *, place: str,
                   hours: str, affordable: tuple[int, list] | None = None) -> VolunteerHome:
    """Everything the volunteer's home shows, in the order it shows it. ``counter_day`` is the next day the
    exchange counter opens (on or after ``today``); ``affordable``: (how many kinds, the dearest few) of
    what the volunteer's points buy, if the caller has it (``counter.shelf.counter_card``)."""
    count, affordable = affordable if affordable is not None else stock.within_points(volunteer.points_balance)
    counter = CounterDay(day=counter_day, is_today=counter_day == today, days_away=(counter_day - today).days,
                         place=place, hours=hours, affordable_count=count, affordable=affordable)

    # A campaign's zone sessions are folded into its card, never listed again as duties.
    sessions = duty.sessions_for_volunteer(volunteer, now, leaving_out=campaigns.zone_sessions())
    duties = [(s, a) for s, a in sessions if not (a is not None and a.status in DONE)]
    featured = _featured(duties, now)
    # The next few only: the home must fit two phone screens whatever the week holds.
    upcoming = [pair for pair in duties if featured is None or pair[0].id != featured[0].id][:UPCOMING_ON_HOME]

    listed, zone_counts = [], {}
    for campaign, place_held, zone_count in campaigns.campaigns_for_volunteer(volunteer, now):
        zone_counts[campaign.id] = zone_count
        zone_open = False
        if place_held is not None:
            zone, attendance = place_held
            zone_open = zone.window_open(now) and attendance.status == "signed_up"
        listed.append((campaign, place_held, zone_open))
    return VolunteerHome(counter=counter, featured=featured, campaigns=listed, upcoming=upcoming,
                         zone_counts=zone_counts)
