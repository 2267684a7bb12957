"""A harness for proving the zero-downtime recipes end to end, on PostgreSQL, under load.

A proof edits the example shop's models, lets `expandcontract revision --autogenerate` write the
expand and contract revisions, and runs them the way a deploy does while the releases run, each a
thread with its own models module (its own `DeclarativeBase`), writing through an ORM `Session` on
a psycopg connection that keeps its server-side prepared statements, as a real process does:

    old release alone -> upgrade --phase expand -> old and new side by side (the rollout)
    -> old stopped -> new alone -> upgrade --phase contract -> new stopped

Then `run_recipe` asserts what every recipe owes the releases: no statement of either failed, both
ran (also on the schema each phase left), every write each release last made is in the final
database (renamed columns followed, dropped ones left out on purpose), both heads are applied, and
no index or constraint is left invalid. It returns an `Outcome` for the recipe's own assertions (the
revisions' source, the schema).

A new proof, e.g. for "make a column NOT NULL": the old release leaves orders.note out (NULL), the
new one writes it; what is NULL is backfilled once the old release stopped, before the contract
phase checks the column:

    NOTE_REQUIRED = edit(EXAMPLE_MODELS, ("note: Mapped[str | None]", "note: Mapped[str]"))

    def old_step(turn: Turn) -> None:  # one transaction of the old release
        turn.insert("Order", user_id=turn.owned_id, total=Decimal(1))

    def new_step(turn: Turn) -> None:
        turn.insert("Order", user_id=turn.owned_id, total=Decimal(1), note=turn.value("note"))
        turn.update("Order", note=turn.value("renote"))

    def test_not_null(shop: Path, pg_url: str) -> None:  # shop: the example copy, entered (enter_example)
        outcome = run_recipe(shop, pg_url, Recipe(
            "note required", NOTE_REQUIRED, old_step, new_step,
            backfilled={"orders.note": ""},  # the NULLs the old release wrote are '' in the end
            before_contract=lambda db: db.execute("UPDATE orders SET note = '' WHERE note IS NULL"),
        ))
        assert outcome.db.columns("orders")["note"] is False

An in-place type change is proved alike (the old release's server-side prepared statements see the
column's new type: PostgreSQL fails them with "cached plan must not change result type").

A step's writes are recorded from the session (its new and changed objects, every mapped column)
and read back after the commit; ids are the release's own (odd for the old one, even for the new),
so no two releases write one row.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from click.testing import Result
from pg_flow_support import Database, run_cli, written_revisions
from sqlalchemy.orm import Session

EXAMPLE_MODELS = (
    Path(__file__).resolve().parents[2] / "migrations_example" / "shop" / "models.py"
).read_text(encoding="utf-8")
ROWS = 3000  # seeded rows each release owns, per table
SEED = (
    "INSERT INTO users (id, email_address, name) "
    f"SELECT i, 'seed-' || i || '@x', 'seed-' || i FROM generate_series(1, {2 * ROWS}) AS i",
    f"INSERT INTO orders (id, user_id, total) SELECT i, i, i % 100 FROM generate_series(1, {2 * ROWS}) AS i",
)
REVIEW = "# expandcontract: review"
ORDER_NOTE = "    note: Mapped[str | None] = mapped_column(sa.Text)  # since 1.1.0\n"  # in EXAMPLE_MODELS

# how long each release runs alone or side by side (seconds): long enough for a few hundred
# transactions, short enough for CI's two cores
ALONE, SIDE_BY_SIDE = 0.3, 1.0


def edit(text: str, *changes: tuple[str, str]) -> str:
    """`text` with each `(old, new)` replaced; `old` must occur exactly once (no silent no-op edit)."""
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def load_models(text: str, folder: Path, release: str) -> ModuleType:
    """`text` (a models.py) as a module of its own, under a unique name: a release's ORM classes."""
    name = f"{release}_models_{uuid.uuid4().hex[:8]}"
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the declarative scan resolves the string annotations through it
    try:
        spec.loader.exec_module(module)
        module.Base.registry.configure()
    finally:
        del sys.modules[name]
    return module


def odd(n: int) -> int:
    """The old release's ids: seeded ones below 2 * ROWS, its inserts above."""
    return 2 * n + 1


def even(n: int) -> int:
    """The new release's ids."""
    return 2 * n + 2


