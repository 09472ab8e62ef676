"""Run by tests/dav/interop/test_caldav_library.py with the clients' virtualenv: the python `caldav` library
against a running server, from its base URL, a user name and an app password. Prints one JSON line of what
it saw; any surprise raises (the test shows the traceback)."""

import json
import sys
from datetime import UTC, datetime

import caldav
from caldav.lib import error

url, username, password = sys.argv[1:4]
client = caldav.DAVClient(url=url, username=username, password=password)
principal = client.principal()  # PROPFIND on the base URL, redirected to /dav/: current-user-principal
calendars = {str(c.get_display_name()): c for c in principal.calendars()}  # calendar-home-set, Depth 1
assert set(calendars) == {"Calendar", "Shared with me"}, calendars
calendar = calendars["Calendar"]

UID = "caldav-library-1@example.com"
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//interop//caldav//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20300101T000000Z
DTSTART;TZID=Europe/Berlin:20300610T090000
DTEND;TZID=Europe/Berlin:20300610T100000
SUMMARY:Review
ORGANIZER;CN=Alice:mailto:alice@example.com
ATTENDEE;CN=Bob;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Review soon
TRIGGER:-PT10M
END:VALARM
END:VEVENT
END:VCALENDAR
"""
seen = {}

first_sync = calendar.objects_by_sync_token(load_objects=False)
token = first_sync.sync_token
seen["initial_sync"] = len(list(first_sync))

event = calendar.save_event(ICS.format(uid=UID))  # PUT, If-None-Match: *
seen["created"] = str(event.url)

fetched = calendar.event_by_uid(UID)  # calendar-query with a UID prop-filter, then GET
text = fetched.data.replace("\r\n", "\n").replace("\n ", "")  # unfolded (RFC 5545 §3.1)
seen["alarm_and_attendee_kept"] = all(
    part in text for part in ("BEGIN:VALARM", "TRIGGER:-PT10M", "mailto:bob@example.com", "PARTSTAT=NEEDS-ACTION")
)
assert seen["alarm_and_attendee_kept"], text

component = fetched.icalendar_component
component["SUMMARY"] = "Review (moved)"
fetched.save()  # PUT with If-Match
seen["updated_summary"] = str(calendar.event_by_uid(UID).icalendar_component["SUMMARY"])

tz = UTC
inside = calendar.search(start=datetime(2030, 6, 10, tzinfo=tz), end=datetime(2030, 6, 11, tzinfo=tz), event=True)
outside = calendar.search(start=datetime(2030, 7, 1, tzinfo=tz), end=datetime(2030, 7, 2, tzinfo=tz), event=True)
seen["date_search"] = [len(inside), len(outside)]

changed = calendar.objects_by_sync_token(sync_token=token, load_objects=True)
seen["sync_changed"] = [str(o.icalendar_component["UID"]) for o in changed]
token = changed.sync_token

fetched = calendar.event_by_uid(UID)
fetched.delete()  # DELETE
try:
    calendar.event_by_uid(UID)
    seen["deleted"] = False
except error.NotFoundError:
    seen["deleted"] = True
after_delete = calendar.objects_by_sync_token(sync_token=token, load_objects=True)
seen["sync_deleted_urls"] = sorted(str(u) for u in after_delete.deleted_urls)

# A weekly series with one occurrence moved and one cancelled, expanded by the server (RFC 4791 §9.6.5).
SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//interop//caldav//EN
BEGIN:VEVENT
UID:caldav-library-series@example.com
DTSTAMP:20300101T000000Z
DTSTART;TZID=Europe/Berlin:20300902T090000
DTEND;TZID=Europe/Berlin:20300902T093000
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=Europe/Berlin:20300916T090000
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:caldav-library-series@example.com
DTSTAMP:20300101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20300909T090000
DTSTART;TZID=Europe/Berlin:20300909T110000
DTEND;TZID=Europe/Berlin:20300909T113000
SUMMARY:Standup (moved)
END:VEVENT
END:VCALENDAR
"""
calendar.save_event(SERIES)
instances = calendar.search(
    start=datetime(2030, 9, 1, tzinfo=tz),
    end=datetime(2030, 9, 20, tzinfo=tz),
    event=True,
    expand=True,
    server_expand=True,
)
seen["server_expanded"] = sorted(
    (str(i.icalendar_component["SUMMARY"]), i.icalendar_component["DTSTART"].dt.astimezone(UTC).isoformat())
    for i in instances
)
seen["summary_search"] = [str(e.icalendar_component["SUMMARY"]) for e in calendar.search(event=True, summary="moved")]

print(json.dumps(seen))
