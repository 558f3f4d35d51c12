"""Transparency: 积分公示 (postings, their lines, objections, 光荣榜 opt-outs) and a covering index
for the month figures of the points ledger, and an index on when users registered.

Revision ID: 0011_transparency
Revises: 0006
Create Date: 2026-12-16

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_transparency'
down_revision = '0010_reports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('opens_at', sa.DateTime(), nullable=False),
    sa.Column('closes_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('closes_at > opens_at', name=op.f('ck_postings_window_not_empty')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_postings_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings')),
    sa.UniqueConstraint('month', name=op.f('uq_postings_month'))
    )
    op.create_table('posting_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('posting_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('earned', sa.Integer(), nullable=False),
    sa.Column('spent', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['posting_id'], ['postings.id'], name=op.f('fk_posting_lines_posting_id_postings')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['users.id'], name=op.f('fk_posting_lines_volunteer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_posting_lines')),
    sa.UniqueConstraint('posting_id', 'volunteer_id', name='uq_posting_lines_volunteer')
    )
    with op.batch_alter_table('posting_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posting_lines_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('posting_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution', sa.String(length=300), nullable=False),
    sa.Column('reversal_entry_id', sa.Integer(), nullable=True),
    sa.Column('new_entry_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'accepted', 'rejected')", name=op.f('ck_objections_status_known')),
    sa.CheckConstraint("status = 'open' OR resolved_at IS NOT NULL", name=op.f('ck_objections_resolved_has_time')),
    sa.CheckConstraint("status <> 'accepted' OR (reversal_entry_id IS NOT NULL AND new_entry_id IS NOT NULL)",
                       name=op.f('ck_objections_accepted_has_entries')),
    sa.ForeignKeyConstraint(['line_id'], ['posting_lines.id'], name=op.f('fk_objections_line_id_posting_lines')),
    sa.ForeignKeyConstraint(['new_entry_id'], ['points_entries.id'], name=op.f('fk_objections_new_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['posting_id'], ['postings.id'], name=op.f('fk_objections_posting_id_postings')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_objections_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['reversal_entry_id'], ['points_entries.id'], name=op.f('fk_objections_reversal_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['users.id'], name=op.f('fk_objections_volunteer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections')),
    sa.UniqueConstraint('line_id', name=op.f('uq_objections_line_id')),
    sa.UniqueConstraint('new_entry_id', name=op.f('uq_objections_new_entry_id')),
    sa.UniqueConstraint('reversal_entry_id', name=op.f('uq_objections_reversal_entry_id'))
    )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objections_posting_id'), ['posting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('honour_roll_opt_outs',
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['volunteer_id'], ['users.id'], name=op.f('fk_honour_roll_opt_outs_volunteer_id_users')),
    sa.PrimaryKeyConstraint('volunteer_id', name=op.f('pk_honour_roll_opt_outs'))
    )
    # No batch mode here: on SQLite a batch would copy the table, and points_entries carries the
    # append-only triggers. A plain CREATE INDEX works on both databases.
    op.create_index('ix_points_entries_month_figures', 'points_entries', ['created_at', 'kind', 'delta'],
                    unique=False)
    op.create_index('ix_users_created_at', 'users', ['created_at'], unique=False)


def downgrade():
    op.drop_index('ix_users_created_at', table_name='users')
    op.drop_index('ix_points_entries_month_figures', table_name='points_entries')
    op.drop_table('honour_roll_opt_outs')
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objections_volunteer_id'))
        batch_op.drop_index(batch_op.f('ix_objections_posting_id'))
    op.drop_table('objections')
    with op.batch_alter_table('posting_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posting_lines_volunteer_id'))
    op.drop_table('posting_lines')
    op.drop_table('postings')
