"""``uptake serve`` (page + API + audit log) and ``uptake log export``."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from uptake.audit.defaults import DEFAULT_DB
from uptake.cli.common import RangeMargin, Strict, app, console, err_console

log_app = typer.Typer(help="The audit log of predictions made by `uptake serve`.", no_args_is_help=True)
app.add_typer(log_app, name="log")


@app.command()
def serve(
    model_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="Model directory (repeat for several versions; the first is the champion the page uses).",
            metavar="MODEL_DIR",
        ),
    ],
    host: Annotated[str, typer.Option(help="Interface to bind. The default serves this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    db: Annotated[
        str,
        typer.Option(help="Audit log database URL: sqlite:///FILE (default, embedded) or postgresql://user@host/db."),
    ] = DEFAULT_DB,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes (each loads the models).")] = 1,
    max_body_kb: Annotated[int, typer.Option(min=1, help="Largest JSON request body, KiB.")] = 1024,
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest uploaded file, MiB.")] = 64,
    max_rows: Annotated[int, typer.Option(min=1, help="Most customers in one JSON request.")] = 1000,
    max_file_rows: Annotated[int, typer.Option(min=1, help="Most rows in one uploaded file.")] = 1_000_000,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a request may spend scoring before it gets 504.")
    ] = 60.0,
    strict: Strict = False,
    range_margin: RangeMargin = 0.25,
    fast_path: Annotated[
        bool,
        typer.Option(
            "--fast-path/--no-fast-path",
            help="Score JSON requests with the checked numpy copy of the network (off: Model.score for every request).",
        ),
    ] = True,
    access_log: Annotated[
        bool, typer.Option(help="Log every HTTP request line (the audit log records predictions either way).")
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "A Host name clients may use (repeatable; '*' for any). Default: this machine's names, so a "
                "DNS-rebinding page cannot reach the server."
            )
        ),
    ] = None,
    audit_journal: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Folder where answered predictions are journalled before the answer leaves, and replayed into "
                "--db at the next start after a crash (default: beside a SQLite --db, else ./uptake-audit-journal)."
            )
        ),
    ] = None,
    audit_fsync: Annotated[
        bool,
        typer.Option(help="Flush the journal to disk before every answer: answered rows survive a power loss too."),
    ] = False,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            help=(
                "Address of a reverse proxy whose X-Forwarded-For names the client (repeatable). Default: none, so "
                "a client cannot dodge the wrong-key limit by naming another address."
            )
        ),
    ] = None,
) -> None:
    """Serve the web page and the REST API for MODEL_DIR, recording every prediction in the audit log.

    Set UPTAKE_API_KEY to require that key (header X-API-Key) on the API; the page then asks for it once.
    """
    import uvicorn  # the server's imports (uvicorn, FastAPI) are paid by `uptake serve` only

    from uptake.artifact import (  # imported when the command runs: `uptake --help` stays instant
        read_card,
        resolve,
    )
    from uptake.audit.db import make_engine, migrate
    from uptake.serve.app import create_app
    from uptake.serve.config import API_KEY_ENV, CONFIG_ENV, ServeConfig

    api_key = os.environ.get(API_KEY_ENV) or None
    config = ServeConfig(
        model_dirs=[str(d) for d in model_dirs],
        db_url=db,
        api_key=api_key,
        max_body_bytes=max_body_kb * 1024,
        max_upload_bytes=max_upload_mb << 20,
        max_rows=max_rows,
        max_file_rows=max_file_rows,
        request_timeout_s=timeout,
        range_margin=range_margin,
        strict=strict,
        fast_path=fast_path,
        audit_journal=str(audit_journal) if audit_journal else None,
        audit_fsync=audit_fsync,
        allowed_hosts=allowed_hosts(host, allowed_host or []),
    )
    if host not in ("127.0.0.1", "localhost", "::1") and api_key is None:
        err_console.print(f"warning: serving on {host} without UPTAKE_API_KEY: anyone who can reach it can use the API")
    # A latency-bound server: let the event loop take the interpreter back from the audit
    # writer thread within 1 ms instead of Python's default 5 ms (a process-wide setting,
    # so it is made here, in the server's own process, not in create_app).
    sys.setswitchinterval(0.001)
    options = dict(
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
        timeout_keep_alive=5,
        timeout_graceful_shutdown=30,
        limit_concurrency=1024,
        server_header=False,
        # uvicorn trusts X-Forwarded-For from any local client by default: only from the proxies named
        proxy_headers=bool(trusted_proxy),
        forwarded_allow_ips=",".join(trusted_proxy or []) or None,
    )
    if workers == 1:
        application = create_app(config)  # fails here, with exit code 2, on a bad model or database
        _announce(application.state.champion, list(application.state.models), host, port, db, api_key)
        uvicorn.run(application, **options)
        return
    # Several processes: migrate once here (not racing in every worker), check the models load,
    # then let uvicorn start workers that rebuild the app from the same config.
    engine = make_engine(db)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    for d in model_dirs:
        read_card(resolve(d), Path(d))
    config.run_migrations = False
    os.environ[CONFIG_ENV] = config.to_json()
    _announce(None, [str(d) for d in model_dirs], host, port, db, api_key)
    uvicorn.run("uptake.serve.app:app_from_env", factory=True, workers=workers, **options)


def allowed_hosts(host: str, extra: list[str]) -> list[str]:
    """The Host names the server answers to: local names, the bound host, and any given."""
    from uptake.serve.config import LOCAL_HOSTS  # imported when the command runs: --help stays instant

    names = [*LOCAL_HOSTS, *extra]
    if host in ("0.0.0.0", "::", ""):
        names += [socket.gethostname(), socket.getfqdn()]
    elif host not in names:
        names.append(host)
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def _announce(champion: str | None, models: list[str], host: str, port: int, db: str, api_key: str | None) -> None:
    shown = f"[{host}]" if ":" in host else host
    lines = [
        f"uptake serving {', '.join(models)}" + (f" (champion {champion})" if champion else ""),
        f"  page and API: http://{shown}:{port}/   docs: http://{shown}:{port}/docs",
        f"  audit log: {_hide_password(db)}" + ("   API key: required" if api_key else ""),
    ]
    for line in lines:
        console.print(line, soft_wrap=True, markup=False)


def _hide_password(url: str) -> str:
    import sqlalchemy as sa  # imported when the command runs: `uptake --help` stays instant

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return url


@log_app.command("export")
def export(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output .csv or .parquet: one row per prediction, inputs as columns.")
    ],
    since: Annotated[
        str | None,
        typer.Option(
            help="Only predictions at or after: 2026-05-01, 2026-05-01T12:00 (UTC), or an age such as 30m, 12h, 7d."
        ),
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only predictions before this time (same forms as --since).")
    ] = None,
    db: Annotated[str, typer.Option(help="Audit log database URL (as given to `uptake serve --db`).")] = DEFAULT_DB,
) -> None:
    """Export the audit log: time, model version, inputs, probability, decision, threshold, request id, latency."""
    from uptake.audit.read import read_log  # imported when the command runs: `uptake --help` stays instant
    from uptake.audit.window import existing_db, parse_since, parse_until
    from uptake.io.outputs import check_output
    from uptake.io.writer import write_frame

    check_output(out)
    frame = read_log(existing_db(db), parse_since(since), parse_until(until))
    write_frame(frame, out)
    console.print(f"Exported {len(frame):,} predictions -> {out}")


__all__ = ["export", "serve"]
