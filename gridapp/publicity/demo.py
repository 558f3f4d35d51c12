"""Demo 积分公示: last month posted a day ago (still 公示中), with one objection accepted (a missed
patrol's points corrected), one rejected and one waiting. Dates derive from ``now``."""
import random
from datetime import timedelta

from ..auth.models import User
from ..extensions import db
from ..reporting.months import Month
from . import service as publicity
from .models import Posting


def seed_postings(rng: random.Random, staff: User, volunteers: list[User], now) -> int:
    """Returns the postings added (0 when one exists)."""
    if db.session.query(Posting.id).first() is not None:
        return 0
    month = Month.of(now).previous()
    # A day ago, but never before the month ended (a month is posted once it is over): just after
    # midnight on the 1st it was posted at midnight. The objections fall between then and now.
    posted_at = max(now - timedelta(days=1), month.end)
    step = (now - posted_at) / 4
    posting = publicity.publish(staff, month, posted_at, publicity.DEFAULT_WINDOW_DAYS,
                                "如有异议，请在公示期内在手机上提出，或到网格党支部活动室找网格员。")
    lines = {line.volunteer_id: line for line in
             db.session.query(publicity.PostingLine).filter_by(posting_id=posting.id)}
    candidates = [v for v in volunteers if v.id in lines]
    rng.shuffle(candidates)
    reasons = ["月中那次夜间巡逻我去了两个小时，好像只记了一次的分。",
               "12号的环境卫生整治我参加了，但没有看到积分。",
               "我的余额好像不对，请帮忙核对一下。"]
    made = []
    for volunteer, reason in zip(candidates[:3], reasons):
        made.append(publicity.raise_objection(volunteer, lines[volunteer.id], reason, posted_at + step))
    if made:
        first = made[0]
        # Lowering is never needed here (the correction adds 5), but the reversal comes first:
        # pick an award the balance can carry for that moment.
        balance = db.session.get(User, first.volunteer_id).points_balance
        entries = [e for e in publicity.correctable_entries(first) if e.delta <= balance]
        if entries:
            entry = entries[0]
            publicity.accept(staff, first, entry, entry.delta + 5, "核对签到记录，补记巡逻积分 5 分。",
                             posted_at + 2 * step)
    if len(made) > 1:
        publicity.reject(staff, made[1], "核对签到表，当天没有您的签到记录；如有照片等材料请带到网格党支部。",
                         posted_at + 3 * step)
    db.session.flush()
    return 1


