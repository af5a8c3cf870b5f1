"""The region at a glance: the data of the project map and the collaboration map (their
figures are drawn in ui/figures.py).

Project map: every municipality at its registered coordinates (`municipalities.yaml`,
registered at ingest), a marker sized by its number of projects and coloured by its
dominant theme; hovering lists the projects. Filters by theme, stage and status.

Collaboration map: municipalities joined where their projects are comparable. Two
projects form a *comparable pair* when
  1. they belong to two different municipalities (region-wide projects, municipality
     `regional`, are already joint work and are left out),
  2. the cosine similarity of their project vectors is at least the threshold (a project's
     vector is the mean of its chunks' vectors, normalised, then centred on its language's
     mean: see `centred`), and
  3. they share at least one building block (the embedding alone also pairs projects that
     merely read alike; a shared block makes the match one of substance).
An edge's weight is the number of comparable pairs between the two municipalities; the
edges, ranked by weight and then by their best similarity, are the collaboration
opportunities.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ingest.projects import STAGES, STATUSES
from kb.access import Viewer

if TYPE_CHECKING:
    from kb.core import KnowledgeBase

REGIONAL = "regional"
# Similarity (cosine of the language-centred project vectors, see `centred`) from which two
# projects count as comparable, chosen for the default model on the shipped corpus (107
# projects): of 1,906 candidate pairs (two municipalities, a shared building block) the
# median is 0.02 and the 95th percentile 0.29 with multilingual-e5-small; at 0.35 there
# remain 70 pairs (the top 3.7%) on 51 edges touching all 21 municipalities
# (`regional.similarity_distribution`). With all-MiniLM-L6-v2 the same share lies at 0.40
# (68 pairs, 52 edges): pass `threshold` (the slider, `--threshold`) for another model.
DEFAULT_THRESHOLD = 0.35
# A theme on more than this share of the selected projects says nothing about one
# municipality (on the shipped corpus "data" is on 62% of all projects): it colours a
# marker only when the municipality has no other theme.
CROSS_CUTTING_SHARE = 0.5
# Qualitative colours for the dominant themes (colour-blind-friendly first, then more).
PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#8C564B", "#7F7F7F", "#BCBD22", "#17BECF", "#9467BD", "#FF9896", "#98DF8A", "#C49C94",
)  # fmt: skip
NO_PROJECTS = "#C8C8C8"
NO_PLACES = "no municipalities with coordinates (ingest a folder with municipalities.yaml)"
PAIRS_IN_SENTENCE = 5
# Fewest projects of one language for centring on that language's mean (see `centred`):
# the mean of a handful of projects is mostly those projects' own topic, not the language.
CENTRE_MIN = 20


# ---- places -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    id: str
    name: str
    lat: float
    lon: float


def places(municipalities: Iterable[dict]) -> dict[str, Place]:
    """The registered municipalities that have coordinates, by id."""
    out: dict[str, Place] = {}
    for m in municipalities:
        try:
            lat, lon = float(m["lat"]), float(m["lon"])
        except (KeyError, TypeError, ValueError):
            continue
        if m.get("id"):
            out[str(m["id"])] = Place(str(m["id"]), str(m.get("name") or m["id"]), lat, lon)
    return out


def xy_scale(lats: Iterable[float]) -> float:
    """How many times longer a degree of latitude is than one of longitude here."""
    lats = list(lats)
    mid = sum(lats) / len(lats) if lats else 52.0
    return 1.0 / max(math.cos(math.radians(mid)), 0.05)


def outline(points: list[tuple[float, float]], pad: float = 0.03) -> list[tuple[float, float]]:
    """A light outline around (lon, lat) points: their convex hull, pushed out by `pad`
    degrees of latitude (and the same distance in longitude), as a closed ring."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return []
    scale = xy_scale(p[1] for p in pts)

    def cross(o, a, b) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in pts:  # Andrew's monotone chain
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = lower[:-1] + upper[:-1]
    if len(hull) < 3:
        return []
    cx = sum(p[0] for p in hull) / len(hull)
    cy = sum(p[1] for p in hull) / len(hull)
    ring = []
    for x, y in hull:  # push each corner away from the centre, in distance-true units
        dx, dy = (x - cx) / scale, y - cy
        d = math.hypot(dx, dy) or 1.0
        ring.append((x + dx / d * pad * scale, y + dy / d * pad))
    return ring + ring[:1]


