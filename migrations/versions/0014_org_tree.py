"""The organisation tree (division → farm → community → grid) and staff assignments.

This deployment's tree is written as data: 十二师 → 三坪农场 → 屯坪社区 → 迪祥佳苑B区, the grid every
existing record belongs to. Existing staff are assigned to that grid and admins to the community.

Revision ID: 0014_org_tree
Revises: 0013_report_indexes
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014_org_tree'
down_revision = '0013_report_indexes'
branch_labels = None
depends_on = None

# (id, parent, level, name, code, is_grid, organiser, counter place, counter hours)
TREE = (
    (1, None, '师', '第十二师', 'XJ12', False, '', '', ''),
    (2, 1, '农场', '三坪农场', 'SPNC', False, '', '', ''),
    (3, 2, '社区', '屯坪社区', 'TPSQ', False, '屯坪社区党总支', '', ''),
    (4, 3, '网格', '迪祥佳苑B区', 'DXB', True, '迪祥佳苑B区网格党支部', '迪祥佳苑B区南门广场', '10:00—17:00'),
)
GRID_ID, COMMUNITY_ID = 4, 3


def upgrade():
    units = op.create_table(
        'org_units',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('level_name', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('is_grid', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('organiser', sa.String(length=60), server_default='', nullable=False),
        sa.Column('counter_place', sa.String(length=60), server_default='', nullable=False),
        sa.Column('counter_hours', sa.String(length=20), server_default='', nullable=False),
        sa.Column('contact', sa.String(length=60), server_default='', nullable=False),
        sa.Column('points_anywhere', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('position', sa.Integer(), server_default='0', nullable=False),
        sa.Column('created_at', sa.DateTime(), server_default=sa.func.current_timestamp(), nullable=False),
        sa.CheckConstraint('length(name) > 0', name='org_name_not_blank'),
        sa.CheckConstraint('length(level_name) > 0', name='org_level_not_blank'),
        sa.CheckConstraint('length(code) BETWEEN 2 AND 8', name='org_code_length'),
        sa.CheckConstraint('NOT is_grid OR parent_id IS NOT NULL', name='grid_has_parent'),
        sa.ForeignKeyConstraint(['parent_id'], ['org_units.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    op.create_index('ix_org_units_parent', 'org_units', ['parent_id', 'position'], unique=False)
    op.create_table(
        'staff_assignments',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['org_units.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('user_id', 'unit_id'),
    )
    op.create_index('ix_staff_assignments_unit_id', 'staff_assignments', ['unit_id'], unique=False)

    op.bulk_insert(units, [
        dict(id=id_, parent_id=parent, level_name=level, name=name, code=code, is_grid=is_grid,
             organiser=organiser, counter_place=place, counter_hours=hours, contact='', points_anywhere=False,
             position=0)
        for id_, parent, level, name, code, is_grid, organiser, place, hours in TREE
    ])
    op.execute(f"INSERT INTO staff_assignments (user_id, unit_id) SELECT id, {GRID_ID} FROM users WHERE role = 'staff'")
    op.execute(f"INSERT INTO staff_assignments (user_id, unit_id) SELECT id, {COMMUNITY_ID} FROM users WHERE role = 'admin'")
    if op.get_bind().dialect.name == 'postgresql':
        # Rows were written with explicit ids: move the sequence past them.
        op.execute("SELECT setval(pg_get_serial_sequence('org_units', 'id'), (SELECT max(id) FROM org_units))")


def downgrade():
    op.drop_index('ix_staff_assignments_unit_id', table_name='staff_assignments')
    op.drop_table('staff_assignments')
    op.drop_index('ix_org_units_parent', table_name='org_units')
    op.drop_table('org_units')
