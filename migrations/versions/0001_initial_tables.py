"""The four shared tables, as the original service created them (API.md §6).

An existing production database that already has these tables adopts this history
with `flask db stamp 0001_initial` (see README), then `flask db upgrade`.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

UTC_NOW = sa.text("timezone('utc'::text, now())")
EMPTY = sa.text("''::character varying")
FALSE = sa.text("false")


def upgrade():
    op.create_table(
        "user_table",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("email_public", sa.Boolean(), server_default=FALSE, nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("dob", sa.Date(), nullable=True),
        sa.Column("dob_public", sa.Boolean(), server_default=FALSE, nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=UTC_NOW, nullable=False),
        sa.Column("share_mode", sa.String(), server_default=sa.text("'default_none'::character varying"), nullable=False),
        sa.Column("domain_allow_array", sa.ARRAY(sa.String()), server_default=sa.text("'{}'::character varying[]"), nullable=False),
        sa.Column("domain_deny_array", sa.ARRAY(sa.String()), server_default=sa.text("'{}'::character varying[]"), nullable=False),
        sa.Column("gender", sa.String(), server_default=EMPTY, nullable=False),
        sa.Column("school", sa.String(), server_default=EMPTY, nullable=False),
        sa.Column("work", sa.String(), server_default=EMPTY, nullable=False),
        sa.Column("location", sa.String(), server_default=EMPTY, nullable=False),
        sa.Column("gender_public", sa.Boolean(), server_default=FALSE, nullable=False),
        sa.Column("school_public", sa.Boolean(), server_default=FALSE, nullable=False),
        sa.Column("work_public", sa.Boolean(), server_default=FALSE, nullable=False),
        sa.Column("location_public", sa.Boolean(), server_default=FALSE, nullable=False),
        sa.Column("description", sa.String(), server_default=EMPTY, nullable=False),
        sa.Column("profile_image_uploaded_at", sa.DateTime(), nullable=True),
        sa.Column("profile_image_extension", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="user_table_pkey"),
        sa.UniqueConstraint("email", name="user_table_email_key"),
    )
    op.create_index("ix_user_table_user_id", "user_table", ["user_id"])

    op.create_table(
        "friendship_table",
        sa.Column("user_id1", sa.String(), nullable=False),
        sa.Column("user_id2", sa.String(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), server_default=UTC_NOW, nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id1"], ["user_table.user_id"], name="friendship_table_user_id1_fkey"),
        sa.ForeignKeyConstraint(["user_id2"], ["user_table.user_id"], name="friendship_table_user_id2_fkey"),
        sa.PrimaryKeyConstraint("user_id1", "user_id2", name="friendship_table_pkey"),
    )
    op.create_index("ix_friendship_table_user_id1", "friendship_table", ["user_id1"])
    op.create_index("ix_friendship_table_user_id2", "friendship_table", ["user_id2"])

    op.create_table(
        "share_notification_table",
        # gen_random_uuid() is built into PostgreSQL 13+, so no extension is needed (API.md allows it
        # instead of uuid-ossp's uuid_generate_v4(), which adopted databases may keep).
        sa.Column("event_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), server_default=UTC_NOW, nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("sent_to", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_table.user_id"], name="share_notification_table_user_id_fkey"),
        sa.ForeignKeyConstraint(["sent_to"], ["user_table.user_id"], name="share_notification_table_sent_to_fkey"),
        sa.PrimaryKeyConstraint("event_id", name="share_notification_table_pkey"),
    )
    op.create_index("ix_share_notification_table_event_id", "share_notification_table", ["event_id"])
    op.create_index("ix_share_notification_table_user_id", "share_notification_table", ["user_id"])

    op.create_table(
        "share_notification_seen_table",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["share_notification_table.event_id"], name="share_notification_seen_table_event_id_fkey"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user_table.user_id"], name="share_notification_seen_table_user_id_fkey"),
        sa.PrimaryKeyConstraint("event_id", "user_id", name="share_notification_seen_table_pkey"),
    )
    op.create_index("ix_share_notification_seen_table_event_id", "share_notification_seen_table", ["event_id"])
    op.create_index("ix_share_notification_seen_table_user_id", "share_notification_seen_table", ["user_id"])


def downgrade():
    op.drop_table("share_notification_seen_table")
    op.drop_table("share_notification_table")
    op.drop_table("friendship_table")
    op.drop_table("user_table")
