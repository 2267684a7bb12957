"""Run a revision's upgrade() offline and capture what it does.

Each revision runs against an offline `MigrationContext` (as `alembic upgrade --sql` does). A
subclass of `Operations` records every operation object, the line of the revision file that called
it, and the SQL it emitted; the record becomes `Change` objects. A revision that cannot run offline
is read from its AST instead and says why.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import multiprocessing
import os
import signal
import sys
import threading
import time
import tokenize
import types
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

from alembic.operations import BatchOperations, Operations, batch, ops
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import Script
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect

from expandcontract.alembic_ext import operations as _ec_operations  # noqa: F401 - registers op.ec_*
from expandcontract.alembic_ext.ast_reader import read_revision_ast
from expandcontract.alembic_ext.offline_bind import OfflineBind
from expandcontract.alembic_ext.op_changes import OpContext, changes_of
from expandcontract.alembic_ext.project import FAILS_AT_IMPORT, AlembicProject, frames_in
from expandcontract.alembic_ext.stubs import mentions_stand_in, stand_in_globals
from expandcontract.capture_cache import CaptureCache, cacheable
from expandcontract.model import (
    CapturedOperation,
    CapturedRevision,
    Change,
    ChangeKind,
    Location,
    ReadMode,
    RevisionInfo,
)
from expandcontract.sql import changes_from_sql, next_transaction, transaction_after


class _Output(io.StringIO):
    """The output buffer Alembic writes --sql text to: every write goes straight to the recorder."""

    def __init__(self) -> None:
        super().__init__()
        self.sink: Callable[[str], None] = lambda text: None  # the revision being read's recorder

    def write(self, text: str) -> int:
        self.sink(text)
        return len(text)


class _Kind(Enum):
    OPERATION = "operation"
    EMITTED = "emitted"  # SQL written outside any operation (context.execute(), impl calls)
    THROUGH_BIND = "through_bind"  # a statement the revision ran itself, through op.get_bind()
    ALEMBIC = "alembic"  # Alembic's own COMMIT/BEGIN around autocommit_block(): transaction state only


@dataclass
class _Recorded:
    kind: _Kind
    line: int
    sql: str = ""
    operation: ops.MigrateOperation | None = None
    runs_operations: bool = False  # a custom operation implemented by invoking other operations


@dataclass
class _Recorder:
    """Attributes every piece of emitted SQL to the operation, or the line, that wrote it."""

    path: str
    timeline: list[_Recorded] = field(default_factory=list)
    _open: list[_Recorded] = field(default_factory=list)
    _same_file: dict[str, bool] = field(default_factory=dict)
    _alembic_output: bool = False

    def emitted(self, text: str) -> None:
        if not text:
            return
        if self._alembic_output:  # checked first: a custom operation may open an autocommit block too
            self.timeline.append(_Recorded(kind=_Kind.ALEMBIC, line=0, sql=text))
            return
        if self._open:
            self._open[-1].sql += text
            return
        line = self.caller_line()
        last = self.timeline[-1] if self.timeline else None
        if last is not None and last.kind is _Kind.EMITTED and last.line == line:
            last.sql += text
        else:
            self.timeline.append(_Recorded(kind=_Kind.EMITTED, line=line, sql=text))

    @contextmanager
    def alembic_output(self) -> Iterator[None]:
        """What Alembic writes in this block is its own (autocommit_block's COMMIT and BEGIN)."""
        self._alembic_output = True
        try:
            yield
        finally:
            self._alembic_output = False

    def caller_line(self) -> int:
        """The line in the revision file that made the operation: the innermost frame there that is
        not a custom operation's own machinery (its classmethod or implementation)."""
        frame = inspect.currentframe()
        while frame is not None:
            filename = frame.f_code.co_filename
            same = self._same_file.get(filename)
            if same is None:
                same = self._same_file[filename] = _real_path(filename) == self.path
            if same and not _is_operation_machinery(frame):
                return frame.f_lineno
            frame = frame.f_back
        return 0

    def _append(self, entry: _Recorded) -> None:
        if self._open:
            self._open[-1].runs_operations = True
        self.timeline.append(entry)

    def record(self, operation: ops.MigrateOperation, invoke: Callable[[], Any]) -> Any:
        entry = _Recorded(kind=_Kind.OPERATION, line=self.caller_line(), operation=operation)
        self._append(entry)
        self._open.append(entry)
        try:
            return invoke()
        finally:
            self._open.pop()

    def record_rendered(self, operation: ops.MigrateOperation, sql: str) -> None:
        self._append(_Recorded(kind=_Kind.OPERATION, line=self.caller_line(), sql=sql, operation=operation))

    def record_statement(self, sql: str) -> None:
        """A statement run through `op.get_bind().execute(...)`."""
        self._append(_Recorded(kind=_Kind.THROUGH_BIND, line=self.caller_line(), sql=sql))


# every frame of every revision is looked up; the paths of library frames repeat across revisions
_real_path = lru_cache(maxsize=8192)(os.path.realpath)


def _is_operation_machinery(frame: types.FrameType) -> bool:
    """A custom operation's classmethod or implementation: it is *given* an operation class, an
    operation or an Operations object (upgrade() and helpers that merely hold one are not)."""
    code = frame.f_code
    for name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
        value = frame.f_locals.get(name)
        if isinstance(value, ops.MigrateOperation | Operations):
            return True
        if isinstance(value, type) and issubclass(value, ops.MigrateOperation):
            return True
    return False


_scratch: weakref.WeakKeyDictionary[MigrationContext, tuple[MigrationContext, io.StringIO]] = (
    weakref.WeakKeyDictionary()
)


def _render_offline(operation: ops.MigrateOperation, context: MigrationContext) -> str:
    """The SQL an operation emits on its own, outside batch mode ("" if it cannot emit it offline)."""
    if context not in _scratch:  # one per reading context: building one costs as much as rendering
        buffer = io.StringIO()
        _scratch[context] = (
            MigrationContext.configure(
                dialect=context.dialect, opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True}
            ),
            buffer,
        )
    scratch, buffer = _scratch[context]
    buffer.seek(0)
    buffer.truncate()
    try:
        Operations(scratch).invoke(operation)
    except Exception:  # e.g. SQLite cannot ALTER a column outside batch mode; the operation still counts
        return ""
    return buffer.getvalue()