# ---- project map ----------------------------------------------------------------------------
@dataclass
class Marker:
    """One municipality on the project map, with the selected projects it runs."""

    id: str
    name: str
    lat: float
    lon: float
    projects: list[dict] = field(default_factory=list)
    dominant_theme: str | None = None
    colour: str = NO_PROJECTS

    @property
    def count(self) -> int:
        return len(self.projects)

    @property
    def size(self) -> float:
        return marker_size(self.count)



@dataclass
class ProjectMap:
    markers: list[Marker]
    unplaced: list[dict]  # selected projects whose municipality has no coordinates
    theme: str | None = None
    stage: str | None = None
    status: str | None = None

    @property
    def projects(self) -> int:
        return sum(m.count for m in self.markers) + len(self.unplaced)

    def to_dict(self) -> dict:
        return {
            "filters": {"theme": self.theme, "stage": self.stage, "status": self.status},
            "projects": self.projects,
            "markers": [
                {"id": m.id, "name": m.name, "lat": m.lat, "lon": m.lon, "count": m.count,
                 "size": m.size, "dominant_theme": m.dominant_theme, "colour": m.colour,
                 "projects": [p["id"] for p in m.projects]}
                for m in self.markers
            ],  # fmt: skip
            "unplaced": [p["id"] for p in self.unplaced],
        }


def marker_size(count: int) -> float:
    """Marker diameter in pixels: the area grows with the number of projects."""
    return 8.0 if count == 0 else round(4.0 + 11.0 * math.sqrt(count), 1)


LABEL_SPOTS = ("top center", "bottom center", "middle right", "middle left")


def label_positions(points: list[tuple[float, float]], near: float = 0.03) -> list[str]:
    """Where each (lon, lat) point's label goes: above it, unless a label of a point closer
    than `near` degrees of latitude (distance-true) is already there; then below, right, left."""
    scale = xy_scale(p[1] for p in points)
    out = [""] * len(points)
    for i in sorted(range(len(points)), key=lambda i: (-points[i][1], points[i][0])):
        x, y = points[i]
        taken = {out[j] for j in range(len(points)) if out[j]
                 and math.hypot((points[j][0] - x) / scale, points[j][1] - y) < near}  # fmt: skip
        out[i] = next((s for s in LABEL_SPOTS if s not in taken), LABEL_SPOTS[0])
    return out


def select(projects: Iterable[dict], theme: str | None = None, stage: str | None = None,
           status: str | None = None) -> list[dict]:  # fmt: skip
    """The projects that pass the filters (None or '' means any)."""
    return [
        p for p in projects
        if (not theme or theme in p.get("themes", ()))
        and (not stage or p.get("stage") == stage)
        and (not status or p.get("status") == status)
    ]  # fmt: skip


def dominant_theme(own: list[dict], selected: list[dict]) -> str | None:
    """The theme a municipality's projects carry most often.

    Themes on more than half of all `selected` projects (cross-cutting ones such as 'data',
    or the theme filtered on) are passed over unless nothing else is left; ties go to the
    theme that is rarer in the selection, then alphabetically.
    """
    counts = Counter(t for p in own for t in p.get("themes", ()))
    if not counts:
        return None
    region = Counter(t for p in selected for t in set(p.get("themes", ())))
    limit = CROSS_CUTTING_SHARE * len(selected)
    distinctive = {t: n for t, n in counts.items() if region[t] <= limit} or dict(counts)
    return min(distinctive, key=lambda t: (-distinctive[t], region[t], t))


def build_map(projects: list[dict], municipalities: list[dict], theme: str | None = None,
              stage: str | None = None, status: str | None = None) -> ProjectMap:  # fmt: skip
    """The project map's data from project records and registered municipalities."""
    chosen = select(projects, theme, stage, status)
    where = places(municipalities)
    markers = {mid: Marker(p.id, p.name, p.lat, p.lon) for mid, p in where.items()}
    unplaced = []
    for p in chosen:
        if p.get("municipality") in markers:
            markers[p["municipality"]].projects.append(p)
        else:
            unplaced.append(p)
    for m in markers.values():
        m.dominant_theme = dominant_theme(m.projects, chosen)
    # Colours by how many municipalities share a dominant theme, so the commonest get the
    # clearest colours; the same input always gives the same colours.
    share = Counter(m.dominant_theme for m in markers.values() if m.dominant_theme)
    order = sorted(share, key=lambda t: (-share[t], t))
    colours = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(order)}
    for m in markers.values():
        m.colour = colours.get(m.dominant_theme or "", NO_PROJECTS)
    ordered = sorted(markers.values(), key=lambda m: m.name.lower())
    return ProjectMap(ordered, unplaced, theme or None, stage or None, status or None)


