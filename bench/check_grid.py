"""The strategy check's thresholds for the default model, scaled from MiniLM's by a factor:
a grid of factors x covered-chunk counts, tuned on the first four shipped strategies and
held out on the other four (the same halves as bench/coverage.py). Reads each strategy once.

  .venv/bin/python bench/check_grid.py
"""
import dataclasses
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from index.embedder import make_embedder
from kb import check as C
from kb.core import KnowledgeBase

root = Path(__file__).resolve().parent.parent / "corpus"
home = Path(tempfile.mkdtemp())
kb = KnowledgeBase(home, embedder=make_embedder(""))
kb.ingest(sorted((root / "guide").glob("*.md")), kind="guide")
protos = kb.tagger.prototypes()
truth = yaml.safe_load((root / "strategies" / "coverage.yaml").read_text())["strategies"]
names = sys.argv[1:] or sorted(truth)
drafts = {n: C.read(kb, root / "strategies" / n) for n in names}
base = C.Thresholds()
rows = []
for f in (0.15, 0.17, 0.2, 0.23, 0.26):
    for cc in (2, 3):
        t = dataclasses.replace(base, margin=base.margin * f, weak_score=base.weak_score * f,
                                sentence_score=base.sentence_score * f, covered_chunks=cc)
        first = sorted(truth)[:4]
        for half in ("tune", "held"):
          tp = {"covered": [0, 0, 0], "missing": [0, 0, 0]}  # right, said, truth
          for n, d in drafts.items():
            if (n in first) != (half == "tune"):
                continue
            got = {b.id: b.status for b in C.coverage(d, protos, kb.building_blocks(), t)}
            for st in ("covered", "missing"):
                said = {b for b, s in got.items() if s == st}
                true = set(truth[n].get(st, []))
                tp[st][0] += len(said & true)
                tp[st][1] += len(said)
                tp[st][2] += len(true)
          out = {st: (round(v[0] / max(v[1], 1), 3), round(v[0] / max(v[2], 1), 3))
                 for st, v in tp.items()}
          print(half, f, cc, out, flush=True)