@contextmanager
def _batch_alter_table(
    operations: Operations,
    recorder: _Recorder,
    table_name: str,
    schema: str | None = None,
    recreate: str = "auto",
    partial_reordering: list[tuple[str, ...]] | None = None,
    copy_from: Any = None,
    table_args: tuple[Any, ...] = (),
    table_kwargs: Any = None,
    reflect_args: tuple[Any, ...] = (),
    reflect_kwargs: Any = None,
    naming_convention: dict[str, str] | None = None,
) -> Iterator[BatchOperations]:
    """`Operations.batch_alter_table`, with a batch_op that records each operation where it is called."""
    impl = batch.BatchOperationsImpl(  # type: ignore[no-untyped-call]
        operations,
        table_name,
        schema,
        recreate,
        copy_from,
        table_args,
        table_kwargs or {},
        reflect_args,
        reflect_kwargs or {},
        naming_convention,
        partial_reordering,
    )
    batch_op = BatchOperations(operations.migration_context, impl=impl)
    queue = batch_op.invoke

    def invoke(operation: ops.MigrateOperation) -> Any:
        # batch operations are queued and replayed when the block ends; record each one where it
        # was called, with the SQL it stands for (a non-recreate batch emits exactly that)
        recorder.record_rendered(operation, _render_offline(operation, operations.migration_context))
        return queue(operation)

    setattr(batch_op, "invoke", invoke)  # noqa: B010 - per-instance override, Alembic's classes untouched
    # no flush: its SQL is already recorded per operation, and a recreate flush would need a live
    # database to reflect the table
    yield batch_op


@contextmanager
def _recorded_autocommit_block(context: MigrationContext, recorder: _Recorder) -> Iterator[None]:
    """`autocommit_block()`, with Alembic's own COMMIT and BEGIN around it recorded as such."""
    block = type(context).autocommit_block(context)  # the class's own: the instance's is this wrapper
    with recorder.alembic_output():
        block.__enter__()
    try:
        yield
    except BaseException:
        with recorder.alembic_output():
            if not block.__exit__(*sys.exc_info()):
                raise
    else:
        with recorder.alembic_output():
            block.__exit__(None, None, None)


def capturing_operations(context: MigrationContext, recorder: _Recorder) -> Operations:
    """An `Operations` whose every operation (batch ones included) is recorded before it runs."""
    operations = Operations(context)
    plain_invoke = operations.invoke
    setattr(operations, "invoke", lambda op: recorder.record(op, lambda: plain_invoke(op)))  # noqa: B010
    setattr(operations, "batch_alter_table", partial(_batch_alter_table, operations, recorder))  # noqa: B010
    setattr(context, "autocommit_block", partial(_recorded_autocommit_block, context, recorder))  # noqa: B010
    return operations


