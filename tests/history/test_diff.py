"""GET /api/events/{id}/diff/{v1}/{v2} and the HTML pages: what changed, word by word, safely rendered."""

from __future__ import annotations

import itertools
import random
import re
import string
from datetime import timedelta

import pytest

from accounts.tokens import tokens_for
from history import diff
from history.diff import word_diff
from tests.factories import BASE_TIME, UserFactory, make_event
from tests.helpers import edit

pytestmark = pytest.mark.django_db


def spelled(runs, side: str) -> str:
    keep = {"old": ("equal", "delete"), "new": ("equal", "insert")}[side]
    return "".join(run["text"] for run in runs if run["op"] in keep)


# --- the word diff -------------------------------------------------------------------------------


def test_word_diff_marks_inserted_and_deleted_words():
    runs = word_diff("Meet in room 4 at noon", "Meet in the big room at noon")

    assert runs == [
        {"op": "equal", "text": "Meet in "},
        {"op": "insert", "text": "the big "},
        {"op": "equal", "text": "room"},
        {"op": "delete", "text": " 4"},
        {"op": "equal", "text": " at noon"},
    ]


def test_changes_separated_by_a_space_or_a_mark_read_as_one():
    assert word_diff("<b>x</b>", "<i>y</i>") == [
        {"op": "equal", "text": "<"},
        {"op": "delete", "text": "b>x</b"},
        {"op": "insert", "text": "i>y</i"},
        {"op": "equal", "text": ">"},
    ]


@pytest.mark.parametrize("seed", range(25))
def test_runs_always_spell_both_texts(seed):
    rng = random.Random(seed)
    words = ["alpha", "beta", " ", "  ", "\n", ",", ".", "gamma", "δέλτα", "<b>", "&amp;"]
    old = "".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
    new = "".join(rng.choice(words) for _ in range(rng.randint(0, 40)))

    runs = word_diff(old, new)

    assert spelled(runs, "old") == old and spelled(runs, "new") == new
    assert all(run["text"] for run in runs)
    assert all(a["op"] != b["op"] for a, b in itertools.pairwise(runs))


def _steps_walked(monkeypatch) -> list[int]:
    """What each search for the longest match of the diffs below walks, counted here from the matcher's own
    index (not from the diff's charge): every token of its part of `a`, and every pair of equal tokens each
    of them takes part in (SequenceMatcher.find_longest_match's two loops)."""
    walked: list[int] = []
    find = diff._BoundedMatcher.find_longest_match

    def counting(self, alo=0, ahi=None, blo=0, bhi=None):
        found = find(self, alo, ahi, blo, bhi)  # a search refused by the budget walks nothing
        end = len(self.a) if ahi is None else ahi
        walked.append(sum(1 + len(self.b2j.get(self.a[i], ())) for i in range(alo, end)))
        return found

    monkeypatch.setattr(diff._BoundedMatcher, "find_longest_match", counting)
    return walked


def _few_letters(count: int) -> list[str]:
    letters = string.ascii_lowercase
    return ["".join(t) for length in (1, 2, 3) for t in itertools.product(letters, repeat=length)][:count]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("x " * 500, "y x " * 250),  # cubic for SequenceMatcher: 46 million pairs, 2.5 s, before the budget
        (" ".join(f"a{i}" for i in range(500)), " ".join(f"a{i}" if i % 2 else f"b{i}" for i in range(500))),
        ("x " * 90, "y x " * 45),  # too short for frequent tokens to be ignored: one change
        # Distinct words, then separators only `a` has: each match splits off only the front of `a`, so about
        # 2,600 searches each walk almost all of it (1.2 s when only the pairs of equal tokens were charged).
        (",".join(_few_letters(1300)).ljust(10_000, ","), "-" + "-".join(_few_letters(1300)) + "-"),
    ],
)
def test_a_text_of_a_few_tokens_over_and_over_stays_within_the_budget_and_is_still_a_diff(monkeypatch, old, new):
    monkeypatch.setattr(diff, "STEPS_BUDGET", 20_000)
    walked = _steps_walked(monkeypatch)
    runs = word_diff(old, new)
    assert spelled(runs, "old") == old and spelled(runs, "new") == new
    assert sum(walked) <= 2 * 20_000  # two tries at most, each stopped before its budget
    assert any(run["op"] == "delete" for run in runs) and any(run["op"] == "insert" for run in runs)


