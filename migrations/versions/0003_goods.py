"""Donated goods: items, donations with gap-free receipt numbers, lots, the append-only stock ledger, stocktakes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


# Frozen SQL (a migration never imports gridapp: editing the app must not rewrite history).
# The ledger is append-only: the database itself refuses UPDATE and DELETE (and TRUNCATE).
def create_append_only_triggers(table):
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END""")
    else:
        op.execute("""
            CREATE OR REPLACE FUNCTION refuse_ledger_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$ LANGUAGE plpgsql""")
        op.execute(f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                       FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change()""")
        op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                       FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change()""")


def drop_append_only_triggers(table, drop_function=True):
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        if drop_function:
            op.execute("DROP FUNCTION IF EXISTS refuse_ledger_change()")


def upgrade():
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=4), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('points_price', sa.Integer(), nullable=False),
    sa.Column('monthly_limit', sa.Integer(), nullable=True),
    sa.Column('low_stock_threshold', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('stock', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("unit IN ('个', '条', '包', '袋', '支', '套', '瓶', '盒', '件', '双')", name=op.f('ck_items_unit_known')),
    sa.CheckConstraint('low_stock_threshold >= 0', name=op.f('ck_items_threshold_not_negative')),
    sa.CheckConstraint('monthly_limit IS NULL OR monthly_limit > 0', name=op.f('ck_items_limit_positive')),
    sa.CheckConstraint('points_price > 0', name=op.f('ck_items_price_positive')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_items_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('name', name=op.f('uq_items_name'))
    )
    op.create_table('number_sequences',
    sa.Column('series', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('series', 'year', name=op.f('pk_number_sequences'))
    )
    op.create_table('donations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_no', sa.String(length=16), nullable=False),
    sa.Column('receipt_year', sa.Integer(), nullable=False),
    sa.Column('receipt_seq', sa.Integer(), nullable=False),
    sa.Column('sponsor_id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint('(voided_at IS NULL) = (void_reason IS NULL)', name=op.f('ck_donations_void_has_reason')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_donations_created_by_id_users')),
    sa.ForeignKeyConstraint(['sponsor_id'], ['sponsors.id'], name=op.f('fk_donations_sponsor_id_sponsors')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], name=op.f('fk_donations_voided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donations')),
    sa.UniqueConstraint('receipt_no', name=op.f('uq_donations_receipt_no')),
    sa.UniqueConstraint('receipt_year', 'receipt_seq', name='uq_donations_receipt')
    )
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donations_received_on'), ['received_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_donations_sponsor_id'), ['sponsor_id'], unique=False)

    op.create_table('stocktakes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('counting', 'confirmed')", name=op.f('ck_stocktakes_status_known')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_stocktakes_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_stocktakes_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stocktakes'))
    )
    op.create_table('donation_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donation_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_value_fen', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_donation_lines_quantity_positive')),
    sa.CheckConstraint('unit_value_fen IS NULL OR unit_value_fen >= 0', name=op.f('ck_donation_lines_value_not_negative')),
    sa.ForeignKeyConstraint(['donation_id'], ['donations.id'], name=op.f('fk_donation_lines_donation_id_donations')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_donation_lines_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donation_lines'))
    )
    with op.batch_alter_table('donation_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donation_lines_donation_id'), ['donation_id'], unique=False)

    op.create_table('stocktake_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('stocktake_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('expected', sa.Integer(), nullable=False),
    sa.Column('counted', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.CheckConstraint('counted IS NULL OR counted >= 0', name=op.f('ck_stocktake_lines_counted_not_negative')),
    sa.CheckConstraint('expected >= 0', name=op.f('ck_stocktake_lines_expected_not_negative')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_stocktake_lines_item_id_items')),
    sa.ForeignKeyConstraint(['stocktake_id'], ['stocktakes.id'], name=op.f('fk_stocktake_lines_stocktake_id_stocktakes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stocktake_lines')),
    sa.UniqueConstraint('stocktake_id', 'item_id', name='uq_stocktake_lines_item')
    )
    op.create_table('lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('donation_line_id', sa.Integer(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_lots_quantity_positive')),
    sa.CheckConstraint('remaining >= 0 AND remaining <= quantity', name=op.f('ck_lots_remaining_in_range')),
    sa.ForeignKeyConstraint(['donation_line_id'], ['donation_lines.id'], name=op.f('fk_lots_donation_line_id_donation_lines')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_lots_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots')),
    sa.UniqueConstraint('donation_line_id', name=op.f('uq_lots_donation_line_id'))
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index('ix_lots_fifo', ['item_id', 'received_on', 'id'], unique=False)

    op.create_table('stock_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'return') = (reverses_id IS NOT NULL)", name=op.f('ck_stock_movements_return_names_its_movement')),
    sa.CheckConstraint("kind IN ('donation', 'redemption', 'return', 'void', 'adjustment')", name=op.f('ck_stock_movements_kind_known')),
    sa.CheckConstraint('delta <> 0', name=op.f('ck_stock_movements_delta_not_zero')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_stock_movements_created_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_stock_movements_item_id_items')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_stock_movements_lot_id_lots')),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_stock_movements_recipient_id_users')),
    sa.ForeignKeyConstraint(['reverses_id'], ['stock_movements.id'], name=op.f('fk_stock_movements_reverses_id_stock_movements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_stock_movements_reverses_id'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movements_item_history', ['item_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movements_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movements_reference'), ['reference'], unique=False)

    create_append_only_triggers('stock_movements')


def downgrade():
    # The points ledger still uses the trigger function: keep it.
    drop_append_only_triggers('stock_movements', drop_function=False)
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movements_reference'))
        batch_op.drop_index(batch_op.f('ix_stock_movements_lot_id'))
        batch_op.drop_index('ix_stock_movements_item_history')

    op.drop_table('stock_movements')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index('ix_lots_fifo')

    op.drop_table('lots')
    op.drop_table('stocktake_lines')
    with op.batch_alter_table('donation_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donation_lines_donation_id'))

    op.drop_table('donation_lines')
    op.drop_table('stocktakes')
    with op.batch_alter_table('donations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_donations_sponsor_id'))
        batch_op.drop_index(batch_op.f('ix_donations_received_on'))

    op.drop_table('donations')
    op.drop_table('number_sequences')
    op.drop_table('items')
