"""Regions and lanes: where a parcel started and ended, as the analytics and our estimate group
them.

A region is the country and, where the carrier names one, the state or province of a scan's place
("US-TN", "DE-SN", "GB" when no state is given; "MO" alone when the carrier sends a state but no
country, as USPS answers often do); a lane is the region of the first scan with a place to the
region of the last one ("US-CA → US-NY"). Empty when no scan names a country or state.
"""

from __future__ import annotations

#: Longest state/province part kept in a region code (carriers send "TN", "NSW", "Ontario").
STATE_MAX = 10
#: The longest region code: two letters, a dash, the state part.
REGION_MAX = 3 + STATE_MAX
#: Rollups store their carrier-wide totals under this origin and destination (never a region).
ANY = "*"


def region(country_code: str, state_province: str) -> str:
    """ "US-TN" from ("US", "tn"); "GB" without a state; "TN" without a country; "" without
    either."""
    country = (country_code or "").strip().upper()[:2]
    state = "".join((state_province or "").split()).upper()[:STATE_MAX]
    if country and state:
        return f"{country}-{state}"
    return country or state


def lane_label(origin: str, destination: str, *, unknown: str = "?") -> str:
    """ "US-CA → US-NY" (an unknown end as `unknown`)."""
    return f"{origin or unknown} \N{RIGHTWARDS ARROW} {destination or unknown}"
