"""The `anjian` command: a Flask CLI group over the app factory."""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import run_simple

import checklists as checklist_files
from backend.app import create_app, services
from backend.config import ConfigError
from backend.errors import DomainError
from backend.extensions import prepare_store
from backend.models import Role, Unit, User

from . import migrate
from .jobs import runtime
from .services import audit, auth, checklists, demo, operations, organisation
from .serving import RequestHandler


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"Configuration error: {exc}", err=True)
        sys.exit(2)


@click.group(
    cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False
)
def main() -> None:
    """Anjian 安检: field safety inspections."""


@main.command()
@click.option("--demo", "with_demo", is_flag=True, help="Also create a demo district and users.")
@with_appcontext
def init(with_demo: bool) -> None:
    """Create or migrate the database and load the checklists."""
    svc = services(current_app)
    migrate.upgrade(svc.db.engine)
    click.echo(f"Database ready ({svc.db.dialect}).")
    prepare_store(svc.store)
    with svc.db.session() as session:
        for published in checklists.publish(session, checklist_files.load_directory()):
            state = "published" if published.created else "unchanged"
            click.echo(f"Checklist {published.code} version {published.version}: {state}.")
        if with_demo:
            result = demo.install(session, svc.config.demo_password)
            click.echo(
                f"Demo: created {len(result.created)} records"
                if result.created
                else "Demo: already installed, nothing changed."
            )
            if result.password:
                click.echo(
                    "Demo users admin, supervisor, inspector1, inspector2 share the "
                    f"password: {result.password}\n(shown once; set "
                    "ANJIAN_DEMO_PASSWORD to choose it)"
                )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int) -> None:
    """Serve the API (development server; production uses gunicorn)."""
    svc = services(current_app)
    runtime.bind(svc)
    if not svc.config.redis_url:
        click.echo("REDIS_URL is not set: background jobs run in this process.")
    runtime.start_sweeper(svc)
    click.echo(f"Anjian on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # The app logs every request itself (JSON, with its route and user): not werkzeug's lines.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=RequestHandler)


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run an rq worker (needs REDIS_URL)."""
    try:
        runtime.run_worker(services(current_app), burst=burst)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--unit", "unit_ref", required=True, help="Unit id or exact name.")
@click.password_option(envvar="ANJIAN_NEW_PASSWORD")
@with_appcontext
def users_create(username: str, display_name: str, role: str, unit_ref: str, password: str) -> None:
    """Create a user (the first admin, typically)."""
    with services(current_app).db.session() as session:
        unit = _find_unit(session, unit_ref)
        try:
            user = organisation.create_user(
                session,
                None,
                username=username,
                display_name=display_name,
                password=password,
                role=Role(role),
                unit=unit,
            )
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"Created {user.role} {user.username} in {unit.name} ({user.id}).")


@users.command("unlock")
@click.argument("username")
@with_appcontext
def users_unlock(username: str) -> None:
    """Lift a sign-in lock-out (failed-guess counters) for a username, e.g. the top admin's."""
    with services(current_app).db.session() as session:
        cleared = auth.clear_failures(session, username)
        audit.record(
            session, actor=None, action="auth.unlock", entity_type="login", entity_id=username
        )
        session.commit()
    click.echo(f"Sign-in failures for {username} cleared." if cleared else "Nothing was locked.")


def _find_unit(session: Session, ref: str) -> Unit:
    query = select(Unit)
    try:
        query = query.where(Unit.id == uuid.UUID(ref))
    except ValueError:
        query = query.where(Unit.name == ref)
    found = list(session.scalars(query))
    if len(found) != 1:
        raise click.ClickException(
            f"No unit {ref!r}." if not found else f"Several units are named {ref!r}; use its id."
        )
    return found[0]


@main.group()
def enterprises() -> None:
    """Manage enterprises."""


@enterprises.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--unit", "unit_ref", help="Unit for rows that name none (id or exact name).")
@click.option(
    "--as-user",
    "username",
    default="admin",
    show_default=True,
    help="Recorded in the audit log as the importer.",
)
@with_appcontext
def enterprises_import(file: Path, unit_ref: str | None, username: str) -> None:
    """Import enterprises from CSV or XLSX: all rows or, if any row is bad, none."""
    from .services import enterprise_import

    with services(current_app).db.session() as session:
        actor = session.scalars(select(User).where(User.username == username)).one_or_none()
        if actor is None:
            raise click.ClickException(f"No user {username!r}; pass --as-user.")
        default_unit = _find_unit(session, unit_ref) if unit_ref else None
        try:
            rows = enterprise_import.read_rows(file)
        except enterprise_import.UnreadableFile as exc:
            raise click.ClickException(str(exc)) from None
        with click.progressbar(length=len(rows), label="Checking rows") as bar:
            report = enterprise_import.import_rows(
                session, actor, rows, default_unit, progress=bar.update
            )
        if report.errors:
            session.rollback()
            for line in report.describe():
                click.echo(line, err=True)
            raise click.ClickException(
                f"{len(report.errors)} of {len(rows)} rows are bad; nothing was imported."
            )
        click.echo(f"Imported {report.created} enterprises.")


@main.group()
def jobs() -> None:
    """Background work recorded in the outbox."""


@jobs.command("failed")
@with_appcontext
def jobs_failed() -> None:
    """List outbox rows that kept failing, with their last error."""
    with services(current_app).db.session() as session:
        rows = operations.failed_jobs(session)
    for row in rows:
        click.echo(f"{row.id}\t{row.kind}\t{row.key}\tattempts={row.attempts}\t{row.last_error}")
    click.echo(f"{len(rows)} failed.")


@jobs.command("retry")
@click.argument("item_id", type=int)
@click.option(
    "--as-user",
    "username",
    default="admin",
    show_default=True,
    help="Recorded in the audit log as who retried it.",
)
@with_appcontext
def jobs_retry(item_id: int, username: str) -> None:
    """Put a failed outbox row back in the queue (audited, as the admin API's retry)."""
    with services(current_app).db.session() as session:
        actor = session.scalars(select(User).where(User.username == username)).one_or_none()
        if actor is None:
            raise click.ClickException(f"No user {username!r}; pass --as-user.")
        if not operations.retry_job(session, actor, item_id):
            raise click.ClickException(f"Outbox row {item_id} is not a failed row.")
    click.echo(f"Outbox row {item_id} queued again.")


@jobs.command("sweep")
@with_appcontext
def jobs_sweep() -> None:
    """Re-enqueue pending outbox rows now (the worker also does this every 30 s)."""
    from .jobs import outbox

    click.echo(f"Re-enqueued {outbox.sweep(services(current_app))} rows.")


@main.group()
def media() -> None:
    """Photo evidence."""


@media.command("gc")
@with_appcontext
def media_gc() -> None:
    """Delete photos no record referenced within ANJIAN_MEDIA_GC_AGE, and unclaimed objects."""
    from .jobs import gc

    report = gc.collect(services(current_app))
    click.echo(
        f"Deleted {report.collected} unreferenced photos, {report.orphans} unclaimed objects "
        f"and {report.staging} abandoned direct uploads."
    )


@main.group()
def reports() -> None:
    """调度表 reports from the records (docs/reports.md)."""


@reports.command("export")
@click.option(
    "--template", "template_id", required=True, help="licheng, fuzhou, haicheng, quanzhou"
)
@click.option("--unit", "unit_ref", required=True, help="Unit id or exact name.")
@click.option("--month", help="YYYY-MM, for a monthly template.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="Interval templates.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Interval templates.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: a name."
)
@with_appcontext
def reports_export(
    template_id: str,
    unit_ref: str,
    month: str | None,
    start: object,
    end: object,
    output: Path | None,
) -> None:
    """Write a 调度表 as XLSX, laid out like the printed form (same bytes as the API's)."""
    from .services import reports as reports_
    from .services.reports import workbook

    svc = services(current_app)
    steps = ["template", "records", "workbook", "file"]
    with svc.db.session() as session, click.progressbar(steps, label="调度表") as bar:
        try:
            for step in bar:
                if step == "template":
                    unit = _find_unit(session, unit_ref)
                    t = reports_.template(template_id)
                    period = reports_.period_for(
                        t,
                        month=month,
                        start=start.date() if start else None,  # type: ignore[attr-defined]
                        end=end.date() if end else None,  # type: ignore[attr-defined]
                        as_of=None,
                    )
                elif step == "records":
                    report = reports_.compute(session, t, unit, period, items=False)
                elif step == "workbook":
                    body = workbook.build(report)
                else:
                    output = output or Path(f"dispatch-{t.id}-{period.cutoff}.xlsx")
                    output.write_bytes(body)
        except DomainError as exc:
            click.echo(f"\n{exc.message}", err=True)
            sys.exit(1)
    click.echo(f"Wrote {output} ({len(body)} bytes).")


@reports.command("check")
@click.option(
    "--template",
    "template_id",
    default=None,
    help="The form it is (licheng …); by default whichever checkable form it turns out to be.",
)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def reports_check(template_id: str | None, file: Path) -> None:
    """Check a hand-filled 调度表 (XLSX or tab-separated text): one line per inconsistency.

    Exits 0 when there is none, 1 when there are some, 2 when the file cannot be read.
    """
    from reports import check as report_check
    from reports.check.reading import MAX_FILE_BYTES

    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)  # bounded: FILE may be a pipe or a device
        result = report_check.check_file(file.name, data, template_id)
    except OSError as exc:
        click.echo(f"Cannot read {file}: {exc.strerror or exc}.", err=True)
        sys.exit(2)
    except (report_check.UnreadableTable, report_check.UnknownTemplate) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    for finding in result.findings:
        click.echo(finding.line())
    count = len(result.findings)
    click.echo(
        f"{result.template.title} ({result.template.id}), {result.sheet or file.name}, "
        f"{result.rows} rows: "
        f"{count or 'no'} inconsistenc{'y' if count == 1 else 'ies'}.",
        err=True,
    )
    sys.exit(1 if result.findings else 0)


