"""The one declarative description of how each stream lands in its table.

docs/streams.md is the contract; this module is its machine-readable half. Adding a field
is one `Column(...)` line in the stream's mapping (plus a test). The loader derives staging
tables, upserts, parent joins and child-set replacement from these declarations alone, so
no SQL elsewhere names a data column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from target_breezeway_postgres import conversions as cv


@dataclass(frozen=True)
class Column:
    """One table column: its record field (`source`, default same name) and conversion."""

    name: str
    convert: cv.Converter
    source: str | Callable[[dict[str, Any]], Any] | None = None
    required: bool = False

    def read(self, record: dict[str, Any]) -> Any:
        """The raw value of this column in a record (before conversion)."""
        if callable(self.source):
            return self.source(record)
        return record.get(self.source or self.name)


@dataclass(frozen=True)
class ParentLink:
    """A child row's parent: `source` holds the parent's Breezeway id in the record."""

    stream: str
    source: str
    pk_column: str


@dataclass(frozen=True)
class Lookup:
    """An optional reference resolved when the target exists (task → reservation)."""

    stream: str
    id_column: str
    pk_column: str


# A check across fields of a record whose columns all converted; returns a reject reason
# or None. It reads the raw record (each value it reads is known to be valid).
RowCheck = Callable[[dict[str, Any]], str | None]
# Per staged data column: (column name, record field or None, reader or None, raw value →
# COPY text, required). See TableMapping.copy_plan.
CopyStep = tuple[str, str | None, Callable[[dict[str, Any]], Any] | None,
                 Callable[[Any], str], bool]


@dataclass(frozen=True)
class TableMapping:
    """How one stream maps to one table.

    Parents have `id_column` (the Breezeway id, unique with region_code); children have a
    `parent` and `child_key` (unique with the parent's surrogate key).
    """

    stream: str
    table: str
    key_properties: tuple[str, ...]
    columns: tuple[Column, ...]
    id_column: str | None = None
    parent: ParentLink | None = None
    child_key: str | None = None
    full_table: bool = False
    lookups: tuple[Lookup, ...] = ()
    checks: tuple[RowCheck, ...] = ()
    # A boolean column true for at most one child per parent (a partial unique index).
    one_per_parent: str | None = None
    # Children read with API calls of their own (not nested in the parent record): a failed
    # call is reported in `crawls`, so their sets are replaced only in a run that carries
    # both this stream and `crawls`, and never for a parent whose call failed.
    fetched_per_parent: bool = False
    children: list[str] = field(default_factory=list)

    @cached_property
    def staged_columns(self) -> tuple[Column, ...]:
        """Data columns of the stage table, in order (a child's own key is staged apart)."""
        return tuple(c for c in self.columns if c.name != self.child_key)

    @cached_property
    def copy_plan(self) -> tuple[CopyStep, ...]:
        """The hot loop's view of `staged_columns`: plain tuples, no attribute look-ups."""
        return tuple(
            (c.name, None if callable(c.source) else (c.source or c.name),
             c.source if callable(c.source) else None, c.convert.to_copy, c.required)
            for c in self.staged_columns
        )

    @cached_property
    def flag_index(self) -> int | None:
        """Position of the `one_per_parent` column in `staged_columns`."""
        names = [c.name for c in self.staged_columns]
        return names.index(self.one_per_parent) if self.one_per_parent else None

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def key_columns(self) -> tuple[str, ...]:
        """Table columns of the natural key (the parent side is `parent_pk` for children)."""
        if self.child_key:
            return (self.parent.pk_column if self.parent else "", self.child_key)
        return (self.id_column or "", "region_code")


def _first(field_name: str) -> Callable[[dict[str, Any]], Any]:
    """First element of an array field (guests' `emails` → `email`)."""

    def read(record: dict[str, Any]) -> Any:
        values = record.get(field_name)
        return values[0] if isinstance(values, list) and values else None

    return read


def _false_if_null(field_name: str) -> Callable[[dict[str, Any]], Any]:
    """NOT NULL flags: absent or null upstream means false; anything else is converted."""

    def read(record: dict[str, Any]) -> Any:
        value = record.get(field_name)
        return False if value is None else value

    return read


def _checkin_before_checkout(record: dict[str, Any]) -> str | None:
    """The table's CHECK (checkin_date <= checkout_date), as a reject instead of an error."""
    checkin, checkout = record.get("checkin_date"), record.get("checkout_date")
    if checkin is None or checkout is None:
        return None
    checkin, checkout = cv.DATE.convert(checkin), cv.DATE.convert(checkout)
    if checkin > checkout:
        return "checkin_date is after checkout_date"
    return None


def C(name: str, convert: cv.Converter, source: Any = None, required: bool = False) -> Column:
    """Short constructor so each mapping line reads like the table definition."""
    return Column(name, convert, source, required)


PROPERTIES = TableMapping(
    stream="properties", table="properties", key_properties=("id",), id_column="property_id",
    full_table=True,
    columns=(
        C("property_id", cv.BIGINT, "id", required=True),
        C("company_id", cv.BIGINT),
        C("reference_external_property_id", cv.TEXT),
        C("reference_property_id", cv.TEXT),
        C("reference_company_id", cv.TEXT),
        C("name", cv.TEXT),
        C("status", cv.TEXT),
        C("display", cv.TEXT),
        C("address1", cv.TEXT),
        C("address2", cv.TEXT),
        C("building", cv.TEXT),
        C("city", cv.TEXT),
        C("state", cv.TEXT),
        C("zipcode", cv.TEXT),
        C("country", cv.TEXT),
        C("latitude", cv.numeric(10, 7, -90, 90)),
        C("longitude", cv.numeric(10, 7, -180, 180)),
        C("notes", cv.JSONB),
        C("groups", cv.JSONB),
        C("wifi_name", cv.TEXT),
        C("wifi_password", cv.TEXT),
        C("bedrooms", cv.INTEGER),
        C("bathrooms", cv.numeric(5, 1)),
        C("living_area", cv.numeric(12, 2)),
        C("year_built", cv.INTEGER),
    ),
)

PROPERTY_PHOTOS = TableMapping(
    stream="property_photos", table="property_photos",
    key_properties=("property_id", "photo_id"),
    parent=ParentLink("properties", "property_id", "property_pk"), child_key="photo_id",
    one_per_parent="is_default",
    columns=(
        C("photo_id", cv.BIGINT, required=True),
        C("position", cv.NON_NEGATIVE, required=True),
        C("url", cv.TEXT, required=True),
        C("original_url", cv.TEXT),
        C("caption", cv.TEXT),
        C("is_default", cv.BOOLEAN, _false_if_null("is_default")),
    ),
)

RESERVATIONS = TableMapping(
    stream="reservations", table="reservations", key_properties=("id",),
    id_column="reservation_id",
    parent=ParentLink("properties", "property_id", "property_pk"),
    checks=(_checkin_before_checkout,),
    columns=(
        C("reservation_id", cv.BIGINT, "id", required=True),
        C("property_id", cv.BIGINT, required=True),
        C("reference_property_id", cv.TEXT),
        C("reference_external_property_id", cv.TEXT),
        C("reference_reservation_id", cv.TEXT),
        C("status", cv.TEXT),
        C("access_code", cv.TEXT),
        C("guide_url", cv.TEXT),
        C("note", cv.TEXT),
        C("checkin_date", cv.DATE),
        C("checkin_time", cv.TIME),
        C("checkin_early", cv.BOOLEAN),
        C("checkout_date", cv.DATE),
        C("checkout_time", cv.TIME),
        C("checkout_late", cv.BOOLEAN),
        C("adults", cv.NON_NEGATIVE),
        C("children", cv.NON_NEGATIVE),
        C("pets", cv.NON_NEGATIVE),
        C("source", cv.TEXT),
        C("type_guest_code", cv.TEXT),
        C("type_guest_name", cv.TEXT),
        C("type_stay_code", cv.TEXT),
        C("type_stay_name", cv.TEXT),
        C("type_reservation_code", cv.TEXT),
        C("type_reservation_name", cv.TEXT),
        C("tags", cv.JSONB),
        C("flags", cv.JSONB),
        C("source_created_at", cv.TIMESTAMPTZ, "created_at"),
        C("source_updated_at", cv.TIMESTAMPTZ, "updated_at"),
    ),
)

RESERVATION_GUESTS = TableMapping(
    stream="reservation_guests", table="reservation_guests",
    key_properties=("reservation_id", "position"),
    parent=ParentLink("reservations", "reservation_id", "reservation_pk"), child_key="position",
    columns=(
        C("position", cv.NON_NEGATIVE, required=True),
        C("first_name", cv.TEXT),
        C("last_name", cv.TEXT),
        C("email", cv.TEXT, _first("emails")),
        C("emails", cv.JSONB),
        C("phone_numbers", cv.JSONB),
    ),
)

TASKS = TableMapping(
    stream="tasks", table="tasks", key_properties=("id",), id_column="task_id",
    parent=ParentLink("properties", "home_id", "property_pk"),
    lookups=(Lookup("reservations", "linked_reservation_id", "reservation_pk"),
             Lookup("task_templates", "template_id", "template_pk"),
             Lookup("task_subdepartments", "subdepartment_id", "subdepartment_pk")),
    columns=(
        C("task_id", cv.BIGINT, "id", required=True),
        C("home_id", cv.BIGINT, required=True),
        C("linked_reservation_id", cv.BIGINT),
        C("linked_reservation_external_id", cv.TEXT),
        C("reference_property_id", cv.TEXT),
        C("name", cv.TEXT),
        C("description", cv.TEXT),
        C("type_department", cv.TEXT),
        C("type_priority", cv.TEXT),
        C("status_code", cv.TEXT),
        C("status_name", cv.TEXT),
        C("status_stage", cv.TEXT),
        C("scheduled_date", cv.DATE),
        C("scheduled_time", cv.TIME),
        C("template_id", cv.BIGINT),
        C("template_name", cv.TEXT),
        C("subdepartment_id", cv.BIGINT),
        C("subdepartment_name", cv.TEXT),
        C("source_created_at", cv.TIMESTAMPTZ, "created_at"),
        C("source_updated_at", cv.TIMESTAMPTZ, "updated_at"),
        C("started_at", cv.TIMESTAMPTZ),
        C("finished_at", cv.TIMESTAMPTZ),
        C("created_by_id", cv.BIGINT),
        C("created_by_name", cv.TEXT),
        C("finished_by_id", cv.BIGINT),
        C("finished_by_name", cv.TEXT),
        C("requested_by", cv.TEXT),
        C("paused", cv.BOOLEAN),
        C("report_url", cv.TEXT),
        C("rate_type", cv.TEXT),
        C("rate_paid_amount", cv.MONEY_AMOUNT, "rate_paid"),
        C("rate_paid_currency", cv.MONEY_CURRENCY, "rate_paid"),
        C("bill_to", cv.TEXT),
        C("total_cost", cv.numeric(14, 2)),
        C("estimated_rate", cv.numeric(14, 4)),
        C("total_time", cv.INTERVAL),
        C("estimated_time", cv.INTERVAL),
        C("billable", cv.BOOLEAN),
        C("itemized_cost", cv.BOOLEAN),
        C("task_series_id", cv.BIGINT),
        C("parent_task_id", cv.BIGINT),
        C("checkin_date", cv.DATE),
        C("checkout_date", cv.DATE),
        C("summary", cv.TEXT),
        C("tags", cv.JSONB),
        C("task_tags", cv.JSONB),
    ),
)

TASK_ASSIGNMENTS = TableMapping(
    stream="task_assignments", table="task_assignments",
    key_properties=("task_id", "assignment_id"),
    parent=ParentLink("tasks", "task_id", "task_pk"), child_key="assignment_id",
    columns=(
        C("assignment_id", cv.BIGINT, required=True),
        C("position", cv.NON_NEGATIVE, required=True),
        C("assignee_id", cv.BIGINT),
        C("assignee_name", cv.TEXT),
        C("employee_code", cv.TEXT),
        C("expires_at", cv.TIMESTAMPTZ),
        C("type_task_user_status", cv.TEXT),
    ),
)

TASK_PHOTOS = TableMapping(
    stream="task_photos", table="task_photos", key_properties=("task_id", "photo_id"),
    parent=ParentLink("tasks", "task_id", "task_pk"), child_key="photo_id",
    columns=(
        C("photo_id", cv.BIGINT, required=True),
        C("position", cv.NON_NEGATIVE, required=True),
        C("url", cv.TEXT, required=True),
    ),
)

TASK_COSTS = TableMapping(
    stream="task_costs", table="task_costs", key_properties=("task_id", "cost_id"),
    parent=ParentLink("tasks", "task_id", "task_pk"), child_key="cost_id",
    columns=(
        C("cost_id", cv.BIGINT, required=True),
        C("position", cv.NON_NEGATIVE, required=True),
        C("cost", cv.numeric(14, 2)),
        C("description", cv.TEXT),
        C("bill_to", cv.TEXT),
        C("type_cost_id", cv.INTEGER),
        C("type_cost_code", cv.TEXT),
        C("type_cost_name", cv.TEXT),
        C("source_created_at", cv.TIMESTAMPTZ, "created_at"),
        C("source_updated_at", cv.TIMESTAMPTZ, "updated_at"),
    ),
)

TASK_SUPPLIES = TableMapping(
    stream="task_supplies", table="task_supplies", key_properties=("task_id", "usage_id"),
    parent=ParentLink("tasks", "task_id", "task_pk"), child_key="usage_id",
    columns=(
        C("usage_id", cv.BIGINT, required=True),
        C("position", cv.NON_NEGATIVE, required=True),
        C("supply_id", cv.BIGINT),
        C("name", cv.TEXT),
        C("description", cv.TEXT),
        C("size", cv.TEXT),
        C("quantity", cv.numeric(14, 3)),
        C("unit_cost", cv.numeric(14, 4)),
        C("total_price", cv.numeric(14, 2)),
        C("bill_to", cv.TEXT),
        C("billable", cv.BOOLEAN),
        C("markup_pricing_type", cv.TEXT),
        C("markup_rate", cv.numeric(14, 4)),
    ),
)

PEOPLE = TableMapping(
    stream="people", table="people", key_properties=("id",), id_column="person_id",
    full_table=True,
    columns=(
        C("person_id", cv.BIGINT, "id", required=True),
        C("name", cv.TEXT),
        C("first_name", cv.TEXT),
        C("last_name", cv.TEXT),
        C("active", cv.BOOLEAN),
        C("employee_code", cv.TEXT),
        C("type_role", cv.TEXT),
        C("emails", cv.JSONB),
        C("type_departments", cv.JSONB),
        C("groups", cv.JSONB),
    ),
)

# -- coverage (issue 18): tag links, requirements, reference lists ---------------------------


def tag_links(stream: str, parent: ParentLink) -> TableMapping:
    """An object's tags from its inline array, keyed by tag id."""
    return TableMapping(
        stream=stream, table=stream, key_properties=(parent.source, "tag_id"),
        parent=parent, child_key="tag_id",
        columns=(
            C("tag_id", cv.BIGINT, required=True),
            C("position", cv.NON_NEGATIVE, required=True),
            C("name", cv.TEXT),
        ),
    )


PROPERTY_TAGS = tag_links("property_tags", ParentLink("properties", "property_id", "property_pk"))
RESERVATION_TAGS = tag_links(
    "reservation_tags", ParentLink("reservations", "reservation_id", "reservation_pk"))
TASK_TAGS = tag_links("task_tags", ParentLink("tasks", "task_id", "task_pk"))

TASK_REQUIREMENTS = TableMapping(
    stream="task_requirements", table="task_requirements",
    key_properties=("task_id", "position"),
    parent=ParentLink("tasks", "task_id", "task_pk"), child_key="position",
    fetched_per_parent=True,
    columns=(
        C("position", cv.NON_NEGATIVE, required=True),
        C("section_name", cv.TEXT),
        C("action", cv.JSONB),
        C("response", cv.TEXT),
        C("type_requirement", cv.TEXT),
        C("photo_required", cv.BOOLEAN),
        C("note", cv.TEXT),
        C("home_element_name", cv.TEXT),
    ),
)

TASK_REQUIREMENT_PHOTOS = TableMapping(
    stream="task_requirement_photos", table="task_requirement_photos",
    key_properties=("task_id", "position"),
    parent=ParentLink("tasks", "task_id", "task_pk"), child_key="position",
    fetched_per_parent=True,
    columns=(
        C("position", cv.NON_NEGATIVE, required=True),
        C("requirement_position", cv.NON_NEGATIVE, required=True),
        C("url", cv.TEXT, required=True),
    ),
)


def reference_list(stream: str, id_column: str, *columns: Column) -> TableMapping:
    """A company's reference list: full table per region, soft-deleted when gone."""
    return TableMapping(
        stream=stream, table=stream, key_properties=("id",), id_column=id_column,
        full_table=True, columns=(C(id_column, cv.BIGINT, "id", required=True), *columns),
    )


TASK_TEMPLATES = reference_list(
    "task_templates", "template_id", C("template_name", cv.TEXT), C("department_code", cv.TEXT))
TASK_SUBDEPARTMENTS = reference_list("task_subdepartments", "subdepartment_id",
                                     C("name", cv.TEXT))
SUPPLIES = reference_list(
    "supplies", "supply_id",
    C("company_id", cv.BIGINT),
    C("name", cv.TEXT),
    C("description", cv.TEXT),
    C("size", cv.TEXT),
    C("internal_id", cv.TEXT),
    C("unit_cost", cv.numeric(14, 4)),
    C("stock_count", cv.numeric(14, 3)),
    C("low_stock_alert", cv.BOOLEAN),
    C("low_stock_count", cv.numeric(14, 3)),
    C("supply_category_id", cv.BIGINT),
    C("stock_status_code", cv.TEXT),
    C("stock_status_name", cv.TEXT),
    C("source_created_at", cv.TIMESTAMPTZ, "created_at"),
    C("source_updated_at", cv.TIMESTAMPTZ, "updated_at"),
)
TAG_DEFINITIONS = tuple(
    reference_list(f"{kind}_tag_definitions", "tag_id", C("name", cv.TEXT),
                   C("company_id", cv.BIGINT))
    for kind in ("task", "property", "reservation")
)

# Foreign-key order: every parent table is written before its children in a load unit, and
# the lists tasks look up (templates, subdepartments) before tasks.
LOAD_ORDER: tuple[TableMapping, ...] = (
    PROPERTIES, PROPERTY_PHOTOS, PROPERTY_TAGS, RESERVATIONS, RESERVATION_GUESTS,
    RESERVATION_TAGS, TASK_TEMPLATES, TASK_SUBDEPARTMENTS, TASKS, TASK_ASSIGNMENTS,
    TASK_PHOTOS, TASK_COSTS, TASK_SUPPLIES, TASK_TAGS, TASK_REQUIREMENTS,
    TASK_REQUIREMENT_PHOTOS, PEOPLE, SUPPLIES, *TAG_DEFINITIONS,
)
MAPPINGS: dict[str, TableMapping] = {mapping.stream: mapping for mapping in LOAD_ORDER}
for _mapping in LOAD_ORDER:
    # Child-set replacement: a parent knows its child streams (tasks are not "children" of
    # properties in that sense: a property record does not carry its tasks).
    if _mapping.parent and _mapping.child_key:
        MAPPINGS[_mapping.parent.stream].children.append(_mapping.stream)
