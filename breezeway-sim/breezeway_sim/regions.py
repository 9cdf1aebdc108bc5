"""The eight Breezeway regions (companies) the legacy ETL served, and their fake credentials.

Property counts are split unevenly on purpose: a tap that only works when every region looks
alike would pass against an even split.
"""

from __future__ import annotations

from dataclasses import dataclass

REGIONS: dict[str, int] = {
    "nashville": 8558,
    "austin": 8561,
    "smoky": 8399,
    "hilton_head": 12314,
    "breckenridge": 10530,
    "sea_ranch": 14717,
    "mammoth": 14720,
    "hill_country": 8559,
}

#: Properties over all regions at scale 1.0 (the legacy system's size).
PROPERTIES_AT_SCALE_1 = 3689


@dataclass(frozen=True)
class RegionProfile:
    """What makes one region's generated data look like its place."""

    company_name: str
    cities: tuple[str, ...]
    state: str
    zipcode_prefix: str
    latitude: float
    longitude: float
    weight: float


PROFILES: dict[str, RegionProfile] = {
    "nashville": RegionProfile(
        "Music City Stays", ("Nashville", "Franklin"), "TN", "372", 36.16, -86.78, 0.22
    ),
    "austin": RegionProfile(
        "Austin Getaways", ("Austin", "Round Rock"), "TX", "787", 30.27, -97.74, 0.10
    ),
    "smoky": RegionProfile(
        "Smoky Mountain Cabins",
        ("Gatlinburg", "Pigeon Forge", "Sevierville"),
        "TN",
        "377",
        35.71,
        -83.51,
        0.20,
    ),
    "hilton_head": RegionProfile(
        "Island Rentals", ("Hilton Head Island", "Bluffton"), "SC", "299", 32.22, -80.75, 0.12
    ),
    "breckenridge": RegionProfile(
        "Summit Lodging", ("Breckenridge", "Frisco"), "CO", "804", 39.48, -106.04, 0.09
    ),
    "sea_ranch": RegionProfile(
        "Sea Ranch Escapes", ("The Sea Ranch", "Gualala"), "CA", "954", 38.71, -123.45, 0.07
    ),
    "mammoth": RegionProfile(
        "Mammoth Mountain Homes", ("Mammoth Lakes",), "CA", "935", 37.65, -118.97, 0.11
    ),
    "hill_country": RegionProfile(
        "Hill Country Retreats", ("Fredericksburg", "Wimberley"), "TX", "786", 30.27, -98.87, 0.09
    ),
}


def region_index(region: str) -> int:
    """A stable small integer per region, used to give every region its own id ranges."""
    return list(REGIONS).index(region)


def credentials_for(region: str) -> tuple[str, str]:
    """The simulator-only client id and secret of a region (fake, deterministic)."""
    return f"sim-{region}-id", f"sim-{region}-secret"


def property_counts(scale: float, regions: list[str], minimum: int) -> dict[str, int]:
    """Split `PROPERTIES_AT_SCALE_1 * scale` over all regions by weight (largest remainder).

    The split is computed over all eight regions so a region has the same size whether or
    not the others are simulated; `minimum` keeps every hard case present at tiny scales.
    """
    total = round(PROPERTIES_AT_SCALE_1 * scale)
    shares = {name: total * PROFILES[name].weight for name in REGIONS}
    counts = {name: int(share) for name, share in shares.items()}
    leftover = total - sum(counts.values())
    by_remainder = sorted(REGIONS, key=lambda name: (counts[name] - shares[name], name))
    for name in by_remainder[:leftover]:
        counts[name] += 1
    return {name: max(minimum, counts[name]) for name in regions}
