"""Keyset-batched backfills that never hold a long lock and survive being killed.

A backfill walks the table in primary-key order, from the smallest key to the largest one that
existed when it started, and updates one batch per transaction. Its cursor (the last key done)
is written in the same transaction as the batch, in the registry's `backfills` table, so a run
that is killed resumes at the first batch that did not commit: every row is converted exactly
once. Rows inserted after the start are beyond the fixed upper key, so the walk ends under any
insert load (the sync trigger converts those rows as they are written).

The batch size adapts so that a batch takes about `target_seconds`; `sleep_seconds` pauses
between batches to leave the database some air. `expandcontract backfill pause NAME` stops a run
at its next batch; `backfill run NAME` resumes it.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from expandcontract.errors import UsageError
from expandcontract.gate.registry import Registry, db_now

MIN_BATCH, MAX_BATCH = 10, 100_000


@dataclass(frozen=True)
class BackfillSpec:
    """What to fill: `set` maps each column to the SQL expression it gets (over the row's columns)."""

    table: str
    set: tuple[tuple[str, str], ...]
    where: str | None = None  # only rows that still need it; the batch bounds ignore it
    schema: str | None = None
    key: str | None = None  # default: the table's single-column primary key
    batch_size: int = 1000
    # gentle by default: half of the time the table is left to the application (bench/zero_downtime.py
    # measured its p99 within 2x of idle on two cores, at half the speed of back-to-back batches)
    target_seconds: float = 0.05  # 0: keep batch_size fixed
    sleep_seconds: float = 0.05
    name: str | None = None

    @property
    def backfill_name(self) -> str:
        """A name derived from what it fills, so the gate can find it from the revision alone."""
        if self.name:
            return self.name
        table = f"{self.schema}.{self.table}" if self.schema else self.table
        return f"{table}:{','.join(sorted(column for column, _ in self.set))}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> BackfillSpec:
        data = json.loads(text)
        data["set"] = tuple(tuple(pair) for pair in data["set"])
        return cls(**data)


def spec_from_arguments(
    table: str,
    set_: Mapping[str, str] | None,
    *,
    where: str | None = None,
    schema: str | None = None,
    key: str | None = None,
    batch_size: int = 1000,
    target_seconds: float = 0.05,
    sleep_seconds: float = 0.05,
    name: str | None = None,
) -> BackfillSpec:
    if not set_:
        raise UsageError(f"ec_backfill on {table}: give set={{column: sql_expression, ...}}")
    if not MIN_BATCH <= batch_size <= MAX_BATCH:
        raise UsageError(f"ec_backfill on {table}: batch_size must be between {MIN_BATCH} and {MAX_BATCH}")
    return BackfillSpec(
        table=table,
        set=tuple(sorted(set_.items())),
        where=where,
        schema=schema,
        key=key,
        batch_size=batch_size,
        target_seconds=target_seconds,
        sleep_seconds=sleep_seconds,
        name=name,
    )


@dataclass
class BackfillState:
    name: str
    spec: BackfillSpec
    status: str
    rows_done: int
    batches: int
    batch_size: int
    lower_key: Any = None
    upper_key: Any = None
    last_key: Any = None
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float | None = None

    @property
    def fraction(self) -> float | None:
        """How far the cursor is through the key range (numeric keys only)."""
        low, high, last = self.lower_key, self.upper_key, self.last_key
        if self.status == "done":
            return 1.0
        if not all(isinstance(v, int | float) for v in (low, high)) or high == low:
            return None
        return 0.0 if last is None else min(1.0, (last - low) / (high - low))


@dataclass
class Progress:
    """Rows done, rows/s and ETA on stderr: redrawn in place on a terminal, a line every few
    seconds otherwise."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    every_seconds: float = 5.0
    _started: float = field(default_factory=time.monotonic)
    _last_shown: float = 0.0
    _start_fraction: float | None = None
    _start_rows: int = 0

    def __call__(self, state: BackfillState, final: bool = False) -> None:
        now = time.monotonic()
        tty = self.stream.isatty()
        if self._start_fraction is None:  # the state before the first batch: where this run starts
            self._start_fraction, self._start_rows = state.fraction or 0.0, state.rows_done
            self._started = self._last_shown = now
            return
        if not final and now - self._last_shown < (0.2 if tty else self.every_seconds):
            return
        self._last_shown = now
        elapsed = max(now - self._started, 1e-9)
        rate = (state.rows_done - self._start_rows) / elapsed
        line = f"backfill {state.name}: {state.rows_done:,} rows, {rate:,.0f} rows/s"
        fraction = state.fraction
        if fraction is not None:
            line += f", {fraction:.1%}"
            done_here = fraction - (self._start_fraction or 0.0)
            if 0 < done_here < 1 and fraction < 1:
                line += f", ETA {_duration(elapsed * (1 - fraction) / done_here)}"
        line += f" ({state.status})" if final else ""
        self.stream.write(("\r" + line + ("\n" if final else "")) if tty else line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Backfiller:
    """Runs one backfill against the database behind `engine`, its cursor in `registry`."""

    def __init__(self, engine: Engine, registry: Registry, spec: BackfillSpec) -> None:
        self.engine, self.registry, self.spec = engine, registry, spec
        if not _exists(engine, spec):
            where = f"{spec.schema}.{spec.table}" if spec.schema else spec.table
            raise UsageError(f"ec_backfill: table {where} does not exist; check its name and schema")
        with warnings.catch_warnings():
            # SQLAlchemy warns about what it reflects of a NOT VALID check (the NOT NULL recipe's);
            # the backfill needs only the columns and the key
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            self.table = sa.Table(spec.table, sa.MetaData(), schema=spec.schema, autoload_with=engine)
        self.key = self._key()
        missing = [column for column, _ in spec.set if column not in self.table.c]
        if missing:
            raise UsageError(
                f"ec_backfill on {spec.table}: no column {', '.join(map(repr, missing))} to fill"
            )
        # the expressions are the user's SQL over the row; the rest is quoted by SQLAlchemy
        self._assignments: dict[sa.Column[Any], sa.ColumnElement[Any]] = {
            self.table.c[column]: sa.literal_column(expression) for column, expression in spec.set
        }
        self._condition = sa.text(spec.where) if spec.where else sa.true()

    def _key(self) -> sa.Column[Any]:
        if self.spec.key:
            if self.spec.key not in self.table.c:
                raise UsageError(f"ec_backfill on {self.spec.table}: no column {self.spec.key!r} to walk")
            return self.table.c[self.spec.key]
        primary = list(self.table.primary_key.columns)
        if len(primary) != 1:
            raise UsageError(
                f"ec_backfill on {self.spec.table}: it walks a single-column key, and the primary key "
                f"has {len(primary)} columns; pass key='a unique, indexed column'"
            )
        return primary[0]

    # --- the cursor --------------------------------------------------------------------------------

    def state(self, conn: Connection, lock: bool = False) -> BackfillState | None:
        t = self.registry.tables.backfills
        query = sa.select(t).where(t.c.name == self.spec.backfill_name)
        if lock and self.engine.dialect.name == "postgresql":
            query = query.with_for_update()  # one runner per batch: a second one waits, then skips it
        row = conn.execute(query).mappings().first()
        return None if row is None else state_from_row(row)

    def register(self, status: str = "pending") -> BackfillState:
        """The cursor row, created at the start of the key range when it does not exist."""
        self.registry.ensure()
        t = self.registry.tables.backfills
        with self.engine.begin() as conn:
            existing = self.state(conn)
            if existing is not None and not self._needed_again(conn, existing):
                return existing
            if existing is not None:  # walked once, then undone (a downgrade) or filled in anew
                conn.execute(t.delete().where(t.c.name == self.spec.backfill_name))
            bounds = conn.execute(sa.select(sa.func.min(self.key), sa.func.max(self.key))).one()
            now = db_now(self.engine.dialect.name)
            conn.execute(
                t.insert().values(
                    name=self.spec.backfill_name,
                    spec=self.spec.to_json(),
                    status="done" if bounds[0] is None else status,
                    lower_key=json.dumps(bounds[0]),
                    upper_key=json.dumps(bounds[1]),
                    last_key=None,
                    rows_done=0,
                    batches=0,
                    batch_size=self.spec.batch_size,
                    created_at=now,
                    updated_at=now,
                    finished_at=now if bounds[0] is None else None,
                )
            )
            found = self.state(conn)
            assert found is not None
            return found

    def _needed_again(self, conn: Connection, state: BackfillState) -> bool:
        """Whether rows the walk has passed still match the backfill's `where` (all of them when
        it is done): its revision ran again after a downgrade, and the walk must start over.
        Without a `where` nothing tells, and the recorded walk stands."""
        if not self.spec.where:
            return False
        query = sa.select(sa.literal(1)).select_from(self.table).where(sa.text(self.spec.where))
        if state.status != "done":
            if state.last_key is None:
                return False  # not walked yet: the walk starts where it is
            query = query.where(self.key <= state.last_key)
        return conn.execute(query.limit(1)).first() is not None

    def _set_status(self, status: str) -> None:
        t = self.registry.tables.backfills
        with self.engine.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.name == self.spec.backfill_name, t.c.status != "done")
                .values(status=status, updated_at=db_now(self.engine.dialect.name))
            )

    # --- the walk ------------------------------------------------------------------------------------

    def run(self, progress: Callable[..., None] | None = None) -> BackfillState:
        """Batch after batch until the key range is done or someone pauses it; the final state."""
        state = self.register()
        if state.status == "done":
            return state
        self._set_status("running")
        size = state.batch_size
        if progress is not None:
            progress(state)
        while True:
            started = time.monotonic()
            state, finished = self._batch(size)
            if progress is not None:
                progress(state, final=finished)
            if finished:
                return state
            elapsed = time.monotonic() - started
            size = self._adapt(size, elapsed)
            if self.spec.sleep_seconds:
                time.sleep(self.spec.sleep_seconds)

    def _adapt(self, size: int, elapsed: float) -> int:
        if not self.spec.target_seconds or elapsed <= 0:
            return size
        # halfway to the size that would take target_seconds: steady, no oscillation
        wanted = size * self.spec.target_seconds / elapsed
        return int(min(MAX_BATCH, max(MIN_BATCH, (size + wanted) / 2)))

    def _batch(self, size: int) -> tuple[BackfillState, bool]:
        """One batch in one transaction, with the cursor; (state after, whether the walk ended)."""
        t = self.registry.tables.backfills
        with self.engine.begin() as conn:
            state = self.state(conn, lock=True)
            assert state is not None
            if state.status in ("done", "paused"):
                return state, True
            first = state.last_key is None
            after = state.lower_key if first else state.last_key
            from_cursor = self.key >= after if first else self.key > after
            keys = (
                sa.select(self.key)
                .where(from_cursor, self.key <= state.upper_key)
                .order_by(self.key)
                .limit(size)
                .subquery()
            )
            upto = conn.execute(sa.select(sa.func.max(keys.c[0]))).scalar()
            now = db_now(self.engine.dialect.name)
            if upto is None:  # nothing left in the range
                conn.execute(
                    t.update()
                    .where(t.c.name == state.name)
                    .values(status="done", finished_at=now, updated_at=now)
                )
                state.status = "done"
                return state, True
            changed = conn.execute(
                sa.update(self.table)
                .where(from_cursor, self.key <= upto, self._condition)
                .values(self._assignments)
            )
            conn.execute(
                t.update()
                .where(t.c.name == state.name)
                .values(
                    last_key=json.dumps(upto),
                    rows_done=t.c.rows_done + (changed.rowcount or 0),
                    batches=t.c.batches + 1,
                    batch_size=size,
                    updated_at=now,
                )
            )
            after_batch = self.state(conn)
            assert after_batch is not None
            return after_batch, False


def _exists(engine: Engine, spec: BackfillSpec) -> bool:
    with engine.connect() as conn:
        return sa.inspect(conn).has_table(spec.table, schema=spec.schema)


def state_from_row(row: sa.RowMapping) -> BackfillState:
    def key(value: str | None) -> Any:
        return None if value is None else json.loads(value)

    return BackfillState(
        name=row["name"],
        spec=BackfillSpec.from_json(row["spec"]),
        status=row["status"],
        rows_done=row["rows_done"],
        batches=row["batches"],
        batch_size=row["batch_size"],
        lower_key=key(row["lower_key"]),
        upper_key=key(row["upper_key"]),
        last_key=key(row["last_key"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


def all_states(registry: Registry) -> list[BackfillState]:
    t = registry.tables.backfills
    if not registry.exists(table=t):  # no registry yet, or one from before backfills
        return []
    with registry.engine.connect() as conn:
        return [
            state_from_row(r)
            for r in conn.execute(sa.select(t).order_by(t.c.created_at, t.c.name)).mappings()
        ]


def pause(registry: Registry, name: str) -> BackfillState:
    t = registry.tables.backfills
    with registry.engine.begin() as conn:
        row = conn.execute(sa.select(t).where(t.c.name == name)).mappings().first()
        if row is None:
            raise UsageError(f"no backfill named {name!r}; `expandcontract backfill status` lists them")
        if row["status"] != "done":
            conn.execute(
                t.update()
                .where(t.c.name == name)
                .values(status="paused", updated_at=db_now(registry.dialect))
            )
        found = conn.execute(sa.select(t).where(t.c.name == name)).mappings().one()
        return state_from_row(found)
