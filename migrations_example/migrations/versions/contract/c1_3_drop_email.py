"""release 1.3.0 contract: drop users.email (contract half of the rename)

Safe only once no live process runs a release older than 1.3.0: 1.2.0 still reads users.email
(as the fallback of coalesce(email_address, email)).
`requires_release` tells the contract gate so; `depends_on` makes sure the backfill ran first.

Revision ID: c1_3_drop_email
Revises: contract_root
"""

from __future__ import annotations

from alembic import op

revision = "c1_3_drop_email"
down_revision = "contract_root"
branch_labels = None
depends_on = ("e1_3_backfill_email",)

# the first release that no longer uses users.email
requires_release = "1.3.0"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:  # batch mode: SQLite rebuilds the table
        batch_op.drop_column("email")


def downgrade() -> None:
    import sqlalchemy as sa

    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(255), nullable=True))
    op.execute("UPDATE users SET email = email_address")
