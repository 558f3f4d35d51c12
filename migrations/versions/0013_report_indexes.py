"""Covering indexes for the staff dashboard and the monthly report at ledger scale.

- points_entries (created_at, kind, delta, volunteer_id) replaces (created_at, kind, delta): the
  per-team points of a month are then summed per volunteer from the index alone;
- users (created_at, role) replaces (created_at): new registrations per month from the index alone;
- users (status, role): volunteers on the roll and registrations waiting for review, counted in the
  index instead of a scan of every user.

Revision ID: 0013_report_indexes
Revises: 0012_accounts_ux
Create Date: 2026-12-01

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_report_indexes'
down_revision = '0012_accounts_ux'
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE/DROP INDEX, no batch mode: on SQLite a batch would copy the tables (points_entries
    # carries the append-only triggers).
    op.drop_index('ix_points_entries_month_figures', table_name='points_entries')
    op.create_index('ix_points_entries_month_figures', 'points_entries',
                    ['created_at', 'kind', 'delta', 'volunteer_id'], unique=False)
    op.drop_index('ix_users_created_at', table_name='users')
    op.create_index('ix_users_created_at', 'users', ['created_at', 'role'], unique=False)
    op.create_index('ix_users_status_role', 'users', ['status', 'role'], unique=False)


def downgrade():
    op.drop_index('ix_users_status_role', table_name='users')
    op.drop_index('ix_users_created_at', table_name='users')
    op.create_index('ix_users_created_at', 'users', ['created_at'], unique=False)
    op.drop_index('ix_points_entries_month_figures', table_name='points_entries')
    op.create_index('ix_points_entries_month_figures', 'points_entries', ['created_at', 'kind', 'delta'],
                    unique=False)
