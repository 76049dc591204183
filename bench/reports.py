"""How long the 荔城 调度表 takes against one hand-written SQL aggregate of its hazard columns.

On a fresh PostgreSQL database (created here, dropped at the end), set-based SQL (INSERT …
SELECT over generate_series) writes a district of UNITS units (a third 镇街, the rest 区直部门),
10 enterprises each, INSPECTIONS inspections, ENTRIES ledger entries (hazards, each with its
finding and its ``created`` event; 60% re-inspected and passed, some after the cut-off; a
tenth of the majors listed) and RECORDS enforcement actions and activities with a version each,
dated across 2023-05-01..2023-09-30.

It then times, as of 2023-09-26 (the 荔城 数据统计区间 2023-05-01..2023-09-26), best of ROUNDS:

* report: ``reports.compute`` + ``render.report`` for the district, all 28 columns, as
  ``GET /api/v1/reports/dispatch`` computes it (``items=False``: figures in SQL, the items of
  the excluded and late lists only);
* sql: one hand-written query computing the eight hazard columns per unit as of the same cut-off
  (level and source from each entry's ``created`` event, its state from its last event by the
  cut-off, listed if a ``listed`` event came by then),

checks that the report's hazard columns equal the query's, and prints both and the ratio
(target: the report within 3x of the query).

    .venv/bin/python -m bench.reports [--entries 1000000 --inspections 300000 --records 50000
                                       --units 30 --rounds 2]

BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) names the server.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import date
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backend import migrate
from backend.models import Unit
from backend.services import reports
from backend.services.reports import render
from bench.support import fresh_database

CUTOFF = date(2023, 9, 26)
DISTRICT = uuid.UUID("00000000-0000-4000-8000-000000000000")
DAYS = 153  # 2023-05-01 .. 2023-09-30

SETUP = [
    # units: a district and its children
    """INSERT INTO units (id, name, kind, parent_id, path, created_at)
       VALUES ('00000000-0000-4000-8000-000000000000', '基准区', 'district', NULL,
               '/00000000-0000-4000-8000-000000000000/', now())""",
    """INSERT INTO units (id, name, kind, parent_id, path, created_at)
       SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid,
              CASE WHEN g <= :units / 3 THEN '镇' ELSE '局' END || g,
              CASE WHEN g <= :units / 3 THEN 'town' ELSE 'department' END,
              '00000000-0000-4000-8000-000000000000',
              '/00000000-0000-4000-8000-000000000000/00000000-0000-4000-8000-'
                || lpad(g::text, 12, '0') || '/',
              now() + g * interval '1 second'
       FROM generate_series(1, :units) g""",
    """INSERT INTO users (id, username, display_name, password_hash, role, unit_id, active,
                          created_at, password_changed_at)
       SELECT gen_random_uuid(), 'bench' || g, '基准', 'x', 'supervisor',
              ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, true, now(), now()
       FROM generate_series(1, :units) g""",
    """INSERT INTO enterprises (id, unit_id, name, sector, entity_type, key_enterprise, version,
                                created_at, updated_at)
       SELECT gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(u::text, 12, '0'))::uuid,
              '企业' || u || '-' || e, 'gas', 'enterprise', e % 2 = 0, 1, now(), now()
       FROM generate_series(1, :units) u, generate_series(1, 10) e""",
    """CREATE TEMP TABLE bench_ent AS
       SELECT row_number() OVER (ORDER BY e.unit_id, e.name) - 1 AS n, e.id, e.unit_id,
              u.id AS user_id
       FROM enterprises e JOIN users u ON u.unit_id = e.unit_id""",
    # inspections: a tenth of them self-inspections (they carry the self-reported hazards)
    """INSERT INTO inspections (id, unit_id, enterprise_id, inspector_id, checklist_code,
              checklist_version, kind, status, started_at, finished_at, inspectors, signatures,
              record, awaiting_media, version, edited_version, created_at, updated_at,
              submitted_at)
       SELECT gen_random_uuid(), be.unit_id, be.id, be.user_id, 'gas', '2023',
              CASE WHEN g % 10 = 0 THEN 'self_inspection' ELSE 'department_inspection' END,
              'approved', t, t + interval '2 hours', '[]', '[]', '{}', '[]', 1, 1,
              t + interval '8 hours', t + interval '8 hours', t + interval '8 hours'
       FROM generate_series(0, :inspections - 1) g
       JOIN bench_ent be ON be.n = g % (:units * 10)
       CROSS JOIN LATERAL (SELECT timestamptz '2023-05-01 01:00+00'
                                  + ((g::bigint * 7919) % :days) * interval '1 day' AS t) d""",
    """CREATE TEMP TABLE bench_insp AS
       SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, unit_id, enterprise_id, kind,
              started_at, inspector_id
       FROM inspections""",
    """CREATE INDEX ON bench_insp (n)""",
    # findings and entries: ENTRIES over the inspections; 4% major
    """CREATE TEMP TABLE bench_h AS
       SELECT g, gen_random_uuid() AS hazard_id, gen_random_uuid() AS finding_id, i.id AS insp,
              i.unit_id, i.enterprise_id, i.inspector_id, i.started_at,
              CASE WHEN g % 25 = 0 THEN 'major' ELSE 'general' END AS level,
              CASE WHEN i.kind = 'self_inspection' THEN 'self_reported' ELSE 'department' END
                AS source
       FROM generate_series(0, :entries - 1) g
       JOIN bench_insp i ON i.n = g % :inspections""",
    """INSERT INTO findings (id, inspection_id, position, items, description, claimed_level,
              suggested_level, photos, suggestion_notes, immediate)
       SELECT finding_id, insp, g, '["gas.1"]', '隐患', level, level, '[]', '[]', false
       FROM bench_h""",
    """INSERT INTO hazards (id, number, district_id, finding_id, inspection_id, unit_id,
              enterprise_id, sector, source, level, clause, findings, description, deadline,
              original_deadline, found_on, before_photos, after_photos, confirmed_by,
              confirmed_at, state, version, created_at, updated_at)
       SELECT hazard_id, 'YH-2023-' || g, '00000000-0000-4000-8000-000000000000', finding_id,
              insp, unit_id, enterprise_id, 'gas', source, level,
              CASE WHEN level = 'major' THEN 'czrq2023.6.1' END, '[]', '隐患',
              (started_at + interval '30 days')::date, (started_at + interval '30 days')::date,
              (started_at AT TIME ZONE 'Asia/Shanghai')::date, '[]', '[]', inspector_id,
              started_at + interval '10 hours', 'pending', 1,
              started_at + interval '10 hours', started_at + interval '10 hours'
       FROM bench_h""",
    """INSERT INTO hazard_events (hazard_id, type, at, actor_id, state_before, state_after, data)
       SELECT hazard_id, 'created', started_at + interval '10 hours', NULL, NULL, 'pending',
              jsonb_build_object('level', level, 'source', source, 'clause',
                                 CASE WHEN level = 'major' THEN 'czrq2023.6.1' END)
       FROM bench_h""",
    """INSERT INTO hazard_events (hazard_id, type, at, actor_id, state_before, state_after, data)
       SELECT hazard_id, 'listed', started_at + interval '3 days', inspector_id, 'pending',
              'pending', jsonb_build_object('listing_level', 'department')
       FROM bench_h WHERE level = 'major' AND g % 250 = 0""",
    """INSERT INTO hazard_events (hazard_id, type, at, actor_id, state_before, state_after, data)
       SELECT hazard_id, 'reinspected', started_at + ((g % 40) + 1) * interval '1 day',
              inspector_id, 'awaiting_reinspection', 'rectified',
              jsonb_build_object('passed', true, 'photos', '[]'::jsonb)
       FROM bench_h WHERE g % 10 < 6""",
    # records: one version each
    """CREATE TEMP TABLE bench_r AS
       SELECT g, gen_random_uuid() AS id, be.unit_id, be.id AS enterprise_id, be.user_id,
              (date '2023-05-01' + (g * 31) % :days) AS day,
              (ARRAY['penalty','training','supervision_visit','typical_case','interview_notice',
                     'judicial_referral','suspension','public_pressure'])[g % 8 + 1] AS kind
       FROM generate_series(0, :records - 1) g JOIN bench_ent be ON be.n = g % (:units * 10)""",
    """INSERT INTO records (id, family, kind, unit_id, campaign_code, enterprise_id, occurred_on,
              version, countable, flags, created_by, created_at, updated_at)
       SELECT id, CASE WHEN kind IN ('training','supervision_visit','typical_case',
                                     'interview_notice') THEN 'activity' ELSE 'enforcement' END,
              kind, unit_id, 'zx2023', enterprise_id, day, 1, g % 7 <> 0,
              CASE WHEN g % 7 = 0 THEN '["evidence.plan_missing"]'::jsonb ELSE '[]'::jsonb END,
              user_id, (day + 1)::timestamptz, (day + 1)::timestamptz
       FROM bench_r""",
    """INSERT INTO record_versions (record_id, version, content, countable, flags, author_id,
              created_at)
       SELECT id, 1, jsonb_build_object(
                'kind', kind, 'occurred_on', day::text, 'campaign', 'zx2023',
                'enterprise_id', enterprise_id::text, 'documents', '[]'::jsonb,
                'photos', '[]'::jsonb, 'facts', jsonb_build_object('key_enterprise', true),
                'detail', jsonb_build_object(
                   'amount_yuan', ((g % 50) * 1000)::text || '.00', 'sessions', 1,
                   'attendees', jsonb_build_array(jsonb_build_object('name', 'x',
                                                  'role', 'law_enforcement')),
                   'persons', jsonb_build_array(jsonb_build_object('name', 'y')),
                   'receiving_organ', 'court', 'measure', 'exposure',
                   'case_kind', 'k' || (g % 5), 'sector', 's' || (g % 3))),
              g % 7 <> 0,
              CASE WHEN g % 7 = 0 THEN '["evidence.plan_missing"]'::jsonb ELSE '[]'::jsonb END,
              user_id, (day + 1)::timestamptz
       FROM bench_r""",
    "ANALYZE",
]

# The hazard columns as of the cut-off, per unit, by hand.
AGGREGATE = """
WITH h AS (
  SELECT hz.id, hz.unit_id, c.data->>'level' AS level, c.data->>'source' AS source,
         c.data->>'clause' AS clause
  FROM hazards hz
  JOIN hazard_events c ON c.hazard_id = hz.id AND c.type = 'created'
  WHERE hz.found_on BETWEEN :start AND :cutoff_day AND c.at <= :horizon
),
s AS (
  SELECT DISTINCT ON (e.hazard_id) e.hazard_id, e.state_after
  FROM hazard_events e JOIN h ON h.id = e.hazard_id
  WHERE e.at <= :cutoff
  ORDER BY e.hazard_id, e.id DESC
),
l AS (
  SELECT DISTINCT e.hazard_id FROM hazard_events e JOIN h ON h.id = e.hazard_id
  WHERE e.type = 'listed' AND e.at <= :cutoff
)
SELECT h.unit_id,
  count(*) FILTER (WHERE level = 'general') AS general_found,
  count(*) FILTER (WHERE level = 'general' AND s.state_after IN ('rectified','closed'))
    AS general_rectified,
  count(*) FILTER (WHERE level = 'major' AND clause IS NOT NULL AND source = 'self_reported')
    AS major_self_found,
  count(*) FILTER (WHERE level = 'major' AND clause IS NOT NULL AND source = 'self_reported'
                   AND s.state_after IN ('rectified','closed')) AS major_self_rectified,
  count(*) FILTER (WHERE level = 'major' AND clause IS NOT NULL AND source = 'department')
    AS major_dept_found,
  count(*) FILTER (WHERE level = 'major' AND clause IS NOT NULL AND source = 'department'
                   AND s.state_after IN ('rectified','closed')) AS major_dept_rectified,
  count(*) FILTER (WHERE level = 'major' AND clause IS NOT NULL AND l.hazard_id IS NOT NULL)
    AS major_supervised_found,
  count(*) FILTER (WHERE level = 'major' AND clause IS NOT NULL AND l.hazard_id IS NOT NULL
                   AND s.state_after IN ('rectified','closed')) AS major_supervised_rectified
