"""A minimal browser-like HTTP client for tests that send real concurrent requests to the live server."""
import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode

CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
HEADER_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


class Browser:
    """One person's cookie jar against ``host`` ("127.0.0.1:port"); a new connection per request."""

    def __init__(self, host: str):
        self.host = host
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection(self.host, timeout=60)
        headers = dict(headers or {}, **{"User-Agent": "gridapp-tests"})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response.status, response.headers.get("Location"), text

    def get(self, path):
        return self.request("GET", path)

    def csrf_token(self, path: str) -> str:
        _, _, html = self.get(path)
        return (CSRF_INPUT.search(html) or HEADER_TOKEN.search(html)).group(1)

    def login(self, phone: str, password: str):
        status, _, _ = self.request("POST", "/login", {"csrf_token": self.csrf_token("/login"), "phone": phone,
                                                        "password": password})
        assert status == 303, "login failed"
        return self
