"""The labelled lint corpus: one module per theme, each with a `CASES` list (see case.py, bench/README.md)."""

from __future__ import annotations

import dataclasses
from importlib import import_module

from lint_corpus.case import Case

THEMES = ("phases", "contract", "recipes", "locking", "transactions", "style", "honesty", "mixed")


def all_cases() -> list[Case]:
    """Every case of every theme, in file order; names are unique."""
    out: list[Case] = []
    for theme in THEMES:
        module = import_module(f"lint_corpus.{theme}")
        out.extend(dataclasses.replace(case, theme=theme) for case in module.CASES)
    seen: set[str] = set()
    for case in out:
        if case.name in seen:
            raise ValueError(f"duplicate case name {case.name!r}")
        seen.add(case.name)
    return out
