"""One award per volunteer and campaign: campaign_awards, UNIQUE (campaign_id, volunteer_id).

Existing confirmed attendances in campaign zones get their row; where a volunteer was already paid
in two zones of one campaign, only the first (lowest attendance id) gets it, and `flask verify`
names the others (staff reject them, which reverses their points).

Revision ID: 0007_edges
Revises: 0006
Create Date: 2026-12-16

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_edges'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign_awards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('zone_id', sa.Integer(), nullable=False),
    sa.Column('attendance_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'], name=op.f('fk_campaign_awards_attendance_id_attendances')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_awards_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['users.id'], name=op.f('fk_campaign_awards_volunteer_id_users')),
    sa.ForeignKeyConstraint(['zone_id'], ['campaign_zones.id'], name=op.f('fk_campaign_awards_zone_id_campaign_zones')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_awards')),
    sa.UniqueConstraint('attendance_id', name=op.f('uq_campaign_awards_attendance_id')),
    sa.UniqueConstraint('campaign_id', 'volunteer_id', name='uq_campaign_awards_one_per_volunteer')
    )
    with op.batch_alter_table('campaign_awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_awards_volunteer_id'), ['volunteer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_awards_zone_id'), ['zone_id'], unique=False)

    # Frozen SQL (no gridapp imports): the first confirmed attendance per campaign and volunteer.
    op.execute("""
        INSERT INTO campaign_awards (campaign_id, volunteer_id, zone_id, attendance_id, created_at)
        SELECT z.campaign_id, a.volunteer_id, z.id, a.id, COALESCE(a.reviewed_at, CURRENT_TIMESTAMP)
        FROM attendances a JOIN campaign_zones z ON z.session_id = a.session_id
        WHERE a.status = 'confirmed'
          AND a.id = (SELECT MIN(a2.id) FROM attendances a2 JOIN campaign_zones z2 ON z2.session_id = a2.session_id
                      WHERE z2.campaign_id = z.campaign_id AND a2.volunteer_id = a.volunteer_id
                        AND a2.status = 'confirmed')
    """)


def downgrade():
    with op.batch_alter_table('campaign_awards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_awards_zone_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_awards_volunteer_id'))

    op.drop_table('campaign_awards')
