"""Exports for staff: CSV (UTF-8 with BOM, so that Excel and WPS open Chinese correctly) and XLSX
(XlsxWriter: real numbers and dates, a frozen header row, column widths).

Every export is a ``Book`` of one or more ``Sheet``s whose rows come from the database a batch at a
time (``yield_per``), so 1,000,000 ledger rows are never all in memory: CSV is streamed to the client
as it is read; XLSX is written in XlsxWriter's constant-memory mode to a temporary file, which is then
streamed and deleted.

Formula injection: a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
would be run as a formula by a spreadsheet; such cells get a leading apostrophe (OWASP's advice),
in both formats. Numbers stay numbers (a delta of -10 is the number -10, not text).
"""
import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..auth.models import STATUS_LABELS, User
from ..clock import from_local, to_local
from ..community.models import Household, Team
from ..counter.models import Redemption, RedemptionLine
from ..duty.models import STATUS_LABELS as ATTENDANCE_LABELS
from ..duty.models import Attendance, DutySession, DutyType
from ..errors import DomainError
from ..extensions import db
from ..goods.models import Donation, DonationLine, Item, Lot, Sponsor
from ..org.scope import in_home_grids
from ..points.models import KIND_LABELS, PointsEntry
from .months import Month

BOM = "\ufeff"
DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000
MAX_RANGE_DAYS = 3660

TEXT, INT, DATETIME, DATE, MONEY = "text", "int", "datetime", "date", "money"
WIDTHS = {TEXT: 14, INT: 10, DATETIME: 17, DATE: 12, MONEY: 11}


def neutralise(text: str) -> str:
    """A text cell that a spreadsheet would take for a formula, made plain text."""
    return "'" + text if text.startswith(DANGEROUS_FIRST) else text


@dataclass
class Column:
    header: str
    kind: str = TEXT
    width: int | None = None


@dataclass
class Sheet:
    name: str
    columns: list[Column]
    rows: Iterable[tuple]


@dataclass
class Book:
    filename: str  # without extension, ASCII
    sheets: list[Sheet]


# --- writing -----------------------------------------------------------------------------

def _local(value: datetime | None) -> datetime | None:
    return to_local(value).replace(tzinfo=None) if value is not None else None


def _csv_cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == DATETIME:
        return _local(value).strftime("%Y-%m-%d %H:%M:%S")
    if kind == DATE:
        return value.isoformat()
    if kind == MONEY:
        return f"{value / 100:.2f}"
    if kind == INT:
        return str(int(value))
    return neutralise(str(value))


def csv_chunks(book: Book) -> Iterator[str]:
    """The book as CSV text in chunks: BOM first; several sheets follow one another, each under its
    name, separated by an empty line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield BOM
    for index, sheet in enumerate(book.sheets):
        if len(book.sheets) > 1:
            if index:
                writer.writerow([])
            writer.writerow([neutralise(str(sheet.name))])
        writer.writerow([neutralise(str(c.header)) for c in sheet.columns])
        kinds = [c.kind for c in sheet.columns]
        for n, row in enumerate(sheet.rows, 1):
            writer.writerow([_csv_cell(v, k) for v, k in zip(row, kinds)])
            if n % BATCH == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def write_xlsx(book: Book, path: str) -> None:
    """The book as an XLSX file at ``path``: typed cells, frozen bold header, column widths."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
    header = workbook.add_format({"bold": True, "bg_color": "#F4F1EC", "bottom": 1})
    formats = {DATETIME: workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
               DATE: workbook.add_format({"num_format": "yyyy-mm-dd"}),
               MONEY: workbook.add_format({"num_format": "#,##0.00"}),
               INT: workbook.add_format({"num_format": "0"})}
    for sheet in book.sheets:
        ws = workbook.add_worksheet(str(sheet.name)[:31])
        for col, column in enumerate(sheet.columns):
            width = column.width or max(WIDTHS[column.kind], 2 * len(str(column.header)) + 2)
            ws.set_column(col, col, width)
        ws.freeze_panes(1, 0)
        for col, column in enumerate(sheet.columns):
            ws.write_string(0, col, str(column.header), header)
        for r, row in enumerate(sheet.rows, 1):
            for col, (value, column) in enumerate(zip(row, sheet.columns)):
                if value is None:
                    continue
                kind = column.kind
                if kind == DATETIME:
                    ws.write_datetime(r, col, _local(value), formats[DATETIME])
                elif kind == DATE:
                    ws.write_datetime(r, col, datetime.combine(value, time()), formats[DATE])
                elif kind == MONEY:
                    ws.write_number(r, col, value / 100, formats[MONEY])
                elif kind == INT:
                    ws.write_number(r, col, int(value), formats[INT])
                else:
                    ws.write_string(r, col, neutralise(str(value)))
    workbook.close()


