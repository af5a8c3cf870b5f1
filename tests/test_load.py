"""Load: 20 gradio_client users × 25 questions at once against a live `kb serve` on the
shipped corpus (real model), with one upload meanwhile. Asserts correctness only; the
latency figures are written to a JSON file and printed, never asserted."""

from __future__ import annotations

import json
import os
import re

import pytest

from bench.load import QUESTIONS, run_load, running_server, upload_pdf
from tests.conftest import copy_corpus_home

CLIENTS, PER_CLIENT = 20, 25
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory, corpus_home):
    home = copy_corpus_home(corpus_home, tmp_path_factory.mktemp("loadhome"))
    env = {**os.environ, "KB_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False"}
    for name in ("KB_EMBED_MODEL", "KB_AUTH"):
        env.pop(name, None)
    with running_server(env) as url:
        yield url


@pytest.mark.timeout(900)
def test_many_users_and_an_upload_at_once(corpus_server, tmp_path):
    from gradio_client import Client

    pdf = upload_pdf(tmp_path)
    res = run_load(corpus_server, CLIENTS, PER_CLIENT, upload=pdf)
    figures = res["figures"]
    out = tmp_path / "load.json"
    out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"\nload figures ({out}):\n{json.dumps(figures, indent=2)}")

    assert res["errors"] == []
    assert figures["completed"] == CLIENTS * PER_CLIENT == len(res["answers"])
    asked = {a["question"] for a in res["answers"]}
    assert asked == set(QUESTIONS)
    for a in res["answers"]:  # every answer is answered and cites its sources
        assert a["answered"] and a["sources"], a["question"]
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", a["answer"])}
        assert cited and cited <= set(range(1, len(a["sources"]) + 1)), a["answer"]
    assert figures["upload"]["counts"] == {"added": 1}
    # the upload made during the load is searchable afterwards
    c = Client(corpus_server, verbose=False)
    a = c.predict("Wat is het Klantcontactcentrum Zeemanskwartier?", "", "", 5, api_name="/ask")
    assert a["sources"][0]["source"] == pdf.name


# ---- the same load with logged-in users of different municipalities (#17) ----------------
SECRET_DOCS = {  # municipality: (marker word, private text)
    "delft": ("Zwanenveer", "Het Zwanenveer plan: Delft test vertrouwelijk slimme "
                            "parkeersensoren bij de Zwanenveer laadpleinen."),
    "schiedam": ("Kraaienhorst", "Het Kraaienhorst plan: Schiedam test vertrouwelijk slimme "
                                 "parkeersensoren bij de Kraaienhorst laadpleinen."),
}  # fmt: skip
LOGINS = {  # name: municipality (the upload goes as the first, a region admin)
    "ria": "regional", "anna": "delft", "dirk": "delft", "sara": "schiedam", "sem": "schiedam",
}  # fmt: skip
LOGIN_PASSWORD = "load-test-password"
ACCESS_PER_CLIENT = 14


@pytest.fixture(scope="module")
def workspace_server(tmp_path_factory, corpus_home):
    import subprocess
    import sys

    home = copy_corpus_home(corpus_home, tmp_path_factory.mktemp("loadaccess"))
    src = tmp_path_factory.mktemp("loadaccess-src")
    env = {**os.environ, "KB_HOME": str(home), "GRADIO_ANALYTICS_ENABLED": "False"}
    for name in ("KB_EMBED_MODEL", "KB_AUTH"):
        env.pop(name, None)
    kb = [sys.executable, "-c", "from ui.cli import main; main()"]
    for muni, (word, text) in SECRET_DOCS.items():
        doc = src / f"{muni}-intern.md"
        doc.write_text(f"# Interne notitie {word}\n\n{text}\n", encoding="utf-8")
        subprocess.run(kb + ["ingest", str(doc), "--municipality", muni, "--visibility",
                             "municipality", "-q"], env=env, check=True, timeout=600,
                       capture_output=True)  # fmt: skip
    for name, muni in LOGINS.items():
        role = ("admin" if muni == "regional"
                else "editor" if name in ("anna", "sara") else "reader")  # fmt: skip
        subprocess.run(kb + ["users", "add", name, "--municipality", muni, "--role", role,
                             "--password-stdin"], env=env, check=True, timeout=300,
                       input=LOGIN_PASSWORD + "\n", text=True, capture_output=True)  # fmt: skip
    with running_server(env) as url:
        yield url


@pytest.mark.timeout(900)
def test_many_logged_in_users_of_different_municipalities_see_only_their_own(
        workspace_server, tmp_path):  # fmt: skip
    secret_questions = [f"Wat is het {word} plan voor parkeersensoren?"
                        for word, _ in SECRET_DOCS.values()]  # fmt: skip
    pool = QUESTIONS + secret_questions
    users = [(name, LOGIN_PASSWORD) for name in LOGINS]
    res = run_load(workspace_server, CLIENTS, ACCESS_PER_CLIENT, upload=upload_pdf(tmp_path),
                   users=users, pool=pool)  # fmt: skip
    print(f"\nload figures (logged in):\n{json.dumps(res['figures'], indent=2)}")
    assert res["errors"] == []
    assert len(res["answers"]) == len(res["asked_by"]) == CLIENTS * ACCESS_PER_CLIENT
    assert res["figures"]["upload"]["counts"] == {"added": 1}
    found = {name: set() for name in LOGINS}
    for who, a in zip(res["asked_by"], res["answers"], strict=True):
        mine = LOGINS[who]
        # the answer without the echo of the user's own question (also in its `turn`)
        turn = {k: v for k, v in a.get("turn", {}).items() if k not in ("question", "resolved")}
        shown = json.dumps({**{k: v for k, v in a.items() if k not in ("question", "turn")},
                            "turn": turn}, ensure_ascii=False)  # fmt: skip
        for muni, (word, _) in SECRET_DOCS.items():
            if mine not in ("regional", muni):  # nothing crosses between municipalities
                assert word not in shown, (who, a["question"])
            elif word in a["question"] and any(word in s["snippet"] for s in a["sources"]):
                found[who].add(muni)
    # and each user did find what is theirs (the admin both)
    assert found["ria"] == set(SECRET_DOCS)
    for name in ("anna", "dirk", "sara", "sem"):
        assert found[name] == {LOGINS[name]}, found
