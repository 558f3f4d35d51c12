"""Photos, safely: decode with Pillow, strip every byte of metadata by re-encoding, keep two sizes.

A file is a photo only if Pillow decodes it as JPEG, PNG or WebP — never by its name or the
Content-Type the phone sent. A picture with more than ``MAX_PIXELS`` pixels is refused before a
single pixel is decoded (a decompression bomb declares its size in the header). What is kept is
a new JPEG made from the pixels alone, turned upright first (EXIF orientation), so no EXIF (GPS
above all), XMP, ICC profile or comment survives: a ≤1280 px picture and a ≤320 px thumbnail.

Files live in one small store (``PhotoStore``): local disk under ``<instance>/uploads/reports/``
by default. Files written inside a database transaction that does not commit are removed when
it ends, so a rolled-back report leaves no file behind (``track_new_files``).
"""
import io
import os
import re
import secrets
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile, ImageOps
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..errors import DomainError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo passes; a 30,000 × 30,000 bomb does not
MAX_PHOTOS = 3
FULL_EDGE = 1280
THUMB_EDGE = 320
FULL_QUALITY = 80
THUMB_QUALITY = 72
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,40}$")
SUFFIXES = {"full": ".jpg", "thumb": ".t.jpg"}


class BadPhoto(DomainError):
    default_message = _l("第 %(n)d 张照片无法识别：请上传 JPG、PNG 或 WebP 格式的照片。")


class TooManyPixels(BadPhoto):
    default_message = _l("第 %(n)d 张照片像素太多，请上传手机正常拍摄的照片。")


class TooManyPhotos(DomainError):
    default_message = _l("最多上传 %(max)d 张照片。")


@dataclass
class ProcessedPhoto:
    """A photo ready to store: two JPEGs made from the pixels alone, and their sizes."""

    full: bytes
    thumb: bytes
    width: int
    height: int
    thumb_width: int
    thumb_height: int


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency on white (a PNG screenshot), palettes and greys expanded."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # Only the pixels: no exif=, icc_profile= or comment= is passed, so none is written.
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()



_STRICT_LOADING = threading.Lock()


def _load_whole(image) -> None:
    """Decode every pixel, refusing a truncated file. WeasyPrint switches Pillow's global
    LOAD_TRUNCATED_IMAGES on when it is imported (for its own images), which would let a cut-off
    upload through as a half-grey photo; turn it off for this decode only."""
    with _STRICT_LOADING:
        lenient = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def process(data: bytes, number: int = 1) -> ProcessedPhoto:
    """Decode ``data`` as a JPEG, PNG or WebP photo and return its clean re-encoded sizes.

    Raises BadPhoto (with the photo's ``number`` in the message) for anything else: another
    format, a file that is not an image (HTML, ZIP …), a truncated or corrupt image, or one with
    more than MAX_PIXELS pixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise TooManyPixels(n=number)
                # JPEG can decode at 1/2, 1/4, 1/8 scale: ask for the smallest that still covers 1280 px.
                scale = FULL_EDGE / max(width, height)
                if image.format == "JPEG" and scale < 1:
                    image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
                _load_whole(image)
                upright = ImageOps.exif_transpose(image)
                clean = _flatten(upright)
                clean.info = {}
                clean.thumbnail((FULL_EDGE, FULL_EDGE), Image.Resampling.LANCZOS, reducing_gap=3.0)
                full = _jpeg(clean, FULL_QUALITY)
                thumb_image = clean.copy()
                thumb_image.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
                thumb = _jpeg(thumb_image, THUMB_QUALITY)
    except BadPhoto:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(n=number) from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # UnidentifiedImageError is an OSError; a truncated JPEG raises OSError on load.
        raise BadPhoto(n=number) from exc
    return ProcessedPhoto(full, thumb, clean.width, clean.height, thumb_image.width, thumb_image.height)


def process_all(files: list[bytes]) -> list[ProcessedPhoto]:
    """Every photo of one form, all checked before anything is stored. Raises TooManyPhotos or BadPhoto."""
    if len(files) > MAX_PHOTOS:
        raise TooManyPhotos(max=MAX_PHOTOS)
    return [process(data, number) for number, data in enumerate(files, start=1)]


def max_upload_mb() -> int:
    """The request size limit (Flask's MAX_CONTENT_LENGTH) in MB, for messages."""
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)


def new_key() -> str:
    return secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]


# --- the store ----------------------------------------------------------------------------

class PhotoStore:
    """Where photo files live. ``name`` is ``<key>.jpg`` or ``<key>.t.jpg``.

    Local disk is the embedded default; with several app servers, mount one shared folder at
    ``<instance>/uploads`` on each (or give this interface another implementation)."""

    def write(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def read(self, name: str) -> bytes | None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError

    def names(self) -> set[str]:
        raise NotImplementedError


class LocalPhotoStore(PhotoStore):
    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        key = name.split(".", 1)[0]
        if not KEY_PATTERN.match(key) or name not in {key + suffix for suffix in SUFFIXES.values()}:
            raise ValueError(f"not a photo file name: {name!r}")
        return self.root / name

    def write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        self.root.mkdir(parents=True, exist_ok=True)
        # Write aside, then rename: a reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def names(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {path.name for path in self.root.iterdir() if path.is_file()}


def store() -> PhotoStore:
    """The app's photo store (``<instance>/uploads/reports`` unless the app set another)."""
    app = current_app._get_current_object()
    if "photo_store" not in app.extensions:
        app.extensions["photo_store"] = LocalPhotoStore(Path(app.instance_path) / "uploads" / "reports")
    return app.extensions["photo_store"]


def file_names(key: str) -> list[str]:
    return [key + suffix for suffix in SUFFIXES.values()]


# --- files follow the transaction ------------------------------------------------------------

PENDING = "report_photo_files"


def save_files(session: Session, photo: ProcessedPhoto, key: str) -> None:
    """Write a photo's two files, to be removed again unless ``session``'s transaction commits."""
    target = store()
    pending = session.info.setdefault(PENDING, [])
    for name, data in zip(file_names(key), (photo.full, photo.thumb)):
        pending.append((target, name))
        target.write(name, data)


@event.listens_for(Session, "after_commit")
def _keep_files(session):
    if not session.in_nested_transaction():
        session.info.pop(PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_files_of_a_lost_transaction(session, transaction):
    if transaction.parent is None and session.info.get(PENDING):
        for target, name in session.info.pop(PENDING):
            try:
                target.delete(name)
            except OSError:  # `flask verify` names an orphaned file; the request goes on
                pass
