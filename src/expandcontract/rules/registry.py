"""Every rule, looked up by code or name, and the selection a run uses."""

from __future__ import annotations

from collections.abc import Iterable

from expandcontract.errors import ConfigError
from expandcontract.rules import contract, honesty, locking, phases, recipes, style, transactions
from expandcontract.rules.base import Rule

ALL_RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *phases.RULES,
            *contract.RULES,
            *recipes.RULES,
            *locking.RULES,
            *transactions.RULES,
            *style.RULES,
            *honesty.RULES,
        ),
        key=lambda r: r.code,
    )
)
BY_CODE = {r.code: r for r in ALL_RULES}
BY_NAME = {r.name: r for r in ALL_RULES}


def find_rule(code_or_name: str) -> Rule | None:
    key = code_or_name.strip()
    return BY_CODE.get(key.upper()) or BY_NAME.get(key.lower())


def matching(selector: str) -> list[Rule]:
    """Rules a selector names: `ALL`, a code, a code prefix (`EC1`, `EC30`) or a kebab-case name."""
    key = selector.strip()
    if key.upper() == "ALL":
        return list(ALL_RULES)
    exact = find_rule(key)
    if exact is not None:
        return [exact]
    if key.upper().startswith("EC"):
        return [r for r in ALL_RULES if r.code.startswith(key.upper())]
    return []


def _resolve(selectors: Iterable[str], option: str, *, explicit: bool) -> set[Rule]:
    out: set[Rule] = set()
    for selector in selectors:
        found = matching(selector)
        if not found:
            raise ConfigError(
                f"unknown rule {selector!r} in {option}; give a code (EC101), a prefix (EC1) or a name "
                "(drop-column): `expandcontract rule` lists them"
            )
        if explicit and len(found) > 1 and not all(r.opt_in for r in found) and selector.upper() != "ALL":
            found = [r for r in found if not r.opt_in]  # a prefix brings opt-in rules only if all are
        out.update(found)
    return out


def select_rules(
    select: Iterable[str] = (), ignore: Iterable[str] = (), extend_select: Iterable[str] = ()
) -> frozenset[Rule]:
    """The rules a run uses.

    Default: every rule that is not opt-in. `select` replaces the default; opt-in rules come in by
    their code, their name, `ALL`, or a prefix that names only opt-in rules (EC5). `extend_select`
    adds to the selection; `ignore` removes (it wins).
    """
    chosen = (
        set(_resolve(select, "select", explicit=True)) if select else {r for r in ALL_RULES if not r.opt_in}
    )
    chosen |= _resolve(extend_select, "extend-select", explicit=True)
    chosen -= _resolve(ignore, "ignore", explicit=False)
    return frozenset(chosen)
