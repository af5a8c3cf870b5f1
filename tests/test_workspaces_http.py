"""Workspaces (#17) over HTTP: the login, its slow-down, expiring sessions, the trusted
proxy header (and a forged one), stored files per viewer, and the app's handlers acting for
the request's user. In process (starlette's TestClient) with the fake hash embedder; the
live server with gradio_client is in test_workspaces_live.py."""

from __future__ import annotations

import dataclasses
import json
import logging
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from index.embedder import HashingEmbedder
from kb import regional
from kb.settings import Settings
from tests.test_workspaces import PASSWORD, SECRETS, USERS, assert_sees, text_of

PROXY = "10.1.2.3"  # the configured proxy: TestClient's requests come from "testclient"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from kb.core import KnowledgeBase

    home = tmp_path_factory.mktemp("http-home")
    src = tmp_path_factory.mktemp("http-src")
    settings = Settings(home=home, embed_model="hash", login_delay=0.5, session_hours=1.0,
                        trusted_proxy=(PROXY,), user_header="X-Forwarded-User")  # fmt: skip
    kb = KnowledgeBase(home, embedder=HashingEmbedder(), settings=settings)
    ids = {}
    regio = src / "regio.md"
    regio.write_text("# Regionale notitie\n\nDe regio deelt open data over parkeren.\n")
    [r] = kb.ingest([regio])
    ids["regional"] = r.document_id
    for muni, secret in SECRETS.items():
        word = secret["words"][0]
        doc = src / f"{muni}-intern.md"
        doc.write_text(f"# Interne notitie {word}\n\nHet {word} plan over parkeersensoren.\n")
        [r] = kb.ingest([doc], municipality=muni, visibility="municipality")
        ids[muni] = r.document_id
    for name, (muni, role) in USERS.items():
        kb.accounts.add(name, muni, role, PASSWORD)
    yield kb, ids
    kb.close()


def client(kb, **changes) -> TestClient:
    from ui.access import server
    from ui.app import create_app

    if changes:
        kb.settings = dataclasses.replace(kb.settings, **changes)
    return TestClient(server(kb, create_app(kb)), follow_redirects=False)


@pytest.fixture(scope="module")
def http(site):
    kb, _ = site
    with client(kb) as c:
        yield c


def login(c: TestClient, name: str, password: str = PASSWORD):
    return c.post("/login", data={"username": name, "password": password})


def test_nothing_without_a_login(site, http):
    kb, ids = site
    http.cookies.clear()
    r = http.get("/")
    assert r.status_code == 303 and r.headers["location"] == "login"
    assert "Log in" in http.get("/login").text
    assert http.get("/config").status_code == 401
    assert http.post("/gradio_api/call/stats", json={"data": []}).status_code == 401
    for doc in ids.values():
        assert http.get(f"/kb/file/{doc}").status_code == 401


def test_wrong_password_then_the_slow_down(site, http, caplog):
    kb, _ = site
    kb.accounts.backoff.succeeded("user:dirk", "addr:testclient")
    caplog.set_level(logging.DEBUG)
    r = login(http, "dirk", "not the password")
    assert r.status_code == 401 and "kb-session" not in r.cookies
    # right away, even the right password waits: per user...
    r = login(http, "dirk")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # ...and per address: another user from the same address waits too
    assert login(http, "sem").status_code == 429
    kb.accounts.backoff.clock = lambda: 1e12  # the delay has passed
    try:
        r = login(http, "dirk")
        assert r.status_code == 200 and r.json() == {"success": True}
        assert "kb-session" in r.cookies
        # failures double the wait: three in a row wait 0.5, 1 and 2 s
        now = [2e12]
        kb.accounts.backoff.clock = lambda: now[0]
        for _ in range(3):
            now[0] += 1000  # each attempt after the previous wait
            assert login(http, "rob", "wrong password").status_code == 401
        assert kb.accounts.backoff.wait("user:rob") == pytest.approx(2.0)
        assert kb.accounts.backoff.wait("addr:testclient") == pytest.approx(2.0)
    finally:
        kb.accounts.backoff.clock = __import__("time").monotonic
        kb.accounts.backoff.succeeded("user:dirk", "user:rob", "addr:testclient")
    # no password, and no hash, in the log or in an answer
    logged = caplog.text + r.text
    assert PASSWORD not in logged and "argon2" not in logged and "not the password" not in logged


