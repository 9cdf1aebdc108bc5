"""JSON schemas of the streams, built from shared fragments (contract: docs/streams.md).

Every field list here mirrors docs/streams.md; the target reads the same contract, so a field
added here must be added there (and to the target's mapping) in the same change.
"""

from __future__ import annotations

from singer_sdk import typing as th

# -- fragments ---------------------------------------------------------------------------
# Breezeway ids are integers and may exceed 2^31; JSON schema integers have no width.


def required_id(name: str) -> th.Property:
    """A non-null integer id that is (part of) the stream's key."""
    return th.Property(name, th.IntegerType, required=True, nullable=False)


def optional_id(name: str) -> th.Property:
    return th.Property(name, th.IntegerType)


def text(*names: str) -> list[th.Property]:
    return [th.Property(name, th.StringType) for name in names]


def integers(*names: str) -> list[th.Property]:
    return [th.Property(name, th.IntegerType) for name in names]


def numbers(*names: str) -> list[th.Property]:
    return [th.Property(name, th.NumberType) for name in names]


def booleans(*names: str) -> list[th.Property]:
    return [th.Property(name, th.BooleanType) for name in names]


def dates(*names: str) -> list[th.Property]:
    return [th.Property(name, th.DateType) for name in names]


def times(*names: str) -> list[th.Property]:
    """`HH:MM:SS` local times of day (no offset upstream)."""
    return [th.Property(name, th.TimeType) for name in names]


def datetimes(*names: str) -> list[th.Property]:
    """Datetimes, always emitted in UTC with an explicit offset."""
    return [th.Property(name, th.DateTimeType) for name in names]


def code_and_name(prefix: str) -> list[th.Property]:
    """A flattened `{code, name}` object: `<prefix>_code`, `<prefix>_name`."""
    return text(f"{prefix}_code", f"{prefix}_name")


def id_and_name(prefix: str) -> list[th.Property]:
    """A flattened `{id, name}` object: `<prefix>_id`, `<prefix>_name`."""
    return [optional_id(f"{prefix}_id"), *text(f"{prefix}_name")]


def free_object(name: str) -> th.Property:
    """An object whose keys Breezeway does not document; kept whole as JSON."""
    return th.Property(name, th.ObjectType(additional_properties=True))


def array_of(name: str, item: th.JSONTypeHelper) -> th.Property:
    return th.Property(name, th.ArrayType(item))


def any_array(name: str) -> th.Property:
    """An array whose element shape varies upstream (strings or objects); kept as JSON."""
    return th.Property(name, th.ArrayType(th.CustomType({})))


REGION_CODE = th.Property(
    "region_code",
    th.StringType,
    required=True,
    nullable=False,
    description="Region (Breezeway company) the record was read from; from the tap config.",
)
POSITION = th.Property(
    "position",
    th.IntegerType,
    required=True,
    nullable=False,
    description="0-based index of the item in its parent's array.",
)
GROUP = th.ObjectType(
    optional_id("id"), *text("name"), optional_id("parent_group_id"), additional_properties=True
)
TAG = th.ObjectType(optional_id("id"), *text("name"), optional_id("company_id"),
                    additional_properties=True)


def schema(*properties: th.Property) -> dict:
    return th.PropertiesList(*properties).to_dict()


# -- streams -----------------------------------------------------------------------------

PROPERTIES = schema(
    required_id("id"),
    REGION_CODE,
    optional_id("company_id"),
    *text("name", "status", "display", "address1", "address2", "building", "city", "state",
          "zipcode", "country"),
    *numbers("latitude", "longitude"),
    free_object("notes"),
    array_of("groups", GROUP),
    *text("wifi_name", "wifi_password", "reference_company_id",
          "reference_external_property_id", "reference_property_id"),
    *integers("bedrooms"),
    *numbers("bathrooms", "living_area"),
    *integers("year_built"),
)

PROPERTY_PHOTOS = schema(
    required_id("property_id"),
    required_id("photo_id"),
    REGION_CODE,
    POSITION,
    *text("url", "original_url", "caption"),
    *booleans("is_default"),
)

RESERVATIONS = schema(
    required_id("id"),
    REGION_CODE,
    optional_id("property_id"),
    *text("reference_property_id", "reference_external_property_id", "reference_reservation_id",
          "status", "access_code", "guide_url", "note"),
    *dates("checkin_date"),
    *times("checkin_time"),
    *booleans("checkin_early"),
    *dates("checkout_date"),
    *times("checkout_time"),
    *booleans("checkout_late"),
    *integers("adults", "children", "pets"),
    *text("source"),
    *code_and_name("type_guest"),
    *code_and_name("type_stay"),
    *code_and_name("type_reservation"),
    array_of("tags", TAG),
    any_array("flags"),
    *datetimes("created_at", "updated_at"),
)

RESERVATION_GUESTS = schema(
    required_id("reservation_id"),
    POSITION,
    REGION_CODE,
    *text("first_name", "last_name"),
    array_of("emails", th.StringType),
    array_of("phone_numbers", th.ObjectType(additional_properties=True)),
)

TASKS = schema(
    required_id("id"),
    REGION_CODE,
    optional_id("home_id"),
    *text("reference_property_id", "name", "description", "type_department", "type_priority"),
    *text("status_code", "status_name", "status_stage"),
    *dates("scheduled_date"),
    *times("scheduled_time"),
    optional_id("template_id"),
    *text("template_name"),
    *id_and_name("subdepartment"),
    *datetimes("created_at", "updated_at", "started_at", "finished_at"),
    *id_and_name("created_by"),
    *id_and_name("finished_by"),
    *text("requested_by"),
    *booleans("paused"),
    *text("report_url", "rate_type", "rate_paid", "bill_to"),
    *numbers("total_cost", "estimated_rate"),
    *text("total_time", "estimated_time"),
    *booleans("billable", "itemized_cost"),
    optional_id("task_series_id"),
    optional_id("parent_task_id"),
    *dates("checkin_date", "checkout_date"),
    *text("summary"),
    optional_id("linked_reservation_id"),
    *text("linked_reservation_external_id"),
    any_array("tags"),
    array_of("task_tags", th.ObjectType(optional_id("id"), *text("name"),
                                        additional_properties=True)),
)

