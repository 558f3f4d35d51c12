"""No GET changes the database (DESIGN.md §6): a prefetching browser or a scanner opening a link
must never change data, and on SQLite a read must never take the write lock.

Every GET route of the URL map is requested as each role (and anonymously) on the demo world, with
real ids from it. Before and after: the row count of every table and the ledger totals; during each
request, no INSERT, UPDATE or DELETE may reach the database at all.
"""
import time

import pytest
import sqlalchemy as sa
from werkzeug.routing.converters import AnyConverter

from gridapp.clock import to_local, utcnow
from gridapp.publicity.models import Posting
from gridapp.reports.models import Report, ReportPhoto
from gridapp.auth.models import User
from gridapp.campaigns.models import CampaignZone
from gridapp.counter.models import CounterSession, Redemption
from gridapp.demo import DEMO_LOGINS, DEMO_PASSWORD, soon_patrol_title
from gridapp.duty.models import DutySession
from gridapp.extensions import db
from gridapp.goods import receipts
from gridapp.goods.models import Donation, Item, Sponsor
from gridapp.goods.stocktake import Stocktake
from gridapp.org.service import first_grid

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "TRUNCATE")
LEDGER_TOTALS = {
    "points ledger": "SELECT COALESCE(SUM(delta), 0) FROM points_entries",
    "cached balances": "SELECT COALESCE(SUM(points_balance), 0) FROM users",
    "stock ledger": "SELECT COALESCE(SUM(delta), 0) FROM stock_movements",
    "cached stock": "SELECT COALESCE(SUM(stock), 0) FROM items",
    "lots remaining": "SELECT COALESCE(SUM(remaining), 0) FROM lots",
    "duty places taken": "SELECT COALESCE(SUM(taken), 0) FROM duty_sessions",
}
TIME_BUDGET_SECONDS = 90  # the walk itself (the demo world is seeded once per run, before it)


def snapshot() -> dict:
    counts = {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
              for table in db.metadata.sorted_tables}
    totals = {name: int(db.session.scalar(sa.text(sql))) for name, sql in LEDGER_TOTALS.items()}
    db.session.rollback()  # end the read: each request starts afresh
    return {"rows": counts, "totals": totals}


class WriteRecorder:
    """Every write statement the app sends to the database while ``recording``."""

    def __init__(self, engine):
        self.engine, self.recording, self.seen = engine, False, []
        sa.event.listen(engine, "before_cursor_execute", self.record)

    def record(self, _conn, _cursor, statement, *_args):
        if self.recording and statement.lstrip().split(None, 1)[0].upper() in WRITES:
            self.seen.append(" ".join(statement.split())[:120])

    def remove(self):
        sa.event.remove(self.engine, "before_cursor_execute", self.record)


def demo_world():
    """Ids from the demo world for the routes' arguments, and volunteers from before the cards."""
    volunteer = User.query.filter_by(phone=DEMO_LOGINS[2][0]).one()
    sponsor_user = User.query.filter_by(phone=DEMO_LOGINS[3][0]).one()
    redemption = (Redemption.query.filter_by(volunteer_id=volunteer.id).first()
                  or Redemption.query.order_by(Redemption.id).first())
    donation = Donation.query.filter_by(sponsor_id=sponsor_user.sponsor_id).first()
    session = DutySession.query.filter_by(title=soon_patrol_title(utcnow())).first() or DutySession.query.first()
    zone = CampaignZone.query.order_by(CampaignZone.id).first()
    stocktake = Stocktake.query.first()
    # Accounts made before volunteer cards existed have no code yet: showing or printing their card
    # must not make one on a GET.
    others = (User.query.filter(User.role == "volunteer", User.status == "active", User.id != volunteer.id)
              .order_by(User.id).limit(4).all())
    uncarded, carded = [volunteer] + others[:2], others[2:]
    db.session.execute(sa.update(User).where(User.id.in_([u.id for u in uncarded])).values(volunteer_code=None))
    db.session.commit()
    return {
        "volunteer_id": volunteer.id, "redemption_id": redemption.id, "donation_id": donation.id,
        "duty_session_id": session.id, "counter_session_id": CounterSession.query.first().id,
        "campaign_id": zone.campaign_id, "zone_id": zone.id, "item_id": Item.query.first().id,
        "sponsor_id": Sponsor.query.first().id, "stocktake_id": stocktake.id if stocktake else 1,
        "duty_token": session.token, "receipt_token": receipts.make_token(donation),
        "uncarded": f"ids={','.join(str(u.id) for u in uncarded)}",
        "user_id": volunteer.id, "month": to_local(utcnow()).strftime("%Y-%m"), "fmt": "csv",
        "dataset": "volunteers", "report_id": Report.query.order_by(Report.id).first().id,
        "key": ReportPhoto.query.order_by(ReportPhoto.id).first().key,
        "posting_id": Posting.query.order_by(Posting.id).first().id,
        # The tree pages edit the grid (the demo admin's community is its own unit); the roll-ups show the community.
        "grid_unit_id": first_grid().id, "community_id": first_grid().parent_id, "grid_id": first_grid().id,
        "query": {"counter_pdfs.cards": [f"ids={','.join(str(u.id) for u in uncarded)}",
                                         f"ids={','.join(str(u.id) for u in carded)}"],
                  "counter.volunteer": f"add={Item.query.first().id}", "counter.index": f"q={volunteer.phone[-4:]}",
                  "goods.donation_list": "month=2026-11", "duty.sessions": "past=1"},
    }


