"""Campaign invariants, run by `flask verify` and the tests: a person is paid once per campaign."""
from sqlalchemy import text

from ..extensions import db
from ..invariants import invariant

# An attendance's unreversed awards (duty's checks say a confirmed attendance has exactly one).
_LIVE_AWARDS = """
    (SELECT COUNT(*) FROM points_entries e
     WHERE e.reference = 'checkin:' || a.id AND e.kind = 'award'
       AND NOT EXISTS (SELECT 1 FROM points_entries r WHERE r.reverses_id = e.id))"""


@invariant
def each_volunteer_is_paid_once_per_campaign():
    """No volunteer holds unreversed awards from two zones (or twice) of one campaign."""
    rows = db.session.execute(text(f"""
        SELECT z.campaign_id, a.volunteer_id, a.id, {_LIVE_AWARDS} AS live
        FROM attendances a JOIN campaign_zones z ON z.session_id = a.session_id
        ORDER BY z.campaign_id, a.volunteer_id, a.id"""))
    paid: dict[tuple[int, int], list[int]] = {}
    for campaign_id, volunteer_id, attendance_id, live in rows:
        paid.setdefault((campaign_id, volunteer_id), []).extend([attendance_id] * live)
    for (campaign_id, volunteer_id), attendances in paid.items():
        if len(attendances) > 1:
            yield (f"campaigns id {campaign_id}: volunteer id {volunteer_id} paid {len(attendances)} times "
                   f"(attendances ids {', '.join(map(str, attendances))})")


@invariant
def campaign_awards_match_confirmed_attendances():
    """Every confirmed attendance in a zone has the campaign's award row, and every award row is a
    confirmed attendance of that volunteer in a zone of that campaign."""
    missing = db.session.execute(text("""
        SELECT a.id, z.campaign_id FROM attendances a JOIN campaign_zones z ON z.session_id = a.session_id
        WHERE a.status = 'confirmed' AND NOT EXISTS (SELECT 1 FROM campaign_awards w WHERE w.attendance_id = a.id)
        ORDER BY a.id"""))
    for attendance_id, campaign_id in missing:
        yield f"attendances id {attendance_id}: confirmed in campaign {campaign_id} without a campaign_awards row"
    stray = db.session.execute(text("""
        SELECT w.id, w.attendance_id FROM campaign_awards w
        LEFT JOIN attendances a ON a.id = w.attendance_id
        LEFT JOIN campaign_zones z ON z.id = w.zone_id
        WHERE a.id IS NULL OR a.status <> 'confirmed' OR a.volunteer_id <> w.volunteer_id
           OR z.session_id IS NULL OR z.session_id <> a.session_id OR z.campaign_id <> w.campaign_id
        ORDER BY w.id"""))
    for award_id, attendance_id in stray:
        yield f"campaign_awards id {award_id}: attendance {attendance_id} is not a confirmed attendance of its zone"
