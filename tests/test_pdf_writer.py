"""How the PDF writer is set up (gridapp.pdf): streams deflated at zlib level 6, not pydyf's 9."""
import re
import zlib

import pytest

from gridapp import pdf

pytestmark = pytest.mark.pdf


def deflated_streams(document: bytes) -> list[bytes]:
    """The bytes of every stream whose dictionary says /FlateDecode."""
    return re.findall(rb"/FlateDecode[^>]*>>\s*stream\r?\n(.*?)\r?\nendstream", document, re.S)


def test_every_stream_of_a_pdf_is_deflated_at_level_6(app):
    from weasyprint import HTML

    with app.test_request_context("/"):
        config = pdf.font_config()  # what every render asks for first: it sets the writer up
        page = HTML(string="<p>积分兑换凭条：食用油 × 1</p>", base_url=pdf.BASE_URL)
        document = page.write_pdf(font_config=config)
    streams = deflated_streams(document)
    assert len(streams) >= 3  # the page, the font, its ToUnicode map
    for stream in streams:
        raw = zlib.decompress(stream)
        assert zlib.compress(raw, pdf.DEFLATE_LEVEL) == stream
    assert pdf.DEFLATE_LEVEL == 6
    assert any(zlib.compress(zlib.decompress(stream), 9) != stream for stream in streams)


def test_the_writer_keeps_the_rest_of_zlib():
    import pydyf

    pdf.deflate_streams_at(pdf.DEFLATE_LEVEL)
    data = "社区网格扫雪除冰通知".encode() * 50
    assert pydyf.zlib.decompress(pydyf.zlib.compress(data)) == data
    squeezer = pydyf.zlib.compressobj(level=9)
    assert squeezer.compress(data) + squeezer.flush() == zlib.compress(data, pdf.DEFLATE_LEVEL)
