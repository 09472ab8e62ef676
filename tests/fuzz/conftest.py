from . import stats


def pytest_terminal_summary(terminalreporter):
    if stats.cases:
        terminalreporter.write_line(
            f"schema fuzzing: {stats.operations} operations, {stats.cases} cases, "
            f"{stats.requests} requests ({stats.session_requests} with a browser session) in {stats.seconds:.1f} s"
        )
