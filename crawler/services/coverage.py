"""How complete the store is, per period: stored, refused, failed and missing article ids, as a table and a
self-contained HTML page of charts."""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crawler.store import ArticleStore, ExportFilter, Period

REFUSED = "refused"
"""The failure kind of a page extraction refused; every other kind (fetch, crashed) counts as failed."""


@dataclass
class CoverageRow:
    """One period of the coverage table (or the whole range, for the total)."""

    period: str
    stored: int = 0
    by_section: dict[str, int] = field(default_factory=dict)
    low_id: int | None = None
    high_id: int | None = None
    refused: dict[str, int] = field(default_factory=dict)
    """Ids in the range seen but refused, by reason."""
    failed: int = 0
    """Ids in the range seen but not fetched or crashed in extraction."""
    never_seen: int = 0
    """Ids in the range no discovery source ever gave."""
    edits: int = 0
    """New versions stored in this period."""

    @property
    def missing(self) -> int:
        """Ids between the lowest and highest stored id of the period with no stored article."""
        return self.never_seen + self.failed + sum(self.refused.values())


def reason_label(reason: str) -> str:
    """A refusal reason without its page-specific details: "not an article: too little text (34 words)" ->
    "too little text"."""
    text = re.sub(r"\s*\([^)]*\)", "", reason).strip()
    text = re.sub(r"^not an article:\s*", "", text)
    return text.split(": ")[0].strip() or "unknown"


def period_label(start: str, by: Period) -> str:
    """2026-08-01 -> "2026-08" (month), "2026-W31" (week), "2026-08-01" (day)."""
    if by == "month":
        return start[:7]
    if by == "week":
        year, week, _ = date.fromisoformat(start).isocalendar()
        return f"{year}-W{week:02d}"
    return start


def _fill_range(store: ArticleStore, row: CoverageRow) -> None:
    if row.low_id is None or row.high_id is None:
        return
    facts = store.id_range_facts(row.low_id, row.high_id)
    for (kind, reason), count in facts.not_stored.items():
        if kind == REFUSED:
            label = reason_label(reason)
            row.refused[label] = row.refused.get(label, 0) + count
        else:
            row.failed += count
    span = row.high_id - row.low_id + 1
    row.never_seen = max(0, span - facts.stored - row.failed - sum(row.refused.values()))


def compute(store: ArticleStore, by: Period, flt: ExportFilter) -> tuple[list[CoverageRow], CoverageRow]:
    """Rows per period (oldest first) and the total row over the whole id range (so the total also counts
    the ids between one period's highest id and the next one's lowest)."""
    rows: dict[str, CoverageRow] = {}
    for counts in store.period_counts(by, flt):
        rows[counts.start] = CoverageRow(
            period_label(counts.start, by), counts.stored, dict(counts.by_section), counts.low_id, counts.high_id
        )
    for start, edits in store.edit_counts(by, flt).items():
        rows.setdefault(start, CoverageRow(period_label(start, by))).edits = edits
    ordered = [rows[k] for k in sorted(rows)]
    for row in ordered:
        _fill_range(store, row)
    lows = [r.low_id for r in ordered if r.low_id is not None]
    highs = [r.high_id for r in ordered if r.high_id is not None]
    total = CoverageRow(
        "total",
        sum(r.stored for r in ordered),
        low_id=min(lows) if lows else None,
        high_id=max(highs) if highs else None,
        edits=sum(r.edits for r in ordered),
    )
    for row in ordered:
        for section, n in row.by_section.items():
            total.by_section[section] = total.by_section.get(section, 0) + n
    _fill_range(store, total)
    return ordered, total


HEADER = ("period", "stored", "ids", "missing", "never seen", "failed", "refused", "edits", "refused by reason")


def _cells(row: CoverageRow) -> tuple[str, ...]:
    ids = f"{row.low_id}-{row.high_id}" if row.low_id is not None else "-"
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(row.refused.items(), key=lambda kv: -kv[1]))
    return (
        row.period,
        str(row.stored),
        ids,
        str(row.missing),
        str(row.never_seen),
        str(row.failed),
        str(sum(row.refused.values())),
        str(row.edits),
        reasons,
    )


