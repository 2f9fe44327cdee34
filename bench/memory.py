"""Memory: RSS of ``maildesk run --once`` sampled while it takes in a large mailbox.

The run itself is ``bench.ingest.ingest_run`` with sampling on and no floor;
this module turns the samples into start, end, peak and a slope. "Start" and
"end" are medians of the samples in the first and last tenth of the mails
(after the first mail, so start-up does not count as growth); the slope is a
least-squares fit of RSS against mails done, in MB per 10,000 mails. The
rate in the first and the last tenth shows whether ingest slows down as the
database grows.
"""

from __future__ import annotations

import statistics
from typing import Any


def summarise(samples: list[dict[str, float]], n: int) -> dict[str, Any]:
    """Start/end/peak RSS and the growth slope from the sampled curve."""
    working = [s for s in samples if s["mails"] > 0]
    if len(working) < 4:
        return {"samples": len(samples), "note": "too few samples for a curve"}
    first = [s["rss_mb"] for s in working if s["mails"] <= n * 0.1] or [working[0]["rss_mb"]]
    last = [s["rss_mb"] for s in working if s["mails"] >= n * 0.9] or [working[-1]["rss_mb"]]
    xs = [s["mails"] for s in working]
    ys = [s["rss_mb"] for s in working]
    slope = statistics.linear_regression(xs, ys).slope if len(set(xs)) > 1 else 0.0
    start, end = statistics.median(first), statistics.median(last)
    return {
        "mails_per_s_first_tenth": _rate(working, 0, n * 0.1),
        "mails_per_s_last_tenth": _rate(working, n * 0.9, n),
        "samples": len(samples),
        "start_mb": round(start, 1),
        "end_mb": round(end, 1),
        "peak_sampled_mb": round(max(s["rss_mb"] for s in samples), 1),
        "growth_mb": round(end - start, 1),
        "slope_mb_per_10k_mails": round(slope * 10_000, 2),
        "curve": _thin(samples, 40),
    }


def _rate(samples: list[dict[str, float]], low: float, high: float) -> float | None:
    """Mails per second while the count went from ``low`` to ``high`` (slow-down as the
    database grows shows here)."""
    inside = [s for s in samples if low <= s["mails"] <= high]
    # Stop at the first sample with the final count: after the last mail the run
    # sweeps and delivers, which is not ingest.
    while len(inside) > 1 and inside[-2]["mails"] == inside[-1]["mails"]:
        inside.pop()
    if len(inside) < 2 or inside[-1]["t"] <= inside[0]["t"]:
        return None
    return round((inside[-1]["mails"] - inside[0]["mails"]) / (inside[-1]["t"] - inside[0]["t"]), 1)


def _thin(samples: list[dict[str, float]], points: int) -> list[dict[str, float]]:
    """At most ``points`` evenly spaced samples, for the JSON and the table."""
    if len(samples) <= points:
        return samples
    step = (len(samples) - 1) / (points - 1)
    return [samples[round(i * step)] for i in range(points)]
