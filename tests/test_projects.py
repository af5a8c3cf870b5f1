from pathlib import Path

import pytest

from ingest.errors import IngestError
from ingest.projects import COLUMNS, Project, RecordError, load_csv, load_yaml, to_csv

GOOD = dict(
    id="delft-smart-parking", title="Smart parking sensors", municipality="delft",
    partners=["TU Delft"], themes=["parking", "sensors"],
    building_blocks=["sensors-iot", "smart-mobility"], stage="applications", status="pilot",
    start_year=2023, contact="Programme manager smart mobility, municipality of Delft",
    summary="Sensors show free parking bays.",
    description="In-ground sensors on loading bays show real-time occupancy to drivers " * 3,
    language="en",
)  # fmt: skip


def write_yaml(path: Path, record: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    return path


def test_valid_yaml_record_loads(tmp_path):
    [p] = load_yaml(write_yaml(tmp_path / "a.yaml", GOOD))
    assert isinstance(p, Project)
    doc = p.to_document("a.yaml")
    assert doc.key == "project:delft-smart-parking"
    assert doc.project_id == "delft-smart-parking" and doc.kind == "project"
    assert doc.building_blocks == ("sensors-iot", "smart-mobility")


def test_invalid_record_is_reported_with_file_and_reason(tmp_path):
    bad = {**GOOD, "status": "finished", "start_year": "soon"}
    [err] = load_yaml(write_yaml(tmp_path / "bad.yaml", bad))
    assert isinstance(err, RecordError)
    assert err.where == ""
    assert "status" in err.reason and "start_year" in err.reason


def test_csv_reports_bad_rows_by_number_and_loads_the_rest(tmp_path):
    good2 = Project.model_validate({**GOOD, "id": "rotterdam-parking", "municipality": "rotterdam"})
    text = to_csv([Project.model_validate(GOOD), good2])
    lines = text.splitlines()
    broken = lines[1].replace(",pilot,", ",unknown-status,")
    path = tmp_path / "p.csv"
    path.write_text("\n".join([lines[0], broken, lines[2]]) + "\n", encoding="utf-8")
    out = load_csv(path)
    assert [type(r).__name__ for r in out] == ["RecordError", "Project"]
    assert out[0].where == "row 2" and "status" in out[0].reason


def test_csv_round_trip_keeps_every_field(tmp_path):
    p = Project.model_validate({**GOOD, "budget_eur": 120000, "lessons": "Start small; measure."})
    path = tmp_path / "c.csv"
    path.write_text(to_csv([p]), encoding="utf-8")
    [q] = load_csv(path)
    assert q == p
    assert q.to_document("c.csv").id == p.to_document("a.yaml").id


def test_csv_with_unknown_columns_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,colour\nx,red\n", encoding="utf-8")
    with pytest.raises(IngestError, match="unknown columns: colour"):
        load_csv(path)


def test_columns_match_the_record_fields():
    assert set(COLUMNS) == set(Project.model_fields)


def _workbook(path: Path, rows: list[list[object]], sheet: str = "Projecten") -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def test_a_project_list_in_a_spreadsheet_loads_as_records(tmp_path):
    """DOMAIN.md: a region keeps its project list in a spreadsheet, the CSV's columns. The
    same records as from the CSV, numbers typed as numbers; a bad row is reported by sheet
    and row, the others load."""
    import csv
    import io

    from ingest.loader import load_file

    p = Project.model_validate({**GOOD, "budget_eur": 120000, "lessons": "Start small."})
    bad = {**GOOD, "id": "delft-bad", "status": "finished"}
    header, row = list(csv.reader(io.StringIO(to_csv([p]))))
    typed = [int(v) if v.isdigit() else v for v in row]  # a spreadsheet keeps numbers
    bad_row = [bad.get(c, "") if not isinstance(bad.get(c), list) else ";".join(bad[c])
               for c in header]  # fmt: skip
    title = ["Projectenlijst regio (voorbeeld)"]
    path = _workbook(tmp_path / "projectenlijst.xlsx", [title, [], header, typed, bad_row])
    loaded = load_file(path)
    assert [d.project_id for d in loaded.documents] == ["delft-smart-parking"]
    assert loaded.documents[0].id == p.to_document("projectenlijst.xlsx").id
    [err] = loaded.errors
    assert err.where == "sheet 'Projecten' row 3" and "status" in err.reason
    # a sheet of other columns stays a table; with kind 'project' it must be a project list
    other = _workbook(tmp_path / "budget.xlsx", [["post", "bedrag"], ["licenties", 1200]])
    assert load_file(other).documents[0].kind == "other"
    with pytest.raises(IngestError, match="sheet 'Projecten' has no header with an 'id' column"):
        load_file(other, kind="project")
