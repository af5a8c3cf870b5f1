"""PDFs protected only against copying or printing open without a password."""

from __future__ import annotations

import pytest
from pypdf import PdfReader, PdfWriter

from ingest.errors import IngestError
from ingest.loader import load_file
from tests.conftest import make_pdf

TEXT = "Gemeente Schiedam publiceert haar digitale agenda met aandacht voor inclusie."


def _protect(tmp_path, user: str, owner: str):
    plain = make_pdf(tmp_path / "plain.pdf", [TEXT])
    writer = PdfWriter(clone_from=PdfReader(plain))
    # Printing and copying forbidden (permissions 0), as government publications often are.
    writer.encrypt(user_password=user, owner_password=owner, permissions_flag=0,
                   algorithm="AES-128")  # fmt: skip
    out = tmp_path / f"protected-{user or 'none'}.pdf"
    with open(out, "wb") as f:
        writer.write(f)
    assert PdfReader(out).is_encrypted
    return out


def test_owner_password_only_opens_without_password(tmp_path):
    path = _protect(tmp_path, user="", owner="eigenaar")
    doc = load_file(path, pdf_timeout=60, pdf_memory_mb=2048).documents[0]
    assert doc.segments[0].text.startswith(TEXT)


def test_owner_password_only_opens_when_a_batch_password_is_given(tmp_path):
    path = _protect(tmp_path, user="", owner="eigenaar")
    doc = load_file(path, password="voor-een-ander-bestand").documents[0]
    assert doc.segments[0].text.startswith(TEXT)


def test_user_password_still_asks_for_it(tmp_path):
    path = _protect(tmp_path, user="geheim", owner="eigenaar")
    with pytest.raises(IngestError) as e:
        load_file(path)
    assert str(e.value) == "encrypted PDF: give its password with --password"
    with pytest.raises(IngestError) as e:
        load_file(path, password="fout")
    assert str(e.value) == "encrypted PDF: wrong password"
    assert load_file(path, password="geheim").documents[0].segments[0].text.startswith(TEXT)


def test_shared_aes256_file_with_empty_owner_password_still_needs_its_password(shared_pdfs):
    """Its owner password is empty (pypdf's decrypt("") matches the owner): the author meant
    the user password to keep readers out, so it is still asked for."""
    path = shared_pdfs / "encrypted-aes256-password-asdfzxcv.pdf"
    assert PdfReader(path).decrypt("") == 2  # PasswordType.OWNER_PASSWORD
    with pytest.raises(IngestError) as e:
        load_file(path)
    assert str(e.value) == "encrypted PDF: give its password with --password"
    assert load_file(path, password="asdfzxcv").documents[0].segments
