"""Hardening: server-side login sessions, throttling counters in the database, upper bounds on numbers.

- ``login_sessions``: one row per login; the cookie names it, logout and password change end it. It
  replaces ``users.session_nonce``.
- ``throttle_counters``: failed logins and registrations per phone and per client, shared by every worker.
- CHECK constraints give every number people type an upper bound, the same as its form's. On a database
  whose data already breaks a bound the upgrade stops and names the constraint: correct the row first.

SQLite rebuilds each altered table (batch mode); env.py turns foreign keys off while it does. The ledgers
(``points_entries``, ``stock_movements``, with their append-only triggers) are not rebuilt.

Revision ID: 0008_hardening
Revises: 0006
Create Date: 2026-12-16

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_hardening'
down_revision = '0007_edges'
branch_labels = None
depends_on = None

# table -> [(constraint name, condition)]; names follow the naming convention ck_<table>_<name>.
BOUNDS = {
    'items': [
        ('price_bounded', 'points_price <= 100000'),
        ('limit_bounded', 'monthly_limit IS NULL OR monthly_limit <= 100'),
        ('household_limit_bounded', 'household_monthly_limit IS NULL OR household_monthly_limit <= 100'),
        ('threshold_bounded', 'low_stock_threshold <= 10000'),
        ('stock_bounded', 'stock <= 10000000'),
    ],
    'donation_lines': [
        ('quantity_bounded', 'quantity <= 10000'),
        ('value_bounded', 'unit_value_fen IS NULL OR unit_value_fen <= 10000000'),
    ],
    'lots': [('quantity_bounded', 'quantity <= 1000000')],
    'stocktake_lines': [('counted_bounded', 'counted IS NULL OR counted <= 1000000')],
    'duty_types': [('points_bounded', 'default_points <= 200')],
    'duty_sessions': [
        ('points_bounded', 'points <= 200'),
        ('capacity_bounded', 'capacity IS NULL OR capacity <= 1000'),
    ],
    'campaigns': [('points_bounded', 'points <= 200')],
    'campaign_zones': [('needed_bounded', 'needed <= 200')],
    'redemption_lines': [
        ('quantity_bounded', 'quantity <= 999'),
        ('price_bounded', 'unit_points <= 100000'),
    ],
}


def upgrade():
    op.create_table('login_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.CheckConstraint("end_reason IS NULL OR end_reason IN ('logout', 'password', 'others', 'staff', 'disabled', 'reset')",
                       name=op.f('ck_login_sessions_end_reason_known')),
    sa.CheckConstraint('(ended_at IS NULL) = (end_reason IS NULL)', name=op.f('ck_login_sessions_ended_has_reason')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_sessions_token_hash'))
    )
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('throttle_counters',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('window_started_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_throttle_counters_attempts_not_negative')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_throttle_counters'))
    )
    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_throttle_counters_window_started_at'), ['window_started_at'],
                              unique=False)

    # Every login so far used the nonce; they end here (everyone logs in once more).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE users DROP COLUMN session_nonce')  # SQLite >= 3.35: no rebuild of users
    else:
        op.drop_column('users', 'session_nonce')

    for table, bounds in BOUNDS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, condition in bounds:
                batch_op.create_check_constraint(name, condition)


def downgrade():
    for table, bounds in BOUNDS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _condition in bounds:
                batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_nonce', sa.String(length=32), nullable=False,
                                      server_default='0'))

    with op.batch_alter_table('throttle_counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_counters_window_started_at'))
    op.drop_table('throttle_counters')

    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_sessions_user_id'))
    op.drop_table('login_sessions')
