"""How long `classify` takes to read a history, against `alembic upgrade heads --sql` on the same one.

Both read every revision offline; `alembic upgrade --sql` only renders the SQL, `classify` also
records each operation, parses its SQL and classifies it. The baseline is measured in the same run
(these machines are noisy): the ratio is what to compare across runs, not the seconds.

    python bench/classify_speed.py [--revisions 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

from expandcontract import api
from expandcontract.alembic_ext.layout import init_project
from expandcontract.settings import load_settings

REVISION = '''"""bench revision {n}"""
import sqlalchemy as sa
from alembic import op

revision = "r{n:05d}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("t{t}", sa.Column("c{n}", sa.String(40), nullable=True))
    with op.get_context().autocommit_block():
        op.create_index("ix_t{t}_c{n}", "t{t}", ["c{n}"], postgresql_concurrently=True)
    op.alter_column("t{t}", "old{n}", type_=sa.String(80), existing_type=sa.String(40))
    op.execute("UPDATE t{t} SET c{n} = old{n} WHERE c{n} IS NULL")
    with op.batch_alter_table("t{t}") as batch_op:
        batch_op.drop_column("gone{n}")


def downgrade():
    pass
'''


def build(folder: Path, revisions: int) -> None:
    """A phased project whose expand branch holds `revisions` revisions of five operations each."""
    written = init_project(folder, "migrations", url="postgresql+psycopg://bench@localhost/bench")
    expand = folder / "migrations" / "versions" / "expand"
    down = f'"{written.expand_root}"'
    for n in range(revisions):
        (expand / f"r{n:05d}.py").write_text(REVISION.format(n=n, t=n % 20, down=down), encoding="utf-8")
        down = f'"r{n:05d}"'


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--revisions", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ec-bench-"))
    try:
        build(folder, args.revisions)
        settings = load_settings(cwd=folder)

        def alembic_sql() -> None:
            cfg = Config(str(folder / "alembic.ini"), output_buffer=io.StringIO(), stdout=io.StringIO())
            command.upgrade(cfg, "heads", sql=True)

        def classify() -> None:
            results = api.classify(settings)
            assert len(results) == args.revisions + 3

        baseline = best_of(args.repeat, alembic_sql)
        ours = best_of(args.repeat, classify)
        changes = sum(len(r.changes) for r in api.classify(settings))
        print(f"revisions: {args.revisions + 3} ({changes} changes)")
        per = 1000 / (args.revisions + 3)
        print(f"alembic upgrade heads --sql: {baseline:.3f} s ({baseline * per:.2f} ms/revision)")
        print(f"expandcontract classify:     {ours:.3f} s ({ours * per:.2f} ms/revision)")
        print(f"ratio classify / alembic --sql: {ours / baseline:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