TASK_ASSIGNMENTS = schema(
    required_id("task_id"),
    required_id("assignment_id"),
    REGION_CODE,
    POSITION,
    optional_id("assignee_id"),
    *text("assignee_name", "employee_code"),
    *datetimes("expires_at"),
    *text("type_task_user_status"),
)

TASK_PHOTOS = schema(
    required_id("task_id"),
    required_id("photo_id"),
    REGION_CODE,
    POSITION,
    *text("url"),
)

TASK_COSTS = schema(
    required_id("task_id"),
    required_id("cost_id"),
    REGION_CODE,
    POSITION,
    *numbers("cost"),
    *text("description", "bill_to"),
    optional_id("type_cost_id"),
    *text("type_cost_code", "type_cost_name"),
    *datetimes("created_at", "updated_at"),
)

TASK_SUPPLIES = schema(
    required_id("task_id"),
    required_id("usage_id"),
    REGION_CODE,
    POSITION,
    optional_id("supply_id"),
    *text("name", "description", "size"),
    *numbers("quantity", "unit_cost", "total_price"),
    *text("bill_to"),
    *booleans("billable"),
    *text("markup_pricing_type"),
    *numbers("markup_rate"),
)

PEOPLE = schema(
    required_id("id"),
    REGION_CODE,
    *text("name", "first_name", "last_name"),
    *booleans("active"),
    *text("employee_code", "type_role"),
    array_of("emails", th.StringType),
    any_array("type_departments"),
    any_array("groups"),
)

COMPANIES = schema(
    required_id("id"),
    REGION_CODE,
    *text("name", "reference_company_id"),
)

CRAWLS = schema(
    REGION_CODE,
    th.Property("stream", th.StringType, required=True, nullable=False,
                description="The stream crawled: `reservations` or `tasks`; "
                "`task_requirements` for requirement calls that failed."),
    th.Property("scope", th.StringType, required=True, nullable=False,
                description="What the crawl covered: `region` (every page of the stream) or "
                "`property:<id>` (one property's tasks); `task:<id>` (one task's requirements)."),
    optional_id("property_id"),
    *datetimes("window_start", "window_end"),
    th.Property("complete", th.BooleanType, required=True, nullable=False,
                description="True: every object of the scope within the window was read. "
                "False: the scope's calls failed (see `reason`); it is read again next run."),
    *text("reason"),
    *integers("records"),
)

# -- coverage (issue 18): requirements, tag links, reference lists, API usage --------------

TASK_REQUIREMENTS = schema(
    required_id("task_id"),
    POSITION,
    REGION_CODE,
    *text("section_name"),
    th.Property("action", th.ArrayType(th.StringType),
                description="What to do; a string upstream is a one-element list here."),
    th.Property("response", th.StringType,
                description="The answer as text (counts and ratings are numbers upstream)."),
    *text("type_requirement"),
    *booleans("photo_required"),
    *text("note", "home_element_name"),
)

TASK_REQUIREMENT_PHOTOS = schema(
    required_id("task_id"),
    th.Property("position", th.IntegerType, required=True, nullable=False,
                description="0-based index among all requirement photos of the task."),
    REGION_CODE,
    th.Property("requirement_position", th.IntegerType, required=True, nullable=False,
                description="`position` of the requirement the photo belongs to."),
    *text("url"),
)


def tag_links(parent_key: str) -> dict:
    """The tags of one object, from its inline array: one record per tag."""
    return schema(required_id(parent_key), required_id("tag_id"), REGION_CODE, POSITION,
                  *text("name"))


PROPERTY_TAGS = tag_links("property_id")
RESERVATION_TAGS = tag_links("reservation_id")
TASK_TAGS = tag_links("task_id")

TAG_DEFINITIONS = schema(
    required_id("id"),
    REGION_CODE,
    *text("name"),
    optional_id("company_id"),
)

TASK_TEMPLATES = schema(
    required_id("id"),
    REGION_CODE,
    *text("template_name", "department_code"),
)

TASK_SUBDEPARTMENTS = schema(
    required_id("id"),
    REGION_CODE,
    *text("name"),
)

SUPPLIES = schema(
    required_id("id"),
    REGION_CODE,
    optional_id("company_id"),
    *text("name", "description", "size", "internal_id"),
    *numbers("unit_cost", "stock_count"),
    *booleans("low_stock_alert"),
    *numbers("low_stock_count"),
    optional_id("supply_category_id"),
    *code_and_name("stock_status"),
    *datetimes("created_at", "updated_at"),
)

UPSTREAM_CALLS = schema(
    REGION_CODE,
    th.Property("stream", th.StringType, required=True, nullable=False,
                description="The stream whose reads made the calls."),
    th.Property("run_started_at", th.DateTimeType, required=True, nullable=False,
                description="When the tap run started (one record per run and stream)."),
    th.Property("calls", th.IntegerType, required=True, nullable=False,
                description="HTTP requests made for the stream in this run, retries included."),
    th.Property("full_window", th.BooleanType,
                description="Incremental streams: whether the run read the whole window."),
    th.Property("properties_listed", th.IntegerType,
                description="tasks: properties the region lists."),
    th.Property("properties_called", th.IntegerType,
                description="tasks: properties given task-list calls in this run."),
)
