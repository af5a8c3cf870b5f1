"""Hostile and odd files: each is ingested or refused in one line, in bounded time and memory,
and the rest of the batch goes on.

The PDFs are written byte by byte here (no PDF library), so that each can be exactly as
broken or as hostile as intended: a compression bomb that inflates to 4 GiB from a few MB,
a page whose text extraction runs for minutes, 2,000 pages.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import zlib
from pathlib import Path

import psutil
import pytest

from index.embedder import HashingEmbedder
from ingest.errors import IngestError
from ingest.loader import load_file
from ingest.pdf import MAX_STREAM_BYTES
from tests.conftest import ROOT, make_pdf

KB = str(Path(sys.executable).with_name("kb"))
GOOD_TEXT = "Gemeente Vlaardingen bouwt een kennisbank over zeespiegelstijging en dijkversterking."


# ---- writing PDFs by hand --------------------------------------------------------------------
def _stream(entries: bytes, data: bytes) -> bytes:
    packed = zlib.compress(data, 6)
    return (b"<< " + entries + b" /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
            + packed + b"\nendstream")  # fmt: skip


def write_pdf(path: Path, pages: list[bytes], forms: dict[str, bytes] | None = None) -> Path:
    """A PDF with one content stream per page; `forms` are Form XObjects every page may call."""
    objects: list[bytes] = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    font = 3
    resources = b"/Font << /F1 %d 0 R >>" % font
    names = []
    for name, data in (forms or {}).items():
        entries = (
            b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << %s >>" % resources
        )
        objects.append(_stream(entries, data))
        names.append(b"/%s %d 0 R" % (name.encode(), len(objects)))
    resources += b" /XObject << " + b" ".join(names) + b" >>"
    kids = []
    for data in pages:
        objects.append(_stream(b"", data))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       b"/Resources << %s >> >>" % (len(objects), resources))  # fmt: skip
        kids.append(b"%d 0 R" % len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(kids)
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def write_bomb(path: Path, gib: int = 4) -> int:
    """A one-page PDF whose content stream is a valid zlib stream inflating to `gib` GiB.

    Deflating gigabytes of zeros takes seconds, so one 16 MiB block of zeros is deflated and
    its bytes repeated: after a sync flush the deflater's state is the same for every further
    block of zeros, so the repeated bytes are exactly what deflating them all would give.
    The Adler-32 of the whole (text, then zeros) is computed directly: zeros leave its low
    half A as it is and add A to its high half B for each byte. Never held in memory.
    Returns the inflated size in bytes.
    """
    head = b"BT /F1 12 Tf 72 700 Td (A page that inflates to gigabytes of nothing) Tj ET\n"
    block = bytes(16 << 20)
    blocks = (gib << 30) // len(block)
    deflater = zlib.compressobj(9)
    first = deflater.compress(head) + deflater.compress(block) + deflater.flush(zlib.Z_SYNC_FLUSH)
    repeat = deflater.compress(block) + deflater.flush(zlib.Z_SYNC_FLUSH)
    assert repeat == deflater.compress(block) + deflater.flush(zlib.Z_SYNC_FLUSH)
    tail = deflater.flush(zlib.Z_FINISH)[:-4]  # the final block without the checksum
    a, b = zlib.adler32(head) & 0xFFFF, zlib.adler32(head) >> 16
    total_zeros = blocks * len(block)
    checksum = ((b + total_zeros % 65521 * a) % 65521) << 16 | a
    length = len(first) + (blocks - 1) * len(repeat) + len(tail) + 4
    with open(path, "wb") as f:
        f.write(b"%PDF-1.7\n")
        offsets = [f.tell()]
        f.write(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
        offsets.append(f.tell())
        f.write(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
        offsets.append(f.tell())
        f.write(b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>\nendobj\n")  # fmt: skip
        offsets.append(f.tell())
        f.write(b"4 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % length)
        f.write(first)
        for _ in range(blocks - 1):
            f.write(repeat)
        f.write(tail + checksum.to_bytes(4, "big"))
        f.write(b"\nendstream\nendobj\n")
        offsets.append(f.tell())
        f.write(b"5 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n")
        xref = f.tell()
        f.write(
            b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
        )
        f.write(b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return len(head) + total_zeros


def write_slow(path: Path, pages: int = 5) -> Path:
    """A 2 KB PDF whose text extraction runs for minutes with pypdf 7.1.1.

    Each page calls one small form 4,900 times (just under pypdf's 5,000-call limit per
    page); the form shows 400 one-letter strings. Measured: about a minute per page.
    """
    form = b"BT /F1 1 Tf " + b"(a) Tj " * 400 + b" ET"
    return write_pdf(path, [b"/X0 Do " * 4900] * pages, {"X0": form})


def write_long(path: Path, pages: int = 2000) -> Path:
    body = b"BT /F1 11 Tf 72 700 Td (Page %d of a long report on open data and sensors.) Tj ET"
    return write_pdf(path, [body % i for i in range(1, pages + 1)])


# ---- the generators make what they claim -------------------------------------------------------
@pytest.mark.slow
def test_bomb_is_small_on_disk_and_a_valid_stream_of_gigabytes(tmp_path):
    path = tmp_path / "bomb.pdf"
    size = write_bomb(path, gib=1)
    assert path.stat().st_size < 3_000_000 and size > 1 << 30
    data = path.read_bytes()
    packed = data[data.index(b"stream\n") + 7 : data.rindex(b"\nendstream")]
    inflater = zlib.decompressobj()
    seen = 0
    for start in range(0, len(packed), 1 << 16):  # in pieces: never the whole gigabyte at once
        out = inflater.decompress(packed[start : start + (1 << 16)], 1 << 26)
        while True:
            seen += len(out)
            if not inflater.unconsumed_tail:
                break
            out = inflater.decompress(inflater.unconsumed_tail, 1 << 26)
    assert inflater.eof and seen == size  # the checksum holds, or zlib would have raised


# ---- one file at a time, through the loader ---------------------------------------------------
def test_compression_bomb_is_refused_within_the_limits(tmp_path):
    path = tmp_path / "bomb.pdf"
    write_bomb(path, gib=4)
    start = time.monotonic()
    with pytest.raises(IngestError, match=r"^refused: .*safety limits.*compression bomb\?$"):
        load_file(path, pdf_timeout=60, pdf_memory_mb=1024)
    assert time.monotonic() - start < 30
    assert MAX_STREAM_BYTES <= 128 << 20


@pytest.mark.slow
def test_slow_extraction_is_stopped_at_the_time_budget(tmp_path):
    path = write_slow(tmp_path / "slow.pdf")
    start = time.monotonic()
    with pytest.raises(IngestError) as e:
        load_file(path, pdf_timeout=2)
    elapsed = time.monotonic() - start
    assert str(e.value) == "text extraction took longer than 2 s (KB_PDF_TIMEOUT)"
    assert 2 <= elapsed < 15
    # The worker was killed, not abandoned: the next PDF is read by a fresh one.
    good = make_pdf(tmp_path / "good.pdf", [GOOD_TEXT])
    assert "Vlaardingen" in load_file(good, pdf_timeout=30).documents[0].segments[0].text


def test_memory_cap_stops_a_worker_that_needs_more(tmp_path):
    # Inflating the 64 MB that pypdf allows takes a few hundred MB; below that, the cap wins.
    path = tmp_path / "bomb.pdf"
    write_bomb(path, gib=1)
    with pytest.raises(IngestError, match=r"more than 160 MB \(KB_PDF_MEMORY_MB\)"):
        load_file(path, pdf_timeout=60, pdf_memory_mb=160)


@pytest.mark.slow
def test_2000_pages_are_read_with_their_page_numbers(tmp_path):
    path = write_long(tmp_path / "long.pdf")
    start = time.monotonic()
    doc = load_file(path, pdf_timeout=120).documents[0]
    assert time.monotonic() - start < 60
    assert doc.pages == 2000 and len(doc.segments) == 2000
    assert "Page 1234 of a long report" in doc.segments[1233].text
    with pytest.raises(IngestError, match=r"too many pages \(2000 > 1500, see KB_MAX_PAGES\)"):
        load_file(path, pdf_timeout=120, max_pages=1500)


# ---- a batch through the real command ---------------------------------------------------------
def _peak_memory(proc: psutil.Popen) -> tuple[int, int]:
    """Poll a running process: the peak resident memory of it and of its children."""
    own = children = 0
    while proc.poll() is None:
        try:
            own = max(own, proc.memory_info().rss)
            for c in proc.children(recursive=True):
                children = max(children, c.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    return own, children


@pytest.mark.integration  # `kb ingest` in a subprocess
def test_a_batch_of_hostile_files_goes_on_to_the_good_ones(tmp_path, kb_home):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a-empty.pdf").write_bytes(b"")
    (folder / "b-text.pdf").write_text("Dit is gewone tekst met een .pdf-naam.\n")
    whole = write_long(tmp_path / "whole.pdf", pages=40).read_bytes()
    (folder / "c-truncated.pdf").write_bytes(whole[: len(whole) // 2])
    write_bomb(folder / "d-bomb.pdf", gib=4)
    write_slow(folder / "e-slow.pdf")
    write_long(folder / "f-long.pdf")
    make_pdf(folder / "g-good.pdf", [GOOD_TEXT])
    (folder / "h-good.md").write_text(
        "# Wadi's\n\nDe gemeente legt wadi's aan tegen wateroverlast.\n"
    )

    env = dict(os.environ, KB_PDF_TIMEOUT="15", KB_PDF_MEMORY_MB="1024")
    start = time.monotonic()
    proc = psutil.Popen([KB, "ingest", str(folder)], env=env, cwd=ROOT,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    own, worker = _peak_memory(proc)
    out, err = proc.communicate()
    elapsed = time.monotonic() - start

    assert proc.returncode == 1
    lines = [ln for ln in (out + err).splitlines() if ln.startswith(("added: ", "failed: "))]
    by_file = {Path(ln.split(": ")[1].split(" (")[0]).name: ln for ln in lines}
    assert len(lines) == len(by_file) == 8, out + err
    expect = {
        "a-empty.pdf": "failed: .*a-empty.pdf: empty file$",
        "b-text.pdf": r"failed: .*b-text.pdf: not a PDF \(no %PDF header\)$",
        "c-truncated.pdf": r"failed: .*c-truncated.pdf: unreadable PDF \(.+\)$",
        "d-bomb.pdf": r"failed: .*d-bomb.pdf: refused: .*compression bomb\?$",
        "e-slow.pdf": r"failed: .*e-slow.pdf: text extraction took longer than 15 s "
        r"\(KB_PDF_TIMEOUT\)$",
        "f-long.pdf": r"added: .*f-long.pdf \(2000 chunks\)$",
        "g-good.pdf": r"added: .*g-good.pdf \(1 chunks\)$",
        "h-good.md": r"added: .*h-good.md \(1 chunks\)$",
    }
    for name, pattern in expect.items():
        assert re.match(pattern, by_file[name]), by_file[name]
    assert "3 added, 5 failed" in out
    assert elapsed < 120
    assert own < 1024 << 20 and worker < 1024 << 20, (own >> 20, worker >> 20)

    from kb.core import KnowledgeBase

    kb = KnowledgeBase(kb_home, embedder=HashingEmbedder())
    try:
        hits = kb.retrieve("Vlaardingen zeespiegelstijging dijkversterking", k=3)
        assert hits and "Vlaardingen" in hits[0].chunk.text
        hits = kb.retrieve("wadi's wateroverlast", k=3)
        assert hits and "wateroverlast" in hits[0].chunk.text
        assert kb.stats()["documents"] == 3
    finally:
        kb.close()


def _hostile_workbook(path: Path, sheets: int) -> Path:
    """Sheets that declare the whole grid (A1:XFD1048576) and save a cell in its last row and
    its last column, so that a reader that trusts the declaration or the gap walks 1.7e10
    cells per sheet."""
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    first["A1"], first["B1"], first["A2"], first["B2"] = "Wijk", "Meldingen", "Noord", 7
    first["XFD3"] = "ver weg"
    first["A1048576"] = "laatste rij"
    for i in range(2, sheets + 1):
        book.create_sheet(f"Blad{i}")
    book.save(path)
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    one = members["xl/worksheets/sheet1.xml"]
    assert b'<dimension ref="A1:XFD1048576"/>' in one
    for name in members:
        if name.startswith("xl/worksheets/sheet"):
            members[name] = one
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_a_workbook_that_declares_the_whole_grid_is_read_in_bounded_time(tmp_path):
    from ingest.sheets import MAX_COLUMNS, MAX_ROWS

    path = _hostile_workbook(tmp_path / "raster.xlsx", sheets=40)
    started = time.monotonic()
    doc = load_file(path).documents[0]
    assert time.monotonic() - started < 30  # about 2 s here on a busy machine
    assert len(doc.segments) == 40
    assert doc.segments[0].text == "Wijk: Noord; Meldingen: 7."
    note = {"rows_read": MAX_ROWS, "rows": 1_048_576, "columns_read": MAX_COLUMNS,
            "columns": 16_384}  # fmt: skip
    assert doc.meta["truncated"] == [{"sheet": s.section, **note} for s in doc.segments]