def xlsx_chunks(book: Book, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """The XLSX file, written to a temporary file, then read back in chunks and deleted."""
    fd, path = tempfile.mkstemp(prefix="gridapp-export-", suffix=".xlsx")
    os.close(fd)
    try:
        write_xlsx(book, path)
        with open(path, "rb") as f:
            while data := f.read(chunk):
                yield data
    finally:
        os.unlink(path)


# --- what can be exported --------------------------------------------------------------------

def _stream(statement) -> Iterator[tuple]:
    """Rows of ``statement`` a batch at a time (server-side cursor on PostgreSQL)."""
    for row in db.session.execute(statement.execution_options(yield_per=BATCH, stream_results=True)):
        yield tuple(row)


def date_range(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """Local dates ``start``..``end`` (inclusive) as a naive-UTC [from, to) range. Raises DomainError
    when the end comes before the start or the range is absurdly long."""
    if start is None or end is None:
        raise DomainError(_l("请填写开始和结束日期。"))
    if end < start:
        raise DomainError(_l("结束日期不能早于开始日期。"))
    if (end - start).days > MAX_RANGE_DAYS:
        raise DomainError(_l("日期范围太长：一次最多导出十年。"))
    return from_local(start, time(0, 0)), from_local(end + timedelta(days=1), time(0, 0))


def volunteers_book() -> Book:
    labels = {k: str(v) for k, v in STATUS_LABELS.items()}
    rows = (
        (uid, name, phone, building, unit, room, team, labels.get(status, status), created, balance)
        for uid, name, phone, building, unit, room, team, status, created, balance in _stream(
            select(User.id, User.name, User.phone, Household.building, Household.unit, Household.room, Team.name,
                   User.status, User.created_at, User.points_balance)
            .outerjoin(Household, User.household_id == Household.id).outerjoin(Team, User.team_id == Team.id)
            .where(User.role == "volunteer", in_home_grids(User.grid_id)).order_by(User.id)))
    return Book("volunteers", [Sheet(str(_l("志愿者")), [
        Column("ID", INT), Column(str(_l("姓名"))), Column(str(_l("手机号")), width=13), Column(str(_l("楼栋")), width=6),
        Column(str(_l("单元")), width=6), Column(str(_l("室")), width=6), Column(str(_l("志愿服务队")), width=16),
        Column(str(_l("状态")), width=8), Column(str(_l("注册时间")), DATETIME), Column(str(_l("积分余额")), INT)], rows)])


def ledger_book(start: date, end: date) -> Book:
    since, until = date_range(start, end)
    kinds = {k: str(v) for k, v in KIND_LABELS.items()}
    rows = ((eid, at, name, phone, kinds.get(kind, kind), delta, description, reference)
            for eid, at, name, phone, kind, delta, description, reference in _stream(
                select(PointsEntry.id, PointsEntry.created_at, User.name, User.phone, PointsEntry.kind,
                       PointsEntry.delta, PointsEntry.description, PointsEntry.reference)
                .join(User, PointsEntry.volunteer_id == User.id)
                .where(PointsEntry.created_at >= since, PointsEntry.created_at < until, in_home_grids(User.grid_id))
                .order_by(PointsEntry.id)))
    return Book(f"points-{start:%Y%m%d}-{end:%Y%m%d}", [Sheet(str(_l("积分明细")), [
        Column(str(_l("流水号")), INT), Column(str(_l("时间")), DATETIME), Column(str(_l("志愿者"))),
        Column(str(_l("手机号")), width=13), Column(str(_l("类型")), width=10), Column(str(_l("积分")), INT),
        Column(str(_l("说明")), width=40), Column(str(_l("关联")), width=16)], rows)])


def attendance_book(start: date, end: date) -> Book:
    since, until = date_range(start, end)
    labels = {k: str(v) for k, v in ATTENDANCE_LABELS.items()}
    rows = ((starts, duty, title, name, phone, labels.get(status, status), came, left, points)
            for starts, duty, title, name, phone, status, came, left, points in _stream(
                select(DutySession.starts_at, DutyType.name, DutySession.title, User.name, User.phone,
                       Attendance.status, Attendance.checked_in_at, Attendance.checked_out_at, PointsEntry.delta)
                .select_from(Attendance)
                .join(DutySession, Attendance.session_id == DutySession.id)
                .join(DutyType, DutySession.duty_type_id == DutyType.id)
                .join(User, Attendance.volunteer_id == User.id)
                .outerjoin(PointsEntry, PointsEntry.id == Attendance.award_entry_id)
                .where(DutySession.starts_at >= since, DutySession.starts_at < until)
                .order_by(DutySession.starts_at, Attendance.id)))
    return Book(f"attendance-{start:%Y%m%d}-{end:%Y%m%d}", [Sheet(str(_l("签到记录")), [
        Column(str(_l("开始时间")), DATETIME), Column(str(_l("服务类型"))), Column(str(_l("活动")), width=24),
        Column(str(_l("志愿者"))), Column(str(_l("手机号")), width=13), Column(str(_l("状态")), width=8),
        Column(str(_l("签到")), DATETIME), Column(str(_l("签退")), DATETIME), Column(str(_l("积分")), INT)], rows)])


def redemptions_book(start: date, end: date) -> Book:
    since, until = date_range(start, end)
    rows = ((receipt, at, name, phone, item, qty, unit_points, qty * unit_points, voided)
            for receipt, at, name, phone, item, qty, unit_points, voided in _stream(
                select(Redemption.receipt_no, Redemption.created_at, User.name, User.phone, Item.name,
                       RedemptionLine.quantity, RedemptionLine.unit_points, Redemption.void_reason)
                .select_from(RedemptionLine)
                .join(Redemption, RedemptionLine.redemption_id == Redemption.id)
                .join(User, Redemption.volunteer_id == User.id).join(Item, RedemptionLine.item_id == Item.id)
                .where(Redemption.created_at >= since, Redemption.created_at < until)
                .order_by(Redemption.id, RedemptionLine.id)))
    return Book(f"redemptions-{start:%Y%m%d}-{end:%Y%m%d}", [Sheet(str(_l("兑换记录")), [
        Column(str(_l("兑换单号")), width=14), Column(str(_l("时间")), DATETIME), Column(str(_l("志愿者"))),
        Column(str(_l("手机号")), width=13), Column(str(_l("物品"))), Column(str(_l("数量")), INT),
        Column(str(_l("单价（积分）")), INT), Column(str(_l("积分")), INT), Column(str(_l("作废原因")), width=20)],
        rows)])


def donations_book(start: date, end: date) -> Book:
    date_range(start, end)
    rows = ((receipt, day, sponsor, item, qty, unit_value, (unit_value or 0) * qty, void)
            for receipt, day, sponsor, item, qty, unit_value, void in _stream(
                select(Donation.receipt_no, Donation.received_on, Sponsor.name, Item.name, DonationLine.quantity,
                       DonationLine.unit_value_fen, Donation.void_reason)
                .select_from(DonationLine)
                .join(Donation, DonationLine.donation_id == Donation.id)
                .join(Sponsor, Donation.sponsor_id == Sponsor.id).join(Item, DonationLine.item_id == Item.id)
                .where(Donation.received_on >= start, Donation.received_on <= end)
                .order_by(Donation.received_on, Donation.id, DonationLine.id)))
    return Book(f"donations-{start:%Y%m%d}-{end:%Y%m%d}", [Sheet(str(_l("捐赠记录")), [
        Column(str(_l("收据号")), width=14), Column(str(_l("接收日期")), DATE), Column(str(_l("爱心企业")), width=24),
        Column(str(_l("物品"))), Column(str(_l("数量")), INT), Column(str(_l("单价（元）")), MONEY),
        Column(str(_l("价值（元）")), MONEY), Column(str(_l("作废原因")), width=20)], rows)])


def stock_book() -> Book:
    rows = _stream(
        select(Item.name, Item.unit, Item.points_price, Item.stock, Lot.id, Lot.received_on, Sponsor.name,
               Lot.quantity, Lot.remaining)
        .select_from(Item).outerjoin(Lot, Lot.item_id == Item.id)
        .outerjoin(DonationLine, Lot.donation_line_id == DonationLine.id)
        .outerjoin(Donation, DonationLine.donation_id == Donation.id)
        .outerjoin(Sponsor, Donation.sponsor_id == Sponsor.id)
        .order_by(Item.name, Lot.received_on, Lot.id))
    return Book("stock", [Sheet(str(_l("库存及批次")), [
        Column(str(_l("物品"))), Column(str(_l("单位")), width=6), Column(str(_l("兑换积分")), INT),
        Column(str(_l("库存")), INT), Column(str(_l("批次")), INT), Column(str(_l("入库日期")), DATE),
        Column(str(_l("来源")), width=24), Column(str(_l("入库数量")), INT), Column(str(_l("剩余")), INT)], rows)])


def report_book(month: Month) -> Book:
    """The monthly report's tables, one sheet each."""
    from . import service

    report = service.monthly_report(month)
    names = dict(participations=_l("参与人次"), active_volunteers=_l("活跃志愿者"), new_registrations=_l("新注册志愿者"),
                 unconfirmed=_l("待确认签到"), points_issued=_l("发放积分"), points_spent=_l("消耗积分"),
                 redemptions=_l("兑换笔数"), items_out=_l("兑出物品（件）"), donated_items=_l("捐赠入库（件）"))
    now, before = report.figures.as_dict(), report.previous.as_dict()
    figures = [(str(label), now[key], before[key]) for key, label in names.items()]
    money = [(str(_l("捐赠价值（元）")), now["donated_value_fen"], before["donated_value_fen"])]
    zones = [(c.title, z.name, z.needed, z.signed_up, z.confirmed) for c in report.campaigns for z in c.zones]
    no_team = str(_l("未加入服务队"))
    return Book(f"report-{month.key}", [
        Sheet(str(_l("主要指标")), [Column(str(_l("指标")), width=18), Column(month.display(), INT),
                                 Column(month.previous().display(), INT)], figures),
        Sheet(str(_l("捐赠价值")), [Column(str(_l("指标")), width=18), Column(month.display(), MONEY),
                                 Column(month.previous().display(), MONEY)], money),
        Sheet(str(_l("各服务队")), [Column(str(_l("服务队")), width=18), Column(str(_l("参与人次")), INT),
                                 Column(str(_l("发放积分")), INT)],
              [(name or no_team, n, p) for name, n, p in report.per_team]),
        Sheet(str(_l("各服务类型")), [Column(str(_l("服务类型")), width=16), Column(str(_l("参与人次")), INT),
                                  Column(str(_l("积分")), INT)], report.per_duty_type),
        Sheet(str(_l("扫雪除冰")), [Column(str(_l("活动")), width=24), Column(str(_l("区域")), width=18),
                                 Column(str(_l("需要人数")), INT), Column(str(_l("报名")), INT),
                                 Column(str(_l("确认到岗")), INT)], zones),
        Sheet(str(_l("兑换最多的物品")), [Column(str(_l("物品"))), Column(str(_l("单位")), width=6),
                                     Column(str(_l("数量")), INT), Column(str(_l("积分")), INT)], report.top_items),
        Sheet(str(_l("各爱心企业捐赠")), [Column(str(_l("爱心企业")), width=24), Column(str(_l("捐赠次数")), INT),
                                     Column(str(_l("件数")), INT), Column(str(_l("价值（元）")), MONEY)],
              report.per_sponsor),
    ])


DATASETS: dict[str, tuple] = {
    # name: (label, needs a date range, builder)
    "volunteers": (_l("志愿者名册"), False, volunteers_book),
    "points": (_l("积分明细"), True, ledger_book),
    "attendance": (_l("签到记录"), True, attendance_book),
    "redemptions": (_l("兑换记录"), True, redemptions_book),
    "donations": (_l("捐赠记录"), True, donations_book),
    "stock": (_l("库存及批次"), False, stock_book),
}


def build(dataset: str, start: date | None = None, end: date | None = None) -> Book:
    """The book of ``dataset`` (see DATASETS); raises DomainError for an unknown one or a bad range."""
    if dataset not in DATASETS:
        raise DomainError(_l("没有这种导出。"))
    _label, ranged, builder = DATASETS[dataset]
    return builder(start, end) if ranged else builder()