@main.group()
def bundles() -> None:
    """佐证 bundles: build one here, or verify a downloaded one."""


@bundles.command("build")
@click.argument("scope", type=click.Choice(["inspection", "hazard", "report"]))
@click.argument("subject_id", type=click.UUID)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also save it here."
)
@with_appcontext
def bundles_build(scope: str, subject_id: uuid.UUID, output: Path | None) -> None:
    """Build the bundle of an inspection, a hazard or a filed 调度表 now, in this process, with
    a progress bar (an unchanged stored bundle is reused)."""
    import shutil

    from .services.bundles import build, requests
    from .services.outbox import take_created

    svc = services(current_app)
    try:
        with svc.db.session() as session:
            asked = requests.request(session, None, scope, subject_id)
            bundle_id, reused = asked.bundle.id, asked.reused
            title = asked.bundle.title
            # Built here, not by a worker: keep the row from the commit point's delivery. It
            # stays pending; the sweeper delivers it later, and it finds the bundle ready.
            take_created(session)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    if not reused:
        with click.progressbar(length=1, label=f"{title}", show_percent=True) as bar:

            def advance(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            outcome = build.build(svc.db, svc.store, bundle_id, progress=advance)
        if outcome.state.value != "ready":
            raise click.ClickException(
                f"Bundle {bundle_id} {outcome.state.value}: {outcome.reason}"
            )
    from .models import Bundle

    with svc.db.session() as session:
        row = session.get_one(Bundle, bundle_id)
        key, sha256, size, skipped = row.key, row.sha256, row.size, row.summary.get("pdf_skipped")
    assert key is not None
    click.echo(f"{bundle_id}\t{'reused' if reused else 'built'}\t{size} bytes\tsha256 {sha256}")
    if skipped:
        click.echo(f"summary.pdf skipped: {skipped}", err=True)
    if output is not None:
        with svc.store.open(key) as source, open(output, "wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        click.echo(f"Saved to {output}")


@bundles.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def bundles_verify(file: Path) -> None:
    """Check every file of a bundle against its manifest.json and SHA256SUMS; exit 1 and name
    each file that differs."""
    import zipfile

    from media.bundle import verify_zip

    try:
        problems = verify_zip(str(file))
    except zipfile.BadZipFile as exc:
        raise click.ClickException(f"{file} is not a ZIP file: {exc}") from exc
    for problem in problems:
        click.echo(f"DIFFERS  {problem}")
    if problems:
        click.echo(f"{len(problems)} file(s) differ from the manifest.", err=True)
        sys.exit(1)
    click.echo(f"OK: every file of {file.name} matches its manifest and SHA256SUMS.")
