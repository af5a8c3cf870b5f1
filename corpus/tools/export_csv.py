"""Write corpus/projects.csv from the YAML records in corpus/projects/ (run by `make corpus`)."""

from __future__ import annotations

import sys
from pathlib import Path

from ingest.projects import Project, load_yaml, to_csv

CORPUS = Path(__file__).resolve().parent.parent


def main() -> int:
    projects: list[Project] = []
    bad = 0
    for path in sorted((CORPUS / "projects").glob("*.yaml")):
        for r in load_yaml(path):
            if isinstance(r, Project):
                projects.append(r)
            else:
                bad += 1
                print(f"invalid: {path.name} {r.where}: {r.reason}", file=sys.stderr)
    (CORPUS / "projects.csv").write_text(to_csv(projects), encoding="utf-8")
    print(f"wrote {len(projects)} projects to {CORPUS / 'projects.csv'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
