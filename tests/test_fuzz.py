"""Our own fuzz test: every route, as every role, with boundary payloads.

It walks the URL map, opens each GET page for each role (ids of its own and other people's objects, and
integers far past any id), collects every form on those pages, and submits each form with boundary
payloads in its fields (empty, 10,000 characters, NUL bytes, emoji, markup, SQL fragments, negative, huge
and decimal numbers); every POST route nobody's page offered gets payloads too. Asserts: no answer >= 500
(no exception at all), no payload markup unescaped in any page, and ``flask verify`` clean afterwards.

Payloads are sampled with a fixed seed, so a failure repeats; the run stops at a time budget.
"""
import random
import time
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from werkzeug.routing.converters import AnyConverter, IntegerConverter

from gridapp.auth.models import ROLES, User
from gridapp.auth.permissions import PUBLIC
from gridapp.campaigns import service as campaigns
from gridapp.clock import local_today, utcnow
from gridapp.counter import service as counter
from gridapp.duty import service as duty
from gridapp.duty.models import DutyType
from gridapp.extensions import db
from gridapp.goods import stocktake
from gridapp.numbers import MAX_ID
from gridapp.org.models import StaffAssignment
from gridapp.org.service import first_grid
from gridapp.points import service as points

from . import factories

SEED = 20261216
BUDGET_SECONDS = 30  # per database; the walk is ordered and sampled, so a shorter run is a prefix
MARKUP = ['<script>alert("gx")</script>', '"><img src=x onerror=alert(1)>']
PAYLOADS = [
    "", " ", "x" * 10_000, "a\x00b", "\x00", "😀🎉", "艾力努尔·拜克力" * 20, MARKUP[0], MARKUP[1],
    "' OR 1=1 --", "'; DROP TABLE users; --", "%s%s%n", "-1", "0", "1", "2", "3", "-99999999999999999999",
    "99999999999999999999", "9223372036854775808", "3000000000", str(MAX_ID + 1), "1.5", "1e9", "NaN",
    "Infinity", "²", "２０", "0x10", "2026-02-30", "9999-12-31", "25:61", "13800000001", "+86 138 0000 0003",
]
PATH_NUMBERS = ["1", "2", "3", "99999999999999999999", str(MAX_ID + 1)]
SKIP_ENDPOINTS = {"static", "auth.logout"}  # logging out would end the walk for this role


class Forms(HTMLParser):
    """The POST forms of a page: action and fields (inputs, selects with their first option, textareas)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._form = {"action": attrs.get("action") or "", "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and attrs.get("name"):
            if tag in ("input", "textarea", "button"):
                self._form["fields"].setdefault(attrs["name"], attrs.get("value") or "")
            elif tag == "select":
                self._select = attrs["name"]
                self._form["fields"].setdefault(self._select, "")
        if tag == "option" and self._form is not None and self._select and not self._form["fields"][self._select]:
            self._form["fields"][self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def build_world(now):
    """One of everything a page can show, for two volunteers and two sponsors (so there are others' ids)."""
    admin = factories.make_user(role="admin")
    staff = factories.make_user(role="staff")
    team = factories.make_team("环保小卫士")
    volunteers = [factories.make_user(team=team), factories.make_user()]
    sponsors = [factories.make_user(role="sponsor"), factories.make_user(role="sponsor")]
    counter.add_redemption_day(admin, local_today(), "测试：今天加开")
    counter_session = counter.open_session(staff, local_today(), "")
    items = [factories.make_item("烧水壶", points_price=20), factories.make_item("牙膏", points_price=5)]
    for sponsor in sponsors:
        factories.donate(staff, sponsor.sponsor, (items[0], 5, 3000), (items[1], 20))
    patrol = DutyType(name="安全巡逻", default_points=10)
    db.session.add(patrol)
    [session] = duty.schedule(staff, duty_type=patrol, title="南门巡逻", place="南门",
                              starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=2), capacity=5)
    for volunteer in volunteers:
        attendance = duty.check_in(volunteer, session, now)
        duty.confirm(staff, attendance, now)
        points.award(volunteer, 100, reference="fuzz", description="测试积分", key=f"fuzz:{volunteer.id}")
        counter.redeem(staff, counter_session, volunteer, {items[1].id: 1}, token=f"fuzz-{volunteer.id}", now=now)
    campaign = campaigns.create_campaign(staff, campaigns.Details(
        title="扫雪除冰", duty_type=patrol, starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=3), meeting_point="南门广场", organiser="屯坪社区"), now)
    campaigns.add_zone(staff, campaign, campaigns.ZoneDetails(name="一号楼", needed=5))
    stocktake.start(staff, now)
    factories.make_user(status="pending")
    viewer = factories.make_user(role="viewer")
    db.session.add(StaffAssignment(user_id=viewer.id, unit_id=first_grid().parent_id))  # the community's figures
    db.session.commit()
    return {"admin": admin, "staff": staff, "volunteer": volunteers[0], "sponsor": sponsors[0], "viewer": viewer,
            "tokens": [session.token]}


