"""The grid scope: the one mechanism that keeps every grid's records to itself.

Design (one mechanism, no filter remembered in views):

- **Scoped models.** Every operational root carries ``grid_id`` (NOT NULL, FK ``org_units``) through the
  ``GridScoped`` mixin: households, duty sessions, campaigns, counter days and sessions, redemptions, items,
  stocktakes, donations, postings, reports. Children (attendances, lots, lines, zones, photos …) follow their
  root. Users carry ``grid_id`` too (``PeopleScoped``): a volunteer's grid is their household's, kept equal in
  the database by a composite foreign key; staff, admins and sponsors have none. Teams serve one or more
  grids of a community through ``team_grids`` (``LinkedToGrids``).
- **The scope.** While a request has a scope (set once per request after login by ``org.views``), a
  ``do_orm_execute`` listener adds ``with_loader_criteria`` to every ORM SELECT: a scoped model's rows of
  other grids are simply not there — a URL or a form id of another grid finds nothing (404, or the form's
  "not found"). Volunteers: their grid. Staff and admins: their working grid (chosen among the grids they
  are assigned to, or that lie under their units; kept on their login). Sponsors: no scope (their
  own-sponsor checks limit them). Anonymous pages: the grid named in the URL (``?grid=<code>``) or the
  first grid. The CLI, demo seeding and tests outside requests are unscoped; ``scoped_to(grid)`` scopes a
  block explicitly, ``unscoped()`` lifts the scope for a deliberate cross-grid read (the public receipt
  check, whose number names its grid).
- **What a record points at is followed freely.** The criteria apply to top-level SELECTs (including
  ``Session.get`` and joins), not to loading a relationship of a record already in scope, nor to
  refreshing an object already loaded: a redemption of this counter shows its volunteer even when that
  volunteer's home grid is another one of the community (``points_anywhere``).
- **New rows get the working grid.** A ``before_flush`` listener gives every new scoped row without a
  ``grid_id`` the scope's working grid, or, outside any scope (CLI, demo, tests), the deployment's first
  grid; services pass ``grid_id`` explicitly only to write into another grid. A volunteer's ``grid_id`` is
  set from their household in the same listener.
- **Volunteers at other counters.** When a community sets ``points_anywhere``, its grids' volunteers are
  visible to each other's scopes as *people* (``User`` rows only), so that any of its counters can look
  them up and serve them; every other record stays in its grid.
"""
import weakref
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from flask import g, has_app_context
from sqlalchemy import bindparam, event, inspect, or_, text, true
from sqlalchemy.orm import Session, declared_attr, with_loader_criteria

from ..extensions import db


class GridScoped:
    """A record that belongs to one grid: ``grid_id`` (NOT NULL) and its ``grid``."""

    @declared_attr
    def grid_id(cls):
        return db.Column(db.Integer, db.ForeignKey("org_units.id"), nullable=False, index=True)

    @declared_attr
    def grid(cls):
        return db.relationship("OrgUnit", foreign_keys=[cls.grid_id])


class PeopleScoped:
    """A user: ``grid_id`` is their household's grid for a volunteer, NULL for everyone else.

    Under a scope, volunteers of grids outside it are not there; staff, admins and sponsors always are.
    The model defines ``grid_id``; each such model is registered here for the listener."""

    models: list = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        PeopleScoped.models.append(cls)


class LinkedToGrids:
    """A record serving several grids through a link table (a team); it defines ``in_grids(ids)``, the
    criterion "serves one of these grids"."""

    models: list = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        LinkedToGrids.models.append(cls)


@dataclass(frozen=True)
class GridScope:
    """The grids a request may see: ``ids`` for every scoped record, ``people_ids`` for volunteers
    (``ids`` plus the community's other grids when its points may be spent anywhere), and ``working``,
    the grid new records go to."""

    ids: tuple[int, ...]
    working: int | None
    people_ids: tuple[int, ...] = ()
    choices: tuple[int, ...] = ()  # the grids staff or an admin may switch to (the header's switcher)

    @classmethod
    def of_grid(cls, grid, people_ids=None) -> "GridScope":
        return cls(ids=(grid.id,), working=grid.id, people_ids=tuple(people_ids or (grid.id,)))


