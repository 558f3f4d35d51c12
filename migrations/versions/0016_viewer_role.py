"""A new role: the division viewer (上级查看), who sees roll-ups of figures only.

The users table's role CHECK gains 'viewer'. SQLite rebuilds the table (batch mode; env.py turns
foreign keys off meanwhile); the users table has no trigger to re-create. The SQL of both checks is
frozen here.

Revision ID: 0016_viewer_role
Revises: 0015_grid_scope
Create Date: 2026-12-17

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016_viewer_role'
down_revision = '0015_grid_scope'
branch_labels = None
depends_on = None

WITH_VIEWER = "role IN ('volunteer', 'staff', 'admin', 'sponsor', 'viewer')"
WITHOUT_VIEWER = "role IN ('volunteer', 'staff', 'admin', 'sponsor')"


def _role_check(sql):
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', sql)


def upgrade():
    _role_check(WITH_VIEWER)


def downgrade():
    # Viewer accounts cannot stay: their assignments and logins go with them.
    op.execute("DELETE FROM staff_assignments WHERE user_id IN (SELECT id FROM users WHERE role = 'viewer')")
    op.execute("DELETE FROM login_sessions WHERE user_id IN (SELECT id FROM users WHERE role = 'viewer')")
    op.execute("DELETE FROM users WHERE role = 'viewer'")
    _role_check(WITHOUT_VIEWER)
