"""Figures of the region: the project map, the collaboration map and the strategy check's
chart (plotly), built from the data `kb.regional` and `kb.check` return.

Both maps are plain `go.Scatter` traces on longitude/latitude axes, so they render offline:
plotly's geographic traces (scattergeo, scattermap, map tiles) fetch topojson or tiles from
the internet and are never used here.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import plotly.graph_objects as go

from kb import regional
from kb.check import STATUSES, CheckResult
from kb.regional import Collaborations, Marker, Opportunity, ProjectMap
from ui.i18n import status_name, t

HOVER_PROJECTS = 15  # projects listed when hovering a marker


def marker_hover(m: Marker, lang: str = "en") -> str:
    """What hovering a municipality on the project map shows (escaped HTML), in `lang`."""
    head = f"<b>{html.escape(m.name)}</b>"
    if not m.projects:
        return f"{head}<br>{t('hover_none', lang)}"
    count = t("hover_count_1", lang) if m.count == 1 else t("hover_count", lang, n=m.count)
    if m.dominant_theme:
        count += " · " + t("hover_theme", lang, theme=html.escape(m.dominant_theme))
    lines = [head, count]
    ordered = sorted(m.projects, key=lambda p: p["title"].lower())
    lines += [f"• {html.escape(p['title'])} ({html.escape(status_name(p.get('status'), lang))})"
              for p in ordered[:HOVER_PROJECTS]]  # fmt: skip
    if m.count > HOVER_PROJECTS:
        lines.append(t("hover_more", lang, n=m.count - HOVER_PROJECTS))
    return "<br>".join(lines)



def _layout(fig: go.Figure, lats: list[float], title: str, legend: str = "") -> None:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        height=640,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"title": {"text": legend}, "itemsizing": "constant"},
        hoverlabel={"align": "left"},
        xaxis={"visible": False},
        # Equal distances: a degree of latitude spans 1/cos(latitude) degrees of longitude.
        yaxis={"visible": False, "scaleanchor": "x", "scaleratio": regional.xy_scale(lats)},
    )



def _outline_trace(points: list[tuple[float, float]]):
    ring = regional.outline(points)
    return go.Scatter(
        x=[p[0] for p in ring], y=[p[1] for p in ring], mode="lines", fill="toself",
        fillcolor="rgba(120,150,190,0.08)", line={"color": "rgba(120,150,190,0.35)", "width": 1},
        hoverinfo="skip", showlegend=False, name="region",
    )  # fmt: skip



def map_figure(pm: ProjectMap, lang: str = "en") -> go.Figure:
    """The project map as a plotly figure (one trace per dominant theme, for the legend);
    the hover texts in `lang` (the title stays English: the app sets its own)."""
    fig = go.Figure()
    points = [(m.lon, m.lat) for m in pm.markers]
    if len(points) >= 3:
        fig.add_trace(_outline_trace(points))
    groups: dict[str | None, list[Marker]] = {}
    for m in pm.markers:
        groups.setdefault(m.dominant_theme, []).append(m)
    spots = dict(zip((m.id for m in pm.markers), regional.label_positions(points), strict=True))
    order = sorted(groups.items(), key=lambda kv: (kv[0] is None, -len(kv[1]), kv[0] or ""))
    for theme_, ms in order:
        fig.add_trace(go.Scatter(
            x=[m.lon for m in ms], y=[m.lat for m in ms], mode="markers+text",
            name=theme_ or t("hover_none", lang), text=[m.name for m in ms],
            textposition=[spots[m.id] for m in ms], textfont={"size": 10, "color": "#333"},
            marker={"size": [m.size for m in ms], "color": ms[0].colour, "opacity": 0.85,
                    "line": {"width": 1, "color": "white"}},
            hovertext=[marker_hover(m, lang) for m in ms], hoverinfo="text",
            customdata=[m.id for m in ms],
        ))  # fmt: skip
    parts = [f"{pm.projects} project{'s' if pm.projects != 1 else ''}"]
    filters = (("theme", pm.theme), ("stage", pm.stage), ("status", pm.status))
    parts += [f"{k} {v}" for k, v in filters if v]
    if pm.unplaced:
        parts.append(f"{len(pm.unplaced)} without coordinates")
    title = "Project map — " + " · ".join(parts) + " (colour: dominant theme; size: projects)"
    if not pm.markers:
        title = f"Project map — {regional.NO_PLACES}"
    _layout(fig, [m.lat for m in pm.markers], title, legend="dominant theme")
    return fig



def write_html(fig: go.Figure, path: Path | str) -> Path:
    """A standalone page with plotly.js inlined: it opens without any network."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, include_mathjax=False, full_html=True,
                   config={"displaylogo": False, "responsive": True})  # fmt: skip
    return path



