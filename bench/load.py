"""Load on a live `kb serve`: many gradio_client users asking at once, one upload meanwhile.

Usage (build the corpus store first):
    KB_HOME=/tmp/kbload .venv/bin/kb ingest corpus -q
    KB_HOME=/tmp/kbload .venv/bin/python bench/load.py [--clients 20] [--questions 25]
        [--no-upload] [--url http://127.0.0.1:PORT/] [--out figures.json]

Without --url it starts `kb serve` on a free loopback port with the store in KB_HOME and
stops it afterwards. Only 127.0.0.1 is ever contacted. Prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# Questions the shipped corpus answers (guide chapters, strategy PDFs, projects; nl and en).
QUESTIONS = [
    "Which municipalities use smart parking sensors?",
    "Welke gemeenten werken met parkeersensoren?",
    "How do municipalities keep algorithms transparent?",
    "Hoe kunnen we ouderen digitaal vaardiger maken?",
    "Which action perspectives does the guide give for data management?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), int(round(p * len(ordered)))) - 1)]


@contextlib.contextmanager
def running_server(env: dict[str, str], timeout: float = 180) -> Iterator[str]:
    """`kb serve` in its own process on a free loopback port; yields its URL.

    `env` is the whole environment of the server (KB_HOME, KB_EMBED_MODEL, KB_AUTH, ...).
    """
    port = free_port()
    cmd = [sys.executable, "-c", "from ui.cli import main; main()", "serve", "--port", str(port)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError("server did not start: " + log.read().decode()[-3000:])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _asker(url: str, n: int, offset: int, latencies: list[float], answers: list[dict],
           errors: list[str], start: threading.Barrier, auth: tuple[str, str] | None = None,
           pool: list[str] = QUESTIONS,
           asked_by: list[str | None] | None = None) -> None:  # fmt: skip
    from gradio_client import Client

    try:
        client = Client(url, auth=auth, verbose=False)
    except Exception as e:  # reported, never raised out of the thread
        errors.append(f"connect: {type(e).__name__}: {e}")
        start.abort()
        return
    try:
        start.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass
    for i in range(n):
        q = pool[(offset + i) % len(pool)]
        t = time.perf_counter()
        try:
            a = client.predict(q, "", "", 5, api_name="/ask")
        except Exception as e:
            errors.append(f"ask {q!r}: {type(e).__name__}: {e}"[:300])
            continue
        latencies.append((time.perf_counter() - t) * 1000)
        answers.append(a)
        if asked_by is not None:  # list.append is atomic: the two lists stay in step
            asked_by.append(auth[0] if auth else None)


def _uploader(url: str, path: Path, result: dict, errors: list[str],
              auth: tuple[str, str] | None = None) -> None:  # fmt: skip
    from gradio_client import Client, handle_file

    try:
        client = Client(url, auth=auth, verbose=False)
        t = time.perf_counter()
        out = client.predict([handle_file(str(path))], "Maassluis", "strategy", api_name="/ingest")
        result["seconds"] = round(time.perf_counter() - t, 2)
        result["counts"] = out.get("counts", {})
    except Exception as e:
        errors.append(f"upload: {type(e).__name__}: {e}"[:300])


def run_load(url: str, clients: int = 20, questions: int = 25,
             upload: Path | None = None, users: list[tuple[str, str]] | None = None,
             pool: list[str] | None = None) -> dict:  # fmt: skip
    """`clients` threads, each its own gradio_client, asking `questions` questions in turn;
    `upload` (a file) is sent to /ingest while they ask. Returns the figures, the answers
    and every error (an error is recorded, never raised).

    Args:
        users: (name, password) logins; client c logs in as users[c % len(users)] (the
            upload as the first); `asked_by` in the result names each answer's user.
        pool: the questions asked in turn (default QUESTIONS).
    """
    latencies: list[float] = []
    answers: list[dict] = []
    asked_by: list[str | None] = []
    errors: list[str] = []
    upload_result: dict = {}
    start = threading.Barrier(clients + (1 if upload else 0))
    threads = [
        threading.Thread(target=_asker, args=(url, questions, c, latencies, answers, errors, start,
                                              users[c % len(users)] if users else None,
                                              pool or QUESTIONS, asked_by))  # fmt: skip
        for c in range(clients)
    ]
    if upload:

        def up() -> None:
            try:
                start.wait(timeout=120)
            except threading.BrokenBarrierError:
                pass
            time.sleep(0.2)  # let the questions get going first
            _uploader(url, upload, upload_result, errors, users[0] if users else None)

        threads.append(threading.Thread(target=up))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    wall = time.perf_counter() - t0
    if any(t.is_alive() for t in threads):
        errors.append("a client thread did not finish within 900 s")
    figures = {
        "clients": clients,
        "questions_per_client": questions,
        "requests": clients * questions,
        "completed": len(latencies),
        "errors": len(errors),
        "wall_s": round(wall, 2),
        "throughput_per_s": round(len(latencies) / wall, 2) if wall else 0.0,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "upload": upload_result or None,
    }
    return {"figures": figures, "answers": answers, "asked_by": asked_by, "errors": errors}


def upload_pdf(folder: Path) -> Path:
    """A small strategy PDF to upload during the load (fpdf2, a dev dependency)."""
    from fpdf import FPDF

    pdf = FPDF()
    for text in (
        "Maassluis opent het Klantcontactcentrum Zeemanskwartier voor vragen over vergunningen.",
        "Het centrum werkt samen met de bibliotheek aan digitale vaardigheden voor ouderen.",
    ):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text)
    path = folder / f"maassluis-load-{os.getpid()}-{time.time_ns()}.pdf"
    pdf.output(str(path))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=25)
    ap.add_argument("--url", help="an already running server on 127.0.0.1 (default: start one)")
    ap.add_argument("--no-upload", action="store_true")
    ap.add_argument("--out", help="also write the figures to this JSON file")
    args = ap.parse_args()
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        ap.error("--url must be on this machine (127.0.0.1)")
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        pdf = None if args.no_upload else upload_pdf(Path(tmp))
        with contextlib.ExitStack() as stack:
            url = args.url or stack.enter_context(running_server(env))
            res = run_load(url, args.clients, args.questions, pdf)
    figures = res["figures"]
    figures["without_sources"] = sum(1 for a in res["answers"] if not a.get("sources"))
    print(json.dumps(figures, indent=2))
    for e in res["errors"][:10]:
        print("error:", e, file=sys.stderr)
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    sys.exit(1 if res["errors"] else 0)


if __name__ == "__main__":
    main()