def project_map(kb: KnowledgeBase, theme: str | None = None, stage: str | None = None,
                status: str | None = None, viewer: Viewer | None = None) -> ProjectMap:  # fmt: skip
    """The map of the projects the viewer may see (None: all)."""
    return build_map(kb.projects(viewer), kb.municipalities(), theme, stage, status)


def filter_options(projects: Iterable[dict]) -> dict[str, list[str]]:
    """The values each map filter can take on these projects (stages in value-chain order)."""
    projects = list(projects)
    stages = {p.get("stage") for p in projects}
    statuses = {p.get("status") for p in projects}
    return {
        "themes": sorted({t for p in projects for t in p.get("themes", ())}),
        "stages": [s for s in STAGES if s in stages],
        "statuses": [s for s in STATUSES if s in statuses],
    }


# ---- collaboration map --------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectVectors:
    """Every project's vector (mean of its chunks, normalised) and their pairwise cosines."""

    ids: tuple[str, ...]
    sims: np.ndarray  # (n, n)

    def index(self) -> dict[str, int]:
        return {pid: i for i, pid in enumerate(self.ids)}


def centred(vectors: np.ndarray, languages: list[str | None]) -> np.ndarray:
    """Vectors less the mean of their language's vectors, normalised again.

    The English-trained model puts any two Dutch texts close together (on the shipped
    corpus two unrelated Dutch projects score a median cosine of 0.60, two unrelated English
    ones 0.25), so a raw threshold would join Dutch projects for their language alone.
    Taking away each language's mean direction leaves what a project is about. A language
    with fewer than CENTRE_MIN projects is centred on the mean of all projects; fewer than
    that in all, and the vectors are left as they are.
    """
    if len(vectors) < CENTRE_MIN:
        return vectors
    out = vectors - vectors.mean(axis=0)
    langs = np.array([lang or "" for lang in languages])
    for lang in set(langs.tolist()):
        mask = langs == lang
        if mask.sum() >= CENTRE_MIN:
            out[mask] = vectors[mask] - vectors[mask].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def project_vectors(kb: KnowledgeBase, viewer: Viewer | None = None) -> ProjectVectors:
    """Computed once per store generation (the slider in the app only re-filters).

    A project's vector is the mean of its chunks' vectors, normalised; similarities are
    cosines of these vectors after centring them per language (see `centred`). Only the
    projects the viewer may see take part (their centring too), kept per viewer scope.
    """
    viewer = Viewer.resolve(viewer)

    def build() -> ProjectVectors:
        rowids = kb.store.allowed_rowids(viewer.filters(kind="project"))
        chunks = kb.store.chunks(rowids) if rowids is not None else {}
        by_project: dict[str, list[int]] = {}
        language: dict[str, str | None] = {}
        for rowid, c in chunks.items():
            if c.project_id:
                by_project.setdefault(c.project_id, []).append(rowid)
                language[c.project_id] = c.language
        ids = tuple(sorted(by_project))
        if not ids:
            return ProjectVectors((), np.zeros((0, 0), dtype=np.float32))
        vecs = kb.store.vectors_of([r for pid in ids for r in by_project[pid]])
        means, start = [], 0
        for pid in ids:
            n = len(by_project[pid])
            v = vecs[start : start + n].mean(axis=0)
            means.append(v / (np.linalg.norm(v) or 1.0))
            start += n
        m = centred(np.stack(means).astype(np.float32), [language[pid] for pid in ids])
        return ProjectVectors(ids, m @ m.T)

    return kb.cache.get(f"regional.project_vectors:{viewer.scope}", kb.store.generation, build)


