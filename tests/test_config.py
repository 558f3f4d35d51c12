"""Configuration from the environment, with safe defaults."""
from gridapp.config import Config, load_or_create_secret_key


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("GRIDAPP_SECRET_KEY", raising=False)
    first = load_or_create_secret_key(tmp_path)
    assert len(first) == 64
    assert load_or_create_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDAPP_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/gridapp")
    monkeypatch.setenv("GRIDAPP_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("GRIDAPP_HTTPS", "1")
    config = Config(tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://")
    assert config.SECRET_KEY == "from-the-environment"
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert not (tmp_path / "secret_key").exists()


def test_default_is_a_sqlite_file_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("GRIDAPP_DATABASE_URL", raising=False)
    monkeypatch.delenv("GRIDAPP_HTTPS", raising=False)
    config = Config(tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'gridapp.sqlite3'}"
    assert config.SESSION_COOKIE_SECURE is False
