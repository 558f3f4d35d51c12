"""The points ledger (append-only, enforced by triggers) and duty sessions with attendance.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
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
    op.create_table('duty_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('default_points', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('default_points > 0', name=op.f('ck_duty_types_points_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_types')),
    sa.UniqueConstraint('name', name=op.f('uq_duty_types_name'))
    )
    op.create_table('duty_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('duty_type_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('place', sa.String(length=80), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('checkin_opens_at', sa.DateTime(), nullable=False),
    sa.Column('checkin_closes_at', sa.DateTime(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('taken', sa.Integer(), server_default='0', nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('series', sa.String(length=32), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('capacity IS NULL OR capacity > 0', name=op.f('ck_duty_sessions_capacity_positive')),
    sa.CheckConstraint('checkin_closes_at > checkin_opens_at', name=op.f('ck_duty_sessions_window_not_empty')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_duty_sessions_ends_after_start')),
    sa.CheckConstraint('points > 0', name=op.f('ck_duty_sessions_points_positive')),
    sa.CheckConstraint('taken >= 0', name=op.f('ck_duty_sessions_taken_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_duty_sessions_created_by_id_users')),
    sa.ForeignKeyConstraint(['duty_type_id'], ['duty_types.id'], name=op.f('fk_duty_sessions_duty_type_id_duty_types')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_duty_sessions_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_sessions')),
    sa.UniqueConstraint('token', name=op.f('uq_duty_sessions_token'))
    )
    with op.batch_alter_table('duty_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_sessions_series'), ['series'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_sessions_starts_at'), ['starts_at'], unique=False)

    op.create_table('form_submissions',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('result_url', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_submissions_user_id_users')),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_form_submissions'))
    )
    op.create_table('points_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name=op.f('ck_points_entries_reversal_names_its_entry')),
    sa.CheckConstraint("kind <> 'award' OR delta > 0", name=op.f('ck_points_entries_award_is_positive')),
    sa.CheckConstraint("kind <> 'spend' OR delta < 0", name=op.f('ck_points_entries_spend_is_negative')),
    sa.CheckConstraint("kind IN ('award', 'spend', 'reversal')", name=op.f('ck_points_entries_kind_known')),
    sa.CheckConstraint('delta <> 0', name=op.f('ck_points_entries_delta_not_zero')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_points_entries_created_by_id_users')),
    sa.ForeignKeyConstraint(['reverses_id'], ['points_entries.id'], name=op.f('fk_points_entries_reverses_id_points_entries')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['users.id'], name=op.f('fk_points_entries_volunteer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_points_entries_idempotency_key')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_points_entries_reverses_id'))
    )
    with op.batch_alter_table('points_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_entries_reference'), ['reference'], unique=False)
        batch_op.create_index('ix_points_entries_volunteer_history', ['volunteer_id', 'id'], unique=False)

    op.create_table('attendances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('signed_up_at', sa.DateTime(), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(), nullable=True),
    sa.Column('auto_checked_out', sa.Boolean(), nullable=False),
    sa.Column('marked_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('rejection_reason', sa.String(length=200), nullable=True),
    sa.Column('award_entry_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status <> 'confirmed' OR award_entry_id IS NOT NULL", name=op.f('ck_attendances_confirmed_is_paid')),
    sa.CheckConstraint("status IN ('signed_up', 'checked_in', 'checked_out', 'confirmed', 'rejected', 'cancelled')", name=op.f('ck_attendances_status_known')),
    sa.ForeignKeyConstraint(['award_entry_id'], ['points_entries.id'], name=op.f('fk_attendances_award_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['marked_by_id'], ['users.id'], name=op.f('fk_attendances_marked_by_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_attendances_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['duty_sessions.id'], name=op.f('fk_attendances_session_id_duty_sessions')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['users.id'], name=op.f('fk_attendances_volunteer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendances')),
    sa.UniqueConstraint('award_entry_id', name=op.f('uq_attendances_award_entry_id')),
    sa.UniqueConstraint('session_id', 'volunteer_id', name='uq_attendances_one_per_volunteer')
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendances_volunteer_id'), ['volunteer_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points_balance', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint('points_balance_not_negative', 'points_balance >= 0')

    create_append_only_triggers('points_entries')



def downgrade():
    drop_append_only_triggers('points_entries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('points_balance_not_negative', type_='check')
        batch_op.drop_column('points_balance')

    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendances_volunteer_id'))

    op.drop_table('attendances')
    with op.batch_alter_table('points_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_points_entries_volunteer_history')
        batch_op.drop_index(batch_op.f('ix_points_entries_reference'))

    op.drop_table('points_entries')
    op.drop_table('form_submissions')
    with op.batch_alter_table('duty_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_sessions_starts_at'))
        batch_op.drop_index(batch_op.f('ix_duty_sessions_series'))

    op.drop_table('duty_sessions')
    op.drop_table('duty_types')
