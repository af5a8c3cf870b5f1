"""Access to a live `kb serve` with KB_AUTH (the tiny hashing embedder, so it starts fast):
nothing without the login, everything with it; uploads capped and kept under KB_HOME."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.load import running_server
from tests.conftest import make_pdf

USER, PASSWORD = "planner", "s3cret:with-colon"  # a password may hold ':' itself
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("authhome")
    src = tmp_path_factory.mktemp("authsrc")
    doc = src / "delft.md"
    doc.write_text("# Delft\n\nDelft plaatst parkeersensoren bij laadplekken in de binnenstad.\n")
    env = {**os.environ, "KB_HOME": str(home), "KB_EMBED_MODEL": "hash",
           "KB_AUTH": f"{USER}:{PASSWORD}", "KB_MAX_FILE_MB": "0.05",
           # no slow-down after this module's deliberate wrong passwords (tested on its own
           # in test_workspaces_http.py and test_workspaces_live.py)
           "KB_LOGIN_DELAY": "0",
           "GRADIO_ANALYTICS_ENABLED": "False"}  # fmt: skip
    kb = [sys.executable, "-c", "from ui.cli import main; main()"]
    subprocess.run(kb + ["ingest", str(doc), "-q"], env=env, check=True, timeout=300,
                   capture_output=True)  # fmt: skip
    with running_server(env) as url:
        yield url, home


@contextlib.contextmanager
def _login(url: str) -> Iterator[httpx.Client]:
    """A plain HTTP session that has logged in through the login form."""
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("login", data={"username": USER, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield c


def test_without_the_login_nothing_is_served(server):
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    url, home = server
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(url, verbose=False)
    [stored] = (home / "files").glob("*-delft.md")
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("config").status_code == 401
        assert c.get("gradio_api/info").status_code == 401
        r = c.post("gradio_api/call/stats", json={"data": []})
        assert r.status_code == 401, r.text
        r = c.get("gradio_api/file=" + str(stored.resolve()))
        assert r.status_code == 401 and b"parkeersensoren" not in r.content
        r = c.get(f"kb/file/{stored.name[:16]}")
        assert r.status_code == 401 and b"parkeersensoren" not in r.content
        # the page itself only offers the login form
        page = c.get("").text
        assert "parkeersensoren" not in page


def test_a_wrong_password_is_refused(server):
    from gradio_client import Client

    url, _ = server
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("login", data={"username": USER, "password": "s3cret"})
        assert r.status_code == 401 and "Incorrect credentials" in r.text, r.text
        assert c.get("config").status_code == 401
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=(USER, "wrong"), verbose=False)


def test_with_the_login_the_api_and_stored_files_work(server):
    from gradio_client import Client

    url, home = server
    c = Client(url, auth=(USER, PASSWORD), verbose=False)
    assert c.predict(api_name="/stats")["documents"] >= 1
    a = c.predict("Waar plaatst Delft parkeersensoren?", "", "", 5, api_name="/ask")
    assert a["sources"] and a["sources"][0]["source"] == "delft.md"
    [stored] = (home / "files").glob("*-delft.md")
    with _login(url) as s:
        # stored files open through the app's own route, checked per viewer (ui/access.py)
        r = s.get(f"kb/file/{a['sources'][0]['document_id']}")
        assert r.status_code == 200 and b"parkeersensoren" in r.content
        # Gradio's file route opens no stored copy, nor the store, nor anything else
        files = (home / "files").resolve()
        for other in (stored.resolve(), home.resolve() / "kb.sqlite", files / ".." / "kb.sqlite",
                      "/etc/passwd", Path(__file__).resolve()):  # fmt: skip
            r = s.get(f"gradio_api/file={other}")
            assert r.status_code == 403, (other, r.status_code)
            assert b"SQLite format" not in r.content and b"root:" not in r.content
            assert b"parkeersensoren" not in r.content
        for path in ("kb/file/..%2Fkb.sqlite", "kb/file/%2Fetc%2Fpasswd"):
            r = s.get(path)
            assert r.status_code == 404 and b"SQLite format" not in r.content


def test_uploads_are_capped_and_leave_nothing_outside_kb_home(server, tmp_path):
    from gradio_client import Client, handle_file

    url, home = server
    c = Client(url, auth=(USER, PASSWORD), verbose=False)
    before = c.predict(api_name="/stats")["documents"]
    name = f"ridderkerk-{os.getpid()}-{time.time_ns()}.pdf"
    pdf = make_pdf(tmp_path / name, ["Ridderkerk zet in op een digitale wijkapp voor meldingen."])
    out = c.predict([handle_file(str(pdf))], "Ridderkerk", "strategy", api_name="/ingest")
    assert out["counts"] == {"added": 1}, out
    assert out["results"][0]["name"] == name and str(home) not in str(out)
    # Gradio received it in KB_HOME/uploads (nothing in the system temp folder) and its
    # temporary copy is gone; the store's own copy is in KB_HOME/files.
    assert not list(Path(tempfile.gettempdir(), "gradio").glob(f"*/{name}"))
    assert not [p for p in (home / "uploads").rglob("*") if p.is_file() and p.name == name]
    assert len([p for p in (home / "files").iterdir() if p.name.endswith(name)]) == 1

    big = tmp_path / "te-groot.md"
    big.write_text("# Te groot\n\n" + "Glasvezel in de polder. " * 4000)  # ~96 KB > 0.05 MB
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # gradio_client checks
        c.predict([handle_file(str(big))], "", "strategy", api_name="/ingest")
    with _login(url) as s:  # and so does the server, for a client that does not
        r = s.post("gradio_api/upload", files={"files": ("te-groot.md", big.read_bytes())})
        assert r.status_code == 413, r.text
        r = s.post("gradio_api/upload", files={"files": ("klein.md", b"# Klein\n\nKlein.\n")})
        assert r.status_code == 200 and Path(r.json()[0]).is_relative_to(home / "uploads")
    assert c.predict(api_name="/stats")["documents"] == before + 1


def test_the_api_cannot_ingest_a_file_from_elsewhere_on_the_server(server, tmp_path):
    from gradio_client import Client

    url, _ = server
    secret = tmp_path / "geheim.md"
    secret.write_text("# Geheim\n\nDit bestand staat buiten de uploadmap van de server.\n")
    file_data = {"path": str(secret), "orig_name": "geheim.md",
                 "meta": {"_type": "gradio.FileData"}}  # fmt: skip
    with _login(url) as s:
        r = s.post("gradio_api/call/ingest", json={"data": [[file_data], "", "strategy"]})
        assert r.status_code == 200, r.text
        events = s.get(f"gradio_api/call/ingest/{r.json()['event_id']}").text
    assert "event: error" in events and "event: complete" not in events, events
    c = Client(url, auth=(USER, PASSWORD), verbose=False)
    assert "geheim" not in str(c.predict(api_name="/stats"))
    answer = c.predict("Geheim buiten de uploadmap", "", "", 5, api_name="/ask")
    assert all(s["source"] != "geheim.md" for s in answer["sources"])
