"""Reference lists (tags, templates, subdepartments) and task requirements, derived, not drawn.

Everything here is a pure function of ids (and, for requirements, of the simulator seed and
the task as it stands): nothing draws from a region's random stream, so adding these lists
left every generated object and every churn day as it was. Requirements follow the task:
a finished task's checklist is answered, an open one's is not, so finishing a task (churn
does) changes its requirements exactly as its `updated_at` moves.

The traps of our API notes (§4.8, §11) are served as such: requirement items carry no `id`
and their type is `type_requirement` (no `type` key); `action` is a string or a list of
strings; `response` is a string or a number; photos are bare URLs.
"""

from __future__ import annotations

import random
from typing import Any

from breezeway_sim.data import FINISHED_TASK_CODES, ApiObject

#: Templates tasks refer to: ids TEMPLATE_FIRST_ID .. + TEMPLATE_COUNT - 1.
TEMPLATE_FIRST_ID = 23_000
TEMPLATE_COUNT = 41
#: Only this many are in `/companies/templates`: the others were deleted while tasks still
#: name them (a reference list must never orphan a task).
TEMPLATES_LISTED = 36
TEMPLATE_KINDS = (
    ("housekeeping", "Turnover clean"),
    ("inspection", "Arrival inspection"),
    ("maintenance", "Preventive maintenance"),
    ("safety", "Safety round"),
    ("housekeeping", "Deep clean"),
    ("inspection", "Owner walkthrough"),
)

SUBDEPARTMENTS = ("Pool & Spa", "Landscaping", "Linen", "HVAC", "Pest control")
#: A subdepartment some tasks still name but `/companies/subdepartments` no longer lists.
RETIRED_SUBDEPARTMENT = "Retired crew"
SUBDEPARTMENT_FIRST_ID = 90_000
#: One task in SUBDEPARTMENT_EVERY carries a subdepartment.
SUBDEPARTMENT_EVERY = 4

#: `/task/tags`: the same ids in every region (tasks' `task_tags` use id 5 everywhere).
TASK_TAGS = ((5, "Turnover"), (6, "Owner request"), (7, "Damage report"))
PROPERTY_TAG_NAMES = ("Pet friendly", "Hot tub", "Ski-in/ski-out", "Waterfront")
RESERVATION_TAG_NAMES = ("Returning guest", "Late checkout")

REQUIREMENT_TYPES = ("condition", "checklist", "photo", "count", "text", "yes / no", "rating")
SECTIONS = {
    "Kitchen": ("Refrigerator", "Oven", "Dishwasher", None),
    "Bedroom 1": ("Bed", "Closet", None),
    "Bathroom": ("Shower", "Toilet", None),
    "Living room": ("Sofa", "TV", None),
    "Exterior": ("Hot tub", "Deck", "Grill", None),
}
ACTIONS = (
    "Check for damage",
    "Wipe all surfaces",
    "Count towels",
    "Test remote and batteries",
    "Photograph condition",
    "Check water level and chemicals",
)
#: (min, max) requirements per task department; others get (0, 2).
REQUIREMENT_COUNTS = {"inspection": (4, 8), "housekeeping": (2, 5)}
#: Deliberate gaps in finished checklists, for the data-quality view: a task whose id is a
#: multiple of one of these misses a required photo / leaves an item unanswered.
MISSING_PHOTO_EVERY = 11
MISSING_RESPONSE_EVERY = 13


def template_name(template_id: int) -> str:
    kind = TEMPLATE_KINDS[(template_id - TEMPLATE_FIRST_ID) % len(TEMPLATE_KINDS)]
    return f"{kind[1]} #{template_id - TEMPLATE_FIRST_ID + 1}"


def templates(company_id: int) -> list[ApiObject]:
    """`/companies/templates`: `{id, template_name, department_code}` (our notes §3)."""
    return [
        {
            "id": template_id,
            "template_name": template_name(template_id),
            "department_code": TEMPLATE_KINDS[(template_id - TEMPLATE_FIRST_ID)
                                              % len(TEMPLATE_KINDS)][0],
        }
        for template_id in range(TEMPLATE_FIRST_ID, TEMPLATE_FIRST_ID + TEMPLATES_LISTED)
    ]