@dataclass
class Turn:
    """One transaction of a release: its session and models, an unused id for inserts (in every
    table), and a seeded id it owns for updates."""

    session: Session
    models: ModuleType
    release: str
    step: int
    new_id: int
    owned_id: int

    def value(self, label: str) -> str:
        """A value no other write uses (unique constraints hold)."""
        return f"{label}-{self.release}-{self.step}"

    def insert(self, model: str, **values: Any) -> Any:
        row = getattr(self.models, model)(id=self.new_id, **values)
        self.session.add(row)
        return row

    def update(self, model: str, **values: Any) -> Any:
        row = self.session.get(getattr(self.models, model), self.owned_id)
        assert row is not None, f"{model} {self.owned_id} is gone"
        for key, value in values.items():
            setattr(row, key, value)
        return row


Step = Callable[[Turn], None]
Key = tuple[str, int]  # (table, id)


def _key(row: Any) -> Key:
    state = sa.inspect(row)
    return state.mapper.local_table.name, state.identity[0]


def _values(row: Any) -> dict[str, Any]:
    """Every mapped column of `row` by column name (an expired one is loaded)."""
    return {prop.columns[0].name: getattr(row, prop.key) for prop in sa.inspect(row).mapper.column_attrs}


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else f"{type(exc).__name__}: {exc}"
    return (text.splitlines() or [""])[0]