class Fuzzer:
    def __init__(self, app, client, rng, deadline, tokens):
        self.app, self.client, self.rng, self.deadline, self.tokens = app, client, rng, deadline, tokens
        self.failures: list[str] = []
        self.requests = 0
        self.forms: dict[tuple, dict] = {}

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def check(self, method, url, data=None, headers=None):
        self.requests += 1
        try:
            response = self.client.open(url, method=method, data=data, headers=headers or {})
        except Exception as exc:  # noqa: BLE001  an exception is the 500 we are looking for
            db.session.rollback()
            self.failures.append(f"{method} {url} {_short(data)}: {type(exc).__name__}: {exc}"[:400])
            return None
        body = response.get_data(as_text=True) if response.mimetype.startswith("text/") else ""
        if response.status_code >= 500:
            self.failures.append(f"{method} {url} {_short(data)}: {response.status_code}")
        for markup in MARKUP:
            if markup in body:
                self.failures.append(f"{method} {url} {_short(data)}: unescaped {markup!r}")
        return body

    def path_values(self, rule, arg):
        converter = rule._converters[arg]
        if isinstance(converter, AnyConverter):
            return sorted(converter.items)
        if isinstance(converter, IntegerConverter):
            return PATH_NUMBERS
        return self.tokens + ["x", "zh_CN", "en", "<script>", "9" * 30]

    def urls(self, rule):
        """A few argument choices per rule: the first real ids, then sampled ones (own, others', huge)."""
        if not rule.arguments:
            return [rule.build({})[1]]
        choices = [{arg: self.path_values(rule, arg)[0] for arg in rule.arguments}]
        for _ in range(3):
            choices.append({arg: self.rng.choice(self.path_values(rule, arg)) for arg in rule.arguments})
        return list(dict.fromkeys(rule.build(values)[1] for values in choices))

    def walk_pages(self, rules):
        for rule in rules:
            if "GET" not in rule.methods or rule.endpoint in SKIP_ENDPOINTS:
                continue
            for url in self.urls(rule):
                if self.out_of_time():
                    return
                pdf = url.endswith(".pdf") or "/sheet" in url
                if pdf and not any(big in url for big in PATH_NUMBERS[3:]):
                    continue  # rendering real PDFs is slow; their ids are fuzzed with the huge numbers
                query = "" if pdf else "?" + self.rng.choice(
                    ["page=9223372036854775807", "q=%3Cscript%3Ealert(%22gx%22)%3C/script%3E", "sponsor=999999999999",
                     "page=-1&past=1", "q99999999999999999999=1&add=1", "month=2026-13", "next=//evil.example"])
                body = self.check("GET", url + query)
                body = self.check("GET", url) if body is not None else body
                if body:
                    parser = Forms()
                    parser.feed(body)
                    for form in parser.forms:
                        action = form["action"] or url
                        key = (action.split("?")[0], tuple(sorted(form["fields"])))
                        self.forms.setdefault(key, dict(form, action=action))

    def fuzz_forms(self, rounds: int):
        for _ in range(rounds):
            for (path, _names), form in sorted(self.forms.items()):
                if self.out_of_time():
                    return
                if path.rstrip("/").endswith("/logout"):
                    continue
                data = dict(form["fields"])
                for name in data:
                    if name != "csrf_token" and self.rng.random() < 0.6:
                        data[name] = self.rng.choice(PAYLOADS)
                if self.rng.random() < 0.2:
                    data[f"q{self.rng.choice(PATH_NUMBERS)}"] = self.rng.choice(PAYLOADS)
                headers = {"HX-Request": "true"} if self.rng.random() < 0.3 else {}
                self.check("POST", form["action"], data, headers)

    def fuzz_other_posts(self, rules, csrf_token):
        seen = {path for path, _ in self.forms}
        for rule in rules:
            if "POST" not in rule.methods or rule.endpoint in SKIP_ENDPOINTS:
                continue
            for url in self.urls(rule):
                if self.out_of_time():
                    return
                if url in seen:
                    continue
                data = {"csrf_token": csrf_token, "volunteer_id": self.rng.choice(PAYLOADS),
                        "reason": self.rng.choice(PAYLOADS), "token": self.rng.choice(PAYLOADS),
                        "points": self.rng.choice(PAYLOADS), "confirmed": "1",
                        f"q{self.rng.choice(PATH_NUMBERS)}": self.rng.choice(PAYLOADS)}
                self.check("POST", url, data)


def _short(data) -> str:
    if not data:
        return ""
    return repr({k: (v[:30] + "…" if isinstance(v, str) and len(v) > 30 else v)
                 for k, v in data.items() if k != "csrf_token"})[:200]


@pytest.mark.own_database  # seconds of requests on a database of its own
def test_no_input_makes_a_500_or_unescaped_markup_for_any_role(app, client, runner):
    rng = random.Random(SEED)
    world = build_world(utcnow())
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: (rule.rule, sorted(rule.methods)))
    deadline = time.monotonic() + BUDGET_SECONDS
    share = BUDGET_SECONDS / (len(ROLES) + 1)
    failures, total, forms = [], 0, 0
    for role in (None,) + tuple(sorted(ROLES)):
        client._cookies.clear()
        if role:
            # The walk as staff may have reset, deactivated or logged out the accounts used next.
            db.session.execute(sa.update(User).where(User.id == world[role].id).values(
                status="active", password_hash=factories.password_hash(), must_change_password=False))
            db.session.commit()
            assert client.login(world[role].phone).status_code == 303, role
        role_deadline = min(deadline, time.monotonic() + share)
        fuzzer = Fuzzer(app, client, rng, role_deadline, world["tokens"])
        public_or_mine = [rule for rule in rules
                          if role or getattr(app.view_functions[rule.endpoint], "access", PUBLIC) == PUBLIC]
        fuzzer.walk_pages(public_or_mine)
        fuzzer.fuzz_forms(rounds=6)
        fuzzer.fuzz_other_posts(public_or_mine, client.csrf_token("/account" if role else "/login"))
        failures += [f"[{role or 'anonymous'}] {failure}" for failure in fuzzer.failures]
        total += fuzzer.requests
        forms += len(fuzzer.forms)
    print(f"fuzz: {total} requests, {forms} forms")
    assert failures == [], f"{len(failures)} of {total} requests failed:\n" + "\n".join(failures[:40])
    assert total >= 300 and forms >= 15, (total, forms)
    db.session.rollback()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 0, result.output
