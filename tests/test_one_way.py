"""One way to do each thing: views commit through one unit of work (``formtools.commit_or_explain``,
with ``once.run_once`` built on it), and "this belongs to the current user" is checked by one helper
(``auth.service.require_owner``). The guards below read the source and name each offender, so that
a newcomer copying an old habit learns the house way from the failure message."""
import ast
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

import gridapp
from gridapp import once
from gridapp.auth.service import owns, require_owner
from gridapp.errors import DomainError, NotFound, PermissionDenied
from gridapp.extensions import db
from gridapp.formtools import commit_or_explain
from gridapp.goods.models import Sponsor

from . import factories

PACKAGE = Path(gridapp.__file__).parent

# Where a transaction may end by hand, and why.
MAY_COMMIT = {
    "formtools.py": "the unit of work itself",
    "cli.py": "command-line commands, each its own unit of work",
    "database.py": "the start of a unit of work (ends its read transaction) and the SQLite connection that "
                   "lets go of the writer mutex after its COMMIT or ROLLBACK",
}
MAY_ROLL_BACK = {
    **MAY_COMMIT,
    "web.py": "the error pages: whatever a failed request left is discarded",
    "home/views.py:healthz": "a failed health probe (a read) leaves no broken transaction behind",
}


class _Calls(ast.NodeVisitor):
    """Every ``<something>.<method>()`` in a module, with the function it is in."""

    def __init__(self, method: str):
        self.method, self.function, self.found = method, "<module>", []

    def visit_FunctionDef(self, node):
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        if isinstance(node.func, ast.Attribute) and node.func.attr == self.method:
            self.found.append((self.function, node.lineno))
        self.generic_visit(node)


