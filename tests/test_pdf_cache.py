"""One PDF mechanism (gridapp/pdf.py): fingerprints of what a PDF shows, one cache of rendered PDFs, one
ETag response. Every PDF view goes through it; no capability keeps a cache of its own."""
import re
from datetime import date
from pathlib import Path

import pytest

from gridapp import pdf

PACKAGE = Path(pdf.__file__).resolve().parent
RECEIPT = "pdf/donation_receipt.html"


@pytest.fixture
def empty_cache(app):
    with app.test_request_context("/"):
        app.extensions.pop(pdf.CACHE_KEY, None)
        yield
        app.extensions.pop(pdf.CACHE_KEY, None)


def test_the_same_key_is_rendered_once_and_served_from_the_cache(empty_cache):
    renders = []
    first = pdf.cached_pdf("k1", lambda: renders.append(1) or b"%PDF-one")
    again = pdf.cached_pdf("k1", lambda: renders.append(1) or b"%PDF-other")
    assert first is again and first == b"%PDF-one" and len(renders) == 1


def test_the_least_recently_used_pdfs_go_first_beyond_the_byte_budget(empty_cache, monkeypatch):
    monkeypatch.setattr(pdf, "CACHE_BYTES", 250)
    for key in ("a", "b"):
        pdf.cached_pdf(key, lambda: b"x" * 100)
    pdf.cached_pdf("a", lambda: pytest.fail("a is cached"))  # a is now the most recently used
    pdf.cached_pdf("c", lambda: b"x" * 100)  # 300 bytes: b, the least recently used, goes
    kept = pdf._cache()["pdfs"]
    assert list(kept) == ["a", "c"] and pdf._cache()["bytes"] == 200


def test_a_fingerprint_changes_with_what_the_pdf_shows_and_with_the_template(empty_cache):
    shows = {"receipt_no": "JZ-2026-0001", "received_on": date(2026, 11, 1), "lines": [("抽纸", 60)]}
    etag = pdf.fingerprint(RECEIPT, shows)
    assert re.fullmatch(r"[0-9a-f]{32}", etag)
    assert pdf.fingerprint(RECEIPT, dict(reversed(list(shows.items())))) == etag  # key order is not content
    assert pdf.fingerprint(RECEIPT, {**shows, "lines": [("抽纸", 61)]}) != etag
    assert pdf.fingerprint("pdf/redemption_receipt.html", shows) != etag
    assert pdf.layout_version(RECEIPT) != pdf.layout_version("pdf/redemption_receipt.html")


def test_no_capability_keeps_its_own_pdf_cache_or_uses_private_parts_of_pdf():
    own_caches, private_use = [], []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "pdf.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "weasyprint" in text or "OrderedDict" in text:  # WeasyPrint and the cache live in pdf.py alone
            own_caches.append(path.name)
        private_use += [f"{path.name}: {name}" for name in re.findall(r"\bpdf\._\w+", text)]
    assert own_caches == [] and private_use == []