def _operations(recorder: _Recorder, path: str) -> tuple[CapturedOperation, ...]:
    return tuple(
        CapturedOperation(type(e.operation).__name__, Location(path, e.line), e.sql.strip(), e.operation)
        for e in recorder.timeline
        if e.operation is not None
    )


def _changes(
    recorder: _Recorder, path: str, dialect: Dialect, in_transaction: bool
) -> tuple[list[Change], tuple[Location, ...]]:
    """The revision's changes, and where it read from the (absent) database."""
    out: list[Change] = []
    reads: list[Location] = []
    transaction = 0
    for entry in recorder.timeline:
        location = Location(path, entry.line)
        if entry.operation is None:
            found = changes_from_sql(
                entry.sql,
                dialect=dialect.name,
                location=location,
                in_transaction=in_transaction,
                transaction=transaction,
            )
            in_transaction = transaction_after(found, in_transaction)
            transaction = next_transaction(found, transaction)
            if entry.kind is not _Kind.ALEMBIC:
                source = "get_bind().execute" if entry.kind is _Kind.THROUGH_BIND else "context.execute"
                out.extend(replace(c, operation=source) for c in found)
            if entry.kind is _Kind.THROUGH_BIND:
                reads.extend(c.location for c in found if c.kind is ChangeKind.QUERY)
            continue
        if entry.runs_operations and not entry.sql.strip():
            continue  # the operations it invoked are recorded on their own
        ctx = OpContext(
            location=location,
            sql=entry.sql,
            in_transaction=in_transaction,
            dialect=dialect,
            transaction=transaction,
        )
        found = changes_of(entry.operation, ctx)
        in_transaction = transaction_after(found, in_transaction)
        transaction = next_transaction(found, transaction)
        out.extend(found)
    return out, tuple(reads)


REVISION_SECONDS = 10.0  # offline, upgrade() runs no SQL: anything slower is looping on missing values


