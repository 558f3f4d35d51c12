"""One-time form tokens: a double tap or a retry over a bad network gives the first result again.

A form that does something once (check in, confirm a redemption) carries a random token.
The view records the token with the URL of its result in the same transaction as the effect;
the same token again is answered with a redirect to that result instead of a second effect.
"""
import secrets
from functools import cache

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from .auth.service import owns
from .clock import utcnow
from .errors import DomainError
from .extensions import db
from .formtools import commit_or_explain


class FormSubmission(db.Model):
    """A form token that has been used, by whom, and where its result is shown."""

    __tablename__ = "form_submissions"
    owner_column = "user_id"  # whose it is: auth.service.require_owner

    token = db.Column(db.String(64), primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    result_url = db.Column(db.String(300), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def earlier_result(token: str | None, user) -> str | None:
    """The result URL of an earlier submission of ``token`` by ``user`` (another user's token is ignored)."""
    if not token:
        return None
    row = db.session.get(FormSubmission, token)
    return row.result_url if row is not None and owns(user, row) else None


def record(token: str, user, result_url: str) -> bool:
    """Remember that ``token`` produced ``result_url``; False if it was recorded already (a race lost).

    No savepoint of its own (two statements fewer in every one-time form's unit of work): after False
    the transaction is unusable and must be rolled back whole, which ``run_once`` does — a lost race
    undoes the action's effect anyway."""
    try:  # a row, not an object: nothing reads it back in this request (no flush of the unit of work)
        db.session.execute(_record_statement(), {"token": token, "user_id": user.id, "result_url": result_url,
                                                 "created_at": utcnow()})
    except IntegrityError:
        return False
    return True


@cache
def _record_statement():
    return insert(FormSubmission.__table__)


class _AlreadyRecorded(DomainError):
    """The token was recorded by a concurrent submission first (a double tap that won the race)."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url


def run_once(token: str | None, user, action) -> str:
    """Run ``action()`` (which returns the URL of its result) at most once per form token, and commit
    (through ``formtools.commit_or_explain``: the effect and the token are one unit of work).

    Returns the URL to redirect to: the earlier result when the token was used before. A
    DomainError from ``action`` is raised after a rollback, unless an earlier submission of
    the same token (a double tap that lost the race) answers instead.
    """
    earlier = earlier_result(token, user)
    if earlier:
        return earlier

    def action_and_token():
        url = action()
        if token and not record(token, user, url):
            raise _AlreadyRecorded(url)
        return url

    try:
        _ok, url = commit_or_explain(action_and_token)
    except DomainError as exc:
        earlier = earlier_result(token, user)
        if earlier:
            return earlier
        if isinstance(exc, _AlreadyRecorded):
            return exc.url
        raise
    return url