def _calls(method: str):
    """(module path, function, line) of every ``<something>.<method>()`` in the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        calls = _Calls(method)
        calls.visit(ast.parse(path.read_text(encoding="utf-8")))
        for function, line in calls.found:
            yield path.relative_to(PACKAGE).as_posix(), function, line


def _offenders(method: str, allowed: dict) -> list[str]:
    found = set()
    for module, function, line in _calls(method):
        if module in allowed or f"{module}:{function}" in allowed:
            continue
        found.add(f"gridapp/{module}:{line}")
    return sorted(found)


def test_no_view_or_service_commits_outside_the_unit_of_work_helper():
    offenders = _offenders("commit", MAY_COMMIT)
    assert offenders == [], (
        "commit through gridapp/formtools.py commit_or_explain (or once.run_once for a one-time token) "
        "instead of calling commit() in: " + ", ".join(offenders))


def test_no_view_rolls_back_by_hand():
    offenders = _offenders("rollback", MAY_ROLL_BACK)
    assert offenders == [], (
        "commit_or_explain rolls back on a DomainError and explains it; no try/commit/rollback in: "
        + ", ".join(offenders))


# obj.volunteer_id != current_user.id, viewer.id == report.reporter_id, donation.sponsor_id != user.sponsor_id …
OWNER_COMPARISON = re.compile(
    r"\b[a-z_]\w*\.(?:volunteer|sponsor|reporter|user|owner)_id\s*[!=]=\s*[a-z_]\w*\.(?:id|sponsor_id)\b"
    r"|\b[a-z_]\w*\.(?:id|sponsor_id)\s*[!=]=\s*[a-z_]\w*\.(?:volunteer|sponsor|reporter|user|owner)_id\b")


def test_owner_checks_go_through_require_owner():
    offenders = [f"gridapp/{path.relative_to(PACKAGE).as_posix()}:{number}: {line.strip()}"
                 for path in sorted(PACKAGE.rglob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if OWNER_COMPARISON.search(line)]
    assert offenders == [], ("check ownership with auth.service.require_owner(user, obj) (the model names "
                             "its owner_column) instead of comparing ids: " + "; ".join(offenders))


# --- the helpers themselves ---------------------------------------------------------------------

class Refused(DomainError):
    default_message = "不行。"


def _add_sponsor(name, refuse=False):
    """A service call: it writes (flushes, never commits), then may refuse."""
    sponsor = Sponsor(name=name, kind="shop")
    db.session.add(sponsor)
    db.session.flush()
    if refuse:
        raise Refused()
    return sponsor


def _sponsor_named(name):
    return db.session.scalar(select(Sponsor).where(Sponsor.name == name))


def test_commit_or_explain_commits_the_action_and_returns_its_result(app):
    ok, sponsor = commit_or_explain(lambda: _add_sponsor("提交商铺"), [])
    db.session.rollback()  # nothing pending is left to lose: it was committed
    assert ok and _sponsor_named("提交商铺").id == sponsor.id


def test_commit_or_explain_rolls_back_a_refusal_and_puts_its_message_in_the_list(app):
    errors = ["表单已有的错误"]
    assert commit_or_explain(lambda: _add_sponsor("退回商铺", refuse=True), errors) == (False, None)
    assert errors == ["表单已有的错误", "不行。"]
    assert _sponsor_named("退回商铺") is None


def test_commit_or_explain_without_a_list_raises_the_refusal_after_rolling_back(app):
    with pytest.raises(Refused):
        commit_or_explain(lambda: _add_sponsor("抛出商铺", refuse=True))
    assert _sponsor_named("抛出商铺") is None


def test_run_once_answers_a_used_token_with_the_first_result_and_no_second_effect(app):
    user = factories.make_user()
    db.session.commit()
    calls = []

    def action():
        calls.append(1)
        _add_sponsor(f"一次商铺{len(calls)}")
        return f"/result/{len(calls)}"

    assert once.run_once("token-1", user, action) == "/result/1"
    assert once.run_once("token-1", user, action) == "/result/1"
    assert calls == [1] and _sponsor_named("一次商铺2") is None


def test_run_once_that_loses_the_race_for_its_token_rolls_its_effect_back(app, monkeypatch):
    user = factories.make_user()
    db.session.commit()
    monkeypatch.setattr(once, "record", lambda token, who, url: False)  # a double tap recorded it first

    def action():
        _add_sponsor("竞争商铺")
        return "/result/race"

    assert once.run_once("token-2", user, action) == "/result/race"
    assert _sponsor_named("竞争商铺") is None


def test_run_once_raises_a_refusal_after_rolling_it_back(app):
    user = factories.make_user()
    db.session.commit()
    with pytest.raises(Refused):
        once.run_once("token-3", user, lambda: _add_sponsor("拒绝商铺", refuse=True))
    assert _sponsor_named("拒绝商铺") is None and once.earlier_result("token-3", user) is None


class Thing(SimpleNamespace):
    owner_column = "volunteer_id"


class Gift(SimpleNamespace):
    owner_column = "sponsor_id"


VOLUNTEER = SimpleNamespace(id=7, role="volunteer", sponsor_id=None)
OTHER_VOLUNTEER = SimpleNamespace(id=8, role="volunteer", sponsor_id=None)
STAFF = SimpleNamespace(id=9, role="staff", sponsor_id=None)
SPONSOR_ACCOUNT = SimpleNamespace(id=10, role="sponsor", sponsor_id=3)


def test_require_owner_gives_the_owner_their_own_thing():
    thing = Thing(volunteer_id=7)
    assert require_owner(VOLUNTEER, thing) is thing
    gift = Gift(sponsor_id=3)
    assert require_owner(SPONSOR_ACCOUNT, gift) is gift  # a sponsor's account owns what the sponsor gave


def test_require_owner_answers_someone_elses_thing_as_not_found():
    with pytest.raises(NotFound):
        require_owner(OTHER_VOLUNTEER, Thing(volunteer_id=7))
    with pytest.raises(NotFound):
        require_owner(SPONSOR_ACCOUNT, Gift(sponsor_id=4))
    with pytest.raises(NotFound):  # a user id that happens to equal a sponsor id owns nothing of it
        require_owner(SimpleNamespace(id=3, role="volunteer", sponsor_id=None), Gift(sponsor_id=3))
    assert not owns(SPONSOR_ACCOUNT, Gift(sponsor_id=None))


def test_require_owner_lets_staff_in_only_when_asked_and_raises_the_given_error():
    thing = Thing(volunteer_id=7)
    assert require_owner(STAFF, thing, staff_too=True) is thing
    with pytest.raises(PermissionDenied):
        require_owner(STAFF, thing, error=PermissionDenied)
