"""meltano.yml itself: settings mirror the plugins, overrides work, one environment per region,
and each region's schedule really selects its environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from breezeway_sim import REGIONS
from meltano_helpers import PROJECT_ROOT, MeltanoEnv, assert_ok
from tap_breezeway.tap import TapBreezeway
from target_breezeway_postgres.target import TargetBreezewayPostgres

pytestmark = pytest.mark.slow

KINDS = {"string": "string", "integer": "integer", "number": "decimal", "boolean": "boolean",
         "object": "object", "array": "array"}
PLUGINS = {"tap-breezeway": TapBreezeway, "target-breezeway-postgres": TargetBreezewayPostgres}


def project() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())


def plugin(name: str) -> dict[str, Any]:
    plugins = project()["plugins"]
    return next(p for kind in plugins.values() for p in kind if p["name"] == name)


def expected_setting(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The meltano.yml entry a config_jsonschema property calls for."""
    types = [t for t in spec["type"] if t != "null"]
    if "enum" in spec:
        kind = "options"
    elif spec.get("format") == "date-time":
        kind = "date_iso8601"
    else:
        kind = KINDS[types[0]]
    setting: dict[str, Any] = {"name": name, "kind": kind,
                               "description": spec.get("description", "")}
    if "title" in spec:
        setting["label"] = spec["title"]
    if "default" in spec:
        setting["value"] = spec["default"]
    if spec.get("secret"):
        setting["sensitive"] = True
    if "enum" in spec:
        setting["options"] = [{"label": v, "value": v} for v in spec["enum"]]
    return setting


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_settings_mirror_config_jsonschema(name: str):
    schema = PLUGINS[name].config_jsonschema
    # The SDK adds its built-in settings (stream maps, flattening, ...) to the class's own.
    about = json.loads(json.dumps(schema))
    PLUGINS[name].append_builtin_config(about)
    declared = plugin(name)["settings"]
    expected = [expected_setting(n, spec) for n, spec in about["properties"].items()]
    assert declared == expected
    secrets = {n for n, spec in schema["properties"].items() if spec.get("secret")}
    assert secrets, "every plugin has credentials"
    assert {s["name"] for s in declared if s.get("sensitive")} == secrets


def test_capabilities_are_the_plugins_own():
    for name, cls in PLUGINS.items():
        assert plugin(name)["capabilities"] == [str(c) for c in cls.capabilities], name


def test_usage_stats_and_version_check_are_off():
    settings = project()
    assert settings["send_anonymous_usage_stats"] is False
    assert settings["cli"]["disable_version_check"] is True


def test_one_environment_and_one_schedule_per_region():
    settings = project()
    environments = {e["name"]: e for e in settings["environments"]}
    assert set(environments) == {"demo", *REGIONS}
    for region, company_id in REGIONS.items():
        tap = environments[region]["config"]["plugins"]["extractors"][0]["config"]
        assert (tap["region_code"], tap["company_id"]) == (region, company_id)
        upper = region.upper()
        assert tap["client_id"] == f"${{BREEZEWAY_{upper}_CLIENT_ID}}"
        assert tap["client_secret"] == f"${{BREEZEWAY_{upper}_CLIENT_SECRET}}"
        # The target knows the region before any record: a run failing early is recorded.
        target = environments[region]["config"]["plugins"]["loaders"][0]["config"]
        assert target["region_code"] == region
    jobs = {j["name"]: j["tasks"] for j in settings["jobs"]}
    extractors = {p["name"]: p for p in settings["plugins"]["extractors"]}
    for schedule in settings["schedules"]:
        region = schedule["env"]["MELTANO_ENVIRONMENT"]
        assert schedule["job"] == f"breezeway-sync-{region}"
        assert jobs[schedule["job"]] == [f"tap-breezeway--{region} target-breezeway-postgres "
                                         "breezeway-ops:confirm-deletions"]
        # Its own extractor name (a run dir of its own), nothing else of its own.
        assert extractors[f"tap-breezeway--{region}"] == {
            "name": f"tap-breezeway--{region}", "inherit_from": "tap-breezeway"}
    assert sorted(s["env"]["MELTANO_ENVIRONMENT"] for s in settings["schedules"]) == sorted(REGIONS)


def _config(meltano: MeltanoEnv, system_db: Path, environment: str, plugin_name: str,
            env: dict[str, str]) -> dict[str, Any]:
    result = meltano.run(["--environment", environment, "config", "--unsafe", "print",
                          plugin_name], system_db, env)
    assert_ok(result)
    return json.loads(result.stdout)


def _override_value(spec: dict[str, Any], index: int) -> tuple[str, Any]:
    """A distinct valid value per setting, as env text and as the parsed value."""
    types = [t for t in spec["type"] if t != "null"]
    if "enum" in spec:
        return spec["enum"][-1], spec["enum"][-1]
    if types[0] in ("integer", "number"):
        return str(100 + index), 100 + index
    if types[0] == "boolean":
        value = not spec.get("default", False)
        return str(value).lower(), value
    if spec.get("format") == "date-time":
        return "2021-02-03T04:05:06+00:00", "2021-02-03T04:05:06+00:00"
    if spec.get("pattern"):
        return f"region_{index}", f"region_{index}"
    return f"value-{index}", f"value-{index}"


