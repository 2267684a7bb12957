"""Which column type changes keep old code working without rewriting the table."""

from __future__ import annotations

import pytest

from expandcontract.sql import is_compatible_type_change


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("varchar(50)", "varchar(100)", id="varchar-widened"),
        pytest.param("character varying(20)", "character varying(40)", id="character-varying-widened"),
        pytest.param("VARCHAR(50)", "VARCHAR", id="varchar-limit-removed"),
        pytest.param("varchar(50)", "text", id="varchar-to-text"),
        pytest.param("VARCHAR(20)", "TEXT", id="varchar-to-text-upper-case"),
        pytest.param("text", "varchar", id="text-to-unlimited-varchar"),
        pytest.param("numeric(10,2)", "numeric(12,2)", id="numeric-precision-up-same-scale"),
        pytest.param("numeric(10)", "numeric(12)", id="numeric-precision-up-no-scale"),
        pytest.param("decimal(10,2)", "numeric(12,2)", id="decimal-is-numeric"),
        pytest.param("numeric(10,2)", "numeric", id="numeric-limit-removed"),
        pytest.param("cidr", "inet", id="cidr-to-inet"),
        pytest.param("CIDR", "INET", id="cidr-to-inet-upper-case"),
        pytest.param("integer", "integer", id="same-type"),
        pytest.param("varchar(20)", "varchar(20)", id="same-varchar"),
        pytest.param("text", "text", id="same-text"),
    ],
)
def test_safe(old: str, new: str) -> None:
    assert is_compatible_type_change(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("varchar(100)", "varchar(50)", id="varchar-narrowed"),
        pytest.param("text", "varchar(10)", id="text-to-limited-varchar"),
        pytest.param("varchar(10)", "char(10)", id="varchar-to-char"),
        pytest.param("integer", "bigint", id="int-to-bigint-rewrites"),
        pytest.param("int", "bigint", id="int-alias-to-bigint"),
        pytest.param("bigint", "integer", id="bigint-to-int"),
        pytest.param("numeric(10,2)", "numeric(8,2)", id="numeric-precision-down"),
        pytest.param("numeric(10,2)", "numeric(12,3)", id="numeric-scale-changed"),
        pytest.param("numeric(10,2)", "numeric(10)", id="numeric-scale-dropped"),
        pytest.param("numeric", "numeric(10,2)", id="numeric-limit-added"),
        pytest.param("inet", "cidr", id="inet-to-cidr"),
        pytest.param("timestamp", "timestamptz", id="timestamp-to-timestamptz"),
        pytest.param("nonsense((", "text", id="unparsable-old-type"),
    ],
)
def test_unsafe(old: str, new: str) -> None:
    assert not is_compatible_type_change(old, new)
