"""Counters of one fuzzing run, printed at its end (conftest.py)."""

operations = 0  # operations in the schema
cases = 0  # generated test cases run (every phase, shrinking included)
requests = 0  # requests the application served (cases plus the checks' own follow-up requests)
session_requests = 0  # of which authenticated with a browser session (the others with an access token)
seconds = 0.0  # time spent in the fuzz tests
