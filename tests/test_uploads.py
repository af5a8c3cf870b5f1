"""Uploads through the app's handlers (fake embedder): size limit, type by content, safe
stored names, no temporary copies left behind, and CSV rows checked one by one."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

import pytest

from ingest.projects import COLUMNS
from tests.conftest import make_pdf
from tests.test_projects import GOOD

SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def _quiet(*_a, **_k):
    return None


@pytest.fixture
def h(fake_kb):
    from ui.app import Handlers

    return Handlers(fake_kb)


def _upload(h, paths, municipality="", kind="strategy", raw=False) -> list[str]:
    """The report's lines; as plain text unless `raw` (the escaped Markdown the app shows)."""
    out, _rows = h.upload([str(p) for p in paths], municipality, kind, lang="en",
                          progress=_quiet)  # fmt: skip
    lines = out.split("\n\n")
    return lines if raw else [html.unescape(re.sub(r"\\(.)", r"\1", ln)) for ln in lines]


def _docs_by_source(kb) -> dict[str, list]:
    out: dict[str, list] = {}
    for d in kb.store.documents():
        out.setdefault(d.source, []).append(d)
    return out


def test_a_file_over_the_size_limit_is_refused_and_the_rest_still_loads(h, tmp_path, monkeypatch):
    from index.embedder import HashingEmbedder
    from kb.core import KnowledgeBase
    from kb.settings import Settings
    from ui.app import Handlers

    small_limit = Settings(max_file_mb=0.01)  # 10,485 bytes
    h = Handlers(KnowledgeBase(tmp_path / "limited", HashingEmbedder(), settings=small_limit))
    big = tmp_path / "groot.md"
    big.write_text("# Groot\n\n" + "Een lange alinea over glasvezel in de polder. " * 400)
    assert big.stat().st_size > 10_485
    small = make_pdf(tmp_path / "klein.pdf", ["Barendrecht kiest voor open data over de haven."])
    assert small.stat().st_size < 10_485
    lines = _upload(h, [big, small])
    assert lines[0].startswith("failed: groot.md: file too large") and "KB_MAX_FILE_MB" in lines[0]
    assert lines[1].startswith("added: klein.pdf")
    assert set(_docs_by_source(h.kb)) == {"klein.pdf"}


def test_the_default_limit_is_50_mb(monkeypatch):
    from kb.settings import Settings

    monkeypatch.delenv("KB_MAX_FILE_MB", raising=False)
    assert Settings.from_env().max_file_bytes == 50 * 1024 * 1024


def test_the_type_comes_from_the_bytes_not_the_name(h, tmp_path):
    pdf_as_md = make_pdf(tmp_path / "verslag.md", ["Lansingerland meet de luchtkwaliteit."])
    pdf_as_csv = make_pdf(tmp_path / "lijst.csv", ["Westland test slimme kassen met sensoren."])
    text_as_pdf = tmp_path / "nep.pdf"
    text_as_pdf.write_text("Dit is gewone tekst met een .pdf-naam.")
    zip_as_csv = tmp_path / "archief.csv"
    zip_as_csv.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00")
    lines = _upload(h, [pdf_as_md, pdf_as_csv, text_as_pdf, zip_as_csv, exe])
    assert lines[0].startswith("added: verslag.md")
    assert lines[1].startswith("added: lijst.csv")
    assert lines[2] == "failed: nep.pdf: not a PDF (no %PDF header)"
    assert lines[3] == "failed: archief.csv: broken zip file (File is not a zip file)"
    assert lines[4].startswith("failed: setup.exe: ")
    docs = _docs_by_source(h.kb)
    assert set(docs) == {"verslag.md", "lijst.csv"}
    # read as PDFs: one page each, and the page text is what the PDF holds
    assert all(d[0].pages == 1 for d in docs.values())
    hits = h.kb.retrieve("Lansingerland luchtkwaliteit", k=1)
    assert hits[0].chunk.page == 1 and "luchtkwaliteit" in hits[0].chunk.text


