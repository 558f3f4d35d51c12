"""Backups that restore: ``flask backup PATH`` and ``flask restore PATH`` on SQLite and PostgreSQL."""
