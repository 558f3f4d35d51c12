"""Photos are decided by decoding, never by name: every bad file is refused with a Chinese message,
and what is kept is clean (no EXIF, GPS above all), upright, and at most 1280 px / 320 px."""
import io

import pytest
from PIL import Image

from gridapp.reports import photos

from .conftest import HTML, gif, jpeg, png, png_bomb, truncated_jpeg, webp, zip_file


@pytest.mark.parametrize("data, why", [
    (HTML, "html"), (zip_file(), "zip"), (truncated_jpeg(), "truncated jpeg"), (gif(), "gif"), (b"", "empty"),
])
def test_anything_but_a_whole_jpeg_png_or_webp_is_refused(app, data, why):
    with pytest.raises(photos.BadPhoto) as refused:
        photos.process(data, number=2)
    assert "第 2 张照片无法识别" in refused.value.message, why


def test_a_decompression_bomb_is_refused_before_decoding(app):
    bomb = png_bomb()
    assert len(bomb) < 200_000  # small on the wire, 900 megapixels once decoded
    with pytest.raises(photos.BadPhoto) as refused:
        photos.process(bomb)
    assert refused.value.message == "第 1 张照片像素太多，请上传手机正常拍摄的照片。"


def test_a_photo_just_over_the_pixel_limit_is_refused_from_its_header(app, monkeypatch):
    monkeypatch.setattr(photos, "MAX_PIXELS", 1000 * 1000)
    with pytest.raises(photos.TooManyPixels):
        photos.process(png(1001, 1000, mode="RGB"))


def test_six_photos_are_refused_before_any_is_decoded(app):
    with pytest.raises(photos.TooManyPhotos) as refused:
        photos.process_all([HTML] * 6)
    assert refused.value.message == "最多上传 3 张照片。"


@pytest.mark.parametrize("make", [jpeg, png, webp], ids=["jpeg", "png", "webp"])
def test_jpeg_png_and_webp_become_clean_jpegs(app, make):
    processed = photos.process(make())
    for data, edge in ((processed.full, photos.FULL_EDGE), (processed.thumb, photos.THUMB_EDGE)):
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and image.mode == "RGB"
        assert max(image.size) <= edge
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
        assert "comment" not in image.info and "Comment" not in image.info


def test_exif_gps_is_gone_and_the_photo_is_upright_and_small(app):
    original = jpeg(4000, 3000, orientation=6)  # a phone held upright: stored sideways, turned by EXIF
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825), "the test photo must carry GPS"
    processed = photos.process(original)
    full = Image.open(io.BytesIO(processed.full))
    assert full.size == (960, 1280) == (processed.width, processed.height)  # turned upright, ≤ 1280
    assert not full.getexif() and not full.getexif().get_ifd(0x8825)
    assert b"GPS" not in processed.full and b"TestPhone" not in processed.full and b"Exif" not in processed.full
    thumb = Image.open(io.BytesIO(processed.thumb))
    assert thumb.size == (240, 320) == (processed.thumb_width, processed.thumb_height)


def test_a_small_photo_is_not_enlarged(app):
    processed = photos.process(jpeg(200, 100))
    assert (processed.width, processed.height) == (200, 100)


def test_the_store_refuses_names_that_are_not_photo_keys(app, tmp_path):
    store = photos.LocalPhotoStore(tmp_path)
    for name in ("../secret_key", "x.jpg", "a" * 24 + ".png", "a" * 24 + "/b.jpg"):
        with pytest.raises(ValueError):
            store.write(name, b"x")
    store.write("a" * 24 + ".jpg", b"x")
    assert store.names() == {"a" * 24 + ".jpg"}


def test_a_truncated_jpeg_is_refused_even_after_weasyprint_made_pillow_lenient(app, monkeypatch):
    """WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES when a worker renders its first PDF."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(photos.BadPhoto):
        photos.process(truncated_jpeg(), 1)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # WeasyPrint's own images still load as before
