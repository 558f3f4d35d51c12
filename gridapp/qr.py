"""QR codes as inline SVG (segno): crisp on paper at any size, no image files, no network.

Always a full QR code: segno would pick a Micro QR for short data (a volunteer code), which most
phone and USB scanners cannot read.
"""
import segno


def qr_svg(data: str, scale: int = 6) -> str:
    """An <svg> element encoding ``data``, black on white, with the quiet zone scanners need."""
    code = segno.make(data, error="m", micro=False)
    return code.svg_inline(scale=scale, dark="#000", light="#fff", border=4, omitsize=True)
