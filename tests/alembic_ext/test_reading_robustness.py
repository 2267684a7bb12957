"""Reading revisions the way real projects write them: SQL emitted outside operations, operations
invoked by hand, recreate batches, imports of code that is not installed, files that fail when
imported, Neutron-style branch labels, print(), SERIAL columns, latin-1 sources, and the AST reader.

Each test writes a bare script directory in tmp_path and reads it with `classify --json
--script-location` (or `api.classify`), never running an env.py.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from expandcontract import api
from expandcontract.cli.main import cli
from expandcontract.model import ChangeKind, DeclaredPhase, Hazard, Phase, ReadMode
from expandcontract.settings import URL_ENV, load_settings

IMPORTS = "import sqlalchemy as sa\nfrom alembic import op"


@pytest.fixture(autouse=True)
def no_url_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)


def revision(
    rev: str,
    down: str | tuple[str, ...] | None,
    upgrade: str,
    *,
    imports: str = IMPORTS,
    labels: str = "None",
    module: str = "",
) -> str:
    """A revision file's source: `imports`, the identifiers, `module` code after them, and upgrade()."""
    body = textwrap.indent(textwrap.dedent(upgrade).strip("\n"), "    ")
    after = f"\n{textwrap.dedent(module).strip()}\n" if module else ""
    return (
        f'"""{rev}"""\n{imports}\n\nrevision = {rev!r}\ndown_revision = {down!r}\n'
        f"branch_labels = {labels}\ndepends_on = None\n{after}\n\ndef upgrade():\n{body}\n"
    )


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line of the one line of `path` that contains `fragment`."""
    lines = path.read_bytes().decode("latin-1").splitlines()
    (number,) = [i for i, text in enumerate(lines, start=1) if fragment in text]
    return number


def classify_json(*args: str) -> list[dict[str, Any]]:
    """`expandcontract classify --json ARGS` in the working directory: its revisions, by JSON."""
    result = CliRunner().invoke(cli, ["classify", "--json", *args])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # nothing else on stdout
    revisions: list[dict[str, Any]] = doc["revisions"]
    return revisions


def by_id(revisions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["revision"]: r for r in revisions}


def rows(revision: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    """(line, kind, target, operation) of each change."""
    return [(c["line"], c["kind"], c["target"], c["operation"]) for c in revision["changes"]]


@pytest.fixture
def migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bare script directory `tmp_path/migrations` (revisions go in its versions/), run from tmp_path."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "migrations"


# --- 1. SQL emitted outside operations, and Alembic's own COMMIT/BEGIN ------------------------------


def test_sql_emitted_through_the_context_and_the_impl_is_read_where_it_is_called(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            """
            context.execute("ALTER TABLE users DROP COLUMN email")
            op.get_context().impl.drop_column("orders", sa.Column("x", sa.Integer))
            with op.get_context().autocommit_block():
                op.create_index("ix_users_a", "users", ["a"], postgresql_concurrently=True)
            op.add_column("users", sa.Column("note", sa.Text))
            op.execute("COMMIT")
            """,
            imports="import sqlalchemy as sa\nfrom alembic import context, op",
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert r1["read_mode"] == "offline"
    changes = [
        (c["line"], c["kind"], c["target"], c["operation"], c["in_transaction"], c["hazards"])
        for c in r1["changes"]
    ]
    # the COMMIT and BEGIN Alembic emits around autocommit_block() are not the revision's changes
    assert changes == [
        (line_of(path, "context.execute"), "drop-column", "users.email", "context.execute", True, []),
        (line_of(path, "impl.drop_column"), "drop-column", "orders.x", "context.execute", True, []),
        (line_of(path, "op.create_index"), "create-index", "ix_users_a on users", "CreateIndexOp", False, []),
        # after the block Alembic's BEGIN opened a transaction again
        (line_of(path, "op.add_column"), "add-column", "users.note", "AddColumnOp", True, []),
        (line_of(path, 'op.execute("COMMIT")'), "transaction-control", "", "execute", True, []),
    ]
    commit = r1["changes"][-1]
    assert (commit["sql"], commit["detail"]) == ("COMMIT", "commit")


# --- 2. an operation built by hand and invoked ----------------------------------------------------


def test_an_operation_object_passed_to_invoke_keeps_its_line(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            """
            drop = ops.DropColumnOp("t", "gone")
            op.invoke(drop)
            """,
            imports="from alembic import op\nfrom alembic.operations import ops",
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert rows(r1) == [(line_of(path, "op.invoke(drop)"), "drop-column", "t.gone", "DropColumnOp")]
    assert r1["changes"][0]["line"] != 0


# --- 3. batch mode that recreates the table, and batch mode on SQLite ------------------------------


def test_a_recreate_always_batch_is_read_offline_at_the_batch_op_line(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            """
            with op.batch_alter_table("t", recreate="always") as b:
                b.drop_column("c")
            """,
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert (r1["read_mode"], r1["unreadable_reason"]) == ("offline", None)
    assert rows(r1) == [(line_of(path, "b.drop_column"), "drop-column", "t.c", "DropColumnOp")]


def test_a_batch_alter_column_read_for_sqlite_stays_offline(migrations: Path, tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.expandcontract]\nscript-location = "migrations"\ndialect = "sqlite"\n',
    )
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            """
            with op.batch_alter_table("t") as b:
                b.alter_column("c", existing_type=sa.String(10), nullable=True)
            """,
        ),
    )

    (r1,) = classify_json()

    assert (r1["read_mode"], r1["unreadable_reason"]) == ("offline", None)
    assert rows(r1) == [(line_of(path, "b.alter_column"), "drop-not-null", "t.c", "AlterColumnOp")]


# --- 4. imports of what is not installed ---------------------------------------------------------


def test_code_that_depends_on_stand_ins_is_added_from_the_source(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            """
            for t in LEGACY_TABLES:
                op.drop_column(t, "legacy")
            if FLAGS.drop:
                op.drop_table("orders")
            op.add_column("users", sa.Column("note", sa.Text))
            """,
            imports=f"{IMPORTS}\nfrom myapp.settings import LEGACY_TABLES, FLAGS",
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert {"myapp.settings.LEGACY_TABLES", "myapp.settings.FLAGS"} <= set(r1["stand_ins"])
    by_line = {c["line"]: c for c in r1["changes"]}
    assert set(by_line) == {
        line_of(path, "op.drop_column"),
        line_of(path, "op.drop_table"),
        line_of(path, "op.add_column"),
    }
    # what ran offline
    assert (
        by_line[line_of(path, "op.add_column")]["kind"],
        by_line[line_of(path, "op.add_column")]["operation"],
    ) == (
        "add-column",
        "AddColumnOp",
    )
    # what the empty, false stand-ins kept from running: read from the AST and marked as such
    drop_column, drop_table = (
        by_line[line_of(path, "op.drop_column")],
        by_line[line_of(path, "op.drop_table")],
    )
    assert (drop_column["kind"], drop_column["column"], drop_column["operation"]) == (
        "drop-column",
        "legacy",
        "drop_column",
    )
    assert (drop_table["kind"], drop_table["target"], drop_table["operation"]) == (
        "drop-table",
        "orders",
        "drop_table",
    )
    for change in (drop_column, drop_table):
        assert change["phase"] == "contract"
        assert "not reached offline" in change["detail"]
        assert "not installed" in change["detail"]


def test_a_call_through_a_stand_in_helper_is_an_opaque_change(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            """
            create_table("query", sa.Column("id", sa.Integer, primary_key=True))
            """,
            imports=f"{IMPORTS}\nfrom superset.utils import create_table",
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert "superset.utils.create_table" in r1["stand_ins"]
    (change,) = r1["changes"]
    assert (change["line"], change["kind"], change["phase"]) == (
        line_of(path, 'create_table("query"'),
        "opaque",
        "unknown",
    )
    assert "not installed" in change["detail"]
    assert r1["mismatch"] is True  # an unknown change fits no phase: never a silent pass


def test_module_level_arithmetic_on_stand_ins_does_not_break_loading(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            'op.drop_column("users", "legacy")',
            imports=f"{IMPORTS}\nfrom myapp import cli",
            module="""
            PREFIXED = "p_" + cli.NAME
            COUNT = len(cli.CONSTS)
            """,
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert (r1["read_mode"], r1["unreadable_reason"]) == ("offline", None)
    assert rows(r1) == [(line_of(path, "op.drop_column"), "drop-column", "users.legacy", "DropColumnOp")]
    assert any(name.startswith("myapp.cli") for name in r1["stand_ins"])


# --- 5. a revision file whose module-level code raises ------------------------------------------


def test_a_revision_that_fails_when_imported_is_read_from_its_ast(migrations: Path) -> None:
    versions = migrations / "versions"
    write(versions / "r0_root.py", revision("r0", None, 'op.create_table("t", sa.Column("id", sa.Integer))'))
    failing = write(
        versions / "expand" / "e1_fails.py",
        revision(
            "e1",
            "r0",
            """
            op.add_column("t", sa.Column("x", sa.Integer))
            op.drop_column("t", "y")
            """,
            labels='("expand",)',
            module="BAD = 1 / 0",
        ),
    )
    write(versions / "contract" / "c1_root.py", revision("c1", "r0", "pass", labels='("contract",)'))
    child = write(
        versions / "expand" / "e2_after.py",
        revision("e2", "e1", 'op.add_column("t", sa.Column("z", sa.Text))'),
    )

    revisions = by_id(classify_json("--script-location", str(migrations)))

    e1 = revisions["e1"]
    assert e1["path"] == str(failing)
    assert e1["read_mode"] == "ast"
    assert e1["unreadable_reason"].startswith("fails when imported (ZeroDivisionError")
    assert f"line {line_of(failing, 'BAD = 1 / 0')}" in e1["unreadable_reason"]
    assert (e1["branch_labels"], e1["declared_phase"]) == (["expand"], "expand")
    assert rows(e1) == [
        (line_of(failing, "op.add_column"), "add-column", "t.x", "add_column"),
        (line_of(failing, "op.drop_column"), "drop-column", "t.y", "drop_column"),
    ]
    assert {c["path"] for c in e1["changes"]} == {str(failing)}
    # the rest of the history is read normally, from the original files
    assert {rev: r["read_mode"] for rev, r in revisions.items()} == {
        "r0": "offline",
        "e1": "ast",
        "c1": "offline",
        "e2": "offline",
    }
    e2 = revisions["e2"]
    assert (e2["path"], e2["declared_phase"], e2["down_revisions"]) == (str(child), "expand", ["e1"])
    assert rows(e2) == [(line_of(child, "op.add_column"), "add-column", "t.z", "AddColumnOp")]
    assert revisions["c1"]["declared_phase"] == "contract"


# --- 6. Neutron-style branch labels from a module that is not installed ----------------------------


def test_branch_labels_named_by_constants_of_an_uninstalled_module(migrations: Path) -> None:
    neutron = "from alembic import op\nfrom neutron.db.migration import cli"
    versions = migrations / "versions"
    write(versions / "r0_root.py", revision("r0", None, "pass"))
    write(
        versions / "e1_expand.py",
        revision("e1", "r0", "pass", imports=neutron, labels="(cli.EXPAND_BRANCH,)"),
    )
    write(
        versions / "c1_contract.py",
        revision("c1", "r0", "pass", imports=neutron, labels="(cli.CONTRACT_BRANCH,)"),
    )
    write(versions / "e2_table.py", revision("e2", "e1", 'op.create_table("x")'))

    results = api.classify(load_settings(script_location=migrations))

    info = {r.info.revision: r.info for r in results}
    assert (info["e1"].branch_labels, info["e1"].declared_phase) == (("expand",), DeclaredPhase.EXPAND)
    assert (info["c1"].branch_labels, info["c1"].declared_phase) == (("contract",), DeclaredPhase.CONTRACT)
    assert info["e2"].declared_phase is DeclaredPhase.EXPAND
    assert info["r0"].declared_phase is DeclaredPhase.BASELINE


# --- 7. revisions that print ---------------------------------------------------------------------


def test_revisions_that_print_do_not_spoil_the_json(migrations: Path) -> None:
    write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            """
            print("upgrading r1")
            op.drop_table("old")
            """,
            module='print("loading r1")',
        ),
    )

    result = CliRunner().invoke(cli, ["classify", "--json", "--script-location", str(migrations)])

    assert result.exit_code == 0, result.output
    (r1,) = json.loads(result.stdout)["revisions"]
    assert [c["kind"] for c in r1["changes"]] == ["drop-table"]
    assert "loading r1" not in result.output and "upgrading r1" not in result.output


# --- 8. SERIAL columns added by add_column --------------------------------------------------------


def test_adding_an_autoincrement_primary_key_is_a_generated_column(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            'op.add_column("t", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True))',
        ),
    )

    (r1,) = api.classify(load_settings(script_location=migrations))

    (change,) = r1.changes
    assert change.change.kind is ChangeKind.ADD_COLUMN
    assert (change.change.location.line, change.change.target) == (line_of(path, "op.add_column"), "t.id")
    assert change.change.generated is True
    assert "SERIAL" in change.change.sql
    assert change.phase is Phase.EXPAND  # filled by the database: not a required column needing a recipe
    assert change.hazards == frozenset({Hazard.LOCKING, Hazard.REWRITE})


# --- 9. a latin-1 source that must be read from its AST -------------------------------------------


def test_a_latin1_revision_read_from_its_ast(migrations: Path) -> None:
    source = revision(
        "r1",
        None,
        """
        session = sa.orm.Session(bind=op.get_bind())
        if session.connection():
            op.drop_column("x", "c")
        """,
    )
    path = migrations / "versions" / "r1.py"
    path.parent.mkdir(parents=True)
    path.write_bytes(("# -*- coding: latin-1 -*-\n# café, naïve, Größe\n" + source).encode("latin-1"))

    (r1,) = classify_json("--script-location", str(migrations))

    assert r1["read_mode"] == "ast"
    assert r1["unreadable_reason"].startswith("needs a live database")
    assert rows(r1) == [(line_of(path, "op.drop_column"), "drop-column", "x.c", "drop_column")]


# --- 10. the AST reader: op aliases, helpers, SQLAlchemy constructs ------------------------------


def test_ast_reading_follows_aliases_helpers_and_reads_constructs(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            """
            conn = alembic_op.get_bind()
            sa.orm.Session(bind=conn).connection()
            alembic_op.add_column("orders", sa.Column("note", sa.Text))
            drop_legacy("users")
            conn.execute(sa.select(sa.literal(1)))
            statement = "DELETE FROM orders"
            conn.execute(sa.text(statement))
            """,
            imports="import sqlalchemy as sa\nfrom alembic import op as alembic_op",
            module="""
            def drop_legacy(table):
                alembic_op.drop_column(table, "gone")
                alembic_op.drop_column("orders", "legacy")
            """,
        ),
    )

    (r1,) = api.classify(load_settings(script_location=migrations))

    assert r1.read_mode is ReadMode.AST
    got = [(c.change.location.line, c.change.kind, c.change.target, c.phase) for c in r1.changes]
    assert got == [
        (line_of(path, "alembic_op.add_column"), ChangeKind.ADD_COLUMN, "orders.note", Phase.EXPAND),
        # drop_legacy() is read where its operations are, in the helper
        (line_of(path, '(table, "gone")'), ChangeKind.DROP_COLUMN, "gone", Phase.CONTRACT),
        (line_of(path, '("orders", "legacy")'), ChangeKind.DROP_COLUMN, "orders.legacy", Phase.CONTRACT),
        (line_of(path, "sa.select"), ChangeKind.QUERY, "", Phase.ANY),
        (line_of(path, "sa.text(statement)"), ChangeKind.OPAQUE, "", Phase.UNKNOWN),
    ]
    assert r1.changes[-1].change.detail == "execute() with SQL built at run time"


# --- found while writing the tests above: the AST reader and stand-ins ------------------------------

NEEDS_A_DATABASE = "sa.orm.Session(bind=op.get_bind()).connection()  # an ORM session needs a database"


def test_an_impl_call_is_not_skipped_when_reading_the_ast(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            f"""
            {NEEDS_A_DATABASE}
            op.get_context().impl.drop_column("orders", sa.Column("x", sa.Integer))
            """,
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert r1["read_mode"] == "ast"
    assert [(c["line"], c["kind"]) for c in r1["changes"]] in (
        [(line_of(path, "impl.drop_column"), "drop-column")],
        [(line_of(path, "impl.drop_column"), "opaque")],
    )


def test_a_helper_given_op_under_another_name_is_read_from_the_ast(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            f"""
            {NEEDS_A_DATABASE}
            drop_legacy(op, "users")
            """,
            module="""
            def drop_legacy(operations, table):
                operations.drop_column(table, "legacy")
            """,
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert r1["read_mode"] == "ast"
    assert [(c["line"], c["kind"]) for c in r1["changes"]] == [
        (line_of(path, "operations.drop_column"), "drop-column")
    ]


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("sa.select(users.c.id).where(users.c.email.is_(None))", "query"),
        ('sa.update(users).where(users.c.id == 1).values(email="x")', "update"),
    ],
    ids=["select-where", "update-where-values"],
)
def test_a_chained_construct_in_execute_is_read_from_the_ast(
    migrations: Path, statement: str, kind: str
) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            f"""
            {NEEDS_A_DATABASE}
            op.get_bind().execute({statement})
            """,
            module='users = sa.table("users", sa.column("id"), sa.column("email"))',
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert r1["read_mode"] == "ast"
    assert [(c["line"], c["kind"]) for c in r1["changes"]] == [(line_of(path, "execute("), kind)]


def test_an_autoincrement_primary_key_read_from_the_ast_is_a_generated_column(migrations: Path) -> None:
    write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            f"""
            {NEEDS_A_DATABASE}
            op.add_column("t", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True))
            """,
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert r1["read_mode"] == "ast"
    (change,) = r1["changes"]
    assert (change["kind"], change["phase"], change["hazards"]) == (
        "add-column",
        "expand",
        ["locking", "rewrite"],
    )


def test_a_failing_revision_with_a_backslash_in_its_docstring(migrations: Path) -> None:
    path = write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            'op.drop_column("users", "legacy")',
            module='ROWS = open("C:\\\\data\\\\users.csv").read()',
        ),
    )
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '"""r1"""', '"""import users from C:\\\\data\\\\users.csv"""'
        ),
        encoding="utf-8",
    )

    result = CliRunner().invoke(cli, ["classify", "--json", "--script-location", str(migrations)])

    assert result.exit_code == 0, result.output
    (r1,) = json.loads(result.stdout)["revisions"]
    assert r1["read_mode"] == "ast"
    assert rows(r1) == [(line_of(path, "op.drop_column"), "drop-column", "users.legacy", "drop_column")]


def test_a_revision_failing_at_import_on_a_stand_in_says_what_is_not_installed(migrations: Path) -> None:
    write(
        migrations / "versions" / "r1.py",
        revision(
            "r1",
            None,
            'op.drop_column("users", "legacy")',
            imports=f"{IMPORTS}\nfrom myapp.conf import TIMEOUT",
            module="TIMEOUT_SECONDS = int(TIMEOUT)",
        ),
    )

    (r1,) = classify_json("--script-location", str(migrations))

    assert r1["read_mode"] == "ast"
    assert "_StandInMeta" not in r1["unreadable_reason"]
    assert "myapp.conf" in r1["unreadable_reason"] and "not installed" in r1["unreadable_reason"]
