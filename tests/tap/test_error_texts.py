"""The API's error texts reach exceptions and logs scrubbed of secrets, on one line, bounded.

The simulator answers with error bodies that echo what a client sent (its secret, a JWT,
an Authorization header), as a careless API or proxy may; the tap's message keeps the
status, the call and the API's harmless words.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from breezeway_sim import Simulator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from tap_harness import run_tap

FAKE_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJueCJ9.c2lnbmF0dXJl"
#: What a message may be at most: our words, the call, and the API's words bounded.
MESSAGE_BOUND = 1100


@pytest.fixture
def sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory(regions=["nashville"], auth_rate_limit=False)


def echoing_body(sim: Simulator) -> dict:
    client_id, client_secret = sim.credentials("nashville")
    return {
        "error": f"invalid request from {client_id}: client_secret={client_secret}",
        "description": (f"forged\nlog line; header was Authorization: JWT {FAKE_JWT}; "
                        f"body had %22client_secret%22%3A%22{client_secret}%22 " + "x" * 5000),
        "details": {"message": {"echo": client_secret, "hint": "rotate the key"}},
    }


def assert_clean(text: str, sim: Simulator) -> None:
    for secret in sim.credentials("nashville"):
        assert secret not in text
    assert FAKE_JWT[4:30] not in text and "\n" not in text


def test_a_fatal_api_error_echoing_secrets_is_scrubbed_and_bounded(sim, caplog):
    caplog.set_level(logging.DEBUG)
    sim.serve_verbatim("nashville", "/property", echoing_body(sim), status=400)
    with pytest.raises(FatalAPIError) as failure:
        run_tap(sim, "nashville")
    message = str(failure.value)
    assert message.startswith("Breezeway answered HTTP 400 for GET /public/inventory/v1/property")
    assert "(stream 'properties', region 'nashville')" in message
    assert "invalid request from" in message and "forged log line" in message
    assert len(message) <= MESSAGE_BOUND
    assert_clean(message, sim)
    assert_clean(caplog.text.replace("\n", " "), sim)


def test_a_retried_5xx_echoing_secrets_is_scrubbed(sim, caplog):
    caplog.set_level(logging.DEBUG)
    sim.serve_verbatim("nashville", "/property", echoing_body(sim), status=503)
    with pytest.raises(RetriableAPIError) as failure:
        run_tap(sim, "nashville", backoff_max_tries=2)
    assert "HTTP 503" in str(failure.value)
    assert_clean(str(failure.value), sim)
    assert_clean(caplog.text.replace("\n", " "), sim)


def test_an_unexpected_answer_shape_is_reported_scrubbed(sim):
    client_secret = sim.credentials("nashville")[1]
    sim.serve_verbatim("nashville", "/property",
                       json.dumps({"message": f"secret={client_secret}"}).encode())
    with pytest.raises(FatalAPIError, match="Unexpected response shape") as failure:
        run_tap(sim, "nashville")
    assert_clean(str(failure.value), sim)


def test_error_fields_of_any_json_type_are_shown_as_json(sim):
    sim.serve_verbatim("nashville", "/property",
                       {"error": {"code": 7, "reasons": ["quota", None]}, "message": 5},
                       status=422)
    with pytest.raises(FatalAPIError) as failure:
        run_tap(sim, "nashville")
    assert '{"code":7,"reasons":["quota",null]}; 5' in str(failure.value)
