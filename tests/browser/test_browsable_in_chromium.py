"""The browsable API in a real browser (Debian's Chromium, headless, driven by Playwright): a person logs in,
lists, creates, edits, shares and rolls back an event through the pages' forms. It takes two screenshots; they
replace the README's (docs/) only when asked: `UPDATE_SCREENSHOTS=1 make test`, so that a test run leaves the
work tree as it found it.

CI installs Chromium (`make test` runs .ci/chromium); elsewhere the test is skipped only when there is no
Chromium and CI is not set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from events import services as event_services
from events.models import Event
from sharing.models import EventPermission
from tests.factories import PASSWORD, UserFactory, make_event

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip("Chromium is not installed (make test installs it in CI)", allow_module_level=True)


def send(page, method: str, body: dict) -> str:
    """Fill the raw-data form with `body` and press the button of `method`; the page's answer's status line."""
    before = page.inner_text(".response-info pre")
    page.fill("#id__content", json.dumps(body))
    page.click(f"form button[data-method='{method}'], form button:text-is('{method}')")
    # The form is sent by the page's script, which then shows the answer in place of the last one.
    page.wait_for_function("old => document.querySelector('.response-info pre')?.innerText !== old", arg=before)
    return page.inner_text(".response-info pre")


@pytest.fixture
def screenshots(tmp_path) -> Path:
    """Where the screenshots go: docs/ with UPDATE_SCREENSHOTS=1, else a temporary directory."""
    return DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path


def assert_png(path: Path, *, width: int) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    assert int.from_bytes(data[16:20], "big") == width, path  # the IHDR's width: the viewport's


@pytest.mark.django_db(transaction=True)
def test_a_person_uses_the_browsable_api_in_chromium(live_server, screenshots):
    me = UserFactory(username="ada")
    UserFactory(username="bob")
    event = make_event(me, title="Planning")
    event = event_services.event_update(event=event, actor=me, changes={"location": "Room 4"}, reason="booked").event
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        # A fresh profile (Playwright passes it as --user-data-dir).
        browser = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=FLAGS, viewport={"width": 1200, "height": 900}
        )
        page = browser.new_page()

        page.goto(f"{live_server.url}/api/events")
        assert "401 Unauthorized" in page.inner_text(".response-info pre")
        page.click("text=Log in")
        page.fill("#id_username", "ada")
        page.fill("#id_password", PASSWORD)
        page.click("#submit-id-submit")
        page.wait_for_url("**/api/events")
        assert "Planning" in page.inner_text(".response-info")

        status = send(
            page,
            "POST",
            {"title": "Made in Chromium", "start_time": "2030-03-01T10:00:00Z", "end_time": "2030-03-01T11:00:00Z"},
        )
        assert "HTTP 201 Created" in status, status
        page.screenshot(path=str(screenshots / "browsable-api.png"), full_page=False)
        assert_png(screenshots / "browsable-api.png", width=1200)

        page.goto(f"{live_server.url}/api/events/{event.pk}")
        assert "HTTP 200 OK" in send(page, "PATCH", {"title": "Planning, edited"})
        page.goto(f"{live_server.url}/api/events/{event.pk}/share")
        assert "HTTP 200 OK" in send(page, "POST", {"users": [{"username": "bob", "role": "viewer"}]})
        page.goto(f"{live_server.url}/api/events/{event.pk}/rollback/1")
        assert "HTTP 200 OK" in send(page, "POST", {"change_reason": "back to the first"})

        # The history pages, with the same session: compare two versions, then read the diff on a phone.
        page.goto(f"{live_server.url}/events/{event.pk}/history")
        page.check("input[name=from][value='2']")
        page.check("input[name=to][value='4']")
        page.click("text=Compare selected versions")
        page.wait_for_url(f"**/events/{event.pk}/diff/2/4")
        assert "(1 intermediate version not shown)" in page.inner_text("body")
        page.set_viewport_size({"width": 390, "height": 844})
        cells = page.eval_on_selector_all(
            "table.diff td.old, table.diff td.new",
            "cells => cells.filter(c => c.offsetWidth).map(c => c.getBoundingClientRect().left)",
        )
        page.screenshot(path=str(screenshots / "history-diff-phone.png"), full_page=True)
        assert_png(screenshots / "history-diff-phone.png", width=390)
        assert cells and len(set(round(x) for x in cells)) == 1, cells  # old above new: one column

        # Restore version 3 from its page (the form carries the CSRF token).
        page.goto(f"{live_server.url}/events/{event.pk}/version/3")
        page.click("text=Restore this version")
        page.wait_for_load_state()
        assert page.url.endswith(f"/events/{event.pk}/history"), page.inner_text("body")

        # A read-only history link, made in the browsable API, for someone without an account here.
        page.goto(f"{live_server.url}/api/events/{event.pk}/history-links")
        answer = send(page, "POST", {})
        assert "HTTP 201 Created" in answer, answer
        link_url = re.search(r'"url": "([^"]+)"', answer).group(1)
        browser.close()

        with tempfile.TemporaryDirectory() as other_profile:
            # Another browser, no session: the link alone reads the pages, carried from page to page.
            stranger = playwright.chromium.launch_persistent_context(
                other_profile, executable_path=CHROMIUM, args=FLAGS
            )
            page = stranger.new_page()
            page.goto(link_url)
            assert "Read through a history link of ada" in page.inner_text("body")
            page.check("input[name=from][value='1']")
            page.check("input[name=to][value='5']")
            page.click("text=Compare selected versions")
            page.wait_for_url(f"**/events/{event.pk}/diff/1/5?link=*")
            assert "(3 intermediate versions not shown)" in page.inner_text("body")
            page.click("a:text-is('v2')")  # an intermediate version's own page, the link carried on
            page.wait_for_url(f"**/events/{event.pk}/version/2?link=*")
            assert "Restore this version" not in page.inner_text("body")  # a link only reads
            stranger.close()

    assert Event.objects.filter(owner=me, title="Made in Chromium").exists()
    event.refresh_from_db()
    # 1 made, 2 moved to Room 4, 3 edited, 4 rolled back to 1, 5 version 3 restored from its page
    assert (event.title, event.location, event.version) == ("Planning, edited", "Room 4", 5)
    assert EventPermission.objects.filter(event=event, user__username="bob", role="viewer").exists()
