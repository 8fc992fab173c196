"""``evbt run``: the main job, from the catalog to the investor report."""

from __future__ import annotations

from pathlib import Path

import click

from backtest.cli._options import cache_dir_option, prices_dir_option, warn_catalog_problems


@click.command("run")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Run configuration (TOML). Default: every event in ./events, every strategy in "
    "./strategies, the default event study.",
)
@prices_dir_option
@cache_dir_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Report folder. Default: reports/<run name>/.",
)
@click.option("--name", default=None, help="Run name (the report folder's name).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars; only errors and the path.")
def run(
    config_path: Path | None,
    prices_dir: Path | None,
    cache_dir: Path | None,
    out: Path | None,
    name: str | None,
    quiet: bool,
) -> None:
    """Run the whole job and write the report: catalog, prices (cache first, then Yahoo;
    --prices-dir for CSV files), event study, every strategy, claims against the data.

    The report folder holds index.html (self-contained, opens offline), summary.md, the
    tables as CSV and JSON, the configuration and the data provenance. Exit code 0 when
    everything ran; 1 when a part failed (the report is still written and says which) or
    nothing could be reported.
    """
    from backtest.job import load_config, run_job
    from backtest.job.config import ConfigError, check_run_name
    from backtest.reports import write_report

    config = load_config(config_path)
    if name is not None:
        try:
            config = config.model_copy(update={"name": check_run_name(name)})
        except ValueError as exc:
            raise ConfigError("--name", [("", str(exc))]) from None
    result = run_job(config, prices_dir=prices_dir, cache_dir=cache_dir, progress=not quiet)
    warn_catalog_problems(len(result.catalog_problems))
    folder = out if out is not None else config.resolve(config.output.dir) / config.name
    write_report(result, folder)
    if not quiet:
        click.echo(result.summary(), nl=False)
    click.echo(f"report: {folder / 'index.html'}")
    if result.failures:
        for f in result.failures:
            click.echo(f"evbt: error: {f.splitlines()[0]}", err=True)
        raise SystemExit(1)
