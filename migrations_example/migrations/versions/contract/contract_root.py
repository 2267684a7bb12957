"""contract branch: revisions that run after the rollout, behind the gate

Revision ID: contract_root
Revises: baseline_1_0
"""

from __future__ import annotations

revision = "contract_root"
down_revision = "baseline_1_0"
branch_labels = ("contract",)
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
