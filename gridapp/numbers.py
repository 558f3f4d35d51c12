"""Whole numbers from the outside world: URL parts, query strings and form fields, parsed in one place.

Every id column is a 32-bit INTEGER on PostgreSQL, and SQLite refuses anything past 2^63 with an
OverflowError, so a number that does not fit is not an id of anything: the URL converter answers 404,
and the helpers below give the default (or None) instead of handing a huge number to the database.
Only ASCII digits count: ``"²".isdigit()`` is true, but ``int("²")`` fails. What a person types into a
quantity is read by ``typed_whole_number``, which folds full-width digits first.
"""
import re
import unicodedata
from functools import lru_cache

from flask import request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest INTEGER on PostgreSQL; no id of ours is larger
MAX_PAGE = 10_000  # far beyond any list we page through
_WHOLE = re.compile(r"[0-9]{1,10}")


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: 1 to 10 ASCII digits and at most MAX_ID, else the route does not match (404).

    Registered app-wide under the name ``int``, so a route written ``<int:item_id>`` gets it.
    """

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits=0, min=0, max=MAX_ID, signed=False):  # noqa: A002  werkzeug's names
        super().__init__(map, fixed_digits, min, max, False)


def register_converters(app) -> None:
    """Before any route is added: ``<int:…>`` and ``<id:…>`` are the bounded converter."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter


def parse_int(value, *, low: int = 0, high: int = MAX_ID, default=None):
    """``value`` (a str from a query or form, or an int) as an int in ``low..high``; ``default`` otherwise."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        number = value
    else:
        text = (value or "").strip() if isinstance(value, str) else ""
        if not _WHOLE.fullmatch(text):
            return default
        number = int(text)
    return number if low <= number <= high else default


def typed_whole_number(value: str | None, units: tuple[str, ...] = ()) -> int | None:
    """A whole number a person typed, as they type it on a phone or at the counter: full-width digits
    (``２``) fold to ASCII and one of ``units`` after it (``2个``, ``3 瓶``) is read past; None when there is
    no whole number to read (``1.5``, ``两``, ``1个半``, ``3千``), so the caller can say so rather than guess."""
    match = _typed_whole(units).fullmatch(unicodedata.normalize("NFKC", value or "").strip())
    return int(match.group(1)) if match else None


@lru_cache(maxsize=8)
def _typed_whole(units: tuple[str, ...]) -> re.Pattern:
    unit = "|".join(map(re.escape, units))
    return re.compile(rf"([0-9]{{1,30}})(?:\s*(?:{unit}))?" if units else r"([0-9]{1,30})")


def parse_id(value):
    """An id typed into a form or a query (``volunteer_id``, ``sponsor``…): a positive int that fits, or None."""
    return parse_int(value, low=1)


def page_number(args=None, name: str = "page") -> int:
    """The ``?page=`` of a paged list: 1 to MAX_PAGE, 1 for anything else (a page past the end is empty)."""
    args = request.args if args is None else args
    return parse_int(args.get(name), low=1, high=MAX_PAGE, default=1)
