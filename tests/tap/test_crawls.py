"""Crawl reports (stream `crawls`): what a run read completely, and what it had to skip.

A target may retire rows only on the evidence of a complete crawl (docs/streams.md,
"Deletions"); these tests pin when the tap gives that evidence and when it must not.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest
from breezeway_sim import Simulator
from tap_harness import queries_of, run_tap

REGION = "nashville"


@pytest.fixture
def sim(sim_factory) -> Simulator:
    return sim_factory(regions=[REGION], scale=0.02, auth_rate_limit=False)


def crawl_records(output) -> list[dict]:
    return output.records.get("crawls", [])


def first_day_after(output) -> date:
    """The first day of the task range a run with this output's final state sends."""
    bookmark = output.final_state["bookmarks"]["tasks"]["partitions"][0]["replication_key_value"]
    return datetime.fromisoformat(bookmark).date() - timedelta(days=1)


def scopes(output, *, complete: bool = True) -> set[str]:
    return {f"{c['stream']} {c['scope']}" for c in crawl_records(output)
            if c["complete"] is complete}


def property_scopes(sim: Simulator) -> set[str]:
    return {f"tasks property:{p['id']}" for p in sim.data(REGION).properties}


def test_a_first_run_reports_every_scope_complete_after_its_last_record(sim: Simulator):
    output = run_tap(sim, REGION)
    data = sim.data(REGION)
    assert scopes(output) == {"reservations region", "tasks region"} | property_scopes(sim)
    assert scopes(output, complete=False) == set()
    by_scope = {f"{c['stream']} {c['scope']}": c for c in crawl_records(output)}
    assert by_scope["reservations region"]["records"] == len(data.reservations)
    assert by_scope["reservations region"]["window_start"].startswith("2015-01-01")
    assert by_scope["tasks region"]["records"] == len(data.tasks)
    assert crawl_records(output)[-1]["scope"] == "region"  # the tasks crawl ended last
    # Each property's report comes right after that property's last task (and children).
    records = [m for m in output.messages if m["type"] == "RECORD"]
    for index, message in enumerate(records):
        if message["stream"] == "crawls" and message["record"]["scope"].startswith("property:"):
            home_id = message["record"]["property_id"]
            later = [m["record"].get("home_id") for m in records[index + 1:]
                     if m["stream"] == "tasks"]
            assert home_id not in later
            assert message["record"]["records"] == len(sim.data(REGION).tasks_of_home(home_id))


def test_an_incremental_run_reports_nothing_complete(sim: Simulator):
    first = run_tap(sim, REGION)
    second = run_tap(sim, REGION, state=first.final_state)
    assert crawl_records(second) == []


def test_reconcile_reads_the_whole_window_whatever_the_bookmark(sim: Simulator):
    first = run_tap(sim, REGION)
    sim.reset_counters()
    again = run_tap(sim, REGION, state=first.final_state, reconcile=True)
    assert {q["updated_at_ge"][:10] for q in queries_of(sim, "/reservation")} == {"2015-01-01"}
    assert {q["updated_at"].split(",")[0] for q in queries_of(sim, "/task/")} == {"2014-12-31"}
    assert scopes(again) == scopes(first)
    assert again.counts()["tasks"] == len(sim.data(REGION).tasks)


def test_a_failing_property_is_skipped_reported_and_read_again_next_run(sim: Simulator):
    first = run_tap(sim, REGION)
    data = sim.data(REGION)
    failing = data.properties[3]["id"]
    task = sim.add_task(REGION, failing)
    sim.fail_calls("/task/", 422, home_id=str(failing))
    second = run_tap(sim, REGION, state=first.final_state)
    assert [(c["scope"], c["complete"], c["reason"]) for c in crawl_records(second)] == [
        (f"property:{failing}", False, "HTTP 422")]
    assert task["id"] not in {t["id"] for t in second.records["tasks"]}
    retry = second.final_state["bookmarks"]["tasks"]["partitions"][0]["retry_properties"]
    assert retry == {str(failing): str(first_day_after(first))}

    sim.clear_failed_calls()
    sim.reset_counters()
    third = run_tap(sim, REGION, state=copy.deepcopy(second.final_state))
    ranges = {q["home_id"]: q["updated_at"] for q in queries_of(sim, "/task/")}
    # The skipped property's range starts where the failed run's did; the others move on.
    assert ranges.pop(str(failing)).split(",")[0] == retry[str(failing)]
    assert {r.split(",")[0] for r in ranges.values()} == {str(first_day_after(second))}
    assert task["id"] in {t["id"] for t in third.records["tasks"]}
    assert "retry_properties" not in third.final_state["bookmarks"]["tasks"]["partitions"][0]


