"""Reservation filters and the default `checkout_date >= today` window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from breezeway_sim import Simulator

if TYPE_CHECKING:
    from conftest import ApiClient


@pytest.fixture
def stamped(
    sim_factory: Callable[..., Simulator], client_for: Callable[..., ApiClient]
) -> ApiClient:
    """A client of a simulator whose reservations show created_at/updated_at."""
    sim = sim_factory(
        regions=["nashville"], auth_rate_limit=False, reservation_timestamps=True, scale=0.05
    )
    return client_for("nashville", sim)


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ids(client: ApiClient, **params: Any) -> set[int]:
    return {r["id"] for r in client.all_pages("/reservation", limit=250, **params)}


def _expected(client: ApiClient, keep: Callable[[dict], bool]) -> set[int]:
    return {r["id"] for r in client.simulator.data("nashville").reservations if keep(r)}


def test_default_window_is_checkout_today_or_later(nashville: ApiClient) -> None:
    today = nashville.simulator.clock_now().date()
    expected = _expected(nashville, lambda r: date.fromisoformat(r["checkout_date"]) >= today)
    everything = _expected(nashville, lambda r: True)
    assert _ids(nashville) == expected
    assert 0 < len(expected) < len(everything), "history must be outside the default window"


def test_property_id_alone_keeps_the_default_window(nashville: ApiClient) -> None:
    today = nashville.simulator.clock_now().date()
    home = nashville.simulator.data("nashville").properties[0]["id"]
    expected = _expected(
        nashville,
        lambda r: r["property_id"] == home and date.fromisoformat(r["checkout_date"]) >= today,
    )
    assert _ids(nashville, property_id=home) == expected


def test_property_id_accepts_a_comma_list(nashville: ApiClient) -> None:
    homes = [p["id"] for p in nashville.simulator.data("nashville").properties[:3]]
    expected = _expected(nashville, lambda r: r["property_id"] in homes)
    got = _ids(nashville, property_id=",".join(map(str, homes)), checkin_date_ge="2000-01-01")
    assert got == expected and expected


@pytest.mark.parametrize("field", ["checkin_date", "checkout_date"])
@pytest.mark.parametrize(
    ("op", "test"),
    [
        ("gt", lambda a, b: a > b),
        ("ge", lambda a, b: a >= b),
        ("lt", lambda a, b: a < b),
        ("le", lambda a, b: a <= b),
    ],
)
def test_date_filters(nashville: ApiClient, field: str, op: str, test: Callable) -> None:
    pivot = date.fromisoformat(nashville.simulator.data("nashville").reservations[3][field])
    expected = _expected(nashville, lambda r: test(date.fromisoformat(r[field]), pivot))
    assert _ids(nashville, **{f"{field}_{op}": pivot.isoformat()}) == expected
    assert expected


@pytest.mark.parametrize("field", ["updated_at", "created_at"])
def test_datetime_filters_with_datetimes(stamped: ApiClient, field: str) -> None:
    reservations = stamped.simulator.data("nashville").reservations
    pivot = sorted(_moment(r[field]) for r in reservations)[len(reservations) // 2]
    text = pivot.isoformat()  # with +00:00: requests encodes '+' as %2B
    at_or_after = _expected(stamped, lambda r: _moment(r[field]) >= pivot)
    after = _expected(stamped, lambda r: _moment(r[field]) > pivot)
    assert _ids(stamped, **{f"{field}_ge": text}) == at_or_after
    assert _ids(stamped, **{f"{field}_gt": text}) == after
    assert (
        _ids(stamped, **{f"{field}_lt": text})
        == _expected(stamped, lambda r: r["id"]) - at_or_after
    )
    naive = pivot.replace(tzinfo=None).isoformat()
    assert _ids(stamped, **{f"{field}_le": naive}) == _expected(
        stamped, lambda r: _moment(r[field]) <= pivot
    )


def test_updated_at_filter_with_a_date_compares_days(stamped: ApiClient) -> None:
    reservations = stamped.simulator.data("nashville").reservations
    day = _moment(reservations[0]["updated_at"]).date()
    expected = _expected(stamped, lambda r: _moment(r["updated_at"]).date() <= day)
    assert _ids(stamped, updated_at_le=day.isoformat()) == expected
    assert reservations[0]["id"] in expected


def test_reservations_hide_timestamps_by_default(nashville: ApiClient) -> None:
    for reservation in nashville.all_pages("/reservation"):
        assert "created_at" not in reservation and "updated_at" not in reservation


def test_updated_at_filter_works_on_hidden_timestamps(nashville: ApiClient) -> None:
    sim = nashville.simulator
    since = sim.clock_now() + timedelta(seconds=1)
    assert _ids(nashville, updated_at_ge=since.isoformat()) == set()
    sim.advance_time(5)
    touched = sim.touch_reservation("nashville", sim.data("nashville").reservations[0]["id"])
    assert _ids(nashville, updated_at_ge=since.isoformat()) == {touched["id"]}


def test_malformed_filters_are_400(nashville: ApiClient) -> None:
    for params in (
        {"checkin_date_ge": "2026-13-01"},
        {"checkout_date_lt": "yesterday"},
        {"updated_at_ge": "2026-01-01T25:00"},
        {"property_id": "abc"},
        {"updated_at_gt": "2026-01-01T00:00:00 00:00"},
    ):
        answer = nashville.get("/reservation", **params)
        assert answer.status_code == 400, params
        assert answer.json()["error"].startswith("invalid")


def test_a_raw_plus_sign_in_the_query_string_is_rejected(nashville: ApiClient) -> None:
    """An unencoded '+' decodes to a space, as on any real server."""
    url = f"{nashville.simulator.base_url}/public/inventory/v1/reservation"
    answer = nashville.session.get(
        url + "?updated_at_ge=2026-01-01T00:00:00+00:00", headers=nashville.headers, timeout=10
    )
    assert answer.status_code == 400
    assert "%2B" in answer.json()["description"]