def test_an_edit_to_a_long_text_is_the_exact_diff_within_the_budget(monkeypatch):
    rng = random.Random(7)
    words = [
        rng.choice(["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", f"w{rng.randint(0, 300)}"])
        for _ in range(500)
    ]
    old = " ".join(words)
    changed = list(words)
    for index in rng.sample(range(len(changed)), 50):
        changed[index] = "CHANGED"
    new = " ".join(changed)
    walked = _steps_walked(monkeypatch)
    runs = word_diff(old, new)
    assert sum(walked) <= diff.STEPS_BUDGET  # the exact diff, no fallback
    assert "".join(run["text"] for run in runs if run["op"] == "insert").count("CHANGED") == 50


# --- the API -------------------------------------------------------------------------------------


def test_diff_names_only_changed_fields_with_readable_values(api, event_with_roles):
    event, users = event_with_roles
    event = edit(event, users["owner"], description="Bring notes", timezone="Europe/Paris")
    edit(
        event,
        users["editor"],
        description="Bring your notes",
        start_time=BASE_TIME + timedelta(days=1),
        end_time=BASE_TIME + timedelta(days=1, hours=1),
        recurrence={"rrule": "FREQ=DAILY;COUNT=5", "exdates": ["2030-01-09T09:00:00Z"], "rdates": []},
    )

    response = api.as_user(users["viewer"]).get(f"/api/events/{event.pk}/diff/2/3")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from_version"], body["to_version"]) == (2, 3)
    changes = body["changes"]
    assert set(changes) == {"description", "start_time", "end_time", "recurrence_pattern"}
    assert changes["description"]["old"] == "Bring notes"
    assert changes["description"]["new"] == "Bring your notes"
    assert changes["description"]["diff"] == [
        {"op": "equal", "text": "Bring "},
        {"op": "insert", "text": "your "},
        {"op": "equal", "text": "notes"},
    ]
    assert changes["description"]["size_change"] == 5
    assert changes["start_time"] == {
        "old": "2030-01-07T10:00:00+01:00",
        "new": "2030-01-08T10:00:00+01:00",
        "old_display": "Mon 7 Jan 2030 10:00 CET",
        "new_display": "Tue 8 Jan 2030 10:00 CET",
    }
    recurrence = changes["recurrence_pattern"]
    assert recurrence["old"] is None
    assert recurrence["new"]["rrule"] == "FREQ=DAILY;COUNT=5"
    assert recurrence["new_display"] == "daily, 5 times"
    assert recurrence["exdates_added"] == ["2030-01-09T09:00:00Z"]
    assert recurrence["exdates_removed"] == recurrence["rdates_added"] == recurrence["rdates_removed"] == []


def test_diff_works_in_either_order(api, user):
    event = make_event(user, title="Old title")
    edit(event, user, title="New title")
    client = api.as_user(user)

    forward = client.get(f"/api/events/{event.pk}/diff/1/2").json()
    backward = client.get(f"/api/events/{event.pk}/diff/2/1").json()

    assert (forward["from_version"], forward["to_version"]) == (1, 2)
    assert (backward["from_version"], backward["to_version"]) == (2, 1)
    assert forward["changes"]["title"]["old"] == backward["changes"]["title"]["new"] == "Old title"
    assert forward["changes"]["title"]["new"] == backward["changes"]["title"]["old"] == "New title"


def test_a_version_against_itself_has_no_changes(api, user):
    event = make_event(user)

    response = api.as_user(user).get(f"/api/events/{event.pk}/diff/1/1")

    assert response.status_code == 200
    assert response.json() == {"from_version": 1, "to_version": 1, "changes": {}}


@pytest.mark.parametrize("path", ["1/9", "9/1", "x/1", "1/-2"])
def test_a_missing_version_is_a_404(api, user, path):
    event = make_event(user)

    response = api.as_user(user).get(f"/api/events/{event.pk}/diff/{path}")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


def test_diff_query_count_is_fixed(api, user, django_assert_num_queries):
    event = make_event(user)
    for n in range(10):
        event = edit(event, user, title=f"t{n}")

    client = api.as_user(user)

    with django_assert_num_queries(3):  # auth user, event, both versions
        assert client.get(f"/api/events/{event.pk}/diff/2/9").status_code == 200


# --- the HTML pages ------------------------------------------------------------------------------

XSS = "<script>alert(1)</script>"


