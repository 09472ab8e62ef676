"""Assertions shared by the API tests."""

PROBLEM_KEYS = ("type", "title", "status", "detail")


def assert_problem(response, status: int) -> dict:
    """`response` is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert all(body.get(key) for key in PROBLEM_KEYS), body
    assert body["status"] == status
    return body