_KEY = "_grid_scope"


def current_scope() -> GridScope | None:
    """The scope in force, or None (unscoped: CLI, demo seeding, tests outside requests, sponsors)."""
    if not has_app_context():
        return None
    return g.get(_KEY)


def set_scope(scope: GridScope | None) -> None:
    """Set the request's scope (once per request, after login)."""
    setattr(g, _KEY, scope)


def clear_scope(*_args) -> None:
    """End the request's scope (teardown): nothing after the request runs scoped by accident."""
    if has_app_context():
        g.pop(_KEY, None)


@contextmanager
def scoped_to(grid, people_ids=None):
    """Run a block as if a request of ``grid`` were running (demo seeding of a second grid, tests)."""
    previous = g.get(_KEY)
    setattr(g, _KEY, GridScope.of_grid(grid, people_ids))
    try:
        yield
    finally:
        setattr(g, _KEY, previous)


def in_home_grids(grid_id):
    """The criterion "this volunteer's home grid (``grid_id``, a column) is one of the scope's grids"; true
    outside a scope. Figures, lists and exports of a grid are its own volunteers': the people a scope shows
    may be wider (a community whose points are spent at any of its counters shows each counter its sibling
    grids' volunteers), and the ledger itself carries no grid."""
    scope = current_scope()
    return true() if scope is None else grid_id.in_(scope.ids)


def streamed_in_scope(chunks):
    """A response body that runs its queries as the server reads it (a streamed export) runs them in the
    request's scope: by then the request's teardown has cleared the scope (``clear_scope``), and an
    export of grid A held every grid's rows. Wrap the body before returning the response."""
    scope = current_scope()

    def body():
        set_scope(scope)
        try:
            yield from chunks
        finally:
            clear_scope()

    return body()


@contextmanager
def unscoped():
    """Lift the scope for a deliberate cross-grid read (e.g. the public receipt check)."""
    previous = g.get(_KEY) if has_app_context() else None
    if has_app_context():
        setattr(g, _KEY, None)
    try:
        yield
    finally:
        if has_app_context():
            setattr(g, _KEY, previous)


# What the scope costs a query (issue 14). The scoped copy of a statement is kept per statement (weakly)
# and per scope: the app builds its statements once, and SQLAlchemy memoises the cache key of a statement
# object it has seen, so handing it the same scoped copy again spares walking the whole statement for its
# key on every execution (a fresh copy per execution cost more than the rest of the query). A statement
# built anew per call misses, and its entry goes with it. The usual scope, one grid for records and
# people alike, passes the grid as a parameter of the execution (``scope_grid``), compared with "=": no
# value inside the statement for SQLAlchemy to extract and match again per execution, no list for it to
# rewrite into the SQL per execution, and one scoped copy per statement whatever the grid. A scope of
# several grids keeps its ids in the criteria (an IN).
_SCOPED = weakref.WeakKeyDictionary()
SCOPED_PER_STATEMENT = 64  # scopes of several grids kept per statement (a few per worker in practice)
ONE_GRID = "one grid"  # the key of the one-grid copy
SCOPE_GRID_PARAMETER = "scope_grid"  # the name the criteria below use


def _one_grid_criteria(statement):
    # The parameter's name is written out in each lambda: SQLAlchemy analyses what a criteria lambda
    # refers to, and a constant of its code is the simplest thing to see.
    return statement.options(
        with_loader_criteria(GridScoped, lambda cls: cls.grid_id == bindparam("scope_grid"), include_aliases=True,
                             propagate_to_loaders=False),
        *(with_loader_criteria(model, lambda cls: or_(cls.grid_id == bindparam("scope_grid"), cls.grid_id.is_(None)),
                               include_aliases=True, propagate_to_loaders=False) for model in PeopleScoped.models),
        *(with_loader_criteria(model, lambda cls: cls.in_grids([bindparam("scope_grid")]), include_aliases=True,
                               propagate_to_loaders=False) for model in LinkedToGrids.models),
    )