def test_an_expired_session_is_refused(site, http):
    kb, ids = site
    http.cookies.clear()
    assert login(http, "anna").status_code == 200
    assert http.get("/config").status_code == 200
    assert http.get(f"/kb/file/{ids['delft']}").status_code == 200
    token = http.cookies.get("kb-session")
    real = kb.accounts.clock
    kb.accounts.clock = lambda: real() + kb.accounts.session_seconds + 1
    try:
        assert http.get("/config").status_code == 401
        assert http.get(f"/kb/file/{ids['delft']}").status_code == 401
    finally:
        kb.accounts.clock = real
    # the expired session is gone from the store, not merely refused
    assert kb.accounts.session_viewer(token) is None
    assert http.get("/config").status_code == 401
    http.cookies.clear()


def test_logout_ends_the_session(site, http):
    http.cookies.clear()
    assert login(http, "sem").status_code == 200
    token = http.cookies.get("kb-session")
    assert http.get("/logout").status_code == 303
    http.cookies.set("kb-session", token)  # a copy of the old cookie opens nothing
    assert http.get("/config").status_code == 401
    http.cookies.clear()


def test_a_forged_proxy_header_is_ignored(site, http):
    kb, ids = site
    http.cookies.clear()
    forged = {"X-Forwarded-User": "ria"}  # the admin, from an address that is not the proxy
    assert http.get("/config", headers=forged).status_code == 401
    assert http.get(f"/kb/file/{ids['schiedam']}", headers=forged).status_code == 401
    assert http.get("/", headers=forged).status_code == 303


def test_the_trusted_proxy_names_the_user(site):
    kb, ids = site
    before = kb.settings
    try:
        with client(kb, trusted_proxy=("testclient",)) as c:
            assert c.get("/config").status_code == 401  # no header: no user
            assert c.get("/config", headers={"X-Forwarded-User": "nobody"}).status_code == 401
            as_sem = {"X-Forwarded-User": "sem"}
            assert c.get("/config", headers=as_sem).status_code == 200
            assert c.get(f"/kb/file/{ids['schiedam']}", headers=as_sem).status_code == 200
            assert c.get(f"/kb/file/{ids['delft']}", headers=as_sem).status_code == 404
    finally:
        kb.settings = before


@pytest.mark.parametrize("name", sorted(USERS))
def test_stored_files_only_for_who_may_see_them(site, name):
    kb, ids = site
    with client(kb) as c:
        assert login(c, name).status_code == 200
        for m in SECRETS:
            r = c.get(f"/kb/file/{ids[m]}")
            visible = USERS[name][1] == "admin" or USERS[name][0] == m
            assert r.status_code == (200 if visible else 404), (name, m)
            assert (SECRETS[m]["words"][0].encode() in r.content) == visible
        assert c.get(f"/kb/file/{ids['regional']}").status_code == 200
        # Gradio's own file route opens no stored file (no folder is allowed to it)
        stored = kb.home / kb.document(ids["delft"]).stored_path
        assert c.get(f"/gradio_api/file={stored.resolve()}").status_code in (403, 404)


