"""At most PDF_RENDERS PDFs are rendered at once per server (gridapp/pdf.py render_slot), so a rush of
PDFs leaves a worker for the counter: a PDF asked for meanwhile is a Chinese 503 that retries by itself,
one already made still comes from the cache, and a slot is never lost (a failed render, a killed holder)."""
import subprocess
import sys

import pytest

from gridapp import pdf

from .test_pdf_warm_up import a_redemption, empty_pdf_cache  # noqa: F401  (a fixture)

pytestmark = pytest.mark.pdf


def receipt_url(redemption) -> str:
    return f"/counter/redemptions/{redemption.id}/receipt.pdf"


def test_a_pdf_asked_for_while_every_slot_is_taken_is_a_503_that_retries_by_itself(app, client, login_as):
    redemption = a_redemption()
    login_as("staff")
    with pdf.render_slot():  # another worker is rendering
        busy = client.get(receipt_url(redemption))
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "2" and busy.headers["Refresh"] == "2"
    assert busy.headers["Cache-Control"] == "no-store"
    assert "正在生成别的PDF" in busy.get_data(as_text=True)
    assert not app.extensions[pdf.CACHE_KEY]["pdfs"]
    later = client.get(receipt_url(redemption))
    assert later.status_code == 200 and later.get_data().startswith(b"%PDF")


def test_a_pdf_made_before_is_served_while_the_slot_is_taken(client, login_as):
    redemption = a_redemption()
    login_as("staff")
    first = client.get(receipt_url(redemption))
    with pdf.render_slot():
        again = client.get(receipt_url(redemption))
    assert again.status_code == 200 and again.get_data() == first.get_data()


def test_a_failed_render_gives_its_slot_back(app):
    def broken():
        raise RuntimeError("layout failed")

    with pytest.raises(RuntimeError):
        pdf.cached_pdf("some-key", broken)
    with pdf.render_slot():  # free again: this would raise PdfBusy otherwise
        pass


def test_two_slots_allow_two_renders_at_once(app):
    app.config["PDF_RENDERS"] = 2
    with pdf.render_slot(), pdf.render_slot():
        with pytest.raises(pdf.PdfBusy):
            with pdf.render_slot():
                pass


def test_a_killed_holder_never_keeps_the_slot(app, tmp_path):
    """The slot is an flock: the kernel lets go of it when the process holding it ends, however it ends."""
    lock = f"{app.instance_path}/pdf-render-0.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({lock!r}, os.O_RDWR | os.O_CREAT)\nfcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('holding', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(pdf.PdfBusy):
            with pdf.render_slot():
                pass
    finally:
        holder.kill()
        holder.wait(timeout=10)
    with pdf.render_slot():
        pass
