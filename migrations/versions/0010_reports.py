"""Hazard reports and micro-wishes: partner units, points per hazard category, reports with their
photos (files in the photo store) and timeline events.

Revision ID: 0010_reports
Revises: 0006
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_reports'
down_revision = '0009_month'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('partner_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('contact_name', sa.String(length=40), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('property', 'water', 'power', 'gas', 'other')", name=op.f('ck_partner_units_kind_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_units')),
    sa.UniqueConstraint('name', name=op.f('uq_partner_units_name'))
    )
    op.create_table('report_hazard_points',
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('points >= 0 AND points <= 200', name=op.f('ck_report_hazard_points_points_in_range')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_report_hazard_points_updated_by_id_users')),
    sa.PrimaryKeyConstraint('category', name=op.f('pk_report_hazard_points'))
    )
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('building', sa.String(length=16), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('place', sa.String(length=80), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('attendance_id', sa.Integer(), nullable=True),
    sa.Column('wall_consent', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('resolution', sa.String(length=500), nullable=True),
    sa.Column('decline_reason', sa.String(length=200), nullable=True),
    sa.Column('on_wall', sa.Boolean(), nullable=False),
    sa.Column('points_entry_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('solved_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("category IN ('road', 'parking', 'pipe', 'light', 'ice', 'hazard_other', 'shopping', 'repair', 'visit', 'wish_other')", name=op.f('ck_reports_category_known')),
    sa.CheckConstraint("kind IN ('hazard', 'wish')", name=op.f('ck_reports_kind_known')),
    sa.CheckConstraint("on_wall = false OR kind = 'hazard' OR wall_consent = true", name=op.f('ck_reports_wish_on_wall_with_consent')),
    sa.CheckConstraint("on_wall = false OR status = 'solved'", name=op.f('ck_reports_wall_only_solved')),
    sa.CheckConstraint("status <> 'declined' OR length(decline_reason) > 0", name=op.f('ck_reports_declined_has_reason')),
    sa.CheckConstraint("status <> 'solved' OR (solved_at IS NOT NULL AND length(resolution) > 0)", name=op.f('ck_reports_solved_says_what_was_done')),
    sa.CheckConstraint("status IN ('new', 'accepted', 'in_progress', 'solved', 'declined')", name=op.f('ck_reports_status_known')),
    sa.CheckConstraint("status NOT IN ('accepted', 'in_progress', 'solved') OR accepted_at IS NOT NULL", name=op.f('ck_reports_accepted_has_time')),
    sa.CheckConstraint("status NOT IN ('accepted', 'in_progress', 'solved') OR assignee_id IS NOT NULL OR partner_id IS NOT NULL", name=op.f('ck_reports_accepted_has_someone')),
    sa.CheckConstraint('building IS NOT NULL OR length(place) > 0', name=op.f('ck_reports_has_a_place')),
    sa.CheckConstraint('length(description) > 0', name=op.f('ck_reports_description_not_blank')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_reports_assignee_id_users')),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'], name=op.f('fk_reports_attendance_id_attendances')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_units.id'], name=op.f('fk_reports_partner_id_partner_units')),
    sa.ForeignKeyConstraint(['points_entry_id'], ['points_entries.id'], name=op.f('fk_reports_points_entry_id_points_entries')),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_reports_reporter_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('points_entry_id', name=op.f('uq_reports_points_entry_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_attendance_id'), ['attendance_id'], unique=False)
        batch_op.create_index('ix_reports_queue', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_reports_reporter', ['reporter_id', 'id'], unique=False)
        batch_op.create_index('ix_reports_wall', ['on_wall', 'solved_at'], unique=False)

    op.create_table('report_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("to_status IN ('new', 'accepted', 'in_progress', 'solved', 'declined')", name=op.f('ck_report_events_status_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_report_events_actor_id_users')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_events_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_events'))
    )
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_events_report_id'), ['report_id'], unique=False)

    op.create_table('report_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('thumb_width', sa.Integer(), nullable=False),
    sa.Column('thumb_height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("stage IN ('before', 'after')", name=op.f('ck_report_photos_stage_known')),
    sa.CheckConstraint('width > 0 AND height > 0 AND thumb_width > 0 AND thumb_height > 0', name=op.f('ck_report_photos_has_size')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_report_photos_created_by_id_users')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_photos_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_photos')),
    sa.UniqueConstraint('key', name=op.f('uq_report_photos_key'))
    )
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_photos_report_id'), ['report_id'], unique=False)



def downgrade():
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_photos_report_id'))

    op.drop_table('report_photos')
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_events_report_id'))

    op.drop_table('report_events')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_wall')
        batch_op.drop_index('ix_reports_reporter')
        batch_op.drop_index('ix_reports_queue')
        batch_op.drop_index(batch_op.f('ix_reports_attendance_id'))

    op.drop_table('reports')
    op.drop_table('report_hazard_points')
    op.drop_table('partner_units')
