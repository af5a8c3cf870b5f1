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