HOSTILE_NAMES = [
    "..%2F..%2Fescape.pdf",
    "..\\..\\windows.pdf",
    "<img src=x onerror=alert(1)>.pdf",
    "semi;colon $(rm -rf) `x`.pdf",
    "spatie en ünïcode naam.pdf",
    "....pdf",
    "-rf.pdf",
    "line\nbreak.pdf",
    "x" * 200 + ".pdf",
]


def test_hostile_file_names_are_stored_under_safe_names_inside_kb_home(h, tmp_path):
    paths = []
    for i, name in enumerate(HOSTILE_NAMES):
        folder = tmp_path / f"d{i}"
        folder.mkdir()
        paths.append(make_pdf(folder / name, [f"Document {i} over digitale inclusie in Schiedam."]))
    lines = _upload(h, paths, raw=True)
    assert all(line.startswith("added: ") for line in lines), lines
    assert not any("<img" in line for line in lines)  # the report is escaped Markdown
    assert any("&lt;img src=x onerror=alert\\(1\\)&gt;.pdf" in line for line in lines), lines
    files = (h.kb.home / "files").resolve()
    docs = h.kb.store.documents()
    assert len(docs) == len(HOSTILE_NAMES)
    stored = set()
    for d in docs:
        copy = (h.kb.home / d.stored_path).resolve()
        assert copy.parent == files, d.stored_path
        assert SAFE_NAME.match(copy.name) and not copy.name.startswith("."), copy.name
        assert len(copy.name) <= 120
        stored.add(copy.name)
    assert len(stored) == len(HOSTILE_NAMES)
    for p in paths:  # each stored copy holds exactly its own upload's bytes
        assert any((files / n).read_bytes() == p.read_bytes() for n in stored)
    assert sorted(f.name for f in files.iterdir()) == sorted(stored)


def test_a_second_upload_never_overwrites_another_documents_copy(h, tmp_path):
    a_dir, b_dir, c_dir = (tmp_path / n for n in "abc")
    for d in (a_dir, b_dir, c_dir):
        d.mkdir()
    first = make_pdf(a_dir / "plan.pdf", ["Het plan van Delft voor digitale dienstverlening."])
    second = make_pdf(b_dir / "plan.pdf", ["Het plan van Gouda voor slimme verlichting."])
    assert first.read_bytes() != second.read_bytes()
    _upload(h, [first], municipality="Delft")
    [doc_a] = h.kb.store.documents()
    copy_a = h.kb.home / doc_a.stored_path
    # a third file named exactly like the first one's stored copy
    third = make_pdf(c_dir / copy_a.name, ["Het plan van Wassenaar voor de dorpsapp."])
    lines = _upload(h, [second, third], municipality="Gouda")
    assert [line.split(" (")[0] for line in lines] == ["added: plan.pdf", f"added: {copy_a.name}"]
    docs = h.kb.store.documents()
    assert len(docs) == 3 and len({d.stored_path for d in docs}) == 3
    assert copy_a.read_bytes() == first.read_bytes()
    by_id = {d.id: d for d in docs}
    for src in (first, second, third):
        [d] = [d for d in docs if (h.kb.home / d.stored_path).read_bytes() == src.read_bytes()]
        assert d.id in by_id


def test_gradio_temporary_copies_are_removed_once_ingested(h, kb_home, tmp_path, monkeypatch):
    uploads = kb_home / "uploads"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(uploads))
    tmp_copy = make_pdf(_mkdir(uploads / "3f2a9c") / "visie.pdf", ["Krimpen kiest e-loketten."])
    api_copy = make_pdf(_mkdir(uploads / "77b1e0") / "api.pdf", ["Nissewaard opent een datalab."])
    elsewhere = make_pdf(tmp_path / "eigen.pdf", ["Voorne aan Zee bouwt een dorpsplatform."])
    lines = _upload(h, [tmp_copy, elsewhere])
    assert all(line.startswith("added: ") for line in lines), lines
    out = h.ingest([str(api_copy)], "Nissewaard", "strategy")
    assert out["counts"] == {"added": 1}
    assert out["results"][0]["name"] == "api.pdf"  # not its path on the server
    assert not tmp_copy.exists() and not tmp_copy.parent.exists()
    assert not api_copy.exists() and not api_copy.parent.exists()
    assert elsewhere.exists()  # a file that is not Gradio's temporary copy stays
    assert uploads.is_dir() and list(uploads.iterdir()) == []
    for d in h.kb.store.documents():  # the store keeps its own copy, under KB_HOME/files
        assert (kb_home / d.stored_path).is_file() and d.stored_path.startswith("files/")


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True)
    return p


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (";".join(v) if isinstance(v, list) else v) for k, v in r.items()})
    return buf.getvalue()


