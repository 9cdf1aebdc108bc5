"""tap-breezeway: the Singer tap for one Breezeway region (company) per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from typing_extensions import override

from tap_breezeway import records
from tap_breezeway.auth import BreezewayAuthenticator
from tap_breezeway.client import SideStream, refuse_batch_config
from tap_breezeway.output import StateFlushingWriter
from tap_breezeway.ratelimit import RequestPacer
from tap_breezeway.streams import STREAM_TYPES, CrawlsStream, PropertiesStream

#: First day read when neither state nor start_date says otherwise (Breezeway was founded
#: in 2015; an explicit filter is required anyway, see the reservations/tasks streams).
DEFAULT_START_DATE = "2015-01-01T00:00:00+00:00"


def _setting(name: str, kind: Any, title: str, description: str, **kwargs: Any) -> th.Property:
    return th.Property(name, kind, title=title, description=description, **kwargs)


class TapBreezeway(Tap):
    """Reads properties, reservations, tasks (and their nested children) and people."""

    name = "tap-breezeway"
    # No BATCH: a child record must follow its parent (targets replace child sets per
    # parent), and children are written as their parent is read; a BATCH file of parents
    # would arrive after its children. Advertise only what works end to end.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        capability for capability in Tap.capabilities if capability != PluginCapabilities.BATCH
    ]
    # msgspec serialises records several times faster than the default JSON writer.
    message_writer_class = StateFlushingWriter

    config_jsonschema = th.PropertiesList(
        _setting("client_id", th.StringType, "Client ID",
                 "Breezeway API client id of this region.", required=True, secret=True),
        _setting("client_secret", th.StringType, "Client secret",
                 "Breezeway API client secret of this region.", required=True, secret=True),
        _setting("region_code", th.StringType(pattern="^[a-z0-9_]+$"), "Region code",
                 "Our code of the region (company) these credentials belong to, e.g. "
                 "'nashville'. Written into every record.", required=True),
        _setting("company_id", th.IntegerType, "Company ID",
                 "Breezeway company id, sent as `company_id` (needed by cross-company keys)."),
        _setting("start_date", th.DateTimeType, "Start date",
                 "Earliest `updated_at` read by incremental streams on a first run.",
                 default=DEFAULT_START_DATE),
        _setting("api_url", th.StringType, "API URL",
                 "Base URL of the Breezeway API (a simulator in tests).",
                 default="https://api.breezeway.io"),
        _setting("page_size", th.IntegerType(minimum=1), "Page size",
                 "`limit` of paginated list calls.", default=100),
        _setting("max_requests_per_second", th.NumberType(minimum=0), "Max requests per second",
                 "Request-rate budget of the whole run (all streams and threads); 0 for "
                 "no limit.", default=20),
        _setting("max_workers", th.IntegerType(minimum=1), "Max workers",
                 "Parallel per-property task calls.", default=8),
        _setting("backoff_max_tries", th.IntegerType(minimum=1), "Backoff max tries",
                 "Attempts per data request before failing (429, 5xx, timeouts, "
                 "truncated bodies).", default=8),
        _setting("backoff_max_wait_s", th.NumberType(minimum=0), "Backoff max wait (s)",
                 "Longest wait between two attempts, also caps a Retry-After.",
                 default=60),
        _setting("backoff_factor_s", th.NumberType(minimum=0), "Backoff factor (s)",
                 "First wait of the exponential backoff when the API gives no Retry-After.",
                 default=1),
        _setting("auth_max_wait_s", th.NumberType(minimum=0), "Auth max wait (s)",
                 "Longest wait for the token endpoints' one-call-per-minute limit.",
                 default=65),
        _setting("auth_max_tries", th.IntegerType(minimum=1), "Auth max tries",
                 "Attempts per token/refresh call (429, 5xx, dropped connection, timeout) "
                 "before failing.",
                 default=3),
        _setting("bookmark_overlap_s", th.NumberType(minimum=0), "Bookmark overlap (s)",
                 "When records carry no updated_at, the bookmark is the sync start minus "
                 "this margin (clock skew between us and the API).", default=300),
        _setting("reconcile", th.BooleanType, "Reconcile",
                 "Read reservations and tasks over their whole window from start_date, "
                 "ignoring bookmarks, and report each complete crawl in stream `crawls` so a "
                 "target can retire rows deleted upstream (the weekly reconcile job sets it; "
                 "a run without a bookmark does the same).", default=False),
        _setting("reconcile_every_days", th.NumberType(minimum=0), "Reconcile every (days)",
                 "A run reads reservations and tasks over their whole window (as with "
                 "`reconcile`) when the last such run is older than this; 0: only when asked "
                 "or without a bookmark. The price: one full crawl (every page, one task "
                 "call per property) instead of an incremental one.", default=7),
        _setting("max_skipped_properties_ratio", th.NumberType(minimum=0, maximum=1),
                 "Max skipped properties ratio",
                 "A property whose task calls fail is skipped (reported in `crawls`, read "
                 "again next run); when more than this share of the properties (and more "
                 "than 2) fail, the run fails instead.", default=0.05),
        _setting("task_property_statuses", th.ArrayType(th.StringType),
                 "Task property statuses",
                 "Property statuses (case-insensitive) whose properties get per-property task "
                 "calls on an incremental run; `*` (or an empty list): every property. A "
                 "full-window run (first run, `reconcile`, `reconcile_every_days` due) calls "
                 "every listed property whatever its status, and a property whose calls "
                 "failed is read again either way. `/property` lists inactive units too; "
                 "tasks changed on a property outside these statuses arrive with the next "
                 "full-window run.", default=["active", "pending_delete"]),
        _setting("emit_activate_version_messages", th.BooleanType,
                 "Emit ACTIVATE_VERSION messages",
                 "Mark full-table streams (properties, people, the reference lists) complete "
                 "with ACTIVATE_VERSION at their start and end, so targets can retire rows "
                 "missing upstream.",
                 default=True),
    ).to_dict()

    @override
    def discover_streams(self) -> list[Stream]:
        refuse_batch_config(self.config)  # before any output, not at the first stream
        return [stream_type(self) for stream_type in STREAM_TYPES]

    # -- run-wide resources shared by all streams --------------------------------------
    @cached_property
    def api_authenticator(self) -> BreezewayAuthenticator:
        """One per run: the token endpoint allows one call per minute."""
        return BreezewayAuthenticator(
            api_url=self.config["api_url"],
            client_id=self.config["client_id"],
            client_secret=self.config["client_secret"],
            region_code=self.config["region_code"],
            max_wait_s=float(self.config["auth_max_wait_s"]),
            max_tries=int(self.config["auth_max_tries"]),
        )

    @cached_property
    def request_pacer(self) -> RequestPacer:
        return RequestPacer(float(self.config["max_requests_per_second"]) or None)

    def flush_output(self) -> None:
        """Write out the messages our writer still holds (it writes in chunks).

        An injected writer of another kind writes each message itself: nothing to do.
        """
        if isinstance(self.message_writer, StateFlushingWriter):
            self.message_writer.flush()

    def crawls_stream(self) -> SideStream | None:
        """The `crawls` stream when selected: where incremental streams report their crawls."""
        crawls = self.streams.get(CrawlsStream.name)
        return crawls if isinstance(crawls, CrawlsStream) and crawls.selected else None

    @cached_property
    def upstream_calls(self) -> list[dict[str, Any]]:
        """The `upstream_calls` records of the streams that ran (written by that stream,
        which runs last)."""
        return []

    def report_upstream_calls(self, stream: str, calls: int, **details: Any) -> None:
        self.upstream_calls.append({
            "region_code": self.config["region_code"],
            "stream": stream,
            "run_started_at": self.run_started.isoformat(),
            "calls": calls,
            "full_window": details.get("full_window"),
            "properties_listed": details.get("properties_listed"),
            "properties_called": details.get("properties_called"),
        })

    @cached_property
    def run_started(self) -> datetime:
        return datetime.now(UTC)

    _property_ids: list[Any] | None = None

    @cached_property
    def listed_properties(self) -> ListedProperties:
        """What the task crawl and the company-scoped lists need of the property listing."""
        return ListedProperties()

    def remember_property_ids(self, ids: list[Any]) -> None:
        """Called by the properties stream after a complete listing."""
        self._property_ids = self._home_ids(ids)

    def property_ids(self) -> list[Any]:
        """The region's property ids in API order; listed here only if properties did not run."""
        if self._property_ids is None:
            properties = self.streams[PropertiesStream.name]
            assert isinstance(properties, PropertiesStream)
            listed: dict[Any, None] = {}
            for obj in properties.request_records(None):
                self.listed_properties.note(obj)
                key = records.id_key(obj.get("id"))
                if key is not None:
                    listed[key] = None
            self._property_ids = self._home_ids(list(listed))
        return self._property_ids

    def _home_ids(self, ids: list[Any]) -> list[Any]:
        """The ids a task call can take as `home_id` (a number); the others are logged.

        A property whose id is not a number was emitted for the target to judge, but a
        task call with it would be refused (400) and fail the region's tasks.
        """
        usable = [i for i in ids if records.is_numeric_id(i)]
        if len(usable) < len(ids):
            self.logger.warning(
                "%d property id(s) are not numbers: no task call for them (the properties "
                "themselves were emitted)", len(ids) - len(usable),
            )
        return usable

    def property_status(self, property_id: Any) -> Any:
        """The `status` the listing gave a property (None when it had none)."""
        self.property_ids()
        return self.listed_properties.statuses.get(property_id)

    def company_id(self) -> int | None:
        """`company_id` from the config, else the one company the region's properties name
        (None when they name none or several: then the config must say)."""
        configured = self.config.get("company_id")
        if configured is not None:
            return int(configured)
        self.property_ids()
        companies = self.listed_properties.company_ids
        return next(iter(companies)) if len(companies) == 1 else None


@dataclass
class ListedProperties:
    """Facts of each property as listed (before any stream map): its status, its company."""

    statuses: dict[Any, Any] = field(default_factory=dict)
    company_ids: set[int] = field(default_factory=set)

    def note(self, obj: dict[str, Any]) -> None:
        key = records.id_key(obj.get("id"))  # an odd id (a list, an object) is no key
        if key is not None:
            self.statuses[key] = obj.get("status")
        company = obj.get("company_id")
        if isinstance(company, int) and not isinstance(company, bool):
            self.company_ids.add(company)


if __name__ == "__main__":
    TapBreezeway.cli()
