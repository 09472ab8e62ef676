"""bench/bench_scaling.py's report: figures per size, query counts compared across sizes, the SVG plot."""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ET

from bench import bench_scaling


def measured(events: int, queries: dict[str, int], base_ms: float) -> dict:
    return {
        "events": events,
        "users": events // bench_scaling.EVENTS_PER_USER,
        "caller_events": 200,
        "load_average": (1.0, 1.0, 1.0),
        "calls": {
            key: {
                "ms": [base_ms, base_ms * 2, base_ms * 3],
                "cpu_ms": [base_ms / 2] * 3,
                "queries": queries.get(key, 3),
                "answer": "ok",
            }
            for key, _label, _plotted in bench_scaling.CALLS
        },
    }


def summary(list_queries_at_100k: int) -> dict:
    runs = {
        "1k": [measured(1_000, {}, 2.0)],
        "100k": [measured(100_000, {"list": list_queries_at_100k}, 3.0)],
    }
    return bench_scaling.summarize(runs, argparse.Namespace(passes=1, repeat=3))


def test_the_summary_gives_medians_ratios_and_equal_query_counts():
    result = summary(list_queries_at_100k=3)

    row = result["calls"]["list"]
    assert row["sizes"]["1k"]["median_ms"] == 4.0  # of 2, 4, 6
    assert row["sizes"]["100k"]["p95_ms"] == 9.0
    assert row["sizes"]["100k"]["median_cpu_ms"] == 1.5
    assert row["ratio_largest_to_smallest"] == 1.5
    assert all(call["queries_equal"] for call in result["calls"].values())
    assert "| list page (20), cache miss | 4.0 / 6.0 (1.0) | 6.0 / 9.0 (1.5) | 1.50× | 3 |" in (
        bench_scaling.markdown(result)
    )


def test_a_query_count_that_grows_with_the_data_is_flagged():
    result = summary(list_queries_at_100k=4)

    assert not result["calls"]["list"]["queries_equal"]
    assert result["calls"]["detail"]["queries_equal"]
    assert "DIFFER: 3, 4" in bench_scaling.markdown(result)


def test_the_plot_is_an_svg_with_one_line_per_plotted_call():
    svg = ET.fromstring(bench_scaling.plot(summary(list_queries_at_100k=3)))

    namespace = "{http://www.w3.org/2000/svg}"
    lines = svg.findall(f"{namespace}polyline")
    plotted = [label for _key, label, plotted in bench_scaling.CALLS if plotted]
    assert len(lines) == len(plotted)
    assert all(len(line.get("points").split()) == 2 for line in lines)  # one point per size
    texts = {text.text for text in svg.iter(f"{namespace}text")}
    assert set(plotted) <= texts  # the legend
    assert {"1,000", "100,000"} <= texts  # the x axis
