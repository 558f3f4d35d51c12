"""Real-browser fixtures: the test ``app`` served over HTTP on 127.0.0.1, and Debian's Chromium.

Playwright drives the system Chromium at /usr/bin/chromium (never a downloaded one); the tests
are skipped when it is not installed.
"""
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000  # upper bound for any single browser action or navigation


class LiveServer:
    def __init__(self, app):
        # Port 0: the OS picks a free port; the bound socket is kept, so there is no race.
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.host = f"127.0.0.1:{self.server.server_port}"
        self.url = f"http://{self.host}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()  # ends serve_forever, waits for it
        self.server.server_close()  # closes the socket, joins the request threads
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "live server thread did not stop"


@pytest.fixture
def live_server(app):
    """``app`` served over real HTTP in a background thread; each request gets its own app context.

    Anything the browser should see must be committed before it asks for it.
    """
    server = LiveServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS
        )
        yield chromium
        chromium.close()