@pytest.fixture
def hostile(user):
    """An event whose every text field tries to inject markup, in two versions."""
    event = make_event(user, title=XSS, description='<img src=x onerror="alert(2)">', location="<b>bold</b>")
    edit(event, user, reason="<i>why</i>", title=XSS + " v2", description="plain & <u>under</u>")
    return event


@pytest.mark.parametrize("page", ["history", "diff/1/2"])
def test_event_text_is_escaped_on_the_pages(api, user, hostile, page):
    response = api.as_user(user).get(f"/events/{hostile.pk}/{page}")

    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for raw in ("<script>", "<img", "<b>bold", "<i>why", "<u>"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "script-src" not in response["Content-Security-Policy"]  # default-src 'none': no script runs at all
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert response["Referrer-Policy"] == "same-origin"  # a token in the URL never leaves the site
    assert "no-store" in response["Cache-Control"]


def test_history_page_lists_versions_with_links_to_diffs(api, user):
    event = make_event(user, title="Launch")
    for n in range(3):
        event = edit(event, user, title=f"Launch {n}")

    html = api.as_user(user).get(f"/events/{event.pk}/history").content.decode()

    assert html.index("v4") < html.index("v3") < html.index("v1")  # newest first
    assert f'href="/events/{event.pk}/diff/3/4"' in html  # v4 against the previous one
    assert f'href="/events/{event.pk}/diff/1/4"' in html  # v1 against the current one
    assert f'href="/events/{event.pk}/diff/0/1"' not in html
    assert "changed the title from &#x27;Launch 1&#x27; to &#x27;Launch 2&#x27;" in html


def test_diff_page_shows_older_left_newer_right_with_marked_words(api, user):
    event = make_event(user, description="Meet in room 4")
    edit(event, user, description="Meet in the big room")

    html = api.as_user(user).get(f"/events/{event.pk}/diff/2/1").content.decode()  # either order: older left

    assert html.index("Version 1") < html.index("Version 2")
    assert '<td class="old">Meet in room<del> 4</del></td>' in html
    assert '<td class="new">Meet in <ins>the big </ins>room</td>' in html


def test_an_access_token_in_the_url_is_not_a_way_in(api, user):
    # A full-power credential in a URL ends up in histories and logs: the pages take a read-only history link.
    event = make_event(user)
    token = tokens_for(user)["access"]

    response = api.get(f"/events/{event.pk}/history", {"token": token})

    assert response.status_code == 401
    assert api.get(f"/events/{event.pk}/history", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


def test_pages_accept_a_django_session(api, user):
    event = make_event(user)
    api.force_login(user)

    assert api.get(f"/events/{event.pk}/history").status_code == 200


@pytest.mark.parametrize("credentials", [None, "Bearer nope", "?token=nope"])
def test_pages_without_valid_credentials_are_a_401(api, user, credentials):
    event = make_event(user)
    path = f"/events/{event.pk}/history"
    if credentials == "?token=nope":
        path += credentials
    elif credentials:
        api.credentials(HTTP_AUTHORIZATION=credentials)

    response = api.get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"]


@pytest.mark.parametrize("page", ["history", "diff/1/2"])
def test_pages_answer_options_with_their_metadata_not_a_500(api, user, page):
    # Found by the schema fuzzer: OPTIONS went to the HTML renderer, which has no template for it.
    event = make_event(user)
    edit(event, user, title="Two")

    response = api.as_user(user).options(f"/events/{event.pk}/{page}")

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["renders"] == ["text/html"]


def test_pages_of_an_event_you_cannot_see_are_a_404(api, user):
    event = make_event(UserFactory())
    client = api.as_user(user)

    assert client.get(f"/events/{event.pk}/history").status_code == 404
    assert client.get(f"/events/{event.pk}/diff/1/1").status_code == 404


def test_history_page_is_paginated_and_costs_a_fixed_number_of_queries(api, user, django_assert_num_queries):
    event = make_event(user, title="p")
    for n in range(60):
        event = edit(event, user, title=f"p{n}")
    client = api.as_user(user)

    with django_assert_num_queries(4):  # auth user, event, page of versions, the version before the page
        first = client.get(f"/events/{event.pk}/history")
    second = client.get(f"/events/{event.pk}/history", {"page": 2})

    listed = lambda response: [int(n) for n in re.findall(r"\bv(\d+)\b", response.content.decode())]  # noqa: E731
    assert listed(first) == list(range(61, 11, -1))
    assert "?page=2" in first.content.decode()
    assert listed(second) == list(range(11, 0, -1))