def test_without_accounts_the_local_user_sees_everything(tmp_path):
    from kb.core import KnowledgeBase
    from ui.access import building_page
    from ui.app import Handlers

    kb = KnowledgeBase(tmp_path / "h", embedder=HashingEmbedder())
    doc = tmp_path / "d.md"
    doc.write_text("# Delft\n\nHet Zwanenveer plan.\n")
    [r] = kb.ingest([doc], municipality="delft", visibility="municipality")
    with client(kb) as c:
        assert c.get("/config").status_code == 200
        assert c.get(f"/kb/file/{r.document_id}").status_code == 200
    assert Handlers(kb).stats(request(None))["documents"] == 1
    with building_page():  # the page's own config holds no private document, even so
        assert Handlers(kb).stats()["documents"] == 0
        assert r.document_id[:12] not in str(create_page_config(kb))
    kb.close()


def create_page_config(kb) -> dict:
    from ui.app import create_app

    return create_app(kb).config


# ---- the app's handlers act for the request's user --------------------------------------
def request(name: str | None):
    """What Gradio hands a handler: a request whose username the login set."""
    return SimpleNamespace(username=name)


@pytest.mark.parametrize("name", sorted(USERS))
def test_handlers_act_for_the_request_user(site, name):
    from ui.app import Handlers
    from ui.regional_tab import RegionalHandlers

    kb, ids = site
    h, rh = Handlers(kb), RegionalHandlers(kb)
    req = request(name)
    for m in SECRETS:
        word = SECRETS[m]["words"][0]
        out = [
            h.ask(f"Het {word} plan", request=req),
            h.chat(f"Het {word} plan", [], "", "", request=req)[0][-1]["content"],
            h.similar(f"{word} parkeersensoren", request=req),
            h.stats(request=req),
            h.document_rows(request=req),
            rh.map_figure(request=req).to_json(),
            rh.collaborations(-1.0, request=req)[1],
        ]
        shown = [text_of(o) for o in out]  # each without the echo of the question
        assert_sees(name, shown, ids={mm: {"doc": ids[mm], "project_doc": ids[mm]}
                                      for mm in SECRETS}, expect_own=False)  # fmt: skip
        for leaked in [ids[mm] for mm in SECRETS if mm != USERS[name][0]
                       and USERS[name][1] != "admin"]:  # fmt: skip
            assert f"/kb/file/{leaked}" not in str(shown)
    rows = h.document_rows(request=req)
    seen = {r[7] for r in rows}
    for m in SECRETS:
        assert (ids[m][:12] in seen) == (USERS[name][1] == "admin" or USERS[name][0] == m)
    # without a login only regional documents; so for the values the page is built with
    from ui.access import building_page

    assert {r[7] for r in h.document_rows(request=None)} == {ids["regional"][:12]}
    assert h.stats(request=request(None))["documents"] == 1
    with building_page():
        assert {r[7] for r in h.document_rows(request=None)} == {ids["regional"][:12]}


def test_an_upload_by_a_reader_is_refused_and_an_editor_uploads_for_her_municipality(
        site, tmp_path):  # fmt: skip
    from ui.app import Handlers

    kb, _ = site
    h = Handlers(kb)
    doc = tmp_path / "nota.md"
    doc.write_text("# Nota Reiger\n\nDe Reigernota over glasvezel.\n")
    out = h.ingest([str(doc)], "", "strategy", "municipality", request=request("dirk"))
    assert out["counts"] == {"failed": 1} and "reader" in json.dumps(out)
    doc.write_text("# Nota Reiger\n\nDe Reigernota over glasvezel.\n")
    out = h.ingest([str(doc)], "Schiedam", "strategy", "municipality", request=request("anna"))
    assert out["counts"] == {"added": 1}, out
    stored = kb.document(out["results"][0]["document_id"])
    assert stored.municipality == "delft" and stored.visibility == "municipality"
    msg, rows = h.set_visibility(stored.id, "regional", "en", request=request("sara"))
    assert "No document" in msg  # hidden from Schiedam: not even "not yours"
    msg, _ = h.remove(stored.id, "en", request=request("dirk"))
    assert "may not" in msg
    msg, _ = h.remove(stored.id, "en", request=request("anna"))
    assert msg.startswith("Removed")
    assert regional.project_map(kb).projects == 0