def test_a_failing_property_in_a_full_window_run_is_not_reported_complete(sim: Simulator):
    failing = sim.data(REGION).properties[0]["id"]
    sim.fail_calls("/task/", 503, home_id=str(failing))
    output = run_tap(sim, REGION, backoff_max_tries=2)
    assert scopes(output, complete=False) == {f"tasks property:{failing}", "tasks region"}
    assert scopes(output) == {"reservations region"} | (
        property_scopes(sim) - {f"tasks property:{failing}"})
    assert crawl_records(output)[-1]["reason"] == (
        f"1 of {len(sim.data(REGION).properties)} scopes not crawled")


def test_too_many_failing_properties_fail_the_run(sim: Simulator):
    for prop in sim.data(REGION).properties[:4]:
        sim.fail_calls("/task/", 422, home_id=str(prop["id"]))
    with pytest.raises(Exception, match="Task calls failed for 3 of"):
        run_tap(sim, REGION)


def test_a_stream_map_on_tasks_withholds_their_complete_reports(sim: Simulator, caplog):
    maps = {"tasks": {"__filter__": "home_id != 0"}}
    output = run_tap(sim, REGION, stream_maps=maps)
    assert scopes(output) == {"reservations region"}  # reservations are unaffected
    assert "not reported complete" in caplog.text


def test_a_stream_map_that_only_drops_fields_keeps_the_reports(sim: Simulator):
    """Dropping door codes or guest contacts (docs/operations.md) keeps every record and id:
    deletions stay provable."""
    maps = {"reservations": {"access_code": "__NULL__"}, "tasks": {"description": "__NULL__"}}
    output = run_tap(sim, REGION, stream_maps=maps)
    assert scopes(output) == {"reservations region", "tasks region"} | property_scopes(sim)
    assert all("access_code" not in r for r in output.records["reservations"])


def test_without_the_crawls_stream_selected_nothing_is_reported(sim: Simulator):
    from tap_breezeway.tap import TapBreezeway
    from tap_harness import tap_config

    catalog = TapBreezeway(config=tap_config(sim, REGION)).catalog_dict
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "crawls":
            for metadata in entry["metadata"]:
                if metadata["breadcrumb"] == []:
                    metadata["metadata"]["selected"] = False
    output = run_tap(sim, REGION, catalog=catalog)
    assert "crawls" not in output.records
    assert output.counts()["tasks"] == len(sim.data(REGION).tasks)


def _aged(state: dict, days: float) -> dict:
    """The state with each incremental stream's last full-window run `days` ago."""
    state = copy.deepcopy(state)
    moment = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    for stream in ("reservations", "tasks"):
        state["bookmarks"][stream]["partitions"][0]["last_full_window_at"] = moment
    return state


def test_a_run_reads_the_whole_window_again_once_the_last_one_is_older_than_the_setting(
        sim: Simulator):
    first = run_tap(sim, REGION)
    assert all(first.final_state["bookmarks"][s]["partitions"][0]["last_full_window_at"]
               for s in ("reservations", "tasks"))
    recent = run_tap(sim, REGION, state=_aged(first.final_state, 6))
    assert crawl_records(recent) == []
    due = run_tap(sim, REGION, state=_aged(first.final_state, 8))
    assert scopes(due) == scopes(first)
    never = run_tap(sim, REGION, state=_aged(first.final_state, 8), reconcile_every_days=0)
    assert crawl_records(never) == []