def test_a_csv_upload_checks_every_row_and_names_the_bad_ones(h, tmp_path):
    rows = [
        {**GOOD, "id": "delft-parking-a"},                               # row 2: fine
        {**GOOD, "id": "delft-parking-b", "status": "finished"},         # row 3: bad status
        {**GOOD, "id": "gouda-parking", "municipality": "gouda"},        # row 4: fine
        {**GOOD, "id": "Not A Slug", "start_year": "soon"},              # row 5: two bad fields
        {**GOOD, "id": "leiden-parking", "summary": "short"},            # row 6: summary too short
    ]  # fmt: skip
    text = _csv(rows)
    # row 7: a stray comma gives the row more cells than the header has columns
    shifted = _csv([{**GOOD, "id": "zoetermeer-parking", "municipality": "zoetermeer"}])
    text += shifted.splitlines()[1].replace("Smart parking", "Smart, parking") + "\n"
    path = tmp_path / "projecten.csv"
    path.write_text(text, encoding="utf-8")
    lines = _upload(h, [path], kind="project")
    failed = [ln for ln in lines if ln.startswith("failed:")]
    added = [ln for ln in lines if ln.startswith("added:")]
    assert [ln.split(":")[2].strip() for ln in failed] == ["row 3", "row 5", "row 6", "row 7"]
    assert all(ln.startswith("failed: projecten.csv: row ") for ln in failed)
    assert "status" in failed[0]
    assert "id" in failed[1] and "start_year" in failed[1]
    assert "summary" in failed[2]
    assert "more cells than the header" in failed[3]
    assert sorted(ln.split(":")[2].split(" (")[0].strip() for ln in added) == [
        "delft-parking-a", "gouda-parking"]  # fmt: skip
    assert {p["id"] for p in h.kb.projects()} == {"delft-parking-a", "gouda-parking"}


def test_a_csv_with_a_broken_header_is_refused_as_a_whole(h, tmp_path):
    path = tmp_path / "rommel.csv"
    path.write_text("naam,plaats\nparkeren,Delft\n", encoding="utf-8")
    [line] = _upload(h, [path], kind="project")
    assert line == "failed: rommel.csv: CSV has no header with an 'id' column"
    assert h.kb.projects() == []


def test_a_new_version_uploaded_under_the_same_name_replaces_the_old_one(h, tmp_path):
    old = make_pdf(_mkdir(tmp_path / "v1") / "strategie.pdf", ["Delft versie een: wijkapp."])
    new = make_pdf(_mkdir(tmp_path / "v2") / "strategie.pdf", ["Delft versie twee: datalab."])
    other = make_pdf(_mkdir(tmp_path / "v3") / "strategie.pdf", ["Gouda: slimme verlichting."])
    assert _upload(h, [old], municipality="Delft")[0].startswith("added: strategie.pdf")
    assert _upload(h, [new], municipality="Delft")[0].startswith("replaced: strategie.pdf")
    assert _upload(h, [new], municipality="Delft")[0].startswith("unchanged: strategie.pdf")
    assert _upload(h, [other], municipality="Gouda")[0].startswith("added: strategie.pdf")
    docs = h.kb.store.documents()
    assert sorted(d.municipality for d in docs) == ["delft", "gouda"]
    texts = " ".join(c.text for d in docs for c in h.kb.store.chunks_of(d.id))
    assert "datalab" in texts and "wijkapp" not in texts
    assert not (h.kb.home / "incoming").exists()  # staging copies are gone
