"""Snow-clearing campaigns and their zones (按区域分工); each zone links to the duty session publishing creates.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('duty_type_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('meeting_point', sa.String(length=80), nullable=False),
    sa.Column('organiser', sa.String(length=60), nullable=False),
    sa.Column('contact_name', sa.String(length=40), nullable=False),
    sa.Column('contact_phone', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tools', sa.String(length=100), nullable=False),
    sa.Column('safety', sa.Text(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('copied_from_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status = 'draft' OR published_at IS NOT NULL", name=op.f('ck_campaigns_published_has_time')),
    sa.CheckConstraint("status IN ('draft', 'published', 'finished')", name=op.f('ck_campaigns_status_known')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_campaigns_ends_after_start')),
    sa.CheckConstraint('points > 0', name=op.f('ck_campaigns_points_positive')),
    sa.ForeignKeyConstraint(['copied_from_id'], ['campaigns.id'], name=op.f('fk_campaigns_copied_from_id_campaigns')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_campaigns_created_by_id_users')),
    sa.ForeignKeyConstraint(['duty_type_id'], ['duty_types.id'], name=op.f('fk_campaigns_duty_type_id_duty_types')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_campaigns_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_starts_at'), ['starts_at'], unique=False)

    op.create_table('campaign_zones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('description', sa.String(length=60), nullable=False),
    sa.Column('team', sa.String(length=30), nullable=False),
    sa.Column('leader_name', sa.String(length=40), nullable=False),
    sa.Column('leader_phone', sa.String(length=20), nullable=False),
    sa.Column('needed', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('needed > 0', name=op.f('ck_campaign_zones_needed_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_zones_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['session_id'], ['duty_sessions.id'], name=op.f('fk_campaign_zones_session_id_duty_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_zones')),
    sa.UniqueConstraint('campaign_id', 'name', name='uq_campaign_zones_name'),
    sa.UniqueConstraint('session_id', name=op.f('uq_campaign_zones_session_id'))
    )
    with op.batch_alter_table('campaign_zones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_zones_campaign_id'), ['campaign_id'], unique=False)



def downgrade():
    with op.batch_alter_table('campaign_zones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_zones_campaign_id'))

    op.drop_table('campaign_zones')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_starts_at'))

    op.drop_table('campaigns')
