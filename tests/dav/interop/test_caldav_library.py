"""The python `caldav` library against a real server: discovery from the base URL, create, read, update,
date search, sync tokens, delete, an event with VALARM and ATTENDEE round-tripping."""

import json

from .conftest import HERE, run_client


def test_the_caldav_library_does_everything_an_app_does(dav_server):
    account = dav_server.account("caldavlib")
    result = run_client(
        "python", str(HERE / "caldav_session.py"), dav_server.url, account["username"], account["password"]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["initial_sync"] == 0
    assert seen["alarm_and_attendee_kept"] is True
    assert seen["updated_summary"] == "Review (moved)"
    assert seen["date_search"] == [1, 0]
    assert seen["sync_changed"] == ["caldav-library-1@example.com"]
    assert seen["deleted"] is True
    assert [url.rsplit("/", 1)[1] for url in seen["sync_deleted_urls"]] == [seen["created"].rsplit("/", 1)[1]]

    assert seen["server_expanded"] == [
        ["Standup", "2030-09-02T07:00:00+00:00"],
        ["Standup (moved)", "2030-09-09T09:00:00+00:00"],
    ]
    assert seen["summary_search"] == ["Standup"]

    # The same change as through the REST API: versions with the client's name, visible there.
    events = dav_server.api("GET", "/api/events/deleted", token=account["access"])["results"]
    [event] = [e for e in events if e["uid"] == "caldav-library-1@example.com"]
    history = dav_server.api("GET", f"/api/events/{event['id']}/history", token=account["access"])["results"]
    assert [v["version"] for v in history] == [1, 2, 3]
    assert all(v["change_reason"].startswith("CalDAV (python-caldav/") for v in history), history
