"""The month-end exchange counter: sessions, extra redemption days, redemptions with their lines; household limits; volunteer codes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('counter_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_counter_sessions_closed_by_id_users')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_counter_sessions_opened_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_sessions')),
    sa.UniqueConstraint('day', name=op.f('uq_counter_sessions_day'))
    )
    op.create_table('redemption_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_redemption_days_added_by_id_users')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_redemption_days'))
    )
    op.create_table('redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('receipt_no', sa.String(length=16), nullable=False),
    sa.Column('receipt_year', sa.Integer(), nullable=False),
    sa.Column('receipt_seq', sa.Integer(), nullable=False),
    sa.Column('total_points', sa.Integer(), nullable=False),
    sa.Column('points_entry_id', sa.Integer(), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('served_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('(voided_at IS NULL) = (void_reason IS NULL)', name=op.f('ck_redemptions_void_has_reason')),
    sa.CheckConstraint('total_points > 0', name=op.f('ck_redemptions_total_positive')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_redemptions_household_id_households')),
    sa.ForeignKeyConstraint(['points_entry_id'], ['points_entries.id'], name=op.f('fk_redemptions_points_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['served_by_id'], ['users.id'], name=op.f('fk_redemptions_served_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['counter_sessions.id'], name=op.f('fk_redemptions_session_id_counter_sessions')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_redemptions_voided_by_id_users')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['users.id'], name=op.f('fk_redemptions_volunteer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('points_entry_id', name=op.f('uq_redemptions_points_entry_id')),
    sa.UniqueConstraint('receipt_no', name=op.f('uq_redemptions_receipt_no')),
    sa.UniqueConstraint('receipt_year', 'receipt_seq', name='uq_redemptions_receipt'),
    sa.UniqueConstraint('token', name=op.f('uq_redemptions_token'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemptions_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemptions_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('redemption_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('redemption_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_points', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_redemption_lines_quantity_positive')),
    sa.CheckConstraint('unit_points > 0', name=op.f('ck_redemption_lines_price_positive')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_redemption_lines_item_id_items')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_redemption_lines_redemption_id_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_lines'))
    )
    with op.batch_alter_table('redemption_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_redemption_lines_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemption_lines_redemption_id'), ['redemption_id'], unique=False)

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('household_monthly_limit', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('household_limit_positive',
                                         'household_monthly_limit IS NULL OR household_monthly_limit > 0')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('volunteer_code', sa.String(length=16), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_volunteer_code'), ['volunteer_code'])



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_volunteer_code'), type_='unique')
        batch_op.drop_column('volunteer_code')

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint('household_limit_positive', type_='check')
        batch_op.drop_column('household_monthly_limit')

    with op.batch_alter_table('redemption_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemption_lines_redemption_id'))
        batch_op.drop_index(batch_op.f('ix_redemption_lines_item_id'))

    op.drop_table('redemption_lines')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemptions_volunteer_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_session_id'))
        batch_op.drop_index(batch_op.f('ix_redemptions_household_id'))

    op.drop_table('redemptions')
    op.drop_table('redemption_days')
    op.drop_table('counter_sessions')
