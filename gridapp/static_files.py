"""Static files: names with their content's hash, precompressed (brotli and gzip), served by WhiteNoise.

At start (``register_static_files`` in ``create_app``) the app brings the *build folder* up to date
with ``static/``: ``build/static/`` beside the code, or ``GRIDAPP_STATIC_BUILD``. Each file is there
under its own name and under a name carrying a hash of its content (``css/app.css`` ->
``css/app.3f2a9c1b2d4e.css``), each with ``.br`` and ``.gz`` beside it when compressing saves 5 % or
more (whitenoise.compress: brotli at quality 11, gzip at level 9). Only what is missing or changed is
written, each file to a temporary name and then renamed, so two workers starting at once, or a worker
reading while another writes, never see half a file. A start with nothing new costs a hash of the
static folder (~70 KB) and a look at each file; the first start after a change also compresses it
(htmx: ~0.2 s, once).

``url_for('static', filename='css/app.css')`` gives the hashed URL, so a changed file gets a new URL
(cache busting); older hashed files stay in the build folder, so a page rendered before a deploy still
finds what it links to. WhiteNoise (a WSGI middleware in front of the app) serves the build folder:

- the encoding the browser accepts (``Accept-Encoding: br`` -> the ``.br`` file, ``gzip`` -> ``.gz``,
  else the plain file) with ``Vary: Accept-Encoding``, an ETag and Last-Modified, 304 on a repeat;
- ``Cache-Control: max-age=315360000, public, immutable`` only for a name that carries the hash of its
  own content; any other URL (``/static/css/app.css``) for 60 s, so it is revalidated soon after a change;
- the app's security headers (CSP, nosniff …), never a cookie.

Pages (HTML) are not compressed: they carry CSRF tokens, and compressing a secret next to text an
attacker can reflect is what BREACH exploits. Static files hold no secret.

When the build folder cannot be written (a read-only install without ``GRIDAPP_STATIC_BUILD``), the
app logs a warning and WhiteNoise serves ``static/`` as it is: plain names, not compressed, 60 s.
"""
import hashlib
import os
import re
import tempfile
from pathlib import Path

from whitenoise import WhiteNoise

from .config import PROJECT_ROOT

DEFAULT_BUILD_FOLDER = PROJECT_ROOT / "build" / "static"
HASH_LENGTH = 12
SHORT_MAX_AGE = 60  # seconds, for URLs without a content hash
KEY = "gridapp.static_files"
_HASHED = re.compile(r"\.([0-9a-f]{%d})(\.[^./]+)$" % HASH_LENGTH)


def _compressor():
    """whitenoise.compress's rules (brotli quality 11, gzip level 9, which file types to skip); imported
    only when something is to be compressed (it is not needed on an ordinary start)."""
    from whitenoise.compress import Compressor

    return Compressor(quiet=True)


def _compressed(data: bytes, name: str, memo: dict) -> dict[str, bytes]:
    """{".br": …, ".gz": …} for ``data``, each only if it saves 5 % or more; computed once per content."""
    if "variants" not in memo:
        compressor = _compressor()
        variants = {}
        if compressor.should_compress(name):
            for suffix, compress, wanted in ((".br", compressor.compress_brotli, compressor.use_brotli),
                                             (".gz", compressor.compress_gzip, True)):
                smaller = compress(data) if wanted else None
                if smaller is not None and len(smaller) <= 0.95 * len(data):
                    variants[suffix] = smaller
        memo["variants"] = variants
    return memo["variants"]


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


def hashed_name(name: str, digest: str) -> str:
    """``css/app.css`` with digest ``3f2a…`` -> ``css/app.3f2a….css`` (a name without a suffix gets it at the end)."""
    head, dot, suffix = name.rpartition(".")
    if not dot or "/" in suffix:
        return f"{name}.{digest}"
    return f"{head}.{digest}.{suffix}"


def carries_own_hash(path: str) -> bool:
    """Whether the file's name carries the hash of its own content (such a URL never changes)."""
    match = _HASHED.search(os.path.basename(path))
    if not match:
        return False
    try:
        return content_hash(Path(path).read_bytes()) == match.group(1)
    except OSError:
        return False


