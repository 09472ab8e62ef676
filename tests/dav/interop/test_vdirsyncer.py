"""vdirsyncer two-way sync between a real server and a local folder: changes on each side, a deletion, and
a conflicting edit resolved by its policy (`conflict_resolution = "b wins"`: the server's version)."""

from pathlib import Path

from .conftest import run_client

CONFIG = """[general]
status_path = "{root}/status/"

[pair calendars]
a = "local"
b = "server"
collections = ["from b"]
conflict_resolution = "b wins"

[storage local]
type = "filesystem"
path = "{root}/local/"
fileext = ".ics"

[storage server]
type = "caldav"
url = "{url}/"
username = "{username}"
password = "{password}"
"""

NEW = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//interop//local//EN\r
BEGIN:VEVENT\r
UID:made-in-the-folder\r
DTSTAMP:20300101T000000Z\r
DTSTART:20300302T080000Z\r
DTEND:20300302T090000Z\r
SUMMARY:Made locally\r
END:VEVENT\r
END:VCALENDAR\r
"""


def _vdirsyncer(root: Path, *args: str):
    result = run_client("vdirsyncer", "-c", str(root / "config"), *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _summary(path: Path) -> str:
    return next(line for line in path.read_text().splitlines() if line.startswith("SUMMARY:"))[len("SUMMARY:") :]


def _local_edit(path: Path, summary: str) -> None:
    text = path.read_text()
    path.write_text(text.replace(f"SUMMARY:{_summary(path)}", f"SUMMARY:{summary}"))


def test_two_way_sync_with_a_local_folder(dav_server, tmp_path):
    account = dav_server.account("vdirsyncer")
    token = account["access"]
    remote = dav_server.api(
        "POST",
        "/api/events",
        {"title": "Made on the server", "start_time": "2030-03-01T10:00:00Z", "end_time": "2030-03-01T11:00:00Z"},
        token=token,
    )
    # Stays on both sides throughout (vdirsyncer refuses to sync a side that was emptied, as a safety).
    stays = dav_server.api(
        "POST",
        "/api/events",
        {"title": "Stays", "start_time": "2030-04-01T10:00:00Z", "end_time": "2030-04-01T11:00:00Z"},
        token=token,
    )
    (tmp_path / "config").write_text(
        CONFIG.format(root=tmp_path, url=dav_server.url, username=account["username"], password=account["password"])
    )
    result = run_client("vdirsyncer", "-c", str(tmp_path / "config"), "discover", input_text="y\n" * 10)
    assert result.returncode == 0, result.stdout + result.stderr
    _vdirsyncer(tmp_path, "sync")

    folder = tmp_path / "local" / "events"
    assert {p.name for p in (tmp_path / "local").iterdir()} == {"events", "shared"}
    server_file = folder / f"{remote['uid']}.ics"
    assert _summary(server_file) == "Made on the server"

    # A change on each side.
    (folder / "made-in-the-folder.ics").write_text(NEW)
    dav_server.api("PATCH", f"/api/events/{remote['id']}", {"title": "Renamed on the server"}, token=token)
    _vdirsyncer(tmp_path, "sync")
    assert _summary(server_file) == "Renamed on the server"
    listed = dav_server.api("GET", "/api/events?page_size=100", token=token)["results"]
    made = next(e for e in listed if e["uid"] == "made-in-the-folder")
    assert made["title"] == "Made locally"
    history = dav_server.api("GET", f"/api/events/{made['id']}/history", token=token)["results"]
    assert history[0]["change_reason"].startswith("CalDAV (vdirsyncer/"), history

    # A conflicting edit: both sides change the server's event; the server wins ("b wins").
    _local_edit(server_file, "Edited in the folder")
    dav_server.api("PATCH", f"/api/events/{remote['id']}", {"title": "Edited on the server"}, token=token)
    _vdirsyncer(tmp_path, "sync")
    assert _summary(server_file) == "Edited on the server"
    assert dav_server.api("GET", f"/api/events/{remote['id']}", token=token)["title"] == "Edited on the server"

    # A local edit alone goes up as a new version.
    _local_edit(server_file, "Edited in the folder")
    _vdirsyncer(tmp_path, "sync")
    assert dav_server.api("GET", f"/api/events/{remote['id']}", token=token)["title"] == "Edited in the folder"

    # A deletion in the folder deletes the event on the server (restorable there, like any delete).
    (folder / "made-in-the-folder.ics").unlink()
    _vdirsyncer(tmp_path, "sync")
    deleted = dav_server.api("GET", "/api/events/deleted", token=token)["results"]
    assert [e["uid"] for e in deleted] == ["made-in-the-folder"]
    # And one on the server removes the file.
    request_delete(dav_server, remote["id"], token)
    _vdirsyncer(tmp_path, "sync")
    assert not server_file.exists()
    assert {p.name for p in folder.iterdir()} == {f"{stays['uid']}.ics"}


def request_delete(dav_server, event_id: int, token: str) -> None:
    dav_server.api("DELETE", f"/api/events/{event_id}", token=token)
