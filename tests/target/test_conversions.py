"""The load path's raw value → COPY text (`Converter.to_copy`, with its fast paths) against
the generic path (`convert`, then format), on awkward inputs: same accept/refuse decision
and reason, and real PostgreSQL reads both texts as the same value of the column type."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import psycopg2
import pytest
from target_breezeway_postgres import conversions as cv

CASES: list[tuple[str, cv.Converter, list[Any]]] = [
    ("text", cv.TEXT, ["plain", "tab\there", "new\nline", "back\\slash", "nul\x00char",
                       "cr\r\nlf", "é ü 😀", "line\u2028sep", "", 5, 2.5, Decimal("1.50"),
                       True, [1], {"a": 1}]),
    ("bigint", cv.BIGINT, [0, -5, 2**63 - 1, 2**63, -2**63, -2**63 - 1, "42", " 7 ", 3.0,
                           Decimal("3.0"), Decimal("3.5"), float("inf"), True, "x", [1]]),
    ("integer", cv.INTEGER, [2**31 - 1, 2**31, -2**31, "12", 4.0]),
    ("non_negative", cv.NON_NEGATIVE, [-1, 0, 5]),
    ("latitude", cv.numeric(10, 7, -90, 90),
     [35.7123456, Decimal("35.7123456"), Decimal("90.00000004"), Decimal("89.99999996"),
      Decimal("-90.00000005"), 95.0, -90, "12.5", "abc", Decimal("NaN"), float("inf"), True]),
    ("numeric_5_1", cv.numeric(5, 1),
     [Decimal("9999.94"), Decimal("9999.95"), 9999.95, 10000, 1e-07, Decimal("1E+2"),
      Decimal("-9999.96"), "  3.25 "]),
    ("boolean", cv.BOOLEAN, [True, False, "true", "false", 1, "yes"]),
    ("date", cv.DATE, ["2026-12-05", "20261205", "2026-W49-6", "2026-13-01", "", 5]),
    ("time", cv.TIME, ["16:00:00", "16:00", "16:00:00.5", "25:00:00", "160000", None]),
    ("timestamptz", cv.TIMESTAMPTZ,
     ["2026-12-05T12:12:00+00:00", "2026-12-05T12:12:00", "2026-12-05 12:12:00Z",
      "2026-12-05T12:12:00.123456-05:00", "2026-12-05T12:12:00+05:30", "2026-12-05x12:12:00",
      "2026-W49-6T12:00", "2026-12-05T24:00:00", "garbage", 17]),
    ("interval", cv.INTERVAL, ["01:10:00", "100:00:00", "1:2:3", "x"]),
    ("jsonb", cv.JSONB, [{"a": Decimal("1.50"), "b": [1, 2.5]}, [1, "x\\y", "t\tab"],
                         {"nul": "a\x00b", "k\x00": "v"}, "str", 5, None]),
]


def _outcome(function: Any, value: Any) -> tuple[str, str]:
    try:
        return "ok", function(value)
    except cv.ConversionError as error:
        return "reject", str(error)


def _generic(converter: cv.Converter) -> Any:
    return lambda value: cv.copy_text(converter.convert(value))


@pytest.mark.parametrize(("name", "converter", "values"), CASES, ids=[c[0] for c in CASES])
def test_fast_copy_text_equals_the_generic_conversion(name, converter, values, pg_url):
    loadable = []
    for value in values:
        fast, generic = _outcome(converter.to_copy, value), _outcome(_generic(converter), value)
        assert fast[0] == generic[0], (name, value, fast, generic)
        if fast[0] == "reject":
            assert fast[1] == generic[1], (name, value)
        else:
            loadable.append((value, fast[1], generic[1]))
    assert loadable, "every case list has values that load"
    sql_type = "NUMERIC(10,7)" if name == "latitude" else (
        "NUMERIC(5,1)" if name == "numeric_5_1" else converter.sql_type)
    connection = psycopg2.connect(pg_url)
    try:
        with connection.cursor() as cursor:
            # Not UTC: a naive date-time staged without its +00:00 would read differently.
            cursor.execute("SET TIME ZONE 'America/New_York'")
            cursor.execute(f"CREATE TEMP TABLE pair (n INTEGER, fast {sql_type}, "
                           f"generic {sql_type})")
            text = "".join(f"{i}\t{fast}\t{generic}\n"
                           for i, (_, fast, generic) in enumerate(loadable))
            cursor.copy_expert("COPY pair FROM STDIN", io.StringIO(text))
            cursor.execute("SELECT n FROM pair WHERE fast IS DISTINCT FROM generic")
            assert cursor.fetchall() == [], name
            cursor.execute("SELECT count(*) FROM pair")
            assert cursor.fetchone()[0] == len(loadable)
    finally:
        connection.close()


def test_numeric_that_postgresql_would_round_into_overflow_is_a_reject():
    """9999.95 is 10000.0 in NUMERIC(5,1): an error there would fail the whole unit."""
    with pytest.raises(cv.ConversionError, match="too large"):
        cv.numeric(5, 1).to_copy(Decimal("9999.95"))
    assert cv.numeric(5, 1).to_copy(Decimal("9999.94")) == "9999.94"


def test_json_keeps_decimals_as_numbers_and_strips_nul(pg_url):
    """The SDK's reader gives Decimal for 4.5; jsonb must get the number, not "4.5"."""
    text = cv.JSONB.to_copy({"rating": Decimal("4.5"), "note": "a\x00b", "tab": "x\ty"})
    connection = psycopg2.connect(pg_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE j (v JSONB)")
            cursor.copy_expert("COPY j FROM STDIN", io.StringIO(text + "\n"))
            cursor.execute("SELECT jsonb_typeof(v->'rating'), v->>'rating', v->>'note', "
                           "v->>'tab' FROM j")
            assert cursor.fetchone() == ("number", "4.5", "ab", "x\ty")
    finally:
        connection.close()
