"""Stand-in modules for imports a revision makes of code that is not installed.

CI must read a history whose revisions import the application (`from shop.models import User`)
without the application installed. While revisions load and run offline, a finder placed *last* on
`sys.meta_path` serves a permissive stand-in for any module no real finder can find. It never
stands in for the standard library, Alembic, SQLAlchemy or this package.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

_NEVER_STUBBED = frozenset({"alembic", "sqlalchemy", "expandcontract", "sqlglot", "click"}) | frozenset(
    sys.stdlib_module_names
)


# dunder names of ORM classes that revisions read from models (`User.__tablename__`)
_MODEL_ATTRIBUTES = frozenset({"__tablename__", "__table__", "__table_args__", "__mapper__"})


def _special(name: str) -> bool:
    """Python's own protocol names, which must stay missing so Python and libraries fall back."""
    return name.startswith("__") and name.endswith("__") and name not in _MODEL_ATTRIBUTES


class _StandInMeta(type):
    """Classes that tolerate attribute access, calls, subclassing and iteration."""

    def __getattr__(cls, name: str) -> Any:
        if _special(name):
            raise AttributeError(name)
        return stand_in(f"{cls.__qualname__}.{name}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls

    def __iter__(cls) -> Iterator[Any]:
        return iter(())

    def __getitem__(cls, key: Any) -> Any:
        return cls

    def __bool__(cls) -> bool:
        return False

    def __len__(cls) -> int:
        return 0

    def __contains__(cls, item: Any) -> bool:
        return False

    def __enter__(cls) -> Any:
        return cls

    def __exit__(cls, *exc: object) -> None:
        return None

    def __str__(cls) -> str:  # f"{app.PREFIX}_users" reads as <myapp.PREFIX>_users, not a class repr
        return f"<{cls.__qualname__}>"

    def __format__(cls, spec: str) -> str:
        return str(cls)

    def _compiler_dispatch(cls, visitor: Any, **kw: Any) -> str:
        """Used as a column type (`sa.Column("id", StringID())` with the app's own type not installed),
        it renders as its name, so the operation is still read offline."""
        return cls.__qualname__.rsplit(".", 1)[-1]

    def _same(cls, *other: Any) -> Any:
        return cls

    def _never(cls, other: Any) -> bool:
        return False

    # arithmetic and string building on a stand-in (module constants, `"prefix" + app.NAME`) stay one
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _same
    __mod__ = __rmod__ = __or__ = __ror__ = __and__ = __rand__ = __neg__ = __pos__ = __invert__ = _same
    __lt__ = __le__ = __gt__ = __ge__ = _never


def stand_in_name(value: Any) -> str | None:
    """The dotted name a stand-in stands for, or None for a real object."""
    if isinstance(value, _StandInModule):
        return value.__name__
    if isinstance(value, _StandInMeta):
        return value.__qualname__
    return None


def stand_in_globals(namespace: dict[str, Any], own: frozenset[str] = frozenset()) -> dict[str, str]:
    """A module's global names that are stand-ins, with what each stands for. Names in `own` (what
    the file defines itself: a helper wrapped by a stand-in decorator) are the file's, not stand-ins."""
    return {
        key: name
        for key, value in namespace.items()
        if key not in own and (name := stand_in_name(value)) is not None
    }


def mentions_stand_in(text: str) -> bool:
    """Whether an error message is about one of our stand-ins (so: about something not installed)."""
    return "_StandIn" in text or "expandcontract.stand_in" in text


def phase_label(text: str) -> str | None:
    """`expand` or `contract` when a name says so (Neutron's `cli.EXPAND_BRANCH`), else None."""
    last = text.rsplit(".", 1)[-1].lower()
    return next((label for label in ("expand", "contract") if label in last), None)


def stand_in(name: str) -> type:
    return _StandInMeta(name, (), {"__module__": "expandcontract.stand_in"})


class _StandInModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if _special(name):
            raise AttributeError(name)
        return stand_in(f"{self.__name__}.{name}")


class _StandInLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class StandInFinder(importlib.abc.MetaPathFinder):
    """Serves stand-ins for modules nothing else can import; remembers which."""

    def __init__(self) -> None:
        self.served: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] in _NEVER_STUBBED:
            return None
        self.served.append(fullname)
        return importlib.machinery.ModuleSpec(fullname, _StandInLoader(), is_package=True)


@contextmanager
def stand_in_missing_imports() -> Iterator[StandInFinder]:
    """Install the finder for the duration of the block, then remove it and the stand-ins it served."""
    finder = StandInFinder()
    sys.meta_path.append(finder)
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)
        for name in finder.served:
            module = sys.modules.get(name)
            if isinstance(module, _StandInModule):
                del sys.modules[name]
