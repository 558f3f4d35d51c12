"""Static files: hashed names, precompressed copies, the encoding the browser accepts, caching by URL kind."""
import gzip
import re
from pathlib import Path

import brotli
import pytest
from flask import Flask, url_for

from gridapp.static_files import KEY, StaticFiles, build, content_hash

STATIC = Path(__file__).resolve().parent.parent / "static"
HTMX = re.compile(r'src="(/static/js/htmx-2\.0\.\d+\.min\.([0-9a-f]{12})\.js)"')


def login_page_assets(client) -> dict[str, str]:
    html = client.get("/login").get_data(as_text=True)
    return {
        "css": re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', html).group(1),
        "js": HTMX.search(html).group(1),
        "icon": re.search(r'href="(/static/img/icon\.[0-9a-f]{12}\.svg)"', html).group(1),
    }


def test_pages_link_static_files_by_the_hash_of_their_content(client):
    html = client.get("/login").get_data(as_text=True)
    url, digest = HTMX.search(html).groups()
    assert digest == content_hash((STATIC / "js/htmx-2.0.11.min.js").read_bytes())
    assert "?v=" not in html


@pytest.mark.parametrize(("accept", "encoding"), [
    ("gzip, deflate, br", "br"), ("br", "br"), ("gzip, deflate", "gzip"), ("identity", None), (None, None)])
def test_static_files_come_in_the_encoding_the_browser_accepts(client, accept, encoding):
    source = (STATIC / "js/htmx-2.0.11.min.js").read_bytes()
    response = client.get(login_page_assets(client)["js"], headers={"Accept-Encoding": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert response.headers["Vary"] == "Accept-Encoding"  # a shared cache keeps one copy per encoding
    assert response.headers["Content-Type"].startswith("text/javascript")
    body = response.get_data()
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: lambda data: data}[encoding](body)
    assert decoded == source
    if encoding:
        assert len(body) < len(source) / 3  # htmx: 52 KB -> ~15 KB brotli, ~17 KB gzip


def test_stylesheet_and_icon_are_compressed_too(client):
    for url in login_page_assets(client).values():
        response = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert response.headers.get("Content-Encoding") == "br", url


def test_only_urls_with_a_content_hash_are_cached_for_years(client):
    for url in login_page_assets(client).values():
        cache_control = client.get(url).headers["Cache-Control"]
        assert "immutable" in cache_control and "public" in cache_control, url
        assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= 365 * 24 * 3600, url
    plain = client.get("/static/css/app.css", headers={"Accept-Encoding": "br"})
    assert plain.status_code == 200 and plain.headers["Content-Encoding"] == "br"
    assert "immutable" not in plain.headers["Cache-Control"]
    assert int(re.search(r"max-age=(\d+)", plain.headers["Cache-Control"]).group(1)) <= 60


def test_a_repeat_with_the_etag_gets_304(client):
    url = login_page_assets(client)["css"]
    first = client.get(url, headers={"Accept-Encoding": "br"})
    again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()


def test_static_files_carry_the_security_headers_and_never_a_cookie(client, login_as):
    assets = login_page_assets(client)
    login_as("volunteer")
    for url in assets.values():
        response = client.get(url)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.headers["Vary"]
        assert "Access-Control-Allow-Origin" not in response.headers


def test_a_missing_static_file_is_a_404(client):
    assert client.get("/static/js/no-such-file.js").status_code == 404
    assert client.get("/static/../wsgi.py").status_code == 404


def test_pages_themselves_are_never_compressed(client):
    """BREACH: a page holds a CSRF token next to text an attacker may reflect; it goes uncompressed."""
    response = client.get("/login", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in response.headers
    assert "csrf_token" in response.get_data(as_text=True)


# --- the build folder, on an app of its own -------------------------------------------------------

def small_app(source: Path, target: Path) -> Flask:
    app = Flask(__name__, static_folder=str(source))
    app.config["STATIC_BUILD_PATH"] = str(target)
    StaticFiles(app)
    return app


def link(app: Flask, filename: str) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


def test_a_changed_file_gets_a_new_url_and_the_old_url_still_serves(tmp_path):
    source, target = tmp_path / "static", tmp_path / "build" / "static"
    (source / "css").mkdir(parents=True)
    (source / "css/site.css").write_text("body { color: #111; }\n" * 50)
    before = small_app(source, target)
    old_url = link(before, "css/site.css")

    (source / "css/site.css").write_text("body { color: #222; }\n" * 50)
    after = small_app(source, target)  # the next start
    new_url = link(after, "css/site.css")

    assert old_url != new_url
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", new_url)
    client = after.test_client()
    assert b"#222" in client.get(new_url).get_data()
    assert b"#111" in client.get(old_url).get_data()  # a page rendered before the change still works
    assert b"#222" in client.get("/static/css/site.css").get_data()
    assert brotli.decompress(client.get(new_url, headers={"Accept-Encoding": "br"}).get_data()) == \
        (source / "css/site.css").read_bytes()


def test_the_build_writes_only_what_is_missing_and_leaves_the_source_alone(tmp_path):
    source, target = tmp_path / "static", tmp_path / "build"
    source.mkdir()
    (source / "app.js").write_text("console.log('hi');\n" * 100)
    (source / ".hidden").write_text("not served")
    manifest = build(source, target)
    assert manifest == {"app.js": f"app.{content_hash((source / 'app.js').read_bytes())}.js"}
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [name + suffix for name in ("app.js", manifest["app.js"]) for suffix in ("", ".br", ".gz")])
    assert sorted(p.name for p in source.iterdir()) == [".hidden", "app.js"]
    stamps = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    assert build(source, target) == manifest
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == stamps
    assert not list(target.parent.glob(".partial-*"))


def test_without_a_writable_build_folder_static_files_are_served_as_they_are(tmp_path, caplog):
    source = tmp_path / "static"
    source.mkdir()
    (source / "app.css").write_text("p { margin: 0; }\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    app = small_app(source, blocker / "static")  # a folder cannot be made inside a file
    assert "cannot write the build folder" in caplog.text
    assert link(app, "app.css") == "/static/app.css"
    response = app.test_client().get("/static/app.css", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200 and response.get_data() == b"p { margin: 0; }\n"
    assert "immutable" not in response.headers["Cache-Control"]
    assert app.extensions[KEY].manifest == {}


def test_in_debug_an_edited_file_gets_its_new_url_without_a_restart(tmp_path):
    source, target = tmp_path / "static", tmp_path / "build" / "static"
    source.mkdir()
    (source / "app.js").write_text("let a = 1;\n" * 40)
    app = Flask(__name__, static_folder=str(source))
    app.debug = True
    app.config["STATIC_BUILD_PATH"] = str(target)
    StaticFiles(app)
    before = link(app, "app.js")
    (source / "app.js").write_text("let a = 2;\n" * 40)
    after = link(app, "app.js")
    assert before != after
    assert b"a = 2" in app.test_client().get(after).get_data()