class RevisionTooSlow(BaseException):  # not an Exception: a revision's `except Exception` must not swallow it
    """upgrade() did not finish offline in time (e.g. a loop over values a stand-in cannot give)."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` with RevisionTooSlow (main thread on Unix; else no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def interrupt(signum: int, frame: types.FrameType | None) -> None:
        raise RevisionTooSlow(f"did not finish within {seconds:g} s offline")

    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)  # e.g. a test runner's timeout
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)  # and again, should the first be swallowed
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            remaining = max(outer_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, remaining, outer_interval)


def _failure_reason(exc: BaseException, path: str, stand_ins: list[str]) -> str:
    lines = [frame.lineno for frame in frames_in(exc, [Path(path)])]
    where = f" (line {lines[-1]})" if lines else ""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if message.startswith(FAILS_AT_IMPORT):
        return message
    if isinstance(exc, RevisionTooSlow):
        missing = f"; it may be looping on {', '.join(stand_ins)} (not installed)" if stand_ins else ""
        return f"{message}{missing}{where}"
    if isinstance(exc, sa_exc.NoInspectionAvailable) or "OfflineBind" in message:
        return f"needs a live database (an ORM session or a connection call on op.get_bind()){where}"
    if stand_ins and mentions_stand_in(message):
        return f"needs {', '.join(stand_ins)}, which is not installed ({type(exc).__name__}){where}"
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


@dataclass(frozen=True)
class OfflineEnvironment:
    """An offline Alembic environment for the project's dialect, shared by the revisions read in
    one process: building a MigrationContext costs about as much as running a small revision."""

    env: EnvironmentContext
    context: MigrationContext
    output: _Output


@contextmanager
def offline_environment(project: AlembicProject) -> Iterator[OfflineEnvironment]:
    output = _Output()
    env = EnvironmentContext(project.config, project.script)
    with env:  # so `from alembic import context` works inside upgrade()
        env.configure(
            dialect_name=project.settings.dialect, as_sql=True, output_buffer=output, literal_binds=True
        )
        yield OfflineEnvironment(env, env.get_context(), output)


def capture_revision(
    project: AlembicProject, script: Script, info: RevisionInfo, environment: OfflineEnvironment | None = None
) -> CapturedRevision:
    """Run one revision's upgrade() offline for the project's dialect; fall back to its AST."""
    path = _real_path(info.path)
    loaded = _real_path(script.path)  # a stand-in copy when the file itself fails at import
    stand_ins = stand_in_globals(vars(script.module))
    if stand_ins:  # a helper the file defines itself may be wrapped by a stand-in decorator
        stand_ins = stand_in_globals(vars(script.module), own=_defined_names(path))
    # a stand-in revision (its file fails when imported) lists what the file imports in vain
    stand_in_names = sorted(
        {*stand_ins.values(), *getattr(script.module, "__expandcontract_stand_ins__", ())}
    )
    recorder = _Recorder(path=loaded)
    bind = OfflineBind(recorder.record_statement)
    with contextlib.ExitStack() as stack:
        if environment is None:
            environment = stack.enter_context(offline_environment(project))
        environment.output.sink = recorder.emitted
        setattr(environment.env, "get_bind", lambda: bind)  # noqa: B010 - `context.get_bind()` inside upgrade()
        context = environment.context
        bind.dialect = context.dialect
        operations = capturing_operations(context, recorder)
        setattr(operations, "get_bind", lambda: bind)  # noqa: B010 - offline there is no connection
        operations._install_proxy()  # what Operations.context() does; it cannot take a prepared instance
        try:
            upgrade = getattr(script.module, "upgrade", None)
            if upgrade is None:
                raise AttributeError("the revision defines no upgrade() function")
            with _time_limit(REVISION_SECONDS):
                upgrade()
        except (Exception, SystemExit, RevisionTooSlow) as exc:
            source = _read(path)
            return CapturedRevision(
                info=info,
                changes=tuple(read_revision_ast(source, path, project.settings.dialect, stand_ins=stand_ins)),
                read_mode=ReadMode.AST,
                unreadable_reason=_failure_reason(exc, loaded, stand_in_names),
                stand_ins=tuple(stand_in_names),
            )
        finally:
            operations._remove_proxy()
        changes, reads = _changes(recorder, path, context.dialect, bool(context.impl.transactional_ddl))
    # code that depends on rows a query returned, or on a stand-in for an uninstalled module (empty,
    # false), may not have run: what the source shows beyond what ran is added, marked as such
    reasons = [
        *(["it depends on rows a database query returned"] if reads else []),
        *([f"it depends on {', '.join(stand_in_names)} (not installed)"] if stand_in_names else []),
    ]
    if reasons:
        note = f"not reached offline: {' or '.join(reasons)}"
        source_changes = read_revision_ast(_read(path), path, project.settings.dialect, stand_ins=stand_ins)
        changes += _unreached(changes, source_changes, note)
    return CapturedRevision(
        info=info,
        changes=tuple(changes),
        read_mode=ReadMode.OFFLINE,
        operations=_operations(recorder, path),
        database_reads=reads,
        stand_ins=tuple(stand_in_names),
    )


def _unreached(ran: list[Change], read: list[Change], note: str) -> list[Change]:
    """Changes the source shows at lines the offline run never reached, marked with `note`."""
    reached = {c.location.line for c in ran}
    return [
        replace(
            c,
            detail=f"{c.detail}; {note}"
            if c.detail and "not installed" not in c.detail
            else c.detail or note,
        )
        for c in read
        if c.location.line not in reached and c.kind is not ChangeKind.QUERY
    ]


def _defined_names(path: str) -> frozenset[str]:
    """Functions and classes the revision file defines at module level."""
    try:
        tree = ast.parse(_read(path), filename=path)
    except (SyntaxError, ValueError, OSError):
        return frozenset()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return frozenset(node.name for node in tree.body if isinstance(node, kinds))


def _read(path: str) -> str:
    try:
        with tokenize.open(path) as fh:  # honours a `# -*- coding: ... -*-` line, as Python does
            return fh.read()
    except (SyntaxError, UnicodeDecodeError):  # a bad coding line or bytes: read what can be read
        return Path(path).read_bytes().decode("utf-8", errors="replace")


def capture_project(
    project: AlembicProject, cache: CaptureCache | None = None, operations: bool = True
) -> list[CapturedRevision]:
    """Capture every revision, bases first. Call inside `reading_session`.

    With a cache, revisions captured before (same bytes, same tools) are not run again. Without
    `operations` (the linter needs only the changes), revisions are read on every core; either way,
    revisions that were not run here come back without their Alembic operation objects.
    """
    revisions = list(zip(project.scripts(), project.history.revisions, strict=True))
    if operations and cache is None:
        with offline_environment(project) as environment:
            return [capture_revision(project, script, info, environment) for script, info in revisions]
    found: dict[int, CapturedRevision] = {}
    pending: list[tuple[int, Script, RevisionInfo]] = []
    sources: dict[int, bytes] = {}
    for index, (script, info) in enumerate(revisions):
        if cache is not None:
            sources[index] = Path(info.path).read_bytes()
            hit = cache.load(info, sources[index])  # only cacheable files are ever stored
            if hit is not None:
                found[index] = hit
                continue
        pending.append((index, script, info))
    read = (
        _capture_in_parallel(project, pending) if not operations else dict(_capture_chunk(project, pending))
    )
    for index, captured in read.items():
        found[index] = captured
        if cache is not None and cacheable(sources[index].decode("utf-8", errors="replace")):
            cache.store(captured, sources[index])
    return [found[index] for index in range(len(revisions))]


PARALLEL_FROM = 40  # below this many revisions to read, starting processes costs more than it saves


def _capture_chunk(project: AlembicProject, chunk: list[tuple[int, Script, RevisionInfo]]) -> list[Any]:
    with offline_environment(project) as environment:
        return [
            (index, replace(capture_revision(project, script, info, environment), operations=()))
            for index, script, info in chunk
        ]


def _child(project: AlembicProject, chunk: list[tuple[int, Script, RevisionInfo]], conn: Any) -> None:
    try:  # operation objects do not cross processes
        conn.send([(index, replace(c, operations=())) for index, c in _capture_chunk(project, chunk)])
    except BaseException:  # the parent reads this chunk itself
        conn.send(None)
    finally:
        conn.close()


def _capture_in_parallel(
    project: AlembicProject, pending: list[tuple[int, Script, RevisionInfo]]
) -> dict[int, CapturedRevision]:
    """Capture `pending` on every core (forked workers share the loaded project); without their
    Alembic operation objects, which do not cross processes. Any worker that fails is redone here."""
    workers = min(os.cpu_count() or 1, 8)
    # forking a process that runs other threads can copy a lock one of them holds: stay in one then
    alone = threading.active_count() == 1
    if (
        workers < 2
        or len(pending) < PARALLEL_FROM
        or not alone
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return dict(_capture_chunk(project, pending))
    chunks = [pending[n::workers] for n in range(workers)]
    context = multiprocessing.get_context("fork")
    started = []
    for chunk in chunks[1:]:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(project, chunk, send), daemon=True)
        process.start()
        send.close()
        started.append((chunk, receive, process))
    results = dict(_capture_chunk(project, chunks[0]))
    for chunk, receive, process in started:
        try:
            answer = receive.recv()
        except (EOFError, OSError):
            answer = None
        process.join()
        results.update(dict(answer) if answer is not None else dict(_capture_chunk(project, chunk)))
    return results


@contextmanager
def _keeping_alembic_proxies() -> Iterator[None]:
    """Put back `alembic.context` and `alembic.op` as they were: the gate reads revisions from
    inside a running env.py, whose own context must survive our offline one."""
    import alembic.context
    import alembic.op

    saved = [getattr(module, "_proxy", None) for module in (alembic.context, alembic.op)]
    try:
        yield
    finally:
        for proxy in saved:
            if proxy is not None:
                proxy._install_proxy()


def capture_only(project: AlembicProject, revisions: Sequence[str]) -> list[CapturedRevision]:
    """Capture just these revisions, in the order given (the contract gate reads the pending ones)."""
    with _keeping_alembic_proxies(), offline_environment(project) as environment:
        out = []
        for revision in revisions:
            script = project.script.get_revision(revision)
            assert script is not None
            out.append(capture_revision(project, script, project.history.by_id[revision], environment))
        return out


def backfills_before(
    project: AlembicProject, contract: Sequence[str], applied: set[str]
) -> dict[str, list[tuple[str, str]]]:
    """For each contract revision, the `op.ec_backfill`s (name, revision) it must wait for: those in
    the revisions it needs that are applied already, or that run out of band (`run="later"`).
    Inline backfills of revisions still to run finish before it in the same run."""
    from expandcontract.alembic_ext.operations import BackfillOp

    history = project.history
    needed = set().union(*(history.ancestors([c]) for c in contract)) - set(contract) if contract else set()
    candidates = [
        r
        for r in history.revisions
        if r.revision in needed
        and "ec_backfill" in Path(r.path).read_text(encoding="utf-8", errors="replace")
    ]
    found: dict[str, list[tuple[str, bool]]] = {}
    for captured in capture_only(project, [r.revision for r in candidates]):
        found[captured.info.revision] = [
            (o.operation.spec.backfill_name, o.operation.run == "later")
            for o in captured.operations
            if isinstance(o.operation, BackfillOp)
        ]
    return {
        c: [
            (name, revision)
            for revision in sorted(history.ancestors([c]) & set(found))
            for name, later in found[revision]
            if revision in applied or later
        ]
        for c in contract
    }
