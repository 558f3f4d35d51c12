"""Every account gets its volunteer card code (data only, no schema change).

Accounts made before cards existed had none, and the card page and card printing gave them one on
GET (a write on a read); from here on a code is made with the account and never on a GET.

Revision ID: 0009_month
Revises: 0006
Create Date: 2026-12-01

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_month'
down_revision = '0008_hardening'
branch_labels = None
depends_on = None

users = sa.table('users', sa.column('id', sa.Integer), sa.column('volunteer_code', sa.String(16)))


def new_code(taken: set[str]) -> str:
    # Frozen copy of the app's volunteer code format at this revision: "V" + 8 upper-case hex digits.
    while True:
        code = "V" + secrets.token_hex(4).upper()
        if code not in taken:
            taken.add(code)
            return code


def upgrade():
    bind = op.get_bind()
    taken = {code for (code,) in bind.execute(sa.select(users.c.volunteer_code)
                                              .where(users.c.volunteer_code.is_not(None)))}
    missing = [user_id for (user_id,) in bind.execute(sa.select(users.c.id).where(users.c.volunteer_code.is_(None))
                                                      .order_by(users.c.id))]
    for user_id in missing:
        bind.execute(users.update().where(users.c.id == user_id).values(volunteer_code=new_code(taken)))


def downgrade():
    pass  # the codes stay: they may be printed on cards already