class Release(threading.Thread):
    """A release's code in a loop until stopped: `step` in one transaction of its own ORM session,
    then what it wrote read back in a new one. Records each failure (the database error's first
    line) and the values it last wrote per row."""

    def __init__(
        self,
        name: str,
        url: str,
        models: ModuleType,
        step: Step,
        ids: Callable[[int], int],
        seed: int,
        prepared_statements: bool = True,
        filled: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(daemon=True, name=f"release-{name}")
        self.release, self.models, self.step, self.ids = name, models, step, ids
        # psycopg prepares a statement on the server from its fifth run unless told not to
        connect_args = {} if prepared_statements else {"prepare_threshold": None}
        self.engine = sa.create_engine(url, pool_size=1, max_overflow=0, connect_args=connect_args)
        sa.event.listen(self.engine, "before_cursor_execute", self._count)
        self.random = random.Random(seed)
        self.filled = filled or {}  # `table.column` -> what the database may write for its NULL
        self.classes = {m.local_table.name: m.class_ for m in models.Base.registry.mappers}
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.written: dict[Key, dict[str, Any]] = {}
        self.inserted: set[Key] = set()
        self.statements = 0
        self.commits = 0
        self.prepared = 0  # server-side prepared statements on its connection when it stopped

    def _count(self, *args: Any) -> None:
        self.statements += 1

    def run(self) -> None:
        step = 0
        while not self.stop.is_set():
            step += 1
            try:
                self._read_back(self._transaction(step))
                self.commits += 1
            except Exception as exc:  # every failure is the finding, whatever raised it
                self.errors.append(_first_line(exc))
            time.sleep(0.002)
        with self.engine.connect() as conn:  # the pool's one connection: the one the steps used
            self.prepared = conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()

    def _transaction(self, step: int) -> dict[Key, dict[str, Any]]:
        new: list[Any] = []
        changed: list[Any] = []

        def flushing(session: Session, *args: Any) -> None:  # autoflush too, before each query
            new.extend(session.new)
            changed.extend([*session.new, *session.dirty])

        with Session(self.engine) as session, session.begin():
            sa.event.listen(session, "before_flush", flushing)
            owned = self.ids(self.random.randrange(ROWS))
            self.step(Turn(session, self.models, self.release, step, self.ids(ROWS + step), owned))
            session.flush()
            wrote = {_key(row): _values(row) for row in changed}
            inserted = {_key(row) for row in new}
        self.written.update(wrote)  # committed
        self.inserted |= inserted
        return wrote

    def _read_back(self, wrote: Mapping[Key, Mapping[str, Any]]) -> None:
        # committed, not rolled back: psycopg deallocates every prepared statement on a rollback
        with Session(self.engine) as session, session.begin():
            for (table, id_), values in wrote.items():
                row = session.get(self.classes[table], id_)
                read = None if row is None else _values(row)
                if read is not None:  # a NULL the recipe fills (a trigger) reads back filled
                    values = {
                        column: read[column]
                        if value is None and read[column] == self.filled.get(f"{table}.{column}")
                        else value
                        for column, value in values.items()
                    }
                if read != values:
                    self.errors.append(f"read {read!r} back from {table} {id_}, wrote {values!r}")

    def failures(self) -> dict[str, int]:
        """Each distinct failure, with how often it happened."""
        return dict(Counter(self.errors))

    def finish(self) -> None:
        self.stop.set()
        if self.ident is not None:
            self.join(timeout=30)
            assert not self.is_alive(), f"{self.name} did not stop"
        self.engine.dispose()


def lost_writes(
    db: Database,
    releases: Sequence[Release],
    seeded: Mapping[str, int],
    renamed: Mapping[str, str],
    dropped: Collection[str],
    backfilled: Mapping[str, Any],
    converted: Mapping[str, Callable[[Any], Any]] | None = None,
) -> list[str]:
    """Where the final database differs from what the releases last wrote: a row's values
    (`table.column` names: `renamed` old -> new, `dropped` columns and tables left out, a NULL
    written to a `backfilled` column expected as its backfill value, a value written to a
    `converted` column expected as the conversion makes it), a table's row count (what was seeded
    and what the releases inserted)."""
    expected: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    inserted: Counter[str] = Counter()
    for release in releases:
        inserted.update(table for table, _ in release.inserted)
        for (table, id_), values in release.written.items():
            assert id_ not in expected[table], f"{table} {id_} written by two releases"
            row = expected[table][id_] = {}
            for column, value in values.items():
                name = f"{table}.{column}"
                if name in dropped or table in dropped:
                    continue
                new_table, new_column = renamed.get(name, name).split(".")
                assert new_table == table, f"{name} renamed to another table"
                if value is None and name in backfilled:
                    value = backfilled[name]
                elif value is not None and converted and name in converted:
                    value = converted[name](value)
                row[new_column] = value
    tables = db.tables()
    problems: list[str] = []
    for table, rows in expected.items():
        wanted = sorted({column for row in rows.values() for column in row})
        if not wanted:
            continue  # all of its columns dropped, or the table itself
        if table not in tables:
            problems.append(f"{table} is gone, but {wanted} were not dropped")
            continue
        columns = sorted({"id", *wanted})
        final = {
            values["id"]: values
            for values in (
                dict(zip(columns, r, strict=True))
                for r in db.rows(f"SELECT {', '.join(columns)} FROM {table}")
            )
        }
        count = seeded.get(table, 0) + inserted[table]
        if len(final) != count:
            problems.append(f"{table} has {len(final)} rows, {count} seeded or inserted")
        for id_, row in rows.items():
            have = final.get(id_)
            got = None if have is None else {column: have[column] for column in row}
            if got != row:
                problems.append(f"{table} {id_}: {got!r} in the database, {row!r} written")
    return problems


def invalid_objects(db: Database) -> list[str]:
    """Indexes left INVALID (a failed CONCURRENTLY build) and constraints left NOT VALID."""
    return [
        str(r[0])
        for r in db.rows(
            "SELECT 'index ' || c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT i.indisvalid "
            "UNION ALL SELECT 'constraint ' || conname FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace AND NOT convalidated"
        )
    ]


def constraints(db: Database, table: str) -> dict[str, tuple[str, bool]]:
    """Constraint name -> (pg_constraint.contype: c, f, p, u, ...; validated)."""
    return {
        str(name): (str(kind), bool(valid))
        for name, kind, valid in db.rows(
            "SELECT conname, contype, convalidated FROM pg_constraint "
            f"WHERE conrelid = 'public.{table}'::regclass"
        )
    }


@dataclass
class Recipe:
    """A model edit and what each release does, one transaction per `Step`.

    - `old_models`: the old release's models.py when it is not the example's: migrated to first
      (by its own autogenerated revisions), before the seed; `seed`: SQL run on that schema;
    - `revision_args`: more arguments of `revision --autogenerate` (`--rename table.old:new`);
    - `renamed`, `dropped`, `backfilled`, `converted`: `table.column` names (`dropped` also takes
      tables) that tell the check of the releases' writes what the recipe changes on purpose (see
      `lost_writes`);
    - `after_expand` runs while the old release alone runs on the expanded schema; `before_contract`
      once the old release stopped, while the new one runs (a check, a backfill);
    - `prepared_statements`: False runs both releases without server-side prepared statements
      (psycopg's `prepare_threshold=None`, as behind PgBouncer in transaction mode); `tolerated`:
      failure messages (a prefix of the first line) the caller asserts on its own, from the
      `Outcome`'s releases.
    """

    message: str
    new_models: str
    old_step: Step
    new_step: Step
    old_models: str | None = None
    seed: Sequence[str] = SEED
    revision_args: Sequence[str] = ()
    renamed: Mapping[str, str] = field(default_factory=dict)
    dropped: Collection[str] = ()
    backfilled: Mapping[str, Any] = field(default_factory=dict)
    converted: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    after_expand: Callable[[Database], None] | None = None
    before_contract: Callable[[Database], None] | None = None
    prepared_statements: bool = True
    tolerated: Sequence[str] = ()


@dataclass
class Outcome:
    """What ran: the releases, the database, and the revisions autogenerate wrote ('' when none)."""

    old: Release
    new: Release
    db: Database
    expand: str
    contract: str


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _written(result: Result, project: Path) -> dict[str, str]:
    """Branch folder (expand, contract) -> the source of the revision written there."""
    return {p.parent.name: p.read_text(encoding="utf-8") for p in written_revisions(result, project)}


def run_recipe(project: Path, url: str, recipe: Recipe) -> Outcome:
    """The deploy of `recipe` on a fresh database (the example's heads, then the seed) under load,
    asserting what every recipe owes the two releases (see the module's docstring)."""
    cli_url = ("--url", url)
    models = project / "shop" / "models.py"
    _ok(run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new test database", *cli_url))
    old_text = recipe.old_models or models.read_text(encoding="utf-8")
    if recipe.old_models is not None:
        models.write_text(old_text, encoding="utf-8")
        _ok(run_cli("revision", "--autogenerate", "-m", "the old release's schema", *cli_url))
        _ok(run_cli("upgrade", "--phase", "all", "--force", "--reason", "a new test database", *cli_url))
    db = Database(url)
    for sql in recipe.seed:
        db.execute(sql)
    seeded = {table: db.rows(f"SELECT count(*) FROM {table}")[0][0] for table in db.tables()}

    releases = project.parent / "releases"
    releases.mkdir(exist_ok=True)
    old_models = load_models(old_text, releases, "old")
    new_models = load_models(recipe.new_models, releases, "new")
    models.write_text(recipe.new_models, encoding="utf-8")
    written = _written(
        _ok(run_cli("revision", "--autogenerate", "-m", recipe.message, *recipe.revision_args, *cli_url)),
        project,
    )

    prepared = recipe.prepared_statements
    filled = recipe.backfilled
    old = Release("old", url, old_models, recipe.old_step, odd, 1, prepared, filled)
    new = Release("new", url, new_models, recipe.new_step, even, 2, prepared, filled)
    try:
        old.start()
        time.sleep(ALONE)
        _ok(run_cli("upgrade", "--phase", "expand", *cli_url))
        old_at_expand = old.commits
        if recipe.after_expand:
            recipe.after_expand(db)
        new.start()  # the deploy: both releases run
        time.sleep(SIDE_BY_SIDE)
        old_on_expand = old.commits - old_at_expand
        old.finish()  # the rollout is over
        if recipe.before_contract:
            recipe.before_contract(db)
        time.sleep(ALONE)
        _ok(
            run_cli(
                "upgrade", "--phase", "contract", "--force", "--reason", "the old release stopped", *cli_url
            )
        )
        new_after_contract = new.commits
        time.sleep(2 * ALONE)
    finally:
        old.finish()
        new.finish()

    # plain asserts with messages: pytest rewrites the asserts of test modules only
    failures = {
        name: {
            error: n
            for error, n in release.failures().items()
            if not error.startswith(tuple(recipe.tolerated))
        }
        for name, release in (("old", old), ("new", new))
    }
    assert failures == {"old": {}, "new": {}}, failures
    ran = {"old": old.statements, "new": new.statements}
    assert min(ran.values()) > 30, ran  # both really ran
    on_server = {"old": old.prepared, "new": new.prepared}
    # as a real process does, on server-side prepared statements (unless the recipe turned them off)
    assert (min(on_server.values()) > 0) is prepared, on_server
    # the old release ran on the expanded schema, the new one on the contracted schema
    on_schema = {"old after expand": old_on_expand, "new after contract": new.commits - new_after_contract}
    assert min(on_schema.values()) > 10, on_schema
    lost = lost_writes(
        db, (old, new), seeded, recipe.renamed, recipe.dropped, recipe.backfilled, recipe.converted
    )
    assert lost == [], lost[:10]
    status = run_cli("status", *cli_url)
    assert status.exit_code == 0, status.output  # every revision ran
    invalid = invalid_objects(db)
    assert invalid == [], invalid
    return Outcome(old, new, db, written.get("expand", ""), written.get("contract", ""))