def _write_atomically(path: Path, data: bytes, scratch: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=scratch, prefix=".partial-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _place(target: Path, data: bytes, scratch: Path, memo: dict, *, rewrite: bool) -> None:
    """``target`` holding ``data``, with its .br and .gz (when they save enough); ``rewrite``: check the
    content of an existing file (a plain name), else a file that exists is right (a hashed name)."""
    if target.exists() and (not rewrite or target.read_bytes() == data):
        if any(target.with_name(target.name + suffix).exists() for suffix in (".br", ".gz")):
            return
        if not _compressor().should_compress(target.name):
            return
    else:
        _write_atomically(target, data, scratch)
    variants = _compressed(data, target.name, memo)
    for suffix in (".br", ".gz"):
        if suffix in variants:
            _write_atomically(target.with_name(target.name + suffix), variants[suffix], scratch)
        else:
            target.with_name(target.name + suffix).unlink(missing_ok=True)


def build(source: Path, target: Path) -> dict[str, str]:
    """Bring ``target`` up to date with ``source`` (see the module docstring); returns the manifest,
    each source file's name (``css/app.css``) -> its hashed name (``css/app.3f2a9c1b2d4e.css``)."""
    source, target = Path(source), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    scratch = target.parent
    manifest = {}
    for path in sorted(source.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(source).parts):
            continue
        name = path.relative_to(source).as_posix()
        data = path.read_bytes()
        manifest[name] = hashed_name(name, content_hash(data))
        memo = {}  # the compressed copies, made at most once for both names
        _place(target / manifest[name], data, scratch, memo, rewrite=False)
        _place(target / name, data, scratch, memo, rewrite=True)
    return manifest


class StaticFiles:
    """The app's static files: the manifest for ``url_for`` and the WhiteNoise that serves them."""

    def __init__(self, app):
        from .web import static_security_headers  # web imports this module

        self.source = Path(app.static_folder)
        self.target = Path(app.config.get("STATIC_BUILD_PATH") or DEFAULT_BUILD_FOLDER)
        self.debug = app.debug
        try:
            self.manifest = build(self.source, self.target)
            root = self.target
        except OSError as exc:
            app.logger.warning("static files are served as they are (not compressed, cached 60 s): cannot write the "
                        "build folder %s (%s); set GRIDAPP_STATIC_BUILD to a folder the app may write", self.target, exc)
            self.manifest, root = {}, self.source
        self.sources = {hashed: name for name, hashed in self.manifest.items()}
        self.whitenoise = WhiteNoise(app.wsgi_app, root=str(root), prefix=app.static_url_path,
                                     autorefresh=app.debug, max_age=SHORT_MAX_AGE, allow_all_origins=False,
                                     immutable_file_test=lambda path, url: carries_own_hash(path),
                                     add_headers_function=lambda headers, path, url: static_security_headers(headers))
        app.wsgi_app = self.whitenoise
        app.url_defaults(self.hashed_url)
        app.extensions[KEY] = self

    def name_for(self, filename: str) -> str:
        """The hashed name ``url_for`` links to (in debug, re-read: an edited file gets its new name)."""
        if self.debug and self.manifest:
            path = self.source / filename
            if path.is_file():
                data = path.read_bytes()
                name = hashed_name(filename, content_hash(data))
                if self.manifest.get(filename) != name:
                    _place(self.target / name, data, self.target.parent, {}, rewrite=False)
                    self.manifest[filename] = name
                    self.sources[name] = filename
        return self.manifest.get(filename, filename)

    def hashed_url(self, endpoint, values):
        if endpoint == "static" and "filename" in values:
            values["filename"] = self.name_for(values["filename"])

    def source_name(self, name: str) -> str:
        """The file in ``static/`` that a (possibly hashed) static name stands for."""
        return self.sources.get(name, name)


def register_static_files(app) -> StaticFiles:
    return StaticFiles(app)