@dataclass(frozen=True)
class Pair:
    """Two comparable projects of two municipalities (`a` of the first, `b` of the second)."""

    a: dict
    b: dict
    similarity: float
    shared_building_blocks: tuple[str, ...]
    already_partners: bool  # one project names the other's municipality as a partner

    def to_dict(self) -> dict:
        def short(p: dict) -> dict:
            return {"id": p["id"], "title": p["title"], "municipality": p["municipality"]}

        return {"a": short(self.a), "b": short(self.b), "similarity": round(self.similarity, 4),
                "shared_building_blocks": list(self.shared_building_blocks),
                "already_partners": self.already_partners}  # fmt: skip


@dataclass
class Opportunity:
    """An edge of the collaboration map: two municipalities and their comparable pairs."""

    a: str  # municipality ids, a's name sorts first
    b: str
    names: tuple[str, str]
    pairs: list[Pair]
    topic: list[str]  # the lead building block of each group of pairs, largest first
    sentence: str = ""

    @property
    def weight(self) -> int:
        return len(self.pairs)

    @property
    def best(self) -> float:
        return max(p.similarity for p in self.pairs)

    def to_dict(self) -> dict:
        return {"municipalities": [self.a, self.b], "names": list(self.names),
                "weight": self.weight, "best_similarity": round(self.best, 4),
                "topic": self.topic, "sentence": self.sentence,
                "pairs": [p.to_dict() for p in self.pairs]}  # fmt: skip


@dataclass
class Collaborations:
    threshold: float
    opportunities: list[Opportunity]  # ranked: weight, then best similarity
    places: dict[str, Place]
    projects: int  # projects compared

    @property
    def pairs(self) -> int:
        return sum(o.weight for o in self.opportunities)

    def to_dict(self, top: int | None = None) -> dict:
        return {
            "threshold": self.threshold,
            "rule": "different municipalities (not region-wide), cosine of the project vectors "
                    ">= threshold, and at least one shared building block",
            "projects": self.projects,
            "edges": len(self.opportunities),
            "pairs": self.pairs,
            "opportunities": [o.to_dict() for o in self.opportunities[:top]],
        }  # fmt: skip


def _lower_first(name: str) -> str:
    """'Smart mobility' -> 'smart mobility', but 'IoT hub' stays as it is."""
    word = name.split(" ", 1)[0]
    return name[:1].lower() + name[1:] if word[1:] == word[1:].lower() else name


def sentence(names: tuple[str, str], groups: list[tuple[str, list[Pair]]]) -> str:
    """One sentence for an opportunity, its pairs grouped by the building block they share:

    'Delft and Zoetermeer both work on smart mobility: <title> / <title>.'
    'Delft and Zoetermeer both work on smart mobility (<title> / <title>) and on care and
    wellbeing (<title> / <title>; <title> / <title>).'
    """
    left = PAIRS_IN_SENTENCE
    parts = []
    for topic, pairs in groups:
        if left <= 0:
            break
        shown = "; ".join(f"{p.a['title']} / {p.b['title']}" for p in pairs[:left])
        left -= min(len(pairs), left)
        parts.append((_lower_first(topic), shown))
    total = sum(len(p) for _, p in groups)
    more = total - (PAIRS_IN_SENTENCE - left)
    tail = f", and {more} more pair{'s' if more > 1 else ''}" if more > 0 else ""
    head = f"{names[0]} and {names[1]} both work on "
    if len(parts) == 1:
        return f"{head}{parts[0][0]}: {parts[0][1]}{tail}."
    return head + " and on ".join(f"{t} ({shown})" for t, shown in parts) + tail + "."


def group_pairs(
    pairs: list[Pair], frequency: Counter[str] | None = None
) -> list[tuple[str, list[Pair]]]:
    """The pairs of one edge grouped by their lead building block, largest group first.

    A pair's lead block is the most specific block the two projects share: the one fewest
    projects in the catalogue carry (`frequency`), so 'digital twins' wins over 'data
    management'; ties go to the block the first project lists first.
    """
    frequency = frequency or Counter()
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        order = list(p.a.get("building_blocks", ()))
        rank = {b: (frequency[b], order.index(b) if b in order else len(order), b)
                for b in p.shared_building_blocks}  # fmt: skip
        lead = min(rank, key=rank.__getitem__)
        groups.setdefault(lead, []).append(p)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), -kv[1][0].similarity, kv[0]))


