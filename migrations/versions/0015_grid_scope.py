"""The grid as the scope of every operational record.

- ``grid_id`` (NOT NULL, FK org_units) on the operational roots: households, duty_sessions, campaigns,
  redemption_days, counter_sessions, redemptions, items, stocktakes, donations, postings, reports. Every
  existing row belongs to 迪祥佳苑B区 (grid 4, written by 0014).
- What was unique in the one grid is unique per grid: a household's address, an item's name, a counter
  session's day, a posting's month, the one stocktake counting, a receipt's (year, number);
  redemption_days' key becomes (grid_id, day).
- ``team_grids``: the grids a team serves (every existing team serves grid 4).
- ``users.grid_id``: a volunteer's grid, kept equal to their household's by a composite foreign key
  (household_id, grid_id) → households (id, grid_id); NULL for staff, admins and sponsors.
- ``login_sessions.grid_id``: the grid a staff login works in.
- Receipt series per grid: the counters JZ and DH become JZ-DXB and DH-DXB and go on counting, so existing
  receipts keep their numbers and the grid's year stays gap-free; series and receipt numbers get wider.

SQLite rebuilds the altered tables (batch mode; env.py turns foreign keys off meanwhile). None of them has
a trigger (the ledgers' append-only triggers are on points_entries and stock_movements, untouched). The
stocktakes' partial unique index is dropped before its table is rebuilt and made again after.

Revision ID: 0015_grid_scope
Revises: 0014_org_tree
Create Date: 2026-12-16

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015_grid_scope'
down_revision = '0014_org_tree'
branch_labels = None
depends_on = None

GRID_ID, GRID_CODE = 4, 'DXB'
ROOTS = ('households', 'duty_sessions', 'campaigns', 'counter_sessions', 'redemptions', 'items', 'stocktakes',
         'donations', 'postings', 'reports')
# table -> (constraint, old columns, new columns)
UNIQUES = {
    'households': ('uq_households_address', ['building', 'unit', 'room'], ['grid_id', 'building', 'unit', 'room']),
    'items': ('uq_items_name', ['name'], ['grid_id', 'name']),
    'counter_sessions': ('uq_counter_sessions_day', ['day'], ['grid_id', 'day']),
    'postings': ('uq_postings_month', ['month'], ['grid_id', 'month']),
    'donations': ('uq_donations_receipt', ['receipt_year', 'receipt_seq'], ['grid_id', 'receipt_year', 'receipt_seq']),
    'redemptions': ('uq_redemptions_receipt', ['receipt_year', 'receipt_seq'],
                    ['grid_id', 'receipt_year', 'receipt_seq']),
}
COUNTING = sa.text("status = 'counting'")


def _redemption_days(with_grid: bool):
    rows = [dict(row._mapping) for row in op.get_bind().execute(sa.text(
        'SELECT day, reason, added_by_id, added_at FROM redemption_days'))]
    op.drop_table('redemption_days')
    columns = [sa.Column('grid_id', sa.Integer(), nullable=False)] if with_grid else []
    table = op.create_table(
        'redemption_days',
        *columns,
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=False),
        sa.Column('added_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name='fk_redemption_days_added_by_id_users'),
        *([sa.ForeignKeyConstraint(['grid_id'], ['org_units.id'], name='fk_redemption_days_grid_id_org_units')]
          if with_grid else []),
        sa.PrimaryKeyConstraint(*(['grid_id', 'day'] if with_grid else ['day']), name='pk_redemption_days'),
    )
    if with_grid:
        op.create_index('ix_redemption_days_grid_id', 'redemption_days', ['grid_id'], unique=False)
        for row in rows:
            row['grid_id'] = GRID_ID
    op.bulk_insert(table, rows)


def upgrade():
    op.drop_index('uq_stocktakes_one_counting', table_name='stocktakes')
    for table in ROOTS:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('grid_id', sa.Integer(), nullable=True))
        op.execute(f'UPDATE {table} SET grid_id = {GRID_ID}')
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column('grid_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key(f'fk_{table}_grid_id_org_units', 'org_units', ['grid_id'], ['id'])
            batch_op.create_index(f'ix_{table}_grid_id', ['grid_id'], unique=False)
            if table in UNIQUES:
                name, _old, new = UNIQUES[table]
                batch_op.drop_constraint(name, type_='unique')
                batch_op.create_unique_constraint(name, new)
            if table == 'households':
                batch_op.create_unique_constraint('uq_households_id_grid', ['id', 'grid_id'])
            if table in ('donations', 'redemptions'):
                batch_op.alter_column('receipt_no', existing_type=sa.String(length=16), type_=sa.String(length=24),
                                      existing_nullable=False)
    op.create_index('uq_stocktakes_one_counting', 'stocktakes', ['grid_id', 'status'], unique=True,
                    sqlite_where=COUNTING, postgresql_where=COUNTING)

    _redemption_days(with_grid=True)

    op.create_table(
        'team_grids',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('grid_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['grid_id'], ['org_units.id'], name='fk_team_grids_grid_id_org_units'),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name='fk_team_grids_team_id_teams'),
        sa.PrimaryKeyConstraint('team_id', 'grid_id', name='pk_team_grids'),
    )
    op.create_index('ix_team_grids_grid_id', 'team_grids', ['grid_id'], unique=False)
    op.execute(f'INSERT INTO team_grids (team_id, grid_id) SELECT id, {GRID_ID} FROM teams')

    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('grid_id', sa.Integer(), nullable=True))
    op.execute(f'UPDATE users SET grid_id = {GRID_ID} WHERE household_id IS NOT NULL')
    with op.batch_alter_table('users') as batch_op:
        batch_op.create_foreign_key('fk_users_grid_id_org_units', 'org_units', ['grid_id'], ['id'])
        batch_op.create_foreign_key('fk_users_household_grid', 'households', ['household_id', 'grid_id'],
                                    ['id', 'grid_id'])
        batch_op.create_check_constraint('household_has_grid', 'household_id IS NULL OR grid_id IS NOT NULL')
        batch_op.create_index('ix_users_grid_id', ['grid_id'], unique=False)

    with op.batch_alter_table('login_sessions') as batch_op:
        batch_op.add_column(sa.Column('grid_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_login_sessions_grid_id_org_units', 'org_units', ['grid_id'], ['id'])

    with op.batch_alter_table('number_sequences') as batch_op:
        batch_op.alter_column('series', existing_type=sa.String(length=8), type_=sa.String(length=16),
                              existing_nullable=False)
    for kind in ('JZ', 'DH'):
        op.execute(f"UPDATE number_sequences SET series = '{kind}-{GRID_CODE}' WHERE series = '{kind}'")


def downgrade():
    for kind in ('JZ', 'DH'):
        op.execute(f"UPDATE number_sequences SET series = '{kind}' WHERE series = '{kind}-{GRID_CODE}'")
    with op.batch_alter_table('number_sequences') as batch_op:
        batch_op.alter_column('series', existing_type=sa.String(length=16), type_=sa.String(length=8),
                              existing_nullable=False)

    with op.batch_alter_table('login_sessions') as batch_op:
        batch_op.drop_constraint('fk_login_sessions_grid_id_org_units', type_='foreignkey')
        batch_op.drop_column('grid_id')

    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_index('ix_users_grid_id')
        batch_op.drop_constraint(op.f('ck_users_household_has_grid'), type_='check')
        batch_op.drop_constraint('fk_users_household_grid', type_='foreignkey')
        batch_op.drop_constraint('fk_users_grid_id_org_units', type_='foreignkey')
        batch_op.drop_column('grid_id')

    op.drop_index('ix_team_grids_grid_id', table_name='team_grids')
    op.drop_table('team_grids')

    op.drop_index('ix_redemption_days_grid_id', table_name='redemption_days')
    _redemption_days(with_grid=False)

    op.drop_index('uq_stocktakes_one_counting', table_name='stocktakes')
    for table in reversed(ROOTS):
        with op.batch_alter_table(table) as batch_op:
            if table in ('donations', 'redemptions'):
                batch_op.alter_column('receipt_no', existing_type=sa.String(length=24), type_=sa.String(length=16),
                                      existing_nullable=False)
            if table == 'households':
                batch_op.drop_constraint('uq_households_id_grid', type_='unique')
            if table in UNIQUES:
                name, old, _new = UNIQUES[table]
                batch_op.drop_constraint(name, type_='unique')
                batch_op.create_unique_constraint(name, old)
            batch_op.drop_index(f'ix_{table}_grid_id')
            batch_op.drop_constraint(f'fk_{table}_grid_id_org_units', type_='foreignkey')
            batch_op.drop_column('grid_id')
    op.create_index('uq_stocktakes_one_counting', 'stocktakes', ['status'], unique=True,
                    sqlite_where=COUNTING, postgresql_where=COUNTING)
