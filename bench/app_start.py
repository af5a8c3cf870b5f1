"""Seconds from `make run` (with an existing store in KB_HOME) to the app answering HTTP on
127.0.0.1:7860, then ten `/ask` round trips through gradio_client. Loopback only; the server
is stopped at the end, and the wait for it is bounded.

Usage: KB_HOME=STORE .venv/bin/python bench/app_start.py
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from gradio_client import Client

ROOT = Path(__file__).resolve().parent.parent
URL = "http://127.0.0.1:7860/"
QUESTIONS = [
    "Welke gemeenten werken met parkeersensoren?",
    "How do municipalities keep algorithms transparent?",
]


def main() -> None:
    start = time.perf_counter()
    server = subprocess.Popen(["make", "run"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        while True:
            if time.perf_counter() - start > 600 or server.poll() is not None:
                raise SystemExit("the app did not start within 10 minutes")
            try:
                urllib.request.urlopen(URL, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        ready = time.perf_counter() - start
        client = Client(URL, verbose=False)
        times = []
        for q in QUESTIONS * 5:
            t = time.perf_counter()
            client.predict(q, "", "", 5, api_name="/ask")
            times.append((time.perf_counter() - t) * 1000)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
    first, median = times[0], sorted(times)[len(times) // 2]
    print(f"make run -> serving: {ready:.1f} s; /ask round trip via gradio_client: "
          f"first {first:.0f} ms, median {median:.0f} ms, max {max(times):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
