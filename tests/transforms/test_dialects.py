"""Transpiling: the CTE materialisation hint is kept where the dialect has it, dropped elsewhere."""

from __future__ import annotations

import pytest

from transforms import settings
from transforms.dialects import to_dialect

HINTED = "WITH c AS NOT MATERIALIZED (SELECT 1 AS a) SELECT a FROM c JOIN c AS d USING (a)"


@pytest.mark.parametrize("dialect", settings.TRANSPILE_DIALECTS)
def test_cte_materialization_hint_only_where_supported(dialect: str) -> None:
    out = to_dialect(HINTED, dialect)
    assert ("NOT MATERIALIZED" in out) == (dialect in settings.CTE_MATERIALIZATION_DIALECTS)
    assert out.count("SELECT") == 2