def collaboration_figure(c: Collaborations, lang: str = "en") -> go.Figure:
    """Municipalities at their coordinates, an edge per opportunity, width by weight; the
    hover texts in `lang`."""
    fig = go.Figure()
    nodes = {k: p for k, p in c.places.items() if k != regional.REGIONAL}
    if len(nodes) >= 3:
        fig.add_trace(_outline_trace([(p.lon, p.lat) for p in nodes.values()]))
    degree: Counter[str] = Counter()
    by_weight: dict[int, list[Opportunity]] = {}
    for o in c.opportunities:
        if o.a in nodes and o.b in nodes:
            by_weight.setdefault(o.weight, []).append(o)
            degree[o.a] += o.weight
            degree[o.b] += o.weight
    for w, opps in sorted(by_weight.items()):  # one trace per width keeps the figure small
        xs: list[float | None] = []
        ys: list[float | None] = []
        for o in opps:
            xs += [nodes[o.a].lon, nodes[o.b].lon, None]
            ys += [nodes[o.a].lat, nodes[o.b].lat, None]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
            line={"width": min(1.5 + 1.5 * w, 14), "color": "rgba(0,114,178,0.45)"},
            name=f"{w} pair{'s' if w > 1 else ''}",
        ))  # fmt: skip
    drawn = [o for opps in by_weight.values() for o in opps]
    if drawn:  # hovering an edge's middle lists its pairs
        fig.add_trace(go.Scatter(
            x=[(nodes[o.a].lon + nodes[o.b].lon) / 2 for o in drawn],
            y=[(nodes[o.a].lat + nodes[o.b].lat) / 2 for o in drawn],
            mode="markers", marker={"size": 9, "color": "rgba(0,114,178,0.15)"}, showlegend=False,
            hovertext=[_edge_hover(o, lang) for o in drawn], hoverinfo="text", name="pairs",
        ))  # fmt: skip
    ps = sorted(nodes.values(), key=lambda p: p.name.lower())
    fig.add_trace(go.Scatter(
        x=[p.lon for p in ps], y=[p.lat for p in ps], mode="markers+text", showlegend=False,
        text=[p.name for p in ps],
        textposition=regional.label_positions([(p.lon, p.lat) for p in ps]),
        textfont={"size": 10, "color": "#333"},
        marker={"size": [9 + 3 * math.sqrt(degree[p.id]) for p in ps],
                "color": ["#D55E00" if degree[p.id] else regional.NO_PROJECTS for p in ps],
                "line": {"width": 1, "color": "white"}},
        hovertext=[f"<b>{html.escape(p.name)}</b><br>{t('hover_pairs', lang, n=degree[p.id])}"
                   for p in ps],
        hoverinfo="text", customdata=[p.id for p in ps], name="municipalities",
    ))  # fmt: skip
    title = (f"Collaboration map — {len(c.opportunities)} opportunities, {c.pairs} comparable "
             f"project pairs at similarity ≥ {c.threshold:.2f} (edge width: pairs)")  # fmt: skip
    if not nodes:
        title = f"Collaboration map — {regional.NO_PLACES}"
    _layout(fig, [p.lat for p in nodes.values()], title)
    return fig



def _edge_hover(o: Opportunity, lang: str = "en") -> str:
    lines = [f"<b>{html.escape(o.names[0])} – {html.escape(o.names[1])}</b>: "
             + t("hover_pairs", lang, n=o.weight)]
    lines += [f"{html.escape(p.a['title'])} / {html.escape(p.b['title'])} ({p.similarity:.2f})"
              for p in o.pairs[:8]]  # fmt: skip
    if o.weight > 8:
        lines.append(t("hover_more", lang, n=o.weight - 8))
    return "<br>".join(lines)


def stage_figure(result: CheckResult | dict):
    """A stacked bar chart of covered / weak / missing blocks per value-chain stage (plotly)."""
    stages = result["stages"] if isinstance(result, dict) else [asdict(s) for s in result.stages]
    names = [s["stage"] for s in stages]
    colours = {"covered": "#2e7d32", "weak": "#f9a825", "missing": "#c62828"}
    fig = go.Figure(
        [
            go.Bar(name=st, x=names, y=[s[st] for s in stages], marker_color=colours[st])
            for st in STATUSES
        ]
    )
    fig.update_layout(
        barmode="stack",
        title="Building blocks by value-chain stage",
        yaxis_title="building blocks",
        xaxis_title="stage",
        height=380,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        legend_title_text="",
    )
    return fig
