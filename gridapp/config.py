"""Configuration, read from the environment (GRIDAPP_*) with an embedded default.

With nothing set, the app runs on a SQLite file under ``instance/`` and keeps a
secret key it generated on first start in ``instance/secret_key``.
"""
import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _proxy_count() -> int:
    value = os.environ.get("GRIDAPP_PROXY_COUNT", "").strip() or "0"
    if not value.isdigit():
        raise ValueError(f"GRIDAPP_PROXY_COUNT must be a whole number of proxies (0, 1, 2 …), not {value!r}")
    return int(value)


def _public_url() -> str:
    value = os.environ.get("GRIDAPP_PUBLIC_URL", "").strip().rstrip("/")
    if value and not value.startswith(("https://", "http://")):
        raise ValueError(f"GRIDAPP_PUBLIC_URL must start with https:// (or http://), not {value!r}")
    return value


def instance_path() -> Path:
    return Path(os.environ.get("GRIDAPP_INSTANCE_PATH", PROJECT_ROOT / "instance"))


def load_or_create_secret_key(folder: Path) -> str:
    """The secret key kept in ``folder/secret_key``; generated (0600) on first start."""
    path = folder / "secret_key"
    if path.exists():
        return path.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: two workers starting at once must agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


class Config:
    """Production-shaped settings. Every value can be overridden by a GRIDAPP_* variable."""

    def __init__(self, instance: Path | None = None):
        folder = Path(instance) if instance else instance_path()
        self.INSTANCE_PATH = str(folder)
        self.SQLALCHEMY_DATABASE_URI = os.environ.get(
            "GRIDAPP_DATABASE_URL", f"sqlite:///{folder / 'gridapp.sqlite3'}"
        )

        self.SECRET_KEY = os.environ.get("GRIDAPP_SECRET_KEY") or load_or_create_secret_key(folder)
        https = _env_flag("GRIDAPP_HTTPS")
        self.SESSION_COOKIE_SECURE = https
        self.REMEMBER_COOKIE_SECURE = https
        self.PREFERRED_URL_SCHEME = "https" if https else "http"
        # Throttling counters: "database" (the default) counts in the app's database, shared by every
        # worker and server; a Flask-Limiter URI (redis://…, memcached://…) counts there instead.
        self.THROTTLE_STORAGE = os.environ.get("GRIDAPP_RATELIMIT_STORAGE_URI", "database").strip() or "database"
        self.RATELIMIT_STORAGE_URI = "memory://" if self.THROTTLE_STORAGE == "database" else self.THROTTLE_STORAGE
        self.LOGIN_LIMIT_PER_IP = os.environ.get("GRIDAPP_LOGIN_LIMIT_PER_IP", "30 per 10 minutes")
        self.LOGIN_LIMIT_PER_PHONE = os.environ.get("GRIDAPP_LOGIN_LIMIT_PER_PHONE", "5 per 10 minutes")
        self.REGISTER_LIMIT_PER_IP = os.environ.get("GRIDAPP_REGISTER_LIMIT_PER_IP", "20 per hour")
        self.REGISTER_LIMIT_PER_PHONE = os.environ.get("GRIDAPP_REGISTER_LIMIT_PER_PHONE", "5 per hour")
        # Where residents reach the app (https://grid.example.cn): the base of every URL that leaves
        # the screen (QR codes, PDFs, the verification link). Empty: the request's own host (development).
        self.PUBLIC_URL = _public_url()
        # How many reverse proxies (nginx …) stand in front: their X-Forwarded-For/-Proto/-Host are trusted.
        self.PROXY_COUNT = _proxy_count()
        # PDFs rendered at once per server (gridapp/pdf.py render_slot): 1 keeps a worker of 2 free for the
        # counter during a rush of receipts; 0 means no limit.
        self.PDF_RENDERS = int(os.environ.get("GRIDAPP_PDF_RENDERS", "1").strip() or "1")
        # Where static files go with hashed names, precompressed (gridapp/static_files.py); empty: build/static.
        self.STATIC_BUILD_PATH = os.environ.get("GRIDAPP_STATIC_BUILD", "").strip()
        # SQLite's short write transactions (gridapp/database.py): the process-shared writer mutex and
        # the write lock taken at the unit of work. Both on; "0" turns one off (benchmarks compare).
        self.SQLITE_WRITER_MUTEX = os.environ.get("GRIDAPP_SQLITE_WRITER_MUTEX", "1").strip() != "0"
        self.SQLITE_LATE_WRITE_LOCK = os.environ.get("GRIDAPP_SQLITE_LATE_WRITE_LOCK", "1").strip() != "0"

    @property
    def SQLALCHEMY_ENGINE_OPTIONS(self) -> dict:
        # A server across the network may drop idle connections; a SQLite file cannot.
        if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            from .database import WriterMutexConnection

            return {"connect_args": {"factory": WriterMutexConnection}} if self.SQLITE_WRITER_MUTEX else {}
        return {"pool_pre_ping": True}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # one post: three phone photos; more is refused with 413
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session: staff keep a page open all day
    BABEL_DEFAULT_LOCALE = "zh_CN"
    LANGUAGES = ("zh_CN", "en")
    RATELIMIT_HEADERS_ENABLED = True
    # argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane).
    PASSWORD_HASH = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
    TESTING = False


class TestConfig(Config):
    """Used by the test suite: the database comes from the fixture; CSRF stays on unless a test turns it off."""

    TESTING = True
    # Cheapest argon2id: tests log in hundreds of times; the tests of hashing itself use Config's cost.
    PASSWORD_HASH = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}

    def __init__(self, database_url: str, instance: Path):
        super().__init__(instance)
        self.SQLALCHEMY_DATABASE_URI = database_url
        self.SECRET_KEY = "test-secret-key-not-for-production"
        self.THROTTLE_STORAGE, self.RATELIMIT_STORAGE_URI = "database", "memory://"
