"""The layout invariants of `expandcontract check`, the history they read, and `status` exit codes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from expandcontract.checks import Violation, check_layout
from expandcontract.errors import DatabaseError
from expandcontract.history import History, build_history
from expandcontract.model import (
    CapturedRevision,
    Change,
    ChangeKind,
    DeclaredPhase,
    Location,
    ReadMode,
    RevisionInfo,
)
from expandcontract.status import compute_status

BASELINE = DeclaredPhase.BASELINE
EXPAND = DeclaredPhase.EXPAND
CONTRACT = DeclaredPhase.CONTRACT
UNPHASED = DeclaredPhase.UNPHASED


def rev(
    revision: str,
    path: str,
    down: Sequence[str] = (),
    *,
    depends_on: Sequence[str] = (),
    labels: Sequence[str] = (),
) -> RevisionInfo:
    """A revision as the project reader returns it: the declared phase is for build_history to set."""
    return RevisionInfo(
        revision=revision,
        path=path,
        message=f"{revision} message",
        down_revisions=tuple(down),
        depends_on=tuple(depends_on),
        branch_labels=tuple(labels),
        declared_phase=UNPHASED,
    )


def sound_layout(root: str = "/p/versions", *extra: RevisionInfo) -> list[RevisionInfo]:
    """A released baseline, a common root, and an expand and a contract branch with one revision each."""
    return [
        rev("base", f"{root}/base.py"),
        rev("root", f"{root}/root.py", ["base"]),
        rev("expand_root", f"{root}/expand/expand_root.py", ["root"], labels=["expand"]),
        rev("e1", f"{root}/expand/e1_add_email_address.py", ["expand_root"]),
        rev("contract_root", f"{root}/contract/contract_root.py", ["root"], labels=["contract"]),
        rev("c1", f"{root}/contract/c1_drop_email.py", ["contract_root"], depends_on=["e1"]),
        *extra,
    ]


def captured(
    history: History, changes: dict[str, tuple[Change, ...]] | None = None
) -> list[CapturedRevision]:
    changes = changes or {}
    return [
        CapturedRevision(info=info, changes=changes.get(info.revision, ()), read_mode=ReadMode.OFFLINE)
        for info in history.revisions
    ]


def check(
    revisions: Sequence[RevisionInfo], script_dir: Path | None = None, **changes: tuple[Change, ...]
) -> list[Violation]:
    history = build_history(revisions)
    return check_layout(history, captured(history, changes), script_dir)


def phases(history: History) -> dict[str, DeclaredPhase]:
    return {r.revision: r.declared_phase for r in history.revisions}


# --- build_history ----------------------------------------------------------------------------


def test_declared_phase_follows_the_branch_a_revision_grows_on() -> None:
    history = build_history(sound_layout())

    assert phases(history) == {
        "base": BASELINE,
        "root": BASELINE,
        "expand_root": EXPAND,
        "e1": EXPAND,
        "contract_root": CONTRACT,
        "c1": CONTRACT,
    }
    assert history.phased
    assert [r.revision for r in history.in_phase(EXPAND)] == ["expand_root", "e1"]


def test_a_project_without_phase_labels_is_all_unphased() -> None:
    history = build_history(
        [
            rev("a", "/p/versions/a.py"),
            rev("b", "/p/versions/b.py", ["a"], labels=["feature"]),  # other labels do not phase
            rev("c", "/p/versions/c.py", ["b"]),
        ]
    )

    assert not history.phased
    assert set(phases(history).values()) == {UNPHASED}


def test_a_revision_on_neither_branch_after_the_branch_point_is_unphased() -> None:
    history = build_history(sound_layout("/p/versions", rev("stray", "/p/versions/stray.py", ["root"])))

    assert history.by_id["stray"].declared_phase is UNPHASED
    assert history.by_id["root"].declared_phase is BASELINE


def test_a_merge_of_expand_and_contract_is_unphased() -> None:
    history = build_history(sound_layout("/p/versions", rev("m", "/p/versions/m.py", ["e1", "c1"])))

    assert history.by_id["m"].declared_phase is UNPHASED


def test_other_branch_labels_on_a_phase_branch_keep_its_phase() -> None:
    history = build_history(
        sound_layout("/p/versions", rev("e2", "/p/versions/expand/e2.py", ["e1"], labels=["billing"]))
    )

    assert history.by_id["e2"].declared_phase is EXPAND


def test_revisions_come_bases_first_whatever_order_they_are_read_in() -> None:
    history = build_history(list(reversed(sound_layout())))

    order = [r.revision for r in history.revisions]
    assert order.index("base") < order.index("root") < order.index("expand_root") < order.index("e1")
    assert order.index("e1") < order.index("c1")  # depends_on orders too
    assert order.index("contract_root") < order.index("c1")
    assert history.bases == ["base"]
    assert sorted(history.heads) == ["c1", "e1"]
    assert sorted(history.children["root"]) == ["contract_root", "expand_root"]


def test_ancestors_follow_depends_on() -> None:
    history = build_history(sound_layout())

    assert history.ancestors(["c1"]) == {"c1", "contract_root", "root", "base", "e1", "expand_root"}
    assert history.ancestors(["c1"], follow_depends_on=False) == {"c1", "contract_root", "root", "base"}
    assert history.ancestors(["unknown"]) == set()
    assert [r.revision for r in history.ordered({"e1", "base"})] == ["base", "e1"]


# --- check_layout: branches -------------------------------------------------------------------


def test_a_sound_layout_has_no_violations() -> None:
    assert check(sound_layout()) == []


def test_no_phase_branches_is_one_violation() -> None:
    violations = check([rev("a", "/p/versions/a.py"), rev("b", "/p/versions/b.py", ["a"])])

    assert len(violations) == 1
    assert violations[0].code == "branch-roots"
    assert "expandcontract adopt" in violations[0].message


def test_a_missing_contract_branch_is_a_violation() -> None:
    revisions = [r for r in sound_layout() if r.revision not in ("contract_root", "c1")]

    violations = check(revisions)

    assert [(v.code, v.path) for v in violations] == [("branch-roots", "")]
    assert "branch_labels = ('contract',)" in violations[0].message


def test_a_duplicate_expand_label_is_a_violation() -> None:
    duplicate = rev("e2", "/p/versions/expand/e2.py", ["e1"], labels=["expand"])

    violations = check(sound_layout("/p/versions", duplicate))

    assert [(v.code, v.path) for v in violations] == [("branch-roots", "/p/versions/expand/e2.py")]
    assert "`expand` label on e2" in violations[0].message
    assert "expand_root already starts that branch" in violations[0].message


def test_branch_roots_must_grow_from_one_common_root() -> None:
    revisions = [
        rev("base", "/p/versions/base.py"),
        rev("root", "/p/versions/root.py", ["base"]),
        rev("expand_root", "/p/versions/expand/expand_root.py", ["root"], labels=["expand"]),
        rev("contract_root", "/p/versions/contract/contract_root.py", ["base"], labels=["contract"]),
    ]

    violations = check(revisions)

    assert [(v.code, v.path) for v in violations] == [
        ("branch-roots", "/p/versions/contract/contract_root.py")
    ]
    assert "must grow from one common root" in violations[0].message


def test_an_expand_revision_outside_the_expand_folder_is_ec006() -> None:
    misplaced = rev("e2", "/p/versions/e2_add_index.py", ["e1"])

    violations = check(sound_layout("/p/versions", misplaced))

    assert [(v.code, v.path) for v in violations] == [("EC006", "/p/versions/e2_add_index.py")]
    assert "on the expand branch but not in a `expand/` folder" in violations[0].message


def test_an_expand_revision_in_the_contract_folder_is_ec006() -> None:
    misplaced = rev("e2", "/p/versions/contract/e2_add_index.py", ["e1"])

    assert [v.code for v in check(sound_layout("/p/versions", misplaced))] == ["EC006"]


def test_a_baseline_revision_in_a_phase_folder_is_ec006() -> None:
    revisions = sound_layout()
    revisions[0] = rev("base", "/p/versions/contract/base.py")

    violations = check(revisions)

    assert [(v.code, v.path) for v in violations] == [("EC006", "/p/versions/contract/base.py")]
    assert "before the branch point but sits in a phase folder" in violations[0].message


def test_a_revision_on_neither_branch_after_the_branch_point_is_ec006() -> None:
    violations = check(sound_layout("/p/versions", rev("stray", "/p/versions/stray.py", ["root"])))

    assert [(v.code, v.path) for v in violations] == [("EC006", "/p/versions/stray.py")]
    assert "on neither the expand nor the contract branch" in violations[0].message


def test_a_merge_of_expand_and_contract_is_ec006() -> None:
    violations = check(sound_layout("/p/versions", rev("m", "/p/versions/m.py", ["e1", "c1"])))

    assert [(v.code, v.path) for v in violations] == [("EC006", "/p/versions/m.py")]
    assert "merges the expand and contract branches" in violations[0].message


def test_an_expand_revision_depending_on_a_contract_revision_is_ec006() -> None:
    waits = rev("e2", "/p/versions/expand/e2.py", ["e1"], depends_on=["c1"])

    violations = check(sound_layout("/p/versions", waits))

    assert [(v.code, v.path) for v in violations] == [("EC006", "/p/versions/expand/e2.py")]
    assert "expand revision e2 depends on contract revision c1" in violations[0].message


def test_folders_above_the_project_do_not_count_as_phase_folders() -> None:
    assert check(sound_layout("/srv/contract/shop/migrations/versions")) == []
    assert check(sound_layout("/srv/expand/shop/versions"), Path("/srv/expand/shop")) == []


def test_a_folder_named_expand_above_the_project_does_not_excuse_a_misplaced_revision() -> None:
    misplaced = rev("e2", "/srv/expand/shop/versions/e2.py", ["e1"])

    violations = check(sound_layout("/srv/expand/shop/versions", misplaced))

    assert [(v.code, v.path) for v in violations] == [("EC006", "/srv/expand/shop/versions/e2.py")]


def test_phase_folders_are_looked_for_below_the_script_directory() -> None:
    script_dir = Path("/srv/contract/shop/migrations")
    misplaced = rev("e2", "/srv/contract/shop/migrations/versions/e2.py", ["e1"])

    violations = check(sound_layout(f"{script_dir}/versions", misplaced), script_dir)

    assert [(v.code, v.path) for v in violations] == [("EC006", f"{script_dir}/versions/e2.py")]


# --- check_layout: EC005 (contract removes what an expand backfill reads) ---------------------


def backfill(path: str = "/p/versions/expand/e2_backfill_email.py") -> Change:
    """`UPDATE users SET email_address = email WHERE email_address IS NULL`"""
    return Change(
        kind=ChangeKind.UPDATE,
        location=Location(path, 23),
        table="users",
        columns=("email_address",),
        reads=("email", "email_address"),
        has_where=True,
        operation="sql",
    )


def drop_email(path: str = "/p/versions/contract/c1_drop_email.py") -> Change:
    return Change(
        kind=ChangeKind.DROP_COLUMN,
        location=Location(path, 25),
        table="users",
        column="email",
        operation="DropColumnOp",
    )


def email_rename(c1_depends_on: Sequence[str]) -> list[RevisionInfo]:
    return [
        rev("base", "/p/versions/base.py"),
        rev("root", "/p/versions/root.py", ["base"]),
        rev("expand_root", "/p/versions/expand/expand_root.py", ["root"], labels=["expand"]),
        rev("e1", "/p/versions/expand/e1_add_email_address.py", ["expand_root"]),
        rev("e2", "/p/versions/expand/e2_backfill_email.py", ["e1"]),
        rev("e3", "/p/versions/expand/e3_unrelated.py", ["e2"]),
        rev("contract_root", "/p/versions/contract/contract_root.py", ["root"], labels=["contract"]),
        rev("c1", "/p/versions/contract/c1_drop_email.py", ["contract_root"], depends_on=c1_depends_on),
    ]


def test_ec005_contract_drops_a_column_an_expand_backfill_copies_without_depending_on_it() -> None:
    violations = check(email_rename([]), e2=(backfill(),), c1=(drop_email(),))

    assert [(v.code, v.path) for v in violations] == [("EC005", "/p/versions/contract/c1_drop_email.py")]
    assert "c1 removes users.email, which expand revision e2 copies" in violations[0].message
    assert "depends_on = ('e2',)" in violations[0].message


def test_ec005_is_satisfied_by_depends_on() -> None:
    assert check(email_rename(["e2"]), e2=(backfill(),), c1=(drop_email(),)) == []


def test_ec005_is_satisfied_by_depending_on_a_later_expand_revision() -> None:
    assert check(email_rename(["e3"]), e2=(backfill(),), c1=(drop_email(),)) == []


def test_ec005_ignores_the_column_the_backfill_writes() -> None:
    drop_new = Change(
        kind=ChangeKind.DROP_COLUMN, location=Location("c.py", 1), table="users", column="email_address"
    )

    assert check(email_rename([]), e2=(backfill(),), c1=(drop_new,)) == []


def test_ec005_reads_qualified_and_differently_cased_names() -> None:
    update = Change(
        kind=ChangeKind.UPDATE,
        location=Location("e.py", 1),
        table="Users",
        columns=("email_address",),
        reads=("users.EMAIL",),
    )

    assert [v.code for v in check(email_rename([]), e2=(update,), c1=(drop_email(),))] == ["EC005"]


@pytest.mark.parametrize("kind", [ChangeKind.RENAME_COLUMN, ChangeKind.ALTER_COLUMN_TYPE])
def test_ec005_covers_renames_and_type_changes(kind: ChangeKind) -> None:
    change = Change(kind=kind, location=Location("c.py", 1), table="users", column="email", new_name="mail")

    assert [v.code for v in check(email_rename([]), e2=(backfill(),), c1=(change,))] == ["EC005"]


# --- check_layout: env.py ---------------------------------------------------------------------

ENV_WITH_HOOK = """\
from alembic import context
from expandcontract.alembic_ext.envhook import before_migrations

