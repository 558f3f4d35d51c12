"""A second app on an empty database, for restoring into."""
import pytest

from gridapp import create_app
from gridapp.config import TestConfig
from gridapp.extensions import db


@pytest.fixture
def empty_app(databases, tmp_path):
    """Make apps, each on a new empty database (not even migrated: ``createdb``) with its own instance folder."""
    made = []

    def make(name="restored"):
        url = databases.empty()
        app = create_app(TestConfig(url, tmp_path / name))
        made.append((app, url))
        return app

    yield make
    for app, url in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.drop(url)
