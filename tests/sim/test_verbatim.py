"""Verbatim answers (for fuzzing clients) and the encoding of text UTF-8 cannot carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from breezeway_sim import Simulator

if TYPE_CHECKING:  # pytest imports conftest itself (importlib mode); this is for readers
    from conftest import ApiClient

ODD_OBJECTS = [
    {"id": {"nested": [1]}, "updated_at": 5},
    "not an object",
    {"id": 3, "name": "caf\u00e9 \U0001f600"},
    None,
]


def test_verbatim_items_are_served_unfiltered_and_paginated(nashville: ApiClient) -> None:
    nashville.simulator.serve_verbatim("nashville", "/property", ODD_OBJECTS)
    first = nashville.get_json("/property", limit=3)
    assert first["total_results"] == 4 and first["total_pages"] == 2
    assert first["results"] + nashville.get_json("/property", limit=3, page=2)["results"] == (
        ODD_OBJECTS
    )
    nashville.simulator.serve_verbatim("nashville", "/property", None)
    restored = nashville.get_json("/property", limit=250)["results"]
    assert len(restored) == len(nashville.simulator.data("nashville").properties)


def test_verbatim_answer_may_depend_on_the_query_and_bare_lists_stay_bare(
    nashville: ApiClient,
) -> None:
    sim = nashville.simulator
    sim.serve_verbatim("nashville", "/task/", lambda query: [{"home": query["home_id"][-1]}])
    assert nashville.get_json("/task/", home_id="42")["results"] == [{"home": "42"}]
    sim.serve_verbatim("nashville", "/people", [1, "two"])
    assert nashville.get_json("/people") == [1, "two"]
    assert nashville.get_json("/reservation", checkin_date_ge="2000-01-01")["total_results"] > 0


def test_verbatim_bytes_are_the_whole_body(nashville: ApiClient) -> None:
    body = b'{"total_pages": 1, "results": [{"id": 1, "latitude": 1e400}]}'
    nashville.simulator.serve_verbatim("nashville", "/property", body)
    assert nashville.get("/property").content == body


def test_verbatim_error_answers_carry_their_status(nashville: ApiClient) -> None:
    nashville.simulator.serve_verbatim("nashville", "/people", {"error": "no"}, status=418)
    answer = nashville.get("/people")
    assert answer.status_code == 418 and answer.json() == {"error": "no"}


def test_verbatim_is_per_region_and_checked(client_for: Callable[..., ApiClient]) -> None:
    nashville, austin = client_for("nashville"), client_for("austin")
    nashville.simulator.serve_verbatim("nashville", "/property", [])
    assert nashville.get_json("/property")["results"] == []
    assert austin.get_json("/property")["results"]
    with pytest.raises(ValueError, match="not a data endpoint"):
        nashville.simulator.serve_verbatim("nashville", "/nowhere", [])
    with pytest.raises(ValueError, match="not simulated"):
        nashville.simulator.serve_verbatim("denver-nowhere", "/property", [])


def test_a_lone_surrogate_is_sent_as_a_json_escape(
    sim_factory: Callable[..., Simulator], client_for: Callable[..., ApiClient]
) -> None:
    # A Python str may hold a lone UTF-16 surrogate; UTF-8 cannot carry it, JSON's \u
    # escape can. The answer must still be sent (not a dropped connection).
    sim = sim_factory(regions=["nashville"], auth_rate_limit=False)
    client = client_for("nashville", sim)
    sim.serve_verbatim("nashville", "/people", [{"id": 1, "name": "a\ud800b", "city": "\u00e9"}])
    answer = client.get("/people")
    assert answer.status_code == 200
    assert b'"a\\ud800b"' in answer.content
    assert answer.content.isascii()  # the fallback escapes everything, still one JSON value
    assert answer.json() == [{"id": 1, "name": "a\ud800b", "city": "\u00e9"}]
