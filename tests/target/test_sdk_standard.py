"""The SDK's standard target tests that apply to a fixed-schema target.

The standard suite feeds sample streams (array_data, camelcase, ...) that have no table in
our schema, so under the default `unknown_stream_policy: skip` they exercise the SDK
plumbing of this target: CLI/about output, SCHEMA/RECORD/STATE handling, record-before-
schema and invalid-schema errors, schema and key updates, duplicate records.

Not applicable, removed below:
- record_missing_key_property: the SDK expects the run to abort with
  MissingKeyPropertiesError; this target quarantines a keyless record in load_rejects and
  loads the rest (tests/target/test_rejects.py proves it), by the product's "nothing lost"
  rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class
from target_breezeway_postgres.target import TargetBreezewayPostgres

SDK_CONFIG: dict[str, Any] = {}
NOT_APPLICABLE = ["test_target_record_missing_key_property"]

_StandardTests = get_target_test_class(TargetBreezewayPostgres, config=SDK_CONFIG)
for _name in NOT_APPLICABLE:
    delattr(_StandardTests, _name)


class TestTargetBreezewayPostgresStandard(_StandardTests):
    @pytest.fixture(autouse=True)
    def _database(self, migrated_db: Any) -> None:
        SDK_CONFIG.update(sqlalchemy_url=migrated_db.url, schema=migrated_db.schema)
