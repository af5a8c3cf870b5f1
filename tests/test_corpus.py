"""Schema test of the shipped corpus: every record valid, every reference resolvable."""

import re
from collections import Counter

import pypdf
import pytest
import yaml

from ingest.markdown import parse_markdown
from ingest.projects import Project, load_csv, load_yaml
from tests.conftest import CORPUS

STAGES = {"ambition", "organisation", "foundations", "applications", "public-value"}
PERSONAL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\+31|\b0\d{2}[- ]?\d{7}\b|https?://")


@pytest.fixture(scope="module")
def municipalities() -> set[str]:
    data = yaml.safe_load((CORPUS / "municipalities.yaml").read_text())
    ids = {m["id"] for m in data["municipalities"]}
    assert len(ids) == 21
    return ids | {data["regional"]["id"]}


@pytest.fixture(scope="module")
def guide():
    chapters = sorted((CORPUS / "guide").glob("[0-9][0-9]-*.md"))
    parsed = {p.name: parse_markdown(p.read_text()) for p in chapters}
    blocks = {b.id: b for md in parsed.values() for b in md.blocks}
    return chapters, parsed, blocks


@pytest.fixture(scope="module")
def projects() -> list[Project]:
    out = []
    for path in sorted((CORPUS / "projects").glob("*.yaml")):
        [rec] = load_yaml(path)
        assert isinstance(rec, Project), f"{path.name}: {rec}"
        assert rec.id == path.stem
        out.append(rec)
    return out


def test_guide_has_the_building_blocks_with_all_parts(guide):
    chapters, parsed, blocks = guide
    words = sum(len(p.read_text().split()) for p in chapters)
    print(f"guide: {len(chapters)} chapters, {words} words, {len(blocks)} building blocks")
    assert words >= 12000
    assert len(blocks) >= 14
    assert {b.stage for b in blocks.values()} == STAGES
    for b in blocks.values():
        for part in ("Purpose", "Why it matters", "Action perspectives", "Questions to ask",
                     "Pitfalls", "Indicators", "Related projects"):  # fmt: skip
            assert any(
                s.section and b.name in s.section and part in s.section
                for md in parsed.values() for s in md.segments
            ), f"{b.id} lacks {part}"


def test_guide_pdf_exists_with_pages():
    pdf = CORPUS / "guide" / "pdf" / "digital-strategy-guide.pdf"
    assert len(pypdf.PdfReader(pdf).pages) >= 20


def test_projects_are_valid_and_refer_to_known_things(projects, municipalities, guide):
    _, parsed, blocks = guide
    per_mun = Counter(p.municipality for p in projects)
    dutch = sum(p.language == "nl" for p in projects) / len(projects)
    print(f"projects: {len(projects)}, Dutch share {dutch:.0%}, per municipality {dict(per_mun)}")
    assert len(projects) >= 100
    assert dutch >= 0.25
    assert all(per_mun[m] >= 3 for m in municipalities - {"regional"})
    for p in projects:
        assert p.municipality in municipalities, p.id
        assert set(p.building_blocks) <= set(blocks), p.id
        assert 120 <= len(p.description.split()) <= 300, p.id
        assert not PERSONAL.search(p.model_dump_json()), p.id
    ids = {p.id for p in projects}
    related = {m for md in parsed.values() for s in md.segments
               if s.section and s.section.endswith("Related projects")
               for m in re.findall(r"`([a-z0-9-]+)`", s.text)}  # fmt: skip
    assert related and related <= ids, related - ids


def test_csv_matches_the_yaml_records(projects):
    from_csv = load_csv(CORPUS / "projects.csv")
    assert all(isinstance(r, Project) for r in from_csv)
    assert sorted(from_csv, key=lambda p: p.id) == sorted(projects, key=lambda p: p.id)


def test_strategies_and_coverage(guide, municipalities):
    _, _, blocks = guide
    cov = yaml.safe_load((CORPUS / "strategies" / "coverage.yaml").read_text())["strategies"]
    pdfs = sorted((CORPUS / "strategies").glob("*.pdf"))
    langs = Counter()
    for pdf in pdfs:
        reader = pypdf.PdfReader(pdf)
        n = len(reader.pages)
        print(f"strategy {pdf.name}: {n} pages")
        assert 6 <= n <= 20, pdf.name
        assert (CORPUS / "strategies" / "src" / f"{pdf.stem}.md").is_file()
        entry = cov[pdf.name]
        langs[entry["language"]] += 1
        assert entry["municipality"] in municipalities
        lists = entry["covered"] + entry["weak"] + entry["missing"]
        assert sorted(lists) == sorted(blocks), pdf.name
    assert len(pdfs) >= 8 and langs["nl"] >= 4
    assert set(cov) == {p.name for p in pdfs}


def test_evaluation_questions_point_at_real_targets(projects):
    path = CORPUS / "eval" / "questions.yaml"
    if not path.exists():
        pytest.fail("corpus/eval/questions.yaml is missing")
    qs = yaml.safe_load(path.read_text())["questions"]
    ids = {p.id for p in projects}
    kinds = Counter(q["kind"] for q in qs)
    langs = Counter(q["language"] for q in qs)
    cross = sum(bool(q.get("cross_lingual")) for q in qs)
    print(
        f"questions: {len(qs)}, by kind {dict(kinds)}, by language {dict(langs)}, "
        f"cross-lingual {cross}"
    )
    assert len(qs) >= 80 and langs["nl"] >= 30 and cross >= 15 and kinds["unanswerable"] >= 10
    assert len({q["id"] for q in qs}) == len(qs)
    headings: dict[str, str] = {}
    for md in (CORPUS / "guide").glob("*.md"):
        segments = parse_markdown(md.read_text()).segments
        headings[md.name] = " ".join(s.section or "" for s in segments)
    for q in qs:
        if q["kind"] == "unanswerable":
            assert q["expected"] == [], q["id"]
            continue
        assert q["expected"], q["id"]
        for e in q["expected"]:
            if "project" in e:
                assert e["project"] in ids, q["id"]
            elif e["source"].endswith(".md"):
                assert e.get("section", "") in headings[e["source"]], q["id"]
            else:
                pdf = CORPUS / "strategies" / e["source"]
                assert 1 <= e["page"] <= len(pypdf.PdfReader(pdf).pages), q["id"]


def test_no_personal_data_in_texts():
    paths = list((CORPUS / "guide").glob("*.md"))
    paths += list((CORPUS / "strategies" / "src").glob("*.md"))
    for path in paths:
        assert not PERSONAL.search(path.read_text()), path.name
