"""QR codes as inline SVG (segno): crisp on paper at any size, no image files, no network; and as a
small PNG for a PDF that prints the same code in render after render (``qr_png``).

Always a full QR code: segno would pick a Micro QR for short data (a volunteer code), which most
phone and USB scanners cannot read.
"""
import segno


def qr_svg(data: str, scale: int = 6) -> str:
    """An <svg> element encoding ``data``, black on white, with the quiet zone scanners need."""
    code = segno.make(data, error="m", micro=False)
    return code.svg_inline(scale=scale, dark="#000", light="#fff", border=4, omitsize=True)


def qr_png(data: str, scale: int = 4) -> bytes:
    """The same QR code as a greyscale PNG, ``scale`` pixels a module, quiet zone included. WeasyPrint
    keeps a decoded image between renders (gridapp.pdf.image_cache) but parses and draws an inline SVG's
    path anew every time (~5 ms for a notice's code). Shown with ``image-rendering: pixelated`` the modules
    stay sharp at any size (the PDF says not to smooth the image)."""
    import io

    from PIL import Image

    raw, out = io.BytesIO(), io.BytesIO()
    segno.make(data, error="m", micro=False).save(raw, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    Image.open(raw).convert("L").save(out, format="PNG")  # 8-bit grey: WeasyPrint would make 1-bit RGB
    return out.getvalue()
