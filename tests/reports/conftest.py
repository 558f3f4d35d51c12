"""Fixtures for reports: people, a report in each state, and photo files of every kind (made here)."""
import io
import zipfile
import zlib
import struct
from datetime import timedelta

import pytest
from PIL import ExifTags, Image, ImageDraw

from gridapp.clock import local_today, utcnow
from gridapp.extensions import db
from gridapp.reports import service as reports
from gridapp.reports.models import PartnerUnit

from .. import factories


def jpeg(width=800, height=600, *, gps=True, orientation=None, color=(90, 90, 90), quality=85) -> bytes:
    """A JPEG photo of a cracked road; with GPS coordinates in its EXIF unless ``gps=False``."""
    image = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(image)
    draw.line([(0, height // 2), (width, height // 3)], fill=(30, 30, 30), width=max(2, width // 80))
    draw.rectangle([width // 10, height // 10, width // 4, height // 4], fill=(200, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.Base.Model] = "X1"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        info[ExifTags.GPS.GPSLatitudeRef] = "N"
        info[ExifTags.GPS.GPSLatitude] = (43.0, 49.0, 30.0)
        info[ExifTags.GPS.GPSLongitudeRef] = "E"
        info[ExifTags.GPS.GPSLongitude] = (87.0, 36.0, 15.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()


def png(width=300, height=200, mode="RGBA") -> bytes:
    image = Image.new(mode, (width, height), (20, 120, 200, 128) if mode == "RGBA" else (20, 120, 200))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=_png_text())
    return out.getvalue()


def _png_text():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "南门岗亭东侧 43.8N 87.6E")
    return info


def webp(width=400, height=300) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 160, 60)).save(out, "WEBP", quality=70)
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (40, 40)).save(out, "GIF")
    return out.getvalue()


HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def zip_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", b"not really")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    data = jpeg(1200, 900, gps=False)
    return data[: len(data) // 2]


def png_bomb(side=30_000) -> bytes:
    """A real 1-bit PNG of side × side black pixels: ~110 KB on disk, 900 megapixels decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    body = [compressor.compress(row) for _ in range(side)]
    body.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(body)) + chunk(b"IEND", b"")


@pytest.fixture
def staff(app):
    return factories.make_user(role="staff", name="贾亮")


@pytest.fixture
def volunteer(app):
    return factories.make_user(name="蒋生军")


@pytest.fixture
def partner(app):
    unit = PartnerUnit(name="三坪供水有限公司", kind="water", contact_name="吐尔逊·艾买提", phone="0994-5821400")
    db.session.add(unit)
    db.session.commit()
    return unit


def make_report(reporter, category="pipe", description="南门附近下水管道漏水，路面结冰", photos=(), **fields):
    fields.setdefault("place", "南门岗亭东侧")
    report = reports.submit(reporter, category=category, description=description, photos=list(photos),
                            now=utcnow(), **fields)
    db.session.commit()
    return report


def advance(report, staff, to, partner=None):
    """Walk ``report`` through the steps up to ``to`` (accepted, in_progress, solved or declined)."""
    now = utcnow()
    if to == "declined":
        reports.decline(staff, report, "重复上报", now)
        db.session.commit()
        return report
    reports.accept(staff, report, assignee=staff if partner is None else None, partner=partner,
                   due_on=local_today() + timedelta(days=2), today=local_today(), now=now)
    if to in ("in_progress", "solved"):
        reports.start(staff, report, "已联系维修", now)
    if to == "solved":
        reports.solve(staff, report, resolution="物业与自来水公司联合抢修，3小时修好", photos=[jpeg(gps=False)], now=now)
    db.session.commit()
    return report
