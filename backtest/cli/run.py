"""``evbt run``: the main job, from the catalog to the investor report."""

from __future__ import annotations

from pathlib import Path

import click

from backtest.cli._options import (
    cache_dir_option,
    catalog_option,
    confounders_option,
    prices_dir_option,
    warn_catalog_problems,
)


@click.command("run")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Run configuration (TOML). Default: every event in ./events, every strategy in "
    "./strategies (else the ones shipped with evbt), the default event study.",
)
@catalog_option
@confounders_option
@click.option(
    "--no-earnings-confounders",
    is_flag=True,
    help="Do not fetch the earnings calendars of the catalog's tickers as confounders "
    "(online runs fetch them by default).",
)
@prices_dir_option
@cache_dir_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Report folder. Default: reports/<run name>/.",
)
@click.option("--name", default=None, help="Run name (the report folder's name).")
@click.option(
    "--force",
    is_flag=True,
    help="Replace the report folder even when it is not an evbt report.",
)
@click.option(
    "--pdf",
    is_flag=True,
    help="Also print the main page to index.pdf with headless Chromium (optional: without "
    "Chromium the report is written without it, and a warning says so).",
)
@click.option(
    "--show-config",
    is_flag=True,
    help="Print the configuration the run would use (every default and input written out) "
    "and stop.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress bars or status lines on standard error, and on standard output only "
    "the report's path (not the summary): for scripts.",
)
def run(
    config_path: Path | None,
    catalog_paths: tuple[Path, ...],
    confounder_paths: tuple[Path, ...],
    no_earnings_confounders: bool,
    prices_dir: Path | None,
    cache_dir: Path | None,
    out: Path | None,
    name: str | None,
    force: bool,
    pdf: bool,
    show_config: bool,
    quiet: bool,
) -> None:
    """Run the whole job and write the report.

    The job: catalog, prices (cache first, then Yahoo; --prices-dir for CSV files), event
    study, every strategy, claims against the data. The report folder holds index.html
    (self-contained, opens offline), summary.md, the tables as CSV and JSON, the configuration
    (config.toml: `evbt run --config` on it repeats the run) and the data provenance.

    Exit code 0 when everything ran; 1 when a part failed (the report is still written and
    says which) or nothing could be reported.
    """
    from backtest.cli._env import (
        CACHE_DIR_ENV,
        PRICES_DIR_ENV,
        catalog_from_env,
        expand,
        open_price_source,
    )
    from backtest.cli._outdir import check_report_dir, describe_os_error, own_record_read
    from backtest.job import load_config, run_job
    from backtest.job.config import ConfigError
    from backtest.job.runner import input_paths, resolve_inputs
    from backtest.reports import write_report

    config = load_config(config_path, base=Path.cwd())
    where = str(config_path) if config_path else "command line"
    catalog: dict[str, object] = {}
    if catalog_paths:
        catalog["paths"] = tuple(str(p.resolve()) for p in catalog_paths)
    elif config.catalog.paths is None and catalog_from_env():
        # else <config folder, or ./>events, else the shipped catalog (resolve_inputs)
        catalog["paths"] = tuple(str(p.resolve()) for p in catalog_from_env())
    if confounder_paths:
        catalog["confounders"] = tuple(str(p.resolve()) for p in confounder_paths)
    if no_earnings_confounders:
        catalog["earnings_confounders"] = False
    # command line > configuration file > environment > default, as for the catalog: click
    # reads $EVBT_PRICES_DIR / $EVBT_CACHE_DIR into the options, but they apply only when the
    # file names neither place ([prices] says where a run's prices come from: a recorded
    # online run writes cache_dir, so $EVBT_PRICES_DIR may not turn it into a CSV run)
    ctx = click.get_current_context()
    file_names_prices = bool(config.prices.dir or config.prices.cache_dir)
    prices: dict[str, object] = {}
    prices_from = f"[prices] dir in {where}"  # where the prices folder was named
    if prices_dir is not None and (_typed(ctx, "prices_dir") or not file_names_prices):
        prices["dir"] = str(prices_dir.resolve())
        prices_from = "--prices-dir" if _typed(ctx, "prices_dir") else PRICES_DIR_ENV
    if cache_dir is not None and (_typed(ctx, "cache_dir") or not file_names_prices):
        option = "'--cache-dir'" if _typed(ctx, "cache_dir") else CACHE_DIR_ENV
        prices["cache_dir"] = str(expand(cache_dir, option).resolve())
    output: dict[str, object] = {}
    if out is not None:  # recorded as given, so that the recorded configuration writes there
        output["folder"] = str(expand(out, "'--out'").absolute())
    elif name is not None:  # a new name: the report goes to <dir>/<name>
        output["folder"] = None
    updates: dict[str, dict[str, object]] = {
        "catalog": catalog,
        "prices": prices,
        "output": output,
    }
    try:
        if name is not None:
            updates["name"] = name  # type: ignore[assignment]
        config = resolve_inputs(config.with_updates(**updates))
    except ValueError as exc:
        raise ConfigError(where, [("--name" if name else "", _first_line(exc))]) from None
    if show_config:
        click.echo(config.to_toml(), nl=False)
        return
    folder = out if out is not None else config.report_folder()  # (as given, for messages)
    config = own_record_read(config, folder)
    folder = check_report_dir(folder, inputs=input_paths(config), force=force)
    source = open_price_source(
        prices_dir=config.resolve(config.prices.dir) if config.prices.dir else None,
        cache_dir=config.resolve(config.prices.cache_dir) if config.prices.cache_dir else None,
        prices_dir_from=prices_from,
    )
    result = run_job(config, source=source, progress=not quiet)
    warn_catalog_problems(result.catalog_problems)
    from backtest.job.progress import Steps

    try:
        with Steps(enabled=not quiet) as steps, steps.step("writing the report"):
            write_report(result, folder, force=force)
    except OSError as exc:
        raise describe_os_error(folder, exc) from None
    if not quiet:
        click.echo(str(result.summary()))
    click.echo(f"report: {folder / 'index.html'}")
    failures = [f.splitlines()[0] for f in result.failures]
    if pdf:
        failures += _pdf(folder, quiet=quiet)
    if failures:
        for f in failures:
            click.echo(f"evbt: error: {f}", err=True)
        raise SystemExit(1)


def _pdf(folder: Path, *, quiet: bool) -> list[str]:
    """Print the report's main page to ``index.pdf``; the failures (Chromium failed). No
    Chromium is not a failure of the run (the PDF is optional): a warning says so."""
    from backtest.errors import ReportPdfError
    from backtest.job.progress import Steps
    from backtest.reports.pdf import CHROMIUM_NAMES, write_pdf

    try:
        with Steps(enabled=not quiet) as steps, steps.step("printing the PDF"):
            written = write_pdf(folder)
    except ReportPdfError as exc:
        return [f"--pdf: {exc}; the report was written without index.pdf"]
    if written is None:
        click.echo(
            "evbt: warning: --pdf: no Chromium found on PATH (looked for "
            f"{', '.join(CHROMIUM_NAMES)}); the report was written without index.pdf. "
            "Install Chromium (e.g. `apt-get install chromium`) to get the PDF.",
            err=True,
        )
        return []
    click.echo(f"pdf: {written}")
    return []


def _typed(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` was given on the command line (not read from the environment)."""
    return ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE


def _first_line(exc: Exception) -> str:
    """A pydantic validation error's message, as the configuration's own messages read."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False)
        if errors:
            err = errors[0]
            return str(err.get("ctx", {}).get("error", err["msg"]))
    return str(exc).splitlines()[0]
