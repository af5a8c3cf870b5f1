"""First ingest of the shipped corpus, ours or the LangChain recipe, with wall and CPU time.

On a shared machine wall time depends on the load; the process's CPU time (user + system,
all its threads) much less. Run `ours` and `recipe` at the same time, or one after the other:

  .venv/bin/python bench/ingest_cpu.py ours --model multilingual-e5-small
  .venv/bin/python bench/ingest_cpu.py recipe --model multilingual-e5-small
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("who", choices=["ours", "recipe"])
    ap.add_argument("--model", default="")
    a = ap.parse_args()
    from index.embedders import make_embedder
    from kb.walk import expand

    emb = make_embedder(a.model)
    emb.embed_queries(["warm up"])  # the model is loaded before the clock starts
    files = [i.path for i in expand([ROOT / "corpus"])]
    out = {"who": a.who, "model": emb.name, "load_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="ingest-cpu-") as home:
        if a.who == "ours":
            from kb.core import KnowledgeBase

            kb = KnowledgeBase(Path(home), embedder=emb)
            emb.count_tokens("warm up")
            c, t = cpu(), time.perf_counter()
            kb.ingest([ROOT / "corpus"])
            out["wall_s"], out["cpu_s"] = time.perf_counter() - t, cpu() - c
            out["chunks"] = kb.store.counts()["chunks"]
            kb.close()
        else:
            from perf import Recipe

            recipe = Recipe(emb)
            c, t = cpu(), time.perf_counter()
            _, _, chunks = recipe.ingest(files)
            out["wall_s"], out["cpu_s"] = time.perf_counter() - t, cpu() - c
            out["chunks"] = len(chunks)
    out["load_end"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
