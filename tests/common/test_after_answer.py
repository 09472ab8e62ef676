"""Work left for after the answer (common/after_answer.py): it runs when the request's answer is closed."""

from __future__ import annotations

import logging

from django.core import signals

from common.after_answer import after_answer
from tests.helpers import one_request


def test_outside_a_request_the_work_runs_at_once():
    done = []
    after_answer(lambda: done.append("now"))
    assert done == ["now"]


def test_in_a_request_the_work_waits_for_the_answers_close_and_runs_in_order():
    done = []
    with one_request():
        after_answer(lambda: done.append(1))
        after_answer(lambda: done.append(2))
        assert done == []
    assert done == [1, 2]
    after_answer(lambda: done.append("after the request: at once"))
    assert done == [1, 2, "after the request: at once"]


def test_a_failure_is_logged_and_the_rest_still_runs(caplog):
    done = []

    def broken():
        raise RuntimeError("the cache fell over")

    with caplog.at_level(logging.ERROR, logger="common.after_answer"), one_request():
        after_answer(broken)
        after_answer(lambda: done.append("still"))
    assert done == ["still"]
    assert "work left for after the answer failed" in caplog.text and "the cache fell over" in caplog.text


def test_a_request_that_never_closed_leaves_nothing_to_the_next():
    done = []
    with one_request():
        after_answer(lambda: done.append("dropped"))
        signals.request_started.send(sender=None)  # the next request on this thread: the first died unclosed
    assert done == []
