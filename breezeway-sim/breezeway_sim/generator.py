"""Deterministic generation of one region's data, hard cases included.

Everything is derived from (seed, scale, region, today): the same inputs give the same
objects, byte for byte. Dates spread over the last two years and the next three months;
every generated timestamp lies before `today` 00:00 UTC, so anything a test mutates later is
strictly newer than all generated data.

The deliberate hard cases (see `HARD_CASES`) exist in every region at every scale; their
ids are listed in `RegionData.hard_cases` (and `Simulator.hard_cases(region)`).
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from breezeway_sim import reference, timefmt
from breezeway_sim.data import ApiObject, HiddenTimes, RegionData
from breezeway_sim.regions import PROFILES, REGIONS, region_index

#: Smallest region size: enough properties to carry every property hard case separately.
MIN_PROPERTIES = 8

#: name -> (object kind, what is odd about it). Ids per region: `RegionData.hard_cases`.
HARD_CASES: dict[str, tuple[str, str]] = {
    "unicode_property_name": ("property", "name with accents, CJK and emoji"),
    "photo_url_delimiter": ("property", "a photo URL containing the legacy delimiter '--x--'"),
    "duplicate_photo": ("property", "the same photo (same id) twice in `photos`"),
    "text_escapes_property": ("property", "notes with quotes, backslashes, newlines, tabs"),
    "null_lat_long": ("property", "latitude and longitude null"),
    "no_photos": ("property", "empty `photos` array"),
    "two_default_photos": ("property", "two photos with default=true"),
    "big_id_property": ("property", "property id and its photo ids above 2^31"),
    "reservation_missing_property": (
        "reservation",
        "property_id of a property that does not exist",
    ),
    "checkin_after_checkout": ("reservation", "checkin_date later than checkout_date"),
    "long_note_reservation": ("reservation", "a 20 KB `note`"),
    "unicode_guest_name": ("reservation", "guest names with emoji and quotes"),
    "big_id_reservation": ("reservation", "reservation id above 2^31"),
    "task_missing_reservation": ("task", "linked_reservation points to a missing reservation"),
    "mixed_datetime_forms": (
        "task",
        "naive created_at, offset updated_at/started_at in one object",
    ),
    "duplicate_task_photo": ("task", "the same photo (same id) twice in `photos`"),
    "text_escapes_task": ("task", "description with quotes, backslashes, newlines"),
    "nul_char_in_text": ("task", "description containing a NUL character (\\u0000)"),
    "big_id_task": ("task", "task id and its cost/assignment ids above 2^31"),
    "unicode_person_name": ("person", "first/last name with accents and emoji"),
}

BIG_ID = 2**31 + 1_000
TRICKY_TEXT = "He said \"hi\" \\ then left.\nLine two\twith a tab; it's a 'quote' and C:\\path\\"
LONG_NOTE_BYTES = 20 * 1024

FIRST_NAMES = (
    "Ana",
    "Ben",
    "Chloe",
    "Diego",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ivy",
    "Jonas",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
)
LAST_NAMES = (
    "Adams",
    "Brown",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jones",
    "Kim",
    "Lopez",
    "Miller",
    "Nguyen",
    "Okafor",
    "Patel",
    "Ruiz",
    "Smith",
)
PLACE_WORDS = (
    "Creekside",
    "Ridge",
    "Hollow",
    "Bluff",
    "Harbor",
    "Pine",
    "Aspen",
    "Cedar",
    "Summit",
    "Meadow",
    "Lakeview",
    "Sunset",
    "Willow",
    "Stone",
    "River",
    "Oak",
)
PLACE_KINDS = ("Cabin", "Cottage", "Retreat", "Lodge", "House", "Villa", "Loft", "Condo")
STREETS = ("Ridge Rd", "Main St", "Oak Ave", "Lake Dr", "Pine Ln", "Summit Way", "River Rd")
DEPARTMENTS = {
    "housekeeping": ("Departure Clean", "Mid-stay Clean", "Deep Clean", "Linen Change"),
    "inspection": ("Pre-arrival Inspection", "Post-departure Inspection", "Owner Walkthrough"),
    "maintenance": ("Fix leaking faucet", "Replace HVAC filter", "Hot tub service", "Repair deck"),
    "safety": ("Smoke detector check", "Fire extinguisher check", "Pool safety audit"),
}
PRIORITIES = ("normal", "normal", "normal", "high", "low", "urgent", "watch")
ASSIGNMENT_STATUSES = ("pending", "assigned", "accepted", "completed")
COST_TYPES = (
    (1, "labor", "Labor"),
    (2, "material", "Material"),
    (3, "expense", "Expense"),
    (4, "tax", "Tax"),
    (5, "skilled_labor", "Skilled Labor"),
    (6, "non_skilled_labor", "Non-skilled Labor"),
    (7, "mileage", "Mileage"),
    (8, "mark_up", "Mark Up"),
)
BILL_TO = ("owner", "guest", "internal", "damage", "insurance", "review")
SUPPLY_NAMES = (
    "Faucet cover",
    "Toilet paper (12)",
    "Dish soap",
    "Coffee pods",
    "Trash bags",
    "Light bulb LED",
    "HVAC filter 20x25",
    "Shampoo kit",
    "Paper towels",
    "Batteries AA",
)
TASK_STATUS = {
    "drafted": {"code": "drafted", "name": "Drafted", "stage": "new"},
    "created": {"code": "created", "name": "Created", "stage": "new"},
    "in_progress": {"code": "in_progress", "name": "In Progress", "stage": "in_progress"},
    "finished": {"code": "finished", "name": "Finished", "stage": "finished"},
    "closed": {"code": "closed", "name": "Closed", "stage": "closed"},
    "approved": {"code": "approved", "name": "Approved", "stage": "done"},
}
TYPE_GUEST = ({"code": "guest", "name": "Guest"}, {"code": "owner", "name": "Owner"})
TYPE_RESERVATION = ({"code": "booking", "name": "Booking"}, {"code": "hold", "name": "Hold"})

#: First id of each kind in region 0; region i adds i * ID_BLOCK.
ID_STARTS = {
    "property": 1_000_000,
    "photo": 500_000_000,
    "reservation": 80_000_000,
    "task": 88_000_000,
    "assignment": 20_000_000,
    "task_photo": 600_000_000,
    "cost": 40_000_000,
    "usage": 24_000_000,
    "person": 100_000,
    "supply": 180_000,
    "group": 70_000,
    "tag": 3_000,
}
ID_BLOCK = 1_000_000
HISTORY_DAYS = 730
FUTURE_DAYS = 90


def generate_region(
    region: str,
    seed: int,
    property_count: int,
    today: date,
    reservation_timestamps: bool,
    inactive_share: float | None = None,
) -> RegionData:
    """Build one region's data set; the same arguments always give the same data."""
    return RegionBuilder(
        region, seed, property_count, today, reservation_timestamps, inactive_share
    ).build()


