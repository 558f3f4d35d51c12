"""What to do with a form post that is too large (413): keep what was typed.

The browser sends a multipart form's parts in page order, so the text fields, placed before the
file inputs, come first in the body. ``leading_text_fields`` reads only as far as the first file
part (at most ``PREFIX_LIMIT`` bytes) and returns those fields, so the form can be shown again
with the text in place; then it reads and discards the rest of the body (up to ``DRAIN_LIMIT``),
because a browser still uploading when the server answers may show a reset connection instead of
the answer.
"""
from flask import request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

PREFIX_LIMIT = 64 * 1024
DRAIN_LIMIT = 64 * 1024 * 1024
CHUNK = 64 * 1024


def leading_text_fields() -> MultiDict:
    """The text fields that precede the first file in the current (too large) multipart request."""
    fields: MultiDict = MultiDict()
    length = request.content_length or 0
    stream = request.environ.get("wsgi.input")
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    if stream is None or not length:
        return fields
    consumed = 0
    if mimetype == "multipart/form-data" and options.get("boundary"):
        decoder = MultipartDecoder(options["boundary"].encode("latin-1"), max_form_memory_size=PREFIX_LIMIT)
        name, parts, done = None, [], False
        try:
            while not done and consumed < min(length, PREFIX_LIMIT):
                chunk = stream.read(min(CHUNK, length - consumed))
                if not chunk:
                    break
                consumed += len(chunk)
                decoder.receive_data(chunk)
                event = decoder.next_event()
                while not isinstance(event, NeedData):
                    if isinstance(event, Field):
                        name, parts = event.name, []
                    elif isinstance(event, Data) and name is not None:
                        parts.append(event.data)
                        if not event.more_data:
                            fields.add(name, b"".join(parts).decode("utf-8", "replace"))
                            name = None
                    elif isinstance(event, (File, Epilogue)):
                        done = True
                        break
                    event = decoder.next_event()
        except (ValueError, HTTPException):  # malformed, or a field beyond the limit: keep what was read
            pass
    if length - consumed <= DRAIN_LIMIT:
        while consumed < length:
            chunk = stream.read(min(CHUNK, length - consumed))
            if not chunk:
                break
            consumed += len(chunk)
    return fields
