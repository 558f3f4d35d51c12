"""The count form: one whole-number input (``count-<line id>``) and one reason (``reason-<line id>``) per line.

The number of lines is the sheet's, so the inputs are read here rather than declared as WTForms
fields; the FlaskForm carries the CSRF token. Phones may type full-width digits (１２): they are
folded to ASCII first.
"""
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from .stocktake import MAX_COUNT, REASON_MAX

WHOLE_NUMBER = re.compile(r"[+-]?\d+")


def parse_count(raw: str | None) -> tuple[int | None, str | None]:
    """A typed count as (value, error): blank is None (not counted yet); else a whole number 0…MAX_COUNT."""
    value = unicodedata.normalize("NFKC", raw or "").strip().replace(",", "")
    if not value:
        return None, None
    if not WHOLE_NUMBER.fullmatch(value):
        return None, _l("请填写整数（如 12），不能有小数或文字。")
    number = int(value)
    if number < 0:
        return None, _l("盘点数不能小于0。")
    if number > MAX_COUNT:
        return None, _l("盘点数不能超过%(max)d。", max=MAX_COUNT)
    return number, None


class CountsForm(FlaskForm):
    """Counts and reasons for the lines of one stocktake; ``errors_by_line`` says what is wrong where."""

    def read_lines(self, lines, formdata) -> bool:
        """Read every line's inputs present in ``formdata``; False (and per-line errors) if any is invalid.

        ``entered`` keeps what was typed, so the page shown again with 422 keeps it too.
        """
        self.counts: dict[int, int | None] = {}
        self.reasons: dict[int, str] = {}
        self.entered: dict[int, tuple[str, str]] = {}
        self.errors_by_line: dict[int, str] = {}
        for line in lines:
            count_key, reason_key = f"count-{line.id}", f"reason-{line.id}"
            raw_count, raw_reason = formdata.get(count_key), formdata.get(reason_key)
            if raw_count is not None:
                value, error = parse_count(raw_count)
                if error:
                    self.errors_by_line[line.id] = error
                else:
                    self.counts[line.id] = value
            if raw_reason is not None:
                reason = raw_reason.strip()
                if len(reason) > REASON_MAX:
                    self.errors_by_line.setdefault(line.id, _l("原因不能超过%(max)d个字。", max=REASON_MAX))
                self.reasons[line.id] = reason
            self.entered[line.id] = (raw_count if raw_count is not None else _shown(line.counted),
                                     raw_reason if raw_reason is not None else line.reason)
        return not self.errors_by_line

    def shown(self, line) -> tuple[str, str]:
        """What the inputs of ``line`` show: what was typed (after a refused post), else what is saved."""
        entered = getattr(self, "entered", {})
        return entered.get(line.id, (_shown(line.counted), line.reason))


def _shown(counted: int | None) -> str:
    return "" if counted is None else str(counted)
