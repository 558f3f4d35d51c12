"""At most one stocktake counting at a time, enforced by a partial unique index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('uq_stocktakes_one_counting', 'stocktakes', ['status'], unique=True,
                    sqlite_where=sa.text("status = 'counting'"), postgresql_where=sa.text("status = 'counting'"))


def downgrade():
    op.drop_index('uq_stocktakes_one_counting', table_name='stocktakes')