def comparable_pairs(projects: list[dict], vectors: ProjectVectors, threshold: float) -> list[Pair]:
    """Every comparable pair of projects (see the module's rule), best first."""
    at = vectors.index()
    usable = [p for p in projects
              if p["id"] in at and p.get("municipality") not in (None, REGIONAL)]  # fmt: skip
    out: list[Pair] = []
    for i, p in enumerate(usable):
        for q in usable[i + 1 :]:
            if p["municipality"] == q["municipality"]:
                continue
            sim = float(vectors.sims[at[p["id"]], at[q["id"]]])
            theirs = q.get("building_blocks", ())
            shared = tuple(b for b in p.get("building_blocks", ()) if b in theirs)
            if sim < threshold or not shared:
                continue
            partners = (q["municipality"] in p.get("partners", ())
                        or p["municipality"] in q.get("partners", ()))  # fmt: skip
            out.append(Pair(p, q, sim, shared, partners))
    out.sort(key=lambda x: (-x.similarity, x.a["id"], x.b["id"]))
    return out


def build_collaborations(
    projects: list[dict],
    vectors: ProjectVectors,
    municipalities: list[dict],
    threshold: float = DEFAULT_THRESHOLD,
    block_name: Callable[[str], str] | None = None,
) -> Collaborations:
    """The ranked collaboration opportunities from project records and their vectors."""
    where = places(municipalities)
    names = {str(m.get("id")): str(m.get("name") or m.get("id")) for m in municipalities}

    def name(mid: str) -> str:
        return names.get(mid) or mid.replace("-", " ").title()

    block_name = block_name or (lambda b: b.replace("-", " ").capitalize())
    frequency = Counter(b for p in projects for b in set(p.get("building_blocks", ())))
    edges: dict[tuple[str, str], list[Pair]] = {}
    for pair in comparable_pairs(projects, vectors, threshold):
        ka, kb_ = (name(pair.a["municipality"]).lower(), name(pair.b["municipality"]).lower())
        if (ka, pair.a["municipality"]) > (kb_, pair.b["municipality"]):  # a's name sorts first
            pair = Pair(pair.b, pair.a, pair.similarity, pair.shared_building_blocks,
                        pair.already_partners)  # fmt: skip
        edges.setdefault((pair.a["municipality"], pair.b["municipality"]), []).append(pair)
    opps = []
    for (a, b), pairs in edges.items():
        groups = group_pairs(pairs, frequency)
        named = [(block_name(lead), ps) for lead, ps in groups]
        o = Opportunity(a, b, (name(a), name(b)), pairs, [t for t, _ in named])
        o.sentence = sentence(o.names, named)
        opps.append(o)
    opps.sort(key=lambda o: (-o.weight, -o.best, o.names))
    usable = sum(1 for p in projects if p["id"] in vectors.index())
    return Collaborations(threshold, opps, where, usable)


def collaborations(kb: KnowledgeBase, threshold: float = DEFAULT_THRESHOLD,
                   viewer: Viewer | None = None) -> Collaborations:  # fmt: skip
    """Collaboration opportunities among the projects the viewer may see (None: all)."""
    catalogue = kb.building_blocks()

    def block_name(b: str) -> str:
        return str(catalogue.get(b, {}).get("name") or b.replace("-", " ").capitalize())

    return build_collaborations(kb.projects(viewer), project_vectors(kb, viewer),
                                kb.municipalities(), threshold, block_name)  # fmt: skip


def similarity_distribution(kb: KnowledgeBase) -> dict:
    """Quantiles of the cosines between projects of different municipalities that share a
    building block, and the edges and pairs at a few thresholds (to choose the default)."""
    projects = kb.projects()
    vectors = project_vectors(kb)
    sims = [p.similarity for p in comparable_pairs(projects, vectors, -1.0)]
    if not sims:
        return {"candidates": 0}
    qs = np.quantile(np.array(sims), [0.5, 0.75, 0.9, 0.95, 0.99])
    steps = {}
    for t in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        c = build_collaborations(projects, vectors, kb.municipalities(), t)
        steps[str(t)] = {"edges": len(c.opportunities), "pairs": c.pairs}
    return {"candidates": len(sims), "quantiles": dict(zip(("50", "75", "90", "95", "99"),
            [round(float(q), 3) for q in qs], strict=True)), "thresholds": steps}  # fmt: skip


