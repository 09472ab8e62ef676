"""How each content field of an event (events/content.py) is written in a VEVENT, defined once.

Export (ical/export.py) and import (ical/parse.py) both read this table; adding a content field without
saying here how iCalendar carries it fails at import time, so the mapping cannot silently fall behind.

| field        | iCalendar                                                                            |
|--------------|--------------------------------------------------------------------------------------|
| title        | SUMMARY                                                                              |
| description  | DESCRIPTION                                                                          |
| location     | LOCATION                                                                             |
| start_time   | DTSTART (TZID of `timezone`; a UTC event with a Z; VALUE=DATE when all-day)          |
| end_time     | DTEND (likewise; on import DURATION is read too; an instant: extra.INSTANT)          |
| timezone     | the TZID parameter of DTSTART/DTEND, and a VTIMEZONE for it                          |
| is_all_day   | VALUE=DATE on DTSTART/DTEND                                                           |
| recurrence   | RRULE, RDATE, EXDATE                                                                 |
| exceptions   | one VEVENT with RECURRENCE-ID per changed occurrence; cancelled ones as EXDATE       |
| ical_extra   | every other property and component of the VEVENT (ical/extra.py)                     |

The bookkeeping is ours: UID (`uid`), SEQUENCE (version − 1), DTSTAMP and LAST-MODIFIED (`updated_at`),
CREATED (`created_at`). What the table does not name is never dropped: it goes to `ical_extra`.
"""

from __future__ import annotations

from events import content

FIELD_PROPERTIES: dict[str, tuple[str, ...]] = {
    "title": ("SUMMARY",),
    "description": ("DESCRIPTION",),
    "location": ("LOCATION",),
    "start_time": ("DTSTART",),
    "end_time": ("DTEND", "DURATION"),
    "timezone": (),
    "is_all_day": (),
    "recurrence": ("RRULE", "RDATE", "EXDATE"),
    "exceptions": ("RECURRENCE-ID",),
    "ical_extra": (),
}
TEXT_PROPERTIES = {"title": "SUMMARY", "description": "DESCRIPTION", "location": "LOCATION"}
BOOKKEEPING = ("UID", "DTSTAMP", "SEQUENCE", "CREATED", "LAST-MODIFIED")

_unmapped = content.missing_from(FIELD_PROPERTIES)
if _unmapped:  # a new content field: say above how iCalendar carries it
    raise ImportError(f"ical/mapping.py has no iCalendar mapping for {_unmapped}")

# Properties of a VEVENT that the fields above hold; everything else is kept verbatim in `ical_extra`.
MODELLED = frozenset(name for names in FIELD_PROPERTIES.values() for name in names) | set(BOOKKEEPING)
# Parameters that the fields themselves express (so they are not kept as extra parameters).
MODELLED_PARAMETERS = frozenset({"TZID", "VALUE"})
