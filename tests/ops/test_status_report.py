"""`breezeway-status` report: exact values in the terminal table, JSON and HTML page."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from html.parser import HTMLParser

from target_breezeway_postgres.status import EXIT_OK, main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _section_rows(text: str, title: str) -> list[list[str]]:
    """Cells of the table under `title` (split on runs of 2+ spaces)."""
    lines = text.split("\n")
    start = lines.index(title) + 3  # title, header, dashes
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def test_text_report_shows_exact_status_per_region_and_stream(status_db, ops, capsys):
    code, out, _ = _run(capsys, *ops.cli_args(status_db))

    assert code == EXIT_OK
    regions = {row[0]: row for row in _section_rows(out, "Regions")}
    assert regions["nashville"] == ["nashville", "yes", "succeeded", "2026-11-25 04:00 UTC",
                                    "2026-11-25 04:10 UTC", "1.8h", "10m00s", "3"]
    assert regions["austin"] == ["austin", "yes", "failed", "2026-11-25 03:00 UTC",
                                 "2026-11-24 05:05 UTC", "24.9h", "5m00s", "1"]
    assert regions["smoky"][2:7] == ["succeeded", "2026-11-23 20:00 UTC",
                                     "2026-11-23 20:30 UTC", "33.5h", "30m00s"]
    assert regions["mammoth"] == ["mammoth", "yes", "running", "2026-11-25 05:30 UTC",
                                  "-", "-", "-", "0"]
    assert regions["sea_ranch"] == ["sea_ranch", "no", "never", "-", "-", "-", "-", "0"]
    assert len(regions) == 8

    streams = {(row[0], row[1]): row[2:] for row in _section_rows(out, "Streams")}
    assert streams[("nashville", "tasks")] == [
        "succeeded", "2026-11-25 04:10 UTC", "1.8h", "7m00s", "50", "48", "2", "0", "2", "-"]
    # The failed stream keeps the numbers of its last success and shows the failure.
    assert streams[("austin", "tasks")] == [
        "failed", "2026-11-24 05:05 UTC", "24.9h", "4m00s", "20", "20", "0", "0", "0", "-"]
    assert streams[("mammoth", "properties")] == [
        "running", "-", "-", "-", "-", "-", "-", "-", "0", "-"]
    assert len(streams) == 6

    errors = out.split("Errors since the last success\n")[1].split("\n\n")[0].splitlines()
    assert errors == [
        "  austin/tasks at 2026-11-25 03:02 UTC: HTTP 500 from https://svc:***"
        "@api.example/x client_secret=*** header Authorization: JWT ***"
    ]
    assert _section_rows(out, "Open rejects by reason") == [
        ["nashville", "tasks", "2", "0", "unknown property (home_id 77)"],
        ["austin", "properties", "1", "0", "latitude out of range"],
        ["nashville", "properties", "1", "0", "latitude out of range"],
    ]
    for secret in ops.SECRETS:
        assert secret not in out


def test_json_report_has_exact_values_and_no_secret(status_db, ops, capsys):
    code, out, _ = _run(capsys, *ops.cli_args(status_db, "--format", "json"))

    assert code == EXIT_OK
    report = json.loads(out)
    assert report["generated_at"] == "2026-11-25T06:00:00+00:00"
    regions = {r["region_code"]: r for r in report["regions"]}
    assert regions["austin"]["last_run"] == {
        "run_id": "a-2",
        "status": "failed",
        "started_at": "2026-11-25T03:00:00+00:00",
        "finished_at": "2026-11-25T03:02:00+00:00",
        "age_seconds": 10680.0,
        "duration_seconds": 120.0,
        "error": "tasks: HTTP 500 from https://svc:***@api.example/x "
                 "client_secret=*** header Authorization: JWT ***",
    }
    assert regions["austin"]["last_success"]["run_id"] == "a-1"
    assert regions["austin"]["last_success"]["age_seconds"] == 89700.0
    assert regions["mammoth"]["last_success"] is None
    assert regions["nashville"]["open_rejects"] == 3
    assert regions["hilton_head"]["is_active"] is False

    streams = {(s["region_code"], s["stream"]): s for s in report["streams"]}
    assert streams[("nashville", "tasks")] == {
        "region_code": "nashville",
        "stream": "tasks",
        "last_status": "succeeded",
        "last_started_at": "2026-11-25T04:03:00+00:00",
        "last_success_at": "2026-11-25T04:10:00+00:00",
        "age_seconds": 6600.0,
        "duration_seconds": 420.0,
        "records_read": 50,
        "records_loaded": 48,
        "records_rejected": 2,
        "records_skipped": 0,
        "last_error": None,
        "last_error_at": None,
        "open_rejects": 2,
        "api_calls": None,
        "properties_listed": None,
        "properties_called": None,
    }
    assert streams[("austin", "tasks")]["last_error_at"] == "2026-11-25T03:02:00+00:00"
    assert streams[("mammoth", "properties")]["last_error"] is None
    rejects = [(r["region_code"], r["stream"], r["reason"], r["count"]) for r in report["rejects"]]
    assert rejects == [
        ("nashville", "tasks", "unknown property (home_id 77)", 2),
        ("austin", "properties", "latitude out of range", 1),
        ("nashville", "properties", "latitude out of range", 1),
    ]
    for secret in ops.SECRETS:
        assert secret not in out


def test_streams_show_the_api_calls_of_their_last_successful_run(status_db, ops, capsys):
    """The tap's upstream_calls, per stream; for tasks the properties given task calls of those
    listed (an incremental run skips inactive ones)."""
    ops.execute(status_db, "UPDATE sync_runs SET api_calls = 524, properties_listed = 5012, "
                "properties_called = 524 WHERE region_code = 'nashville' AND stream = 'tasks'")
    ops.execute(status_db, "UPDATE sync_runs SET api_calls = 3 WHERE region_code = 'nashville' "
                "AND stream = 'properties'")
    _, out, _ = _run(capsys, *ops.cli_args(status_db))
    streams = {(row[0], row[1]): row[-1] for row in _section_rows(out, "Streams")}
    assert streams[("nashville", "tasks")] == "524 (524 of 5012 properties)"
    assert streams[("nashville", "properties")] == "3"
    _, out, _ = _run(capsys, *ops.cli_args(status_db, "--format", "json"))
    tasks = next(s for s in json.loads(out)["streams"]
                 if (s["region_code"], s["stream"]) == ("nashville", "tasks"))
    assert (tasks["api_calls"], tasks["properties_listed"], tasks["properties_called"]) == (
        524, 5012, 524)


def test_error_is_dropped_once_a_later_run_succeeds(status_db, ops, capsys):
    ops.insert_runs(status_db, [
        ("a-3", "austin", "properties", "succeeded", "2026-11-25 05:00", "2026-11-25 05:01",
         1, 1, 0, None),
        ("a-3", "austin", "tasks", "succeeded", "2026-11-25 05:01", "2026-11-25 05:09",
         4, 4, 0, None),
    ])
    _, out, _ = _run(capsys, *ops.cli_args(status_db, "--format", "json"))

    streams = {(s["region_code"], s["stream"]): s for s in json.loads(out)["streams"]}
    assert streams[("austin", "tasks")]["last_error"] is None
    assert streams[("austin", "tasks")]["records_loaded"] == 4


class _PageParser(HTMLParser):
    """Collects image sources, every src/href, and the cell texts of each table by id."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.links += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "img":
            self.images.append(attributes["src"] or "")
        elif tag == "table":
            self._table = attributes["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag == "td" and self._table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _svg(image_src: str) -> str:
    prefix = "data:image/svg+xml;base64,"
    assert image_src.startswith(prefix)
    return base64.b64decode(image_src[len(prefix):]).decode("utf-8")


def test_html_page_is_self_contained_with_charts_of_the_regions(status_db, ops, capsys, tmp_path):
    page_path = tmp_path / "status.html"
    code, out, _ = _run(capsys, *ops.cli_args(status_db, "--html", str(page_path)))

    assert code == EXIT_OK
    assert out == f"wrote {page_path}\n"
    page = page_path.read_text(encoding="utf-8")
    parser = _PageParser()
    parser.feed(page)

    assert all(link.startswith("data:") for link in parser.links), parser.links
    assert not re.search(r"""url\(\s*['"]?(https?:)?//""", page)
    duration, records, rejects, stats = (_svg(src) for src in parser.images)
    for region in ("nashville", "austin", "smoky"):
        assert region in duration and region in records
    assert "mammoth" not in duration  # no successful run: nothing to draw
    assert "unknown property (home_id 77)" in rejects and "latitude out of range" in rejects
    assert "austin" in rejects and "nashville" in rejects
    assert "nashville" in stats and "properties" in stats
    for svg in (duration, records, rejects, stats):
        assert not re.search(r"""(?:xlink:)?href=["']https?:""", svg)

    tables = {name: rows[1:] for name, rows in parser.tables.items()}  # drop header rows
    assert ["nashville", "yes", "succeeded", "2026-11-25 04:00 UTC", "2026-11-25 04:10 UTC",
            "1.8h", "10m00s", "3"] in tables["regions"]
    assert ["austin", "tasks", "failed", "2026-11-24 05:05 UTC", "24.9h", "4m00s", "20", "20",
            "0", "0", "0", "-"] in tables["streams"]
    assert tables["rejects"][0] == ["nashville", "tasks", "2", "0",
                                    "unknown property (home_id 77)"]
    stats_rows = {row[0]: row for row in tables["region-stats"]}
    assert stats_rows["nashville"] == ["nashville", "Nashville", "2", "0", "0", "0", "3"]
    assert stats_rows["austin"] == ["austin", "Austin", "1", "0", "0", "0", "1"]
    for secret in ops.SECRETS:
        assert secret not in page


def test_html_for_90_days_of_8_regions_is_fast_and_bounded(migrated_db, ops, capsys, tmp_path):
    """Four runs a day of ten streams for every region over 90 days: 28,800 sync_runs rows."""
    ops.execute(
        migrated_db,
        "INSERT INTO sync_runs (run_id, region_code, stream, status, started_at, finished_at,"
        " records_read, records_loaded, records_rejected)"
        " SELECT r.region_code || '-' || h, r.region_code, 'stream_' || s,"
        "  CASE WHEN h % 17 = 0 AND s = 3 THEN 'failed' ELSE 'succeeded' END,"
        "  CAST(:now AS timestamptz) - make_interval(hours => h * 6),"
        "  CAST(:now AS timestamptz) - make_interval(hours => h * 6) + make_interval(mins => s),"
        "  100 + s, 90 + s, s % 3"
        " FROM regions r, generate_series(1, 360) h, generate_series(1, 10) s",
        {"now": ops.NOW_ARG},
    )
    page_path = tmp_path / "status.html"
    started = time.monotonic()
    code, _, _ = _run(capsys, *ops.cli_args(migrated_db, "--html", str(page_path)))
    elapsed = time.monotonic() - started

    assert code == EXIT_OK
    assert elapsed < 15, f"HTML report took {elapsed:.1f}s"
    assert page_path.stat().st_size < 2_000_000
    parser = _PageParser()
    parser.feed(page_path.read_text(encoding="utf-8"))
    assert len(parser.images) == 4
    assert len(parser.tables["regions"]) == 1 + 8
    assert len(parser.tables["streams"]) == 1 + 8 * 10


def test_html_draws_a_reason_with_dollar_signs_as_plain_text(status_db, ops, capsys, tmp_path):
    """matplotlib reads text between two `$` as TeX math: `$5^$` would raise while drawing."""
    reason = "cost $5^$ exceeds $x_{1}$ budget"
    ops.execute(status_db, "UPDATE load_rejects SET reason = :reason WHERE stream = 'tasks'",
                {"reason": reason})
    page_path = tmp_path / "status.html"

    code, _, err = _run(capsys, *ops.cli_args(status_db, "--html", str(page_path)))

    assert code == EXIT_OK, err
    parser = _PageParser()
    parser.feed(page_path.read_text(encoding="utf-8"))
    rejects = _svg(parser.images[2])
    assert html.escape(reason, quote=False) in rejects
