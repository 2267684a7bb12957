"""The gate's pure parts: manifests, what a revision removes, release order, and the decision."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from expandcontract.errors import ConfigError, UsageError
from expandcontract.gate.decision import Blocker, PendingContract, decide, manifest_lookup, uses
from expandcontract.gate.evidence import Sighting, SourceReport
from expandcontract.gate.manifest import Manifest, build_manifest, manifest_from_json
from expandcontract.gate.release_order import ReleaseOrder
from expandcontract.gate.removals import Removal, RemovalKind, removals_of
from expandcontract.model import (
    CapturedRevision,
    Change,
    ChangeKind,
    ConstraintType,
    DeclaredPhase,
    Location,
    ReadMode,
    RevisionInfo,
)
from expandcontract.settings import load_settings


def users_metadata(*, email: bool = True, status_default: bool = False) -> sa.MetaData:
    metadata = sa.MetaData()
    columns: list[sa.Column[object]] = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="new" if status_default else None),
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.now(), default=None),
        sa.Column("plan", sa.Text, nullable=False, server_default="free", default="free"),
    ]
    if email:
        columns.append(sa.Column("email", sa.String(255)))
    sa.Table("users", metadata, *columns)
    sa.Table(
        "events", metadata, sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True), schema="audit"
    )
    return metadata


# --- manifests -------------------------------------------------------------------------------------


def test_a_manifest_records_what_each_column_relies_on() -> None:
    manifest = build_manifest(users_metadata(status_default=True), "1.0", app="shop")

    users = manifest.tables["users"].columns
    assert users["id"].nullable is False and users["id"].server_default is True  # serial primary key
    assert users["name"].nullable is False and users["name"].server_default is False
    assert users["email"].nullable is True
    assert users["status"].server_default is True
    assert users["created_at"].server_default is True
    assert users["plan"].server_default is False  # a client-side default: the release sends a value
    assert manifest.tables["audit.events"].columns["id"].server_default is True  # identity


def test_extras_add_raw_sql_uses_and_assume_the_worst() -> None:
    manifest = build_manifest(
        users_metadata(email=False),
        "1.0",
        extras=("users.legacy_flag", "billing.invoices.total", "reports.*"),
    )

    flag = manifest.column("users", "legacy_flag")
    assert flag is not None and flag.nullable and flag.server_default
    assert manifest.column("invoices", "total", "billing") is not None
    assert manifest.column("reports", "anything") is not None  # the whole table
    assert manifest.extras == ("users.legacy_flag", "billing.invoices.total", "reports.*")


@pytest.mark.parametrize("extra", ["users", "a.b.c.d", "users.", ".email"])
def test_a_bad_extra_is_a_one_line_usage_error(extra: str) -> None:
    with pytest.raises(UsageError, match=r"give table\.column, schema\.table\.column or table"):
        build_manifest(users_metadata(), "1.0", extras=(extra,))


def test_a_manifest_survives_its_json_form_and_its_digest_ignores_when_it_was_built() -> None:
    built = build_manifest(users_metadata(), "2.0", app="shop", extras=("users.x",))
    again = manifest_from_json(built.to_json(), "here")

    assert again == built
    rebuilt = build_manifest(users_metadata(), "2.0", app="shop", extras=("users.x",))
    assert rebuilt.digest == built.digest
    assert build_manifest(users_metadata(email=False), "2.0", app="shop").digest != built.digest


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not a JSON object"),
        ({"schema_version": 2}, "schema_version is 2"),
        ({"schema_version": 1, "release": "", "tables": {}}, "`release` must be a non-empty string"),
        ({"schema_version": 1, "release": "1", "tables": []}, "`tables` must be an object"),
        ({"schema_version": 1, "release": "1", "tables": {"t": {"columns": 3}}}, "table 't' needs"),
    ],
)
def test_a_document_that_is_not_a_manifest_says_why(document: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        manifest_from_json(document, "manifest.json")


def test_table_names_match_case_insensitively_and_across_a_missing_schema() -> None:
    manifest = build_manifest(users_metadata(), "1.0")
    assert manifest.table("USERS") is not None
    assert manifest.table("users", "public") is not None  # the model names no schema
    assert manifest.table("events") is not None  # the revision names none
    assert manifest.table("events", "audit") is not None
    assert manifest.table("events", "public") is None


# --- removals --------------------------------------------------------------------------------------


def captured(*changes: Change, read_mode: ReadMode = ReadMode.OFFLINE, reason: str = "") -> CapturedRevision:
    info = RevisionInfo("c1", "/p/c1.py", "m", ("root",), (), (), DeclaredPhase.CONTRACT)
    return CapturedRevision(info=info, changes=changes, read_mode=read_mode, unreadable_reason=reason)


def change(kind: ChangeKind, line: int = 10, **kw: object) -> Change:
    return Change(kind=kind, location=Location("/p/c1.py", line), **kw)  # type: ignore[arg-type]


def test_what_a_contract_revision_removes() -> None:
    removals, untrusted = removals_of(
        captured(
            change(ChangeKind.DROP_COLUMN, table="users", column="email"),
            change(ChangeKind.RENAME_TABLE, table="orders", new_name="purchases"),
            change(ChangeKind.RENAME_COLUMN, table="users", column="nick", new_name="nickname"),
            change(ChangeKind.ALTER_COLUMN_TYPE, table="users", column="age", type="bigint"),
            change(ChangeKind.SET_NOT_NULL, table="users", column="name"),
            change(ChangeKind.DROP_DEFAULT, table="users", column="status"),
            change(ChangeKind.DROP_OBJECT, object_type="view", name="active_users"),
            change(ChangeKind.DROP_OBJECT, object_type="schema", name="legacy"),
            change(ChangeKind.TRUNCATE, table="sessions"),
            change(ChangeKind.DELETE, table="carts", has_where=True),  # a data change, not a removal
            change(ChangeKind.DROP_INDEX, table="users", name="ix_users_email"),
            change(ChangeKind.ADD_CONSTRAINT, table="users", constraint_type=ConstraintType.CHECK, name="ck"),
            change(ChangeKind.ADD_CONSTRAINT, table="users", not_valid=True, name="ck_later"),
        )
    )

    assert untrusted == []
    assert [(r.kind.value, r.target) for r in removals] == [
        ("column", "users.email"),
        ("table", "orders"),
        ("column", "users.nick"),
        ("column", "users.age"),
        ("not-null", "users.name"),
        ("default", "users.status"),
        ("table", "active_users"),
        ("schema", "legacy"),
        ("table", "sessions"),
        ("unjudged", "users"),
    ]
    assert removals[0].what == "drops users.email" and removals[0].where == "/p/c1.py:10"


def test_an_opaque_statement_or_a_revision_read_from_its_source_cannot_be_trusted() -> None:
    _, untrusted = removals_of(captured(change(ChangeKind.OPAQUE, line=7, detail="DO $$ ... $$")))
    assert untrusted == ["/p/c1.py:7: a statement the gate cannot read (DO $$ ... $$)"]

    _, untrusted = removals_of(captured(read_mode=ReadMode.AST, reason="needs a live database"))
    assert untrusted == [
        "/p/c1.py: could not run offline (needs a live database); what it removes may be incomplete"
    ]


# --- release order ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "a", "b", "expected"),
    [
        ("auto", "1.2.0", "1.10.0", -1),
        ("auto", "2.0", "2.0.0", 0),
        ("auto", "1.0.0rc1", "1.0.0", -1),
        ("semver", "1.0.0-alpha", "1.0.0-alpha.1", -1),
        ("semver", "1.0.0-beta.11", "1.0.0-beta.2", 1),
        ("semver", "1.0.0-rc.1", "1.0.0", -1),
        ("auto", "abc1234", "def5678", -1),  # git SHAs: the order the registry first saw them
        ("auto", "abc1234", "1.0", None),  # one parses, one was never seen: no order
        ("pep440", "abc1234", "def5678", None),
        ("registration", "1.10", "1.9", -1),  # forced: 1.10 was seen first
        ("auto", "5012345", "1234b67", 1),  # short commits that parse as versions: seen later is newer
        ("auto", "tie-a", "tie-b", None),  # seen at one instant: no order (not "the same")
    ],
)
def test_release_order(mode: str, a: str, b: str, expected: int | None) -> None:
    first_seen = {"def5678": 2.0, "abc1234": 1.0, "1.10": 1.0, "1.9": 2.0, "1234b67": 1.0, "5012345": 2.0}
    order = ReleaseOrder(mode, {**first_seen, "tie-a": 3.0, "tie-b": 3.0})
    assert order.compare(a, b) == expected


# --- the decision ----------------------------------------------------------------------------------

DROP_EMAIL = Removal(RemovalKind.COLUMN, "users", "email", None, "drops users.email", "/p/c1.py:10")


def pending(*removals: Removal, revision: str = "c1", **kw: object) -> PendingContract:
    return PendingContract(revision=revision, path=f"/p/{revision}.py", removals=removals, **kw)  # type: ignore[arg-type]


def seen(*sightings: tuple[str, str], problems: tuple[str, ...] = ()) -> list[SourceReport]:
    return [
        SourceReport(
            "registry",
            tuple(Sighting("registry", "shop", release, what) for release, what in sightings),
            problems,
        )
    ]


MANIFESTS = {
    ("shop", "1.0"): build_manifest(users_metadata(email=True), "1.0", app="shop"),
    ("shop", "2.0"): build_manifest(users_metadata(email=False), "2.0", app="shop"),
    ("shop", "0.9"): None,
}
ORDER = ReleaseOrder("auto", {})


def test_a_live_release_that_maps_the_column_blocks_naming_the_process_and_the_object() -> None:
    (verdict,) = decide(
        [pending(DROP_EMAIL)],
        seen(("1.0", "process web-1:42 (heartbeat 2 s ago)")),
        manifest_lookup(MANIFESTS),
        ORDER,
    )

    assert not verdict.allowed
    (blocker,) = verdict.blockers
    assert blocker.reason == (
        "live release shop@1.0 (process web-1:42 (heartbeat 2 s ago)) maps users.email; "
        "the revision drops users.email (/p/c1.py:10)"
    )
    assert (blocker.release, blocker.object, blocker.source) == ("1.0", "users.email", "registry")


def test_only_releases_that_no_longer_map_it_let_it_run() -> None:
    (verdict,) = decide([pending(DROP_EMAIL)], seen(("2.0", "p")), manifest_lookup(MANIFESTS), ORDER)
    assert verdict.allowed and verdict.blockers == ()


def test_a_release_without_manifest_blocks_a_removal_but_not_an_empty_revision() -> None:
    verdicts = decide(
        [pending(revision="root"), pending(DROP_EMAIL)], seen(("0.9", "p")), manifest_lookup(MANIFESTS), ORDER
    )
    assert [v.allowed for v in verdicts] == [True, False]
    assert "has no manifest" in verdicts[1].reasons[0]


def test_a_source_problem_blocks_every_revision_that_removes_something() -> None:
    verdicts = decide(
        [pending(revision="root"), pending(DROP_EMAIL), pending(revision="c2", requires_release="2.0")],
        seen(problems=("cannot see other roles' sessions",)),
        manifest_lookup(MANIFESTS),
        ORDER,
    )
    assert [v.allowed for v in verdicts] == [True, False, False]
    assert verdicts[1].blockers == (
        Blocker(reason="registry: cannot see other roles' sessions", source="registry"),
    )


def test_requires_release_blocks_older_and_unorderable_releases() -> None:
    verdicts = decide(
        [pending(revision="c2", requires_release="2.0")],
        seen(("1.0", "p1"), ("2.0", "p2"), ("sha-abc", "p3")),
        manifest_lookup(MANIFESTS),
        ORDER,
    )
    reasons = verdicts[0].reasons
    assert any("shop@1.0" in r and "is older than 2.0" in r for r in reasons)
    assert any("shop@sha-abc" in r and "cannot be ordered" in r for r in reasons)
    assert not any("shop@2.0" in r for r in reasons)


def test_a_revision_after_a_blocked_one_waits_and_untrusted_ones_block() -> None:
    verdicts = decide(
        [
            pending(DROP_EMAIL),
            pending(revision="c2", needs=frozenset({"c1"})),
            pending(revision="c3", untrusted=("/p/c3.py:4: a statement the gate cannot read (DO)",)),
        ],
        seen(("1.0", "p")),
        manifest_lookup(MANIFESTS),
        ORDER,
    )
    assert [v.allowed for v in verdicts] == [False, False, False]
    assert verdicts[1].reasons == ("runs after c1, which the gate blocks",)
    assert verdicts[2].reasons == ("cannot be judged: /p/c3.py:4: a statement the gate cannot read (DO)",)


def test_tightenings_are_judged_from_what_each_release_relies_on() -> None:
    old = build_manifest(users_metadata(email=True, status_default=True), "1.0")
    new = build_manifest(users_metadata(email=False), "2.0")
    not_null = Removal(RemovalKind.NOT_NULL, "users", "email", None, "sets NOT NULL on users.email", "x")
    default = Removal(RemovalKind.DEFAULT, "users", "status", None, "drops the default of users.status", "x")
    name_not_null = Removal(RemovalKind.NOT_NULL, "users", "name", None, "sets NOT NULL on users.name", "x")

    assert uses(old, not_null) == "may write NULL to users.email (nullable in its models)"
    assert uses(new, not_null) == "inserts into users without email (NULL unless it has a default)"
    assert uses(old, name_not_null) is None
    assert uses(old, default) == "relies on the server default of users.status"
    assert uses(new, default) is None
    unjudged = Removal(RemovalKind.UNJUDGED, "users", None, None, "adds check constraint ck on users", "x")
    assert uses(new, unjudged) == "maps users"


def test_a_new_constraint_needs_requires_release_to_be_judged() -> None:
    constraint = Removal(
        RemovalKind.UNJUDGED, "users", None, None, "adds check constraint ck on users", "x:3"
    )
    blocked, judged = decide(
        [pending(constraint), pending(constraint, revision="c2", requires_release="2.0")],
        seen(("2.0", "p")),
        manifest_lookup(MANIFESTS),
        ORDER,
    )
    assert not blocked.allowed and "add requires_release" in blocked.reasons[0]
    assert judged.allowed


def test_manifests_of_a_release_seen_under_another_app_name_all_apply() -> None:
    lookup = manifest_lookup(MANIFESTS)
    assert [m.release for m in lookup("shop-web", "1.0")] == ["1.0"]  # a Deployment's name
    assert lookup("shop", "0.9") == []  # known, without a manifest
    assert lookup("shop", "7.0") == []


def test_a_schema_removal_blocks_releases_mapping_any_table_in_it() -> None:
    manifest: Manifest = build_manifest(users_metadata(), "1.0")
    drop_schema = Removal(RemovalKind.SCHEMA, "", None, "audit", "drops the schema audit", "x")
    assert uses(manifest, drop_schema) == "maps audit.events"


# --- settings --------------------------------------------------------------------------------------


def test_the_gate_table_is_read_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(
        "[tool.expandcontract.gate]\n"
        'sources = ["registry", "pg_stat_activity", "registry"]\n'
        "drain-seconds = 5\nmin-soak-seconds = 60\nlock-wait-seconds = 1.5\n"
        'release-order = "semver"\nregistry-schema = "ec"\n'
        '[tool.expandcontract.gate.kubernetes]\nselector = "app=shop"\nrelease-label = ""\n'
    )
    gate = load_settings(cwd=tmp_path).gate
    assert gate.sources == ("registry", "pg_stat_activity")
    assert (gate.drain_seconds, gate.min_soak_seconds, gate.lock_wait_seconds) == (5.0, 60.0, 1.5)
    assert (gate.release_order, gate.registry_schema) == ("semver", "ec")
    assert gate.kubernetes.selector == "app=shop" and gate.kubernetes.release_label is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('sources = ["registry", "consul"]', "`gate.sources` is"),
        ("sources = []", "`gate.sources` is"),
        ("drain-seconds = -1", "`gate.drain-seconds` is -1"),
        ('drain-seconds = "30"', "`gate.drain-seconds` is '30'"),
        ('release-order = "newest"', "`gate.release-order` is 'newest'"),
        ("colour = 1", "unknown key `colour` in [tool.expandcontract.gate]"),
        ("kubernetes = 1", "`gate.kubernetes` must be a table"),
        ("min-soak-seconds = 900\nretention-seconds = 600", "`gate.retention-seconds` (600) is shorter"),
    ],
)
def test_bad_gate_settings_are_one_line_errors(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.expandcontract.gate]\n{body}\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(cwd=tmp_path)
    assert message in str(raised.value) and "\n" not in str(raised.value)


# --- attestations ----------------------------------------------------------------------------------


def test_a_retired_release_deployed_again_counts_again() -> None:
    from expandcontract.gate.registry import Attestation, Release
    from expandcontract.gate.source_attestation import attestation_report

    retired = Attestation("shop", "1.2", "retired", "gone from every VM", "ci", at=200.0)
    everywhere = Attestation("", "1.1", "retired", "gone", "ci", at=200.0)
    releases = [
        Release("shop", "1.1", 0.0, None, last_deployed_at=100.0),
        Release("shop", "1.2", 0.0, None, last_deployed_at=100.0),
        Release("shop", "1.3", 0.0, None, last_deployed_at=150.0),
    ]
    assert [s.release for s in attestation_report(releases, [retired, everywhere]).sightings] == ["1.3"]

    rolled_back = [*releases[:1], Release("shop", "1.2", 0.0, None, last_deployed_at=300.0), releases[2]]
    assert [s.release for s in attestation_report(rolled_back, [retired, everywhere]).sightings] == [
        "1.2",
        "1.3",
    ]
    assert attestation_report([], []).problems  # nothing known: nothing vouched for