with context.begin_transaction():
    before_migrations(context)
    context.run_migrations()
"""


def env_py_in(script_dir: Path, text: str) -> Path:
    env_py = script_dir / "env.py"
    env_py.write_text(text, encoding="utf-8")
    return env_py


def test_env_py_without_the_gate_hook_is_a_violation(tmp_path: Path) -> None:
    env_py = env_py_in(tmp_path, ENV_WITH_HOOK.replace("before_migrations", "print"))

    violations = check(sound_layout(), tmp_path)

    assert [(v.code, v.path) for v in violations] == [("env-hook", str(env_py))]
    assert "before_migrations(context)" in violations[0].message


def test_env_py_calling_the_gate_hook_is_fine(tmp_path: Path) -> None:
    env_py_in(tmp_path, ENV_WITH_HOOK)

    assert check(sound_layout(), tmp_path) == []


def test_env_py_calling_the_gate_hook_through_its_module_is_fine(tmp_path: Path) -> None:
    env_py_in(
        tmp_path,
        "from alembic import context\nfrom expandcontract.alembic_ext import envhook\n\n"
        "envhook.before_migrations(context)\ncontext.run_migrations()\n",
    )

    assert check(sound_layout(), tmp_path) == []


def test_a_bare_script_directory_without_env_py_is_fine(tmp_path: Path) -> None:
    assert check(sound_layout(), tmp_path) == []


@pytest.mark.parametrize(
    "text",
    [
        "from alembic import context\n\n"
        "with context.begin_transaction():\n"
        "    # before_migrations(context)  # TODO: put back after the incident\n"
        "    context.run_migrations()\n",
        ENV_WITH_HOOK.replace("    before_migrations(context)\n", ""),
    ],
    ids=["commented-out", "imported-not-called"],
)
def test_env_py_that_only_mentions_the_gate_hook_is_a_violation(tmp_path: Path, text: str) -> None:
    env_py_in(tmp_path, text)

    assert [v.code for v in check(sound_layout(), tmp_path)] == ["env-hook"]


def test_violation_reads_as_path_line_code_message() -> None:
    assert (
        str(Violation("EC005", "/p/c.py", "removes users.email", 12))
        == "/p/c.py:12: EC005 removes users.email"
    )
    assert str(Violation("EC006", "/p/c.py", "misplaced")) == "/p/c.py: EC006 misplaced"


# --- compute_status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heads", "exit_code", "pending"),
    [
        ((), 3, {"base", "root", "expand_root", "e1", "contract_root", "c1"}),
        (("root",), 3, {"expand_root", "e1", "contract_root", "c1"}),
        (("e1",), 4, {"contract_root", "c1"}),
        (("e1", "contract_root"), 4, {"c1"}),
        (("c1",), 0, set()),  # c1 depends on e1: the expand branch is applied with it
    ],
)
def test_status_exit_codes(heads: tuple[str, ...], exit_code: int, pending: set[str]) -> None:
    report = compute_status(build_history(sound_layout()), heads, "postgresql://app@db/app")

    assert report.exit_code == exit_code
    assert {r.revision for b in report.branches for r in b.pending} == pending
    assert [b.phase for b in report.branches] == [BASELINE, EXPAND, CONTRACT]
    assert report.database == "postgresql://app@db/app"
    assert report.current_heads == heads


def test_status_of_an_unphased_project() -> None:
    history = build_history([rev("a", "/p/versions/a.py"), rev("b", "/p/versions/b.py", ["a"])])

    assert compute_status(history, ("a",), "sqlite://").exit_code == 3
    report = compute_status(history, ("b",), "sqlite://")
    assert report.exit_code == 0
    assert [b.phase for b in report.branches] == [UNPHASED]


def test_status_rejects_a_head_the_project_does_not_know() -> None:
    with pytest.raises(DatabaseError) as err:
        compute_status(build_history(sound_layout()), ("e1", "deadbeef"), "postgresql://app@db/app")

    assert str(err.value).startswith("postgresql://app@db/app is at revision deadbeef, which is not in")