def format_table(rows: list[CoverageRow], total: CoverageRow) -> str:
    """The rows and the total as an aligned text table."""
    lines = [HEADER, *(_cells(r) for r in rows), _cells(total)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    text = []
    for n, line in enumerate(lines):
        cells = [c.ljust(widths[i]) if i in (0, 2, 8) else c.rjust(widths[i]) for i, c in enumerate(line)]
        if n == len(lines) - 1:
            text.append("  ".join("-" * w for w in widths))
        text.append("  ".join(cells).rstrip())
    return "\n".join(text)


def as_json(row: CoverageRow) -> dict[str, Any]:
    """A row as a JSON-ready dict."""
    return {
        "period": row.period,
        "stored": row.stored,
        "by_section": row.by_section,
        "low_id": row.low_id,
        "high_id": row.high_id,
        "missing": row.missing,
        "never_seen": row.never_seen,
        "failed": row.failed,
        "refused": row.refused,
        "edits": row.edits,
    }


# ---- the HTML page -------------------------------------------------------------------------------------


def _svg_data_uri(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _stacked_bars(title: str, labels: list[str], series: dict[str, list[int]], ylabel: str) -> str:
    """A stacked bar chart, one bar per period, as an SVG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    width = min(16.0, max(6.0, 0.35 * len(labels) + 2))
    fig, ax = plt.subplots(figsize=(width, 3.6))
    try:
        positions = list(range(len(labels)))
        bottom = [0] * len(labels)
        colormap = plt.get_cmap("tab20")
        colors = [colormap(i) for i in range(20)]
        for n, (name, values) in enumerate(series.items()):
            ax.bar(positions, values, bottom=bottom, label=name, color=colors[n % len(colors)], width=0.8)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title(title, loc="left", fontsize=12)
        ax.set_ylabel(ylabel)
        step = max(1, len(labels) // 24)
        ax.set_xticks(positions[::step], labels[::step], rotation=60, ha="right", fontsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
        if series:
            ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg_data_uri(fig)
    finally:
        plt.close(fig)


def charts(rows: list[CoverageRow]) -> list[tuple[str, str]]:
    """(title, SVG data URI) of the four charts: articles by section, stored versus missing ids, refusals by
    reason, edits."""
    labels = [r.period for r in rows]
    sections = sorted({s for r in rows for s in r.by_section}, key=lambda s: (s == "", s))
    reasons = sorted({x for r in rows for x in r.refused})
    specs = [
        (
            "Articles stored per period, by section",
            {s or "(no section)": [r.by_section.get(s, 0) for r in rows] for s in sections},
            "articles",
        ),
        (
            "Article ids per period: stored versus missing",
            {
                "stored": [r.stored for r in rows],
                "seen, refused": [sum(r.refused.values()) for r in rows],
                "seen, failed": [r.failed for r in rows],
                "never seen": [r.never_seen for r in rows],
            },
            "ids",
        ),
        ("Refused pages per period, by reason", {x: [r.refused.get(x, 0) for r in rows] for x in reasons}, "pages"),
        ("Edits per period (new versions stored)", {"new versions": [r.edits for r in rows]}, "versions"),
    ]
    return [(title, _stacked_bars(title, labels, series, ylabel)) for title, series, ylabel in specs]


def render_html(rows: list[CoverageRow], total: CoverageRow, *, title: str, note: str) -> str:
    """One self-contained page (charts inlined as SVG, no scripts, nothing fetched) with the charts and table."""
    esc = html.escape
    figures = "\n".join(
        f'<figure><img alt="{esc(t)}" src="{uri}"><figcaption>{esc(t)}</figcaption></figure>' for t, uri in charts(rows)
    )
    head = "".join(f"<th>{esc(h)}</th>" for h in HEADER)
    body_rows = "\n".join(
        "<tr"
        + (' class="total"' if r is total else "")
        + ">"
        + "".join(f"<td>{esc(c)}</td>" for c in _cells(r))
        + "</tr>"
        for r in [*rows, total]
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
figure {{ margin: 1.5em 0; }}
figure img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: 0.9em; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }}
th:first-child, td:first-child, td:last-child {{ text-align: left; }}
tr.total td {{ font-weight: bold; border-top: 2px solid #888; }}
</style>
</head>
<body>
<h1>{esc(title)}</h1>
<p>{esc(note)}</p>
{figures}
<h2>Per period</h2>
<table id="coverage">
<thead><tr>{head}</tr></thead>
<tbody>
{body_rows}
</tbody>
</table>
</body>
</html>
"""