def subdepartment_id(region_index: int, number: int) -> int:
    return SUBDEPARTMENT_FIRST_ID + region_index * 1_000 + number


def subdepartments(region_index: int) -> list[ApiObject]:
    """`/companies/subdepartments`: `{id, name}` — the shape a task's `subdepartment` has;
    the list's own item shape is not documented (a guess)."""
    return [{"id": subdepartment_id(region_index, n), "name": name}
            for n, name in enumerate(SUBDEPARTMENTS)]


def subdepartment_of(region_index: int, task_id: int) -> ApiObject | None:
    """The subdepartment a task names, from its id: most tasks none, a few a retired one."""
    if task_id % SUBDEPARTMENT_EVERY:
        return None
    number = (task_id // SUBDEPARTMENT_EVERY) % (len(SUBDEPARTMENTS) + 1)
    if number == len(SUBDEPARTMENTS):
        return {"id": subdepartment_id(region_index, 99), "name": RETIRED_SUBDEPARTMENT}
    return {"id": subdepartment_id(region_index, number), "name": SUBDEPARTMENTS[number]}


def task_tags(company_id: int) -> list[ApiObject]:
    """`/task/tags`: `{id, name, company_id}`."""
    return [{"id": tag_id, "name": name, "company_id": company_id} for tag_id, name in TASK_TAGS]


def task_requirements(seed: int, region: str, task: ApiObject) -> list[ApiObject]:
    """`GET /task/{id}/requirements` of a task as it stands now (a bare list)."""
    task_id = task["id"]
    rng = random.Random(f"breezeway-sim-requirements:{seed}:{region}:{task_id}")
    low, high = REQUIREMENT_COUNTS.get(task.get("type_department") or "", (0, 2))
    answered = (task.get("type_task_status") or {}).get("code") in FINISHED_TASK_CODES
    items = [_requirement(rng, task_id, position, answered)
             for position in range(low + int(rng.random() * (high - low + 1)))]
    if answered and items:
        if task_id % MISSING_PHOTO_EVERY == 0:
            items[0].update(photo_required=True, photos=[])
        if task_id % MISSING_RESPONSE_EVERY == 0:
            items[-1]["response"] = None
    return items


def _requirement(rng: random.Random, task_id: int, position: int, answered: bool) -> ApiObject:
    section = _pick(rng, tuple(SECTIONS))
    kind = _pick(rng, REQUIREMENT_TYPES)
    photo_required = kind == "photo" or rng.random() < 0.2
    action: str | list[str] = _pick(rng, ACTIONS)
    if rng.random() < 0.3:  # some items list several actions
        action = [action, _pick(rng, ACTIONS)]
    photos = []
    if answered and photo_required:
        photos = [f"https://cdn.breezeway-sim.example/requirements/{task_id}/{position}-{n}.jpg"
                  for n in range(1 + int(rng.random() * 2))]
    return {
        "section_name": section,
        "action": action,
        "response": _response(rng, kind) if answered else None,
        "type_requirement": kind,
        "photo_required": photo_required,
        "photos": photos,
        "note": _pick(rng, (None, None, "", "Guest left items behind")) if answered else None,
        "home_element_name": _pick(rng, SECTIONS[section]),
    }


def _response(rng: random.Random, kind: str) -> Any:
    """Answers of each kind; counts and ratings are JSON numbers."""
    if kind == "count":
        return int(rng.random() * 12)
    if kind == "rating":
        return 1 + int(rng.random() * 5)
    if kind == "yes / no":
        return _pick(rng, ("yes", "no"))
    if kind == "condition":
        return _pick(rng, ("Good", "Fair", "Needs attention"))
    if kind == "photo":
        return ""
    return _pick(rng, ("Done", "All clean", "Replaced batteries"))


def _pick(rng: random.Random, options: tuple[Any, ...]) -> Any:
    return options[int(rng.random() * len(options))]