class RegionBuilder:
    """Holds the random stream and id counters of one region.

    It stays alive after `build()` so objects added at run time (`new_property`, ...) have
    exactly the shape of generated ones and continue the region's id sequences.
    """

    def __init__(
        self,
        region: str,
        seed: int,
        property_count: int,
        today: date,
        reservation_timestamps: bool,
        inactive_share: float | None = None,
    ) -> None:
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}; known: {sorted(REGIONS)}")
        if inactive_share is not None and not 0 <= inactive_share <= 1:
            raise ValueError("inactive_share must be between 0 and 1")
        self.seed = seed
        self.inactive_share = inactive_share
        self.rng = random.Random(f"breezeway-sim:{seed}:{region}")
        self._random = self.rng.random
        self.region = region
        self.profile = PROFILES[region]
        self.today = today
        self.epoch = timefmt.start_of_day(today) - timedelta(minutes=1)
        self.property_count = max(MIN_PROPERTIES, property_count)
        self.reservation_timestamps = reservation_timestamps
        block = region_index(region) * ID_BLOCK
        self.data = RegionData(region=region, company_id=REGIONS[region])
        self.data.next_ids = {kind: start + block for kind, start in ID_STARTS.items()}
        self.data.hard_cases = {name: [] for name in HARD_CASES}

    # -- helpers --
    def _pick(self, options: Any) -> Any:
        """`random.choice` without its per-call overhead (generation makes ~1M picks)."""
        return options[int(self._random() * len(options))]

    def _int(self, low: int, high: int) -> int:
        """`random.randint(low, high)`, inclusive, for the same reason."""
        return low + int(self._random() * (high - low + 1))

    def _moment_before(self, latest: datetime, max_days: float) -> datetime:
        return latest - timedelta(seconds=int(self.rng.random() * max_days * 86_400))

    def _stamp(self, moment: datetime) -> str:
        """Render a timestamp, naive or with an offset at random, as the API mixes them."""
        return timefmt.render(moment, naive=self.rng.random() < 0.4)

    def _person_name(self) -> tuple[str, str]:
        return self._pick(FIRST_NAMES), self._pick(LAST_NAMES)

    def _mark(self, case: str, object_id: int) -> None:
        self.data.hard_cases[case].append(object_id)

    def build(self) -> RegionData:
        """Generate the region. The cyclic GC is paused meanwhile: it would rescan the
        growing, cycle-free object graph again and again (~20% of the time at scale 1.0)."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._build()
        finally:
            if was_enabled:
                gc.enable()

    def _build(self) -> RegionData:
        data = self.data
        data.companies = [
            {
                "id": data.company_id,
                "name": self.profile.company_name,
                "reference_company_id": f"cmp-{self.region}",
            }
        ]
        self._build_people()
        self._build_supplies()
        self.groups = groups = self._build_groups()
        self.vip_tag = {"id": data.new_id("tag"), "name": "VIP", "company_id": data.company_id}
        self._build_reference_lists()
        for index in range(self.property_count):
            prop = self._property(index, groups)
            data.properties.append(prop)
        self._make_inactive(data.properties)
        for prop in data.properties:
            reservations = [self._reservation(prop) for _ in range(self._int(2, 14))]
            data.reservations.extend(reservations)
            for _ in range(self._int(5, 25)):
                data.tasks.append(self._task(prop, reservations))
        self._add_hard_cases()
        data.reindex()
        return data

    # -- reference lists (no random draws: see reference.py) --
    def _build_reference_lists(self) -> None:
        data, company_id = self.data, self.data.company_id
        data.templates = reference.templates(company_id)
        data.subdepartments = reference.subdepartments(region_index(self.region))
        data.task_tags = reference.task_tags(company_id)
        data.property_tags = [
            {"id": data.new_id("tag"), "name": name, "company_id": company_id}
            for name in reference.PROPERTY_TAG_NAMES
        ]
        data.reservation_tags = [dict(self.vip_tag)] + [
            {"id": data.new_id("tag"), "name": name, "company_id": company_id}
            for name in reference.RESERVATION_TAG_NAMES
        ]

    def _make_inactive(self, properties: list[ApiObject]) -> None:
        """With `inactive_share`, that share of the properties is inactive, the others active.

        A region whose token lists far more units than it runs (our notes §11). Chosen from
        a random stream of its own, so the rest of the data is the same as without the
        option; the first property (it holds the hard-case tasks) stays active.
        """
        if self.inactive_share is None:
            return
        chooser = random.Random(f"breezeway-sim-inactive:{self.seed}:{self.region}")
        candidates = list(range(1, len(properties)))
        inactive = set(chooser.sample(candidates, round(self.inactive_share * len(candidates))))
        for index, prop in enumerate(properties):
            prop["status"] = "inactive" if index in inactive else "active"

    # -- people, supplies, groups --
    def _build_people(self) -> None:
        for index in range(max(6, self.property_count // 20)):
            person_id = self.data.new_id("person")
            first, last = self._person_name()
            status = "active" if index % 9 else self._pick(("invited", "inactive"))
            if index == 0:
                first, last = "Zoë", "Ñúñez 🧹"
                self._mark("unicode_person_name", person_id)
            person = {
                "id": person_id,
                "name": f"{first} {last}",
                "first_name": first,
                "last_name": last,
                "active": status == "active",
                "accept_decline_tasks": self.rng.random() < 0.5,
                "emails": [f"{first.lower()}.{person_id}@staff.example"],
                "employee_code": f"E{person_id}" if self.rng.random() < 0.6 else None,
                "groups": [],
                "type_departments": self.rng.sample(sorted(DEPARTMENTS), 2),
                "type_role": self._pick(("admin", "manager", "cleaner", "inspector")),
                "availability": {"monday": [{"start": "08:00", "end": "17:00"}]},
            }
            self.data.people.append(person)
            self.data.person_status[person_id] = status

    def _build_supplies(self) -> None:
        for name in SUPPLY_NAMES:
            created = self._moment_before(self.epoch, HISTORY_DAYS)
            supply_id = self.data.new_id("supply")
            self.data.supplies.append(
                {
                    "id": supply_id,
                    "company_id": self.data.company_id,
                    "name": name,
                    "description": "",
                    "size": self._pick(("", "S", "M", "L")),
                    "internal_id": f"SKU-{supply_id}",
                    "unit_cost": round(self.rng.uniform(1, 40), 2),
                    "stock_count": self._int(0, 200),
                    "low_stock_alert": True,
                    "low_stock_count": 10,
                    "supply_category_id": self._int(1, 5),
                    "type_stock_status": {"code": "in_stock", "name": "In Stock"},
                    "created_at": self._stamp(created),
                    "updated_at": self._stamp(self._moment_before(self.epoch, 30)),
                }
            )

    def _build_groups(self) -> list[list[ApiObject]]:
        """Group chains (leaf first, then ancestors) a property can belong to."""
        root = {
            "id": self.data.new_id("group"),
            "name": self.profile.company_name,
            "parent_group_id": None,
        }
        chains = []
        for city in self.profile.cities:
            leaf = {"id": self.data.new_id("group"), "name": city, "parent_group_id": root["id"]}
            chains.append([leaf, root])
        return chains

    # -- properties --
    def _property(self, index: int, groups: list[list[ApiObject]]) -> ApiObject:
        rng, profile = self.rng, self.profile
        property_id = self.data.new_id("property")
        city = self._pick(profile.cities)
        name = f"{self._pick(PLACE_WORDS)} {self._pick(PLACE_KINDS)} {index + 1}"
        prop: ApiObject = {
            "id": property_id,
            "company_id": self.data.company_id,
            "name": name,
            "status": rng.choices(("active", "inactive", "pending_delete"), (92, 6, 2))[0],
            "address1": f"{self._int(1, 9999)} {self._pick(STREETS)}",
            "address2": self._pick((None, None, None, "Unit B")),
            "building": None,
            "city": city,
            "state": profile.state,
            "zipcode": f"{profile.zipcode_prefix}{self._int(10, 99)}",
            "country": "us",
            "latitude": round(profile.latitude + rng.uniform(-0.2, 0.2), 6),
            "longitude": round(profile.longitude + rng.uniform(-0.2, 0.2), 6),
            "display": "",
            "notes": {
                "about": "",
                "access": f"Lockbox code {self._int(1000, 9999)}",
                "guest_access": "Keypad at front door",
                "direction": None,
                "trash_info": "Bins out on Tuesday",
                "general": "",
                "wifi": None,
            },
            "groups": [dict(group) for group in self._pick(groups)],
            "photos": [],
            "reference_company_id": None,
            "reference_external_property_id": f"lst_{property_id:x}"
            if rng.random() < 0.8
            else None,
            "reference_property_id": f"ref-{property_id}" if rng.random() < 0.5 else None,
            "wifi_name": f"Guest-{property_id % 1000}",
            "wifi_password": f"pw{self._int(1000, 9999)}",
            "bedrooms": self._int(1, 6),
            "bathrooms": self._int(1, 4),
            "living_area": self._pick((None, self._int(600, 4000))),
            "year_built": self._pick((None, self._int(1950, 2022))),
        }
        prop["photos"] = [
            self._photo(property_id, position) for position in range(self._int(0, 10))
        ]
        created = self._moment_before(self.epoch - timedelta(days=HISTORY_DAYS), 365)
        updated = self._moment_before(self.epoch, 60)
        self.data.hidden_times[("property", property_id)] = HiddenTimes(created, updated)
        self._property_hard_cases(index, prop)
        return prop

    def _photo(self, property_id: int, position: int, photo_id: int | None = None) -> ApiObject:
        photo_id = photo_id if photo_id is not None else self.data.new_id("photo")
        url = f"https://cdn.breezeway-sim.example/{self.region}/{property_id}/{photo_id}.jpg"
        return {
            "id": photo_id,
            "url": url,
            "original_url": self._pick(("", None, url.replace(".jpg", "-orig.jpg"))),
            "caption": self._pick((None, "", "Deck", "Kitchen", "Living room", "View")),
            "default": position == 0,
        }

    def _property_hard_cases(self, index: int, prop: ApiObject) -> None:
        """Properties 0..5 each carry the property hard cases, independent of the scale."""
        property_id = prop["id"]
        if index == 0:
            prop["name"] = "Café Ünïcødé 東京 Cabin 🏔️🌲"
            self._mark("unicode_property_name", property_id)
            prop["photos"] = [self._photo(property_id, 0), self._photo(property_id, 1)]
            prop["photos"][1]["url"] = (
                f"https://cdn.breezeway-sim.example/a--x--b/{property_id}.jpg"
            )
            prop["photos"].append(dict(prop["photos"][1]))
            self._mark("photo_url_delimiter", property_id)
            self._mark("duplicate_photo", property_id)
        elif index == 1:
            prop["notes"]["access"] = TRICKY_TEXT
            prop["notes"]["general"] = "Backslash at end \\"
            prop["latitude"] = prop["longitude"] = None
            self._mark("text_escapes_property", property_id)
            self._mark("null_lat_long", property_id)
        elif index == 2:
            prop["photos"] = []
            self._mark("no_photos", property_id)
        elif index == 3:
            prop["photos"] = [self._photo(property_id, 0), self._photo(property_id, 1)]
            prop["photos"][1]["default"] = True
            self._mark("two_default_photos", property_id)
        elif index == 4:
            big_id = BIG_ID + region_index(self.region)
            times = self.data.hidden_times.pop(("property", property_id))
            prop["id"] = big_id
            self.data.hidden_times[("property", big_id)] = times
            prop["photos"] = [
                self._photo(big_id, n, photo_id=BIG_ID + 100 * region_index(self.region) + n)
                for n in range(2)
            ]
            self._mark("big_id_property", big_id)

    # -- reservations --
    def _reservation(self, prop: ApiObject, checkin: date | None = None) -> ApiObject:
        rng = self.rng
        if checkin is None:
            checkin = self.today + timedelta(days=self._int(-HISTORY_DAYS, FUTURE_DAYS))
        checkout = checkin + timedelta(days=self._int(1, 10))
        reservation_id = self.data.new_id("reservation")
        created = min(self.epoch, timefmt.start_of_day(checkin)) - timedelta(
            seconds=self._int(3_600, 120 * 86_400)
        )
        updated_ceiling = min(self.epoch, timefmt.start_of_day(checkout) + timedelta(days=3))
        updated = created + (updated_ceiling - created) * rng.random()
        guests = [self._guest() for _ in range(self._int(1, 3))]
        type_guest = TYPE_GUEST[0] if rng.random() < 0.9 else TYPE_GUEST[1]
        reservation: ApiObject = {
            "id": reservation_id,
            "property_id": prop["id"],
            "reference_property_id": prop["reference_property_id"],
            "reference_external_property_id": prop["reference_external_property_id"],
            "reference_reservation_id": f"res_{reservation_id:x}" if rng.random() < 0.85 else None,
            "checkin_date": checkin.isoformat(),
            "checkin_time": "16:00:00",
            "checkin_early": self._pick((None, False, True)),
            "checkout_date": checkout.isoformat(),
            "checkout_time": "10:00:00",
            "checkout_late": self._pick((None, False, True)),
            "access_code": f"{self._int(0, 9999):04d}",
            "guide_url": None,
            "note": self._pick((None, None, "", "Early arrival requested")),
            "status": "active" if rng.random() < 0.93 else "cancelled",
            "guests": guests,
            "tags": [dict(self.vip_tag)] if rng.random() < 0.1 else [],
            "flags": [],
            "type_guest": dict(type_guest),
            "type_stay": dict(type_guest),
            "type_reservation": dict(
                TYPE_RESERVATION[0] if rng.random() < 0.95 else TYPE_RESERVATION[1]
            ),
            "adults": self._int(1, 6),
            "children": self._int(0, 3),
            "pets": self._int(0, 1),
            "source": self._pick(("airbnb", "vrbo", "direct", "booking.com")),
        }
        self._set_reservation_times(reservation, created, updated)
        return reservation

    def _set_reservation_times(
        self, reservation: ApiObject, created: datetime, updated: datetime
    ) -> None:
        self.data.hidden_times[("reservation", reservation["id"])] = HiddenTimes(created, updated)
        if self.reservation_timestamps:
            reservation["created_at"] = self._stamp(created)
            reservation["updated_at"] = self._stamp(updated)

    def _guest(self) -> ApiObject:
        first, last = self._person_name()
        phones = [{"number": f"+1615555{self._int(0, 9999):04d}", "type": "mobile"}]
        return {
            "first_name": first,
            "last_name": last,
            "emails": [f"{first.lower()}.{last.lower()}@guest.example"][: self._int(0, 1)],
            "phone_numbers": phones[: self._int(0, 1)],
        }

    # -- tasks --
    def _task(self, prop: ApiObject, reservations: list[ApiObject]) -> ApiObject:
        rng = self.rng
        linked = self._pick(reservations) if reservations and rng.random() < 0.4 else None
        if linked is not None:
            scheduled = date.fromisoformat(linked["checkout_date"])
        else:
            scheduled = self.today + timedelta(days=self._int(-HISTORY_DAYS, FUTURE_DAYS))
        department = self._pick(list(DEPARTMENTS))
        status = self._task_status(scheduled)
        task_id = self.data.new_id("task")
        created = min(self.epoch, timefmt.start_of_day(scheduled)) - timedelta(
            seconds=self._int(3_600, 30 * 86_400)
        )
        started = finished = None
        if status in ("in_progress", "finished", "closed", "approved"):
            started = min(
                self.epoch - timedelta(hours=3),
                timefmt.start_of_day(scheduled) + timedelta(hours=self._int(8, 15)),
            )
            started = max(started, created + timedelta(minutes=5))
        if status in ("finished", "closed", "approved") and started is not None:
            finished = started + timedelta(minutes=self._int(20, 150))
        updated = min(
            self.epoch, (finished or started or created) + timedelta(minutes=self._int(1, 600))
        )
        creator = self._pick(self.data.people)
        finisher = self._pick(self.data.people) if finished else None
        task: ApiObject = {
            "id": task_id,
            "home_id": prop["id"],
            "reference_property_id": prop["reference_property_id"] or "",
            "name": self._pick(DEPARTMENTS[department]),
            "description": self._pick((None, "", "See checklist")),
            "type_department": department,
            "type_priority": self._pick(PRIORITIES),
            "type_task_status": dict(TASK_STATUS[status]),
            "scheduled_date": scheduled.isoformat(),
            "scheduled_time": self._pick((None, "11:00:00", "14:30:00")),
            "template_id": None,
            "template": None,
            "subdepartment": None,
            "created_at": self._stamp(created),
            "updated_at": self._stamp(updated),
            "started_at": self._stamp(started) if started else None,
            "finished_at": self._stamp(finished) if finished else None,
            "created_by": {"id": creator["id"], "name": creator["name"]},
            "finished_by": {"id": finisher["id"], "name": finisher["name"]} if finisher else None,
            "requested_by": self._pick((None, "owner", "guest", "inspector")),
            "paused": rng.random() < 0.02,
            "report_url": f"https://portal.breezeway.io/task/report/{rng.getrandbits(128):032x}",
            "rate_type": self._pick(("hour", "piece")),
            "rate_paid": f"{self._pick((0, 15, 20, 25, 35))}.00 USD",
            "bill_to": self._pick((None, *BILL_TO)),
            "total_cost": None,
            "estimated_rate": self._pick((None, 25.0)),
            "total_time": None,
            "estimated_time": self._pick((None, "01:00:00", "02:30:00")),
            "billable": rng.random() < 0.3,
            "itemized_cost": rng.random() < 0.2,
            "task_series_id": None,
            "parent_task_id": None,
            "summary": {"note": "All good"} if finished and rng.random() < 0.5 else None,
            "checkin_date": linked["checkin_date"] if linked else None,
            "checkout_date": linked["checkout_date"] if linked else None,
            "linked_reservation": {
                "id": linked["id"],
                "external_reservation_id": linked["reference_reservation_id"] or "",
            }
            if linked
            else None,
            "assignments": [],
            "photos": [],
            "costs": [],
            "supplies": [],
            "tags": [],
            "task_tags": [{"id": 5, "name": "Turnover"}] if rng.random() < 0.2 else [],
        }
        if rng.random() < 0.7:
            template_id = reference.TEMPLATE_FIRST_ID + self._int(0, reference.TEMPLATE_COUNT - 1)
            task["template_id"] = template_id
            task["template"] = {"id": template_id, "name": reference.template_name(template_id)}
        task["subdepartment"] = reference.subdepartment_of(region_index(self.region), task_id)
        self._task_children(task, finished or updated)
        return task

    def _task_status(self, scheduled: date) -> str:
        roll = self.rng.random()
        if scheduled < self.today - timedelta(days=2):
            if roll < 0.88:
                return self._pick(("finished", "finished", "closed", "approved"))
            return "created" if roll < 0.95 else "in_progress"
        if scheduled <= self.today:
            return "in_progress" if roll < 0.3 else "created"
        return "drafted" if roll < 0.05 else "created"

    def _task_children(self, task: ApiObject, stamp_base: datetime) -> None:
        for _ in range(self._pick((0, 1, 1, 2))):
            task["assignments"].append(self.assignment())
        for _ in range(self._pick((0, 0, 1, 1, 2))):
            task["photos"].append(self.task_photo())
        for _ in range(self._pick((0, 0, 0, 1, 1, 2))):
            task["costs"].append(self.cost(stamp_base))
        for _ in range(self._pick((0, 0, 0, 1, 1))):
            task["supplies"].append(self.supply_usage())
        if task["costs"]:
            task["total_cost"] = round(sum(cost["cost"] for cost in task["costs"]), 2)
            task["total_time"] = f"0{self._int(0, 3)}:{self._int(0, 59):02d}:00"

    # -- single nested items (also added by churn) --
    def assignment(self) -> ApiObject:
        person = self._pick(self.data.people)
        return {
            "id": self.data.new_id("assignment"),
            "assignee_id": person["id"],
            "name": person["name"],
            "employee_code": person["employee_code"],
            "expires_at": None,
            "type_task_user_status": self._pick(ASSIGNMENT_STATUSES),
        }

    def task_photo(self) -> ApiObject:
        photo_id = self.data.new_id("task_photo")
        return {
            "id": photo_id,
            "url": f"https://cdn.breezeway-sim.example/{self.region}/t/{photo_id}.jpg",
        }

    def cost(self, stamp_base: datetime) -> ApiObject:
        type_id, code, name = self._pick(COST_TYPES)
        amount = round(self.rng.uniform(5, 300), 2)
        stamp = self._stamp(stamp_base)
        return {
            "id": self.data.new_id("cost"),
            "cost": amount,
            "description": self._pick((None, "Parts")),
            "bill_to": self._pick(BILL_TO),
            "type_cost": {"id": type_id, "code": code, "name": name},
            "created_at": stamp,
            "updated_at": stamp,
        }

    def supply_usage(self) -> ApiObject:
        supply = self._pick(self.data.supplies)
        quantity = self._int(1, 4)
        return {
            "id": self.data.new_id("usage"),
            "supply_id": supply["id"],
            "name": supply["name"],
            "description": supply["description"],
            "size": supply["size"],
            "quantity": quantity,
            "unit_cost": supply["unit_cost"],
            "total_price": round(quantity * supply["unit_cost"], 2),
            "bill_to": "owner",
            "billable": True,
            "markup_pricing_type": "percent",
            "markup_rate": 0.0,
        }

    def guest(self) -> ApiObject:
        return self._guest()

    def photo(self, prop: ApiObject) -> ApiObject:
        """A new photo for the end of a property's `photos` (default only if it is the first)."""
        return self._photo(prop["id"], len(prop["photos"]))

    @contextmanager
    def drawing_from(self, rng: random.Random) -> Iterator[None]:
        """Build objects from another random stream (one churn day's), then switch back.

        Objects added by churn then depend only on that day's seed, not on how many
        random numbers earlier run-time additions happened to draw.
        """
        saved = self.rng
        self.rng, self._random = rng, rng.random
        try:
            yield
        finally:
            self.rng, self._random = saved, saved.random

    # -- objects added at run time --
    def new_property(self, now: datetime) -> ApiObject:
        prop = self._property(len(self.data.properties) + MIN_PROPERTIES, self.groups)
        self.data.hidden_times[("property", prop["id"])] = HiddenTimes(now, now)
        self.data.properties.append(prop)
        return prop

    def new_reservation(
        self, prop: ApiObject, now: datetime, checkin: date | None = None
    ) -> ApiObject:
        checkin = checkin or now.date() + timedelta(days=10)
        reservation = self._reservation(prop, checkin=checkin)
        reservation["status"] = "active"
        self._set_reservation_times(reservation, now, now)
        self.data.reservations.append(reservation)
        return reservation

    def new_task(self, prop: ApiObject, now: datetime, scheduled: date | None = None) -> ApiObject:
        task = self._task(prop, [])
        task["scheduled_date"] = (scheduled or now.date() + timedelta(days=3)).isoformat()
        task["type_task_status"] = dict(TASK_STATUS["created"])
        task["started_at"] = task["finished_at"] = task["finished_by"] = task["summary"] = None
        task["created_at"] = task["updated_at"] = timefmt.render(now, naive=False)
        self.data.add_task(task)
        return task

    # -- hard cases that are extra objects --
    def _add_hard_cases(self) -> None:
        """Extra reservations and tasks, all inside the default windows (future, unfinished)."""
        prop = self.data.properties[0]
        soon = self.today + timedelta(days=7)
        make = self._hard_reservation
        orphan = make(prop, soon, "reservation_missing_property")
        orphan["property_id"] = 990_000_000 + region_index(self.region)
        inverted = make(prop, soon, "checkin_after_checkout")
        inverted["checkin_date"], inverted["checkout_date"] = (
            (soon + timedelta(days=3)).isoformat(),
            soon.isoformat(),
        )
        long_note = make(prop, soon, "long_note_reservation")
        long_note["note"] = ("Long note ✓ " * (LONG_NOTE_BYTES // 12 + 1))[:LONG_NOTE_BYTES]
        unicode_guest = make(prop, soon, "unicode_guest_name")
        unicode_guest["guests"][0].update(first_name="Zoë 😀", last_name='O\'Brien "the \\ guest"')
        big = make(
            prop, soon, "big_id_reservation", reservation_id=BIG_ID + region_index(self.region)
        )
        self.data.reservations.extend([orphan, inverted, long_note, unicode_guest, big])
        self._add_hard_tasks(prop, soon)

    def _hard_reservation(
        self, prop: ApiObject, checkin: date, case: str, reservation_id: int | None = None
    ) -> ApiObject:
        reservation = self._reservation(prop, checkin=checkin)
        if reservation_id is not None:
            times = self.data.hidden_times.pop(("reservation", reservation["id"]))
            reservation["id"] = reservation_id
            self.data.hidden_times[("reservation", reservation_id)] = times
        reservation["status"] = "active"
        self._mark(case, reservation["id"])
        return reservation

    def _add_hard_tasks(self, prop: ApiObject, soon: date) -> None:
        edits: dict[str, Callable[[ApiObject], Any]] = {
            "task_missing_reservation": lambda task: task.update(
                linked_reservation={
                    "id": 991_000_000 + region_index(self.region),
                    "external_reservation_id": "res_missing",
                }
            ),
            "mixed_datetime_forms": self._mixed_datetimes,
            "duplicate_task_photo": self._duplicate_task_photo,
            "text_escapes_task": lambda task: task.update(description=TRICKY_TEXT),
            "nul_char_in_text": lambda task: task.update(description="before\u0000after"),
            "big_id_task": self._big_ids,
        }
        for case, edit in edits.items():
            task = self._task(prop, [])
            task["scheduled_date"] = soon.isoformat()
            task["type_task_status"] = dict(TASK_STATUS["created"])
            task["started_at"] = task["finished_at"] = task["finished_by"] = task["summary"] = None
            edit(task)
            self._mark(case, task["id"])
            self.data.tasks.append(task)

    def _mixed_datetimes(self, task: ApiObject) -> None:
        created = self.epoch - timedelta(days=2)
        task["created_at"] = timefmt.render(created, naive=True)
        task["updated_at"] = timefmt.render(created + timedelta(hours=5), naive=False)
        task["started_at"] = timefmt.render(created + timedelta(hours=4), naive=False)
        task["type_task_status"] = dict(TASK_STATUS["in_progress"])

    def _duplicate_task_photo(self, task: ApiObject) -> None:
        photo_id = self.data.new_id("task_photo")
        photo = {
            "id": photo_id,
            "url": f"https://cdn.breezeway-sim.example/{self.region}/t/{photo_id}.jpg",
        }
        task["photos"] = [photo, dict(photo)]

    def _big_ids(self, task: ApiObject) -> None:
        offset = region_index(self.region)
        task["id"] = BIG_ID + offset
        stamp = task["created_at"]
        task["costs"] = [
            {
                "id": BIG_ID + 10 + offset,
                "cost": 12.5,
                "description": None,
                "bill_to": "owner",
                "type_cost": {"id": 1, "code": "labor", "name": "Labor"},
                "created_at": stamp,
                "updated_at": stamp,
            }
        ]
        person = self.data.people[0]
        task["assignments"] = [
            {
                "id": BIG_ID + 20 + offset,
                "assignee_id": person["id"],
                "name": person["name"],
                "employee_code": None,
                "expires_at": None,
                "type_task_user_status": "assigned",
            }
        ]


def utc_now() -> datetime:
    return datetime.now(UTC)