def get_urls(app, world) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        values = {}
        for arg in rule.arguments:
            if isinstance(rule._converters[arg], AnyConverter):
                values[arg] = sorted(rule._converters[arg].items)[0]
            elif arg == "session_id":
                values[arg] = world["counter_session_id" if rule.endpoint.startswith("counter") else "duty_session_id"]
            elif arg == "token":
                values[arg] = world["receipt_token" if rule.endpoint.startswith("receipts") else "duty_token"]
            elif arg == "code":
                values[arg] = "en"
            elif arg == "unit_id":
                values[arg] = world["community_id" if rule.endpoint.startswith("reporting") else "grid_unit_id"]
            else:
                values[arg] = world[arg]
        url = rule.build(values)[1]
        query = world["query"].get(rule.endpoint, [])
        urls += [url] + [f"{url}?{q}" for q in ([query] if isinstance(query, str) else query)]
    return sorted(urls)


@pytest.mark.demo
def test_no_get_route_changes_the_database_for_any_role(app):
    started = time.monotonic()
    world = demo_world()
    urls = get_urls(app, world)
    assert len(urls) >= 60
    recorder = WriteRecorder(db.engine)
    writes, statuses = [], {}
    try:
        for role, phone in [("anonymous", None)] + [(login[2], login[0]) for login in DEMO_LOGINS[:4]]:
            client = app.test_client()
            if phone:
                assert client.login(phone, DEMO_PASSWORD).status_code == 303, role
            db.session.rollback()
            before = snapshot()
            for url in urls:
                recorder.recording, recorder.seen = True, []
                response = client.get(url)
                recorder.recording = False
                statuses[(role, url)] = response.status_code
                writes += [f"{role} GET {url}: {statement}" for statement in recorder.seen]
                db.session.rollback()
            assert snapshot() == before, f"the database changed while {role} only read"
    finally:
        recorder.remove()
    assert writes == []
    # The walk reached real pages, not only refusals: every role saw its own pages and PDFs.
    assert statuses[("volunteer", "/me/card")] == 200 and statuses[("staff", "/counter")] == 200
    assert statuses[("staff", f"/counter/cards.pdf?{world['uncarded']}")] == 409  # asks to make codes (POST)
    assert statuses[("staff", f"/counter/cards.pdf?{world['query']['counter_pdfs.cards'][1]}")] == 200
    assert statuses[("admin", f"/staff/donations/{world['donation_id']}/receipt.pdf")] == 200
    assert statuses[("admin", f"/admin/org/{world['grid_unit_id']}/edit")] == 200  # the demo admin edits its grids
    assert statuses[("admin", f"/rollups/{world['community_id']}")] == 200
    assert statuses[("admin", f"/rollups/grids/{world['grid_id']}")] == 200
    assert statuses[("sponsor", f"/sponsor/donations/{world['donation_id']}/receipt.pdf")] == 200
    assert sum(status == 200 for status in statuses.values()) >= 100
    assert time.monotonic() - started < TIME_BUDGET_SECONDS
