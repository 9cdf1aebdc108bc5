"""The SDK surface: --about, --discover, catalog selection and stream maps."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from breezeway_sim import Simulator
from tap_breezeway.tap import TapBreezeway
from tap_harness import deselect, expected_counts, run_tap, tap_config

TAP = str(Path(sys.executable).with_name("tap-breezeway"))
ALL_STREAMS = {"properties", "property_photos", "reservations", "reservation_guests", "tasks",
               "task_assignments", "task_photos", "task_costs", "task_supplies", "people",
               "companies", "crawls", "upstream_calls", "property_tags", "reservation_tags",
               "task_tags", "task_requirements", "task_requirement_photos", "task_templates",
               "task_subdepartments", "supplies", "task_tag_definitions",
               "property_tag_definitions", "reservation_tag_definitions"}


def test_about_lists_settings_with_titles_and_secrets():
    about = json.loads(subprocess.run([TAP, "--about", "--format", "json"], check=True,
                                      capture_output=True, text=True).stdout)
    settings = about["settings"]["properties"]
    for name in ("client_id", "client_secret", "region_code", "company_id", "start_date",
                 "api_url", "page_size", "max_requests_per_second", "max_workers",
                 "backoff_max_tries", "backoff_max_wait_s", "emit_activate_version_messages"):
        assert settings[name].get("title") and settings[name].get("description"), name
    assert settings["client_id"]["secret"] and settings["client_secret"]["secret"]
    assert settings["emit_activate_version_messages"]["default"] is True
    assert set(about["settings"]["required"]) == {"client_id", "client_secret", "region_code"}
    assert "stream-maps" in about["capabilities"]


def test_discover_lists_every_stream_with_its_keys(module_sim: Simulator, tmp_path: Path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(module_sim, "nashville")))
    catalog = json.loads(subprocess.run([TAP, "--config", str(config), "--discover"],
                                        check=True, capture_output=True, text=True).stdout)
    entries = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert set(entries) == ALL_STREAMS
    assert entries["property_photos"]["key_properties"] == ["property_id", "photo_id"]
    assert entries["reservation_guests"]["key_properties"] == ["reservation_id", "position"]
    assert entries["tasks"]["replication_key"] == "updated_at"
    assert not module_sim.counters  # discovery makes no API call


def test_selecting_only_tasks_lists_properties_without_emitting_them(module_sim: Simulator):
    catalog = TapBreezeway(config=tap_config(module_sim, "austin")).catalog_dict
    module_sim.reset_counters()
    output = run_tap(module_sim, "austin", catalog=deselect(catalog, {"tasks", "task_costs"}))
    assert set(output.records) == {"tasks", "task_costs"}
    expected = expected_counts(module_sim, "austin")
    assert output.counts() == {s: expected[s] for s in ("tasks", "task_costs")}
    calls = Counter(module_sim.counters)
    assert calls["GET /public/inventory/v1/property"] == 1  # the tap needs the property ids
    assert calls["GET /public/inventory/v1/task/"] == len(module_sim.data("austin").properties)
    assert "GET /public/inventory/v1/reservation" not in calls
    assert {m["stream"] for m in output.of_type("SCHEMA")} == {"tasks", "task_costs"}


def test_selecting_only_a_child_stream_still_reads_its_parent(module_sim: Simulator):
    catalog = TapBreezeway(config=tap_config(module_sim, "austin")).catalog_dict
    output = run_tap(module_sim, "austin", catalog=deselect(catalog, {"property_photos"}))
    assert set(output.records) == {"property_photos"}
    assert output.counts() == {"property_photos":
                               expected_counts(module_sim, "austin")["property_photos"]}


def test_stream_maps_apply_to_parents_and_children(module_sim: Simulator):
    maps = {"properties": {"wifi_password": None},
            "task_photos": {"url": None, "host": "url.split('/')[2]"}}
    output = run_tap(module_sim, "austin", stream_maps=maps)
    assert all("wifi_password" not in p for p in output.records["properties"])
    assert output.records["task_photos"]
    assert all("url" not in p and p["host"] for p in output.records["task_photos"])
    (photo_schema,) = output.of_type("SCHEMA", "task_photos")
    assert "host" in photo_schema["schema"]["properties"]