def _grids_criteria(statement, ids: tuple, people: tuple):
    return statement.options(
        with_loader_criteria(GridScoped, lambda cls: cls.grid_id.in_(ids), include_aliases=True,
                             propagate_to_loaders=False),
        *(with_loader_criteria(model, lambda cls: or_(cls.grid_id.in_(people), cls.grid_id.is_(None)),
                               include_aliases=True, propagate_to_loaders=False) for model in PeopleScoped.models),
        *(with_loader_criteria(model, lambda cls: cls.in_grids(ids), include_aliases=True,
                               propagate_to_loaders=False) for model in LinkedToGrids.models),
    )


def _scoped_copy(statement, key, build):
    try:
        per_scope = _SCOPED.get(statement)
        if per_scope is None:
            per_scope = _SCOPED[statement] = {}
    except TypeError:  # not weakly referenceable: not kept
        return build(statement)
    scoped = per_scope.get(key)
    if scoped is None:
        if len(per_scope) >= SCOPED_PER_STATEMENT:
            per_scope.clear()
        scoped = per_scope[key] = build(statement)
    return scoped


@event.listens_for(Session, "do_orm_execute")
def _add_grid_criteria(state):
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    scope = current_scope()
    if scope is None:
        return
    ids, people = scope.ids, scope.people_ids or scope.ids
    parameters = state.parameters
    if len(ids) == 1 and people == ids and (parameters is None or isinstance(parameters, Mapping)):
        state.statement = _scoped_copy(state.statement, ONE_GRID, _one_grid_criteria)
        state.parameters = {**(parameters or {}), SCOPE_GRID_PARAMETER: ids[0]}
    else:
        state.statement = _scoped_copy(state.statement, (ids, people),
                                       lambda statement: _grids_criteria(statement, ids, people))


FIRST_GRID_SQL = text("SELECT id FROM org_units WHERE is_grid ORDER BY position, id LIMIT 1")


def working_grid_id(session) -> int:
    """The grid new rows go to: the scope's working grid, or outside a scope the deployment's first grid."""
    scope = current_scope()
    if scope is not None and scope.working is not None:
        return scope.working
    return session.connection().execute(FIRST_GRID_SQL).scalar()


@event.listens_for(Session, "before_flush")
def _give_new_rows_a_grid(session, _context, _instances):
    """New scoped rows without a grid get the working grid (or the first grid outside a scope); a
    volunteer's grid follows their household."""
    default = []  # the grid new rows go to, looked up once per flush and only when needed

    def default_grid() -> int:
        if not default:
            default.append(working_grid_id(session))
        return default[0]

    for obj in list(session.new):
        if isinstance(obj, GridScoped) and obj.grid_id is None and obj.__dict__.get("grid") is None:
            obj.grid_id = default_grid()
        elif isinstance(obj, LinkedToGrids) and not obj.grids:
            from .models import OrgUnit  # noqa: PLC0415  (models import this module)

            obj.grids.append(session.get(OrgUnit, default_grid()))  # a new team serves the grid it was made in
    moved = [obj for obj in session.dirty if isinstance(obj, PeopleScoped) and (
        inspect(obj).attrs.household.history.has_changes()
        or inspect(obj).attrs.household_id.history.has_changes())]
    for obj in [obj for obj in session.new if isinstance(obj, PeopleScoped)] + moved:
        household = obj.__dict__.get("household")
        if household is not None:
            if household.grid_id is None and household.__dict__.get("grid") is not None:
                household.grid_id = household.grid.id
            obj.grid_id = household.grid_id
        elif obj.household_id is not None:
            obj.grid_id = session.connection().execute(
                text("SELECT grid_id FROM households WHERE id = :id"), {"id": obj.household_id}).scalar()
        else:
            obj.grid_id = None