def _is_scalar(spec: dict[str, Any]) -> bool:
    return not {"object", "array"} & set(spec.get("type", []))


def _is_number(spec: dict[str, Any]) -> bool:
    return "number" in spec["type"]


@pytest.mark.parametrize("name,prefix", [("tap-breezeway", "TAP_BREEZEWAY_"),
                                         ("target-breezeway-postgres",
                                          "TARGET_BREEZEWAY_POSTGRES_")])
def test_every_own_setting_can_be_overridden_by_env_var(meltano: MeltanoEnv, system_db: Path,
                                                        name: str, prefix: str):
    """All but `kind: decimal` ones (see the next test)."""
    properties = PLUGINS[name].config_jsonschema["properties"]
    env, expected = {}, {}
    for index, (setting, spec) in enumerate(properties.items()):
        # Scalars only: the structured SDK built-ins (stream_maps, batch_config, ...) join
        # config_jsonschema once any test has instantiated the plugin class.
        if _is_scalar(spec) and not _is_number(spec):
            env[prefix + setting.upper()], expected[setting] = _override_value(spec, index)
    config = _config(meltano, system_db, "nashville", name, env)
    assert {k: config.get(k) for k in expected} == expected


def test_decimal_setting_from_env_var_breaks_meltano(meltano: MeltanoEnv, system_db: Path):
    """Meltano 4.4.1 turns a `kind: decimal` env value into a Decimal it cannot write to the
    plugin's config file. Known limitation, documented in meltano.yml and .env.example:
    set number settings in meltano.yml instead. When this test fails, Meltano fixed it:
    drop the caveat and this test."""
    numbers = [n for n, spec in TapBreezeway.config_jsonschema["properties"].items()
               if _is_number(spec)]
    assert "max_requests_per_second" in numbers
    result = meltano.run(["--environment", "nashville", "config", "--unsafe", "print",
                          "tap-breezeway"], system_db,
                         {"TAP_BREEZEWAY_MAX_REQUESTS_PER_SECOND": "2.5"})
    assert result.returncode != 0
    assert "Object of type Decimal is not JSON serializable" in result.stderr


def test_only_the_demo_environment_asks_for_the_embedded_database(meltano: MeltanoEnv,
                                                                  system_db: Path):
    loaders = {e["name"]: e["config"]["plugins"]["loaders"][0]["config"]
               for e in project()["environments"]}
    assert {name for name, config in loaders.items() if config.get("embedded")} == {"demo"}
    assert plugin("target-breezeway-postgres").get("config", {}).get("embedded") is None
    demo = _config(meltano, system_db, "demo", "target-breezeway-postgres", {})
    austin = _config(meltano, system_db, "austin", "target-breezeway-postgres",
                     {"BREEZEWAY_DATABASE_URL": ""})
    assert (demo["embedded"], austin["embedded"]) == (True, False)
    assert not austin.get("sqlalchemy_url") and not austin.get("host")


def test_a_region_run_without_database_url_fails_at_start_naming_it(meltano: MeltanoEnv,
                                                                    system_db: Path):
    """A forgotten BREEZEWAY_DATABASE_URL stops the region's run before it reads anything,
    instead of loading production data into an embedded server under .meltano/."""
    result = meltano.run(["--environment", "austin", "invoke", "target-breezeway-postgres"],
                         system_db, {"BREEZEWAY_DATABASE_URL": ""})
    assert result.returncode != 0
    assert "no database configured: set BREEZEWAY_DATABASE_URL" in result.stderr
    assert "using the embedded PostgreSQL" not in result.stderr


def test_region_schedule_runs_its_job_in_the_region_environment(meltano: MeltanoEnv,
                                                                system_db: Path):
    listed = meltano.run(["schedule", "list", "--format", "json"], system_db)
    assert_ok(listed)
    schedules = {s["name"]: s for s in json.loads(listed.stdout)["schedules"]["job"]}
    assert len(schedules) == len(REGIONS)
    austin = schedules["breezeway-austin"]
    assert austin["env"] == {"MELTANO_ENVIRONMENT": "austin"}
    assert austin["job"]["tasks"] == ["tap-breezeway--austin target-breezeway-postgres "
                                      "breezeway-ops:confirm-deletions"]
    dry = meltano.run(["schedule", "run", "breezeway-austin", "--dry-run"], system_db,
                      {"BREEZEWAY_AUSTIN_CLIENT_ID": "id-of-austin"})
    assert_ok(dry)
    assert "Environment 'austin' is active" in dry.stderr
    # The inherited extractor gets the environment's configuration of tap-breezeway.
    config = _config(meltano, system_db, "austin", "tap-breezeway--austin",
                     {"BREEZEWAY_AUSTIN_CLIENT_ID": "id-of-austin"})
    assert (config["region_code"], config["company_id"], config["client_id"]) == (
        "austin", REGIONS["austin"], "id-of-austin")