FROM h JOIN s ON s.hazard_id = h.id LEFT JOIN l ON l.hazard_id = h.id
WHERE s.state_after <> 'voided'
GROUP BY h.unit_id
"""
HAZARD_COLUMNS = [
    "general_found",
    "general_rectified",
    "major_self_found",
    "major_self_rectified",
    "major_dept_found",
    "major_dept_rectified",
    "major_supervised_found",
    "major_supervised_rectified",
]


def setup(engine: Engine, args: argparse.Namespace) -> float:
    params = {
        "units": args.units,
        "inspections": args.inspections,
        "entries": args.entries,
        "records": args.records,
        "days": DAYS,
    }
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in SETUP:
            used = {k: v for k, v in params.items() if f":{k}" in statement}
            conn.execute(text(statement), used)
    return time.perf_counter() - started


def run_report(engine: Engine) -> tuple[float, reports.Report]:
    with Session(engine) as session:
        district = session.get_one(Unit, DISTRICT)
        started = time.perf_counter()
        t = reports.template("licheng")
        # as GET /api/v1/reports/dispatch computes it (figures, and the items it lists)
        report = reports.compute(
            session, t, district, t.period.for_interval(date(2023, 5, 1), CUTOFF), items=False
        )
        render.report(report)
        return time.perf_counter() - started, report


def run_sql(engine: Engine, report: reports.Report) -> tuple[float, dict[str, dict[str, int]]]:
    m = report.moments
    params: dict[str, Any] = {
        "start": report.period.starts_on,
        "cutoff_day": report.period.cutoff,
        "cutoff": m.cutoff,
        "horizon": m.horizon,
    }
    with engine.connect() as conn:
        started = time.perf_counter()
        rows = conn.execute(text(AGGREGATE), params).mappings().all()
        elapsed = time.perf_counter() - started
    return elapsed, {str(r["unit_id"]): {k: int(r[k]) for k in HAZARD_COLUMNS} for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--inspections", type=int, default=300_000)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--units", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    server = os.environ.get(
        "BENCH_POSTGRES_URL",
        os.environ.get(
            "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    with fresh_database(server) as url:
        engine = create_engine(url)
        migrate.upgrade(engine)
        print(
            f"setup: {setup(engine, args):.1f} s for {args.entries:,} entries, "
            f"{args.inspections:,} inspections, {args.records:,} records, {args.units} units"
        )
        report_times, sql_times = [], []
        for _ in range(args.rounds):
            elapsed, report = run_report(engine)
            report_times.append(elapsed)
            sql_elapsed, by_unit = run_sql(engine, report)
            sql_times.append(sql_elapsed)
        for row in report.rows:
            got = {k: row.cells[k].value for k in HAZARD_COLUMNS}
            want = by_unit.get(str(row.unit_id), dict.fromkeys(HAZARD_COLUMNS, 0))
            assert got == want, (row.name, got, want)
        best_report, best_sql = min(report_times), min(sql_times)
        print(
            f"report (荔城, {len(report.rows)} rows, 28 columns): {best_report:.2f} s "
            f"(rounds: {', '.join(f'{t:.2f}' for t in report_times)})"
        )
        print(
            f"sql aggregate (8 hazard columns): {best_sql:.2f} s "
            f"(rounds: {', '.join(f'{t:.2f}' for t in sql_times)})"
        )
        print(f"ratio report/sql: {best_report / best_sql:.1f}x (target: within 3x)")
        print(
            f"hazard columns equal the aggregate's in all {len(report.rows)} rows; total "
            f"general_found={report.total['general_found']}"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
