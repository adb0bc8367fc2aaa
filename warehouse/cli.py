"""The `brainwh` command. The only module that prints results or exits.

Data goes to stdout, messages to stderr; errors become exit codes in `main()` through
`warehouse.errors.exit_code_for` (0 ok, 1 bad data or failed query, 2 usage, 3 locked, 130
interrupted).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from warehouse import config, progress
from warehouse.errors import BrainwhError, ExitCode, exit_code_for

DB_OPTION = click.option(
    "--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="warehouse file (default: $BRAINWH_DB, else ./brainwh.duckdb)",
)
KIND_CHOICES = ("ontology", "cells", "taxonomy", "ephys", "microarray", "ish")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="brainwh")
def cli() -> None:
    """brainwh: Allen brain-atlas data in one DuckDB file, answered in SQL."""


@cli.command()
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
              show_default=True, help="where to write the sample release and warehouse")
@click.option("--scale", type=click.Choice(["tiny", "small", "full"]), default="small",
              show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@DB_OPTION
def demo(data: Path, scale: str, seed: int, db: Path | None) -> None:
    """Generate the sample release, build the warehouse, print answers."""
    from warehouse.demo import run_demo

    run_demo(data, scale=scale, seed=seed, db_path=db or data / "brainwh.duckdb")


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--scale", type=click.Choice(["tiny", "small", "full"]), default="small",
              show_default=True, help="tiny for tests, small for the demo, full = real sizes")
@click.option("--seed", type=int, default=42, show_default=True)
def sample(directory: Path, scale: str, seed: int) -> None:
    """Write a synthetic release in Allen's real formats into DIRECTORY."""
    from ingest.sample import write_release

    write_release(directory, scale=scale, seed=seed)
    progress.note(f"wrote the {scale} sample release to {directory}")


def _print_outcome(outcome) -> None:
    progress.note(f"published {outcome.db_path} ({outcome.files} file(s) in "
                  f"{outcome.seconds:.1f} s)")
    for table, rows in outcome.tables.items():
        if rows:
            progress.note(f"  {table:28} {rows:>12,} rows")


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@DB_OPTION
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="download cache for s3:// and https:// sources (default: $BRAINWH_CACHE, "
              "else ~/.cache/brainwh)")
@click.option("--release", metavar="YYYYMMDD", default=None,
              help="ABC release to read (default: the newest whose files are all present)")
def build(sources: tuple[str, ...], db: Path | None, cache: Path | None,
          release: str | None) -> None:
    """Build a new warehouse from every Allen source file found under SOURCES.

    SOURCES are folders, files, s3:// or https:// locations. Recognised files: the structure
    ontology (structure_graph_download/*.json, *structures*.csv/json, AHBA Ontology.csv), ABC
    WMB-10X cell_metadata.csv/.parquet and region_of_interest_metadata.csv, the WMB-taxonomy
    cluster*.csv files, Cell Types specimen/ephys/morphology CSVs and AHBA donor folders.
    The new file replaces the old one only when complete.

    At an s3:// or https:// location, an ABC release is read through its
    releases/<YYYYMMDD>/manifest.json (the files' versions and md5s); the files are
    downloaded to the cache once and read from there. Public buckets need no credentials.
    """
    from warehouse.build import run

    _print_outcome(run(config.database_path(db), sources, fresh=True, release=release,
                       cache=cache))


@cli.command("sources")
@click.argument("paths", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(KIND_CHOICES), default=None,
              help="only what `brainwh ingest KIND` would load")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="download cache for s3:// and https:// sources")
@click.option("--release", metavar="YYYYMMDD", default=None,
              help="ABC release to read (default: the newest whose files are present)")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--all", "show_all", is_flag=True,
              help="list every file (default: the ones loaded or skipped, others grouped)")
def sources_command(paths: tuple[str, ...], kind: str | None, cache: Path | None,
                    release: str | None, fmt: str, show_all: bool) -> None:
    """Dry run: what each file under PATHS is, which table it would load, or why not.

    Nothing is loaded or downloaded (remote files' heads are read to recognise them).
    """
    from warehouse.build import plan
    from warehouse.sources import render_plan

    found = plan(paths, kind=kind, release=release, cache=cache)
    render_plan(found, fmt=fmt, show_all=show_all)


@cli.command()
@click.argument("kind", type=click.Choice(KIND_CHOICES))
@click.argument("paths", nargs=-1, required=True)
@DB_OPTION
def ingest(kind: str, paths: tuple[str, ...], db: Path | None) -> None:
    """Load one source (KIND) into the warehouse, keeping everything else in it."""
    from warehouse.build import run

    _print_outcome(run(config.database_path(db), paths, kind=kind, fresh=False))


@cli.command()
@DB_OPTION
def views(db: Path | None) -> None:
    """List the saved views and macros with the questions they answer."""
    from warehouse.views import saved_objects

    for obj in saved_objects():
        title = obj.signature or obj.name
        click.echo(f"{title}  [{obj.kind}]")
        click.echo(f"    {obj.question}")
        click.echo(f"    grain: {obj.grain}")
        if obj.example:
            click.echo(f"    e.g. {obj.example}")


@cli.command()
@DB_OPTION
def status(db: Path | None) -> None:
    """Tables, row counts, and every loaded file with its version, size, md5 and time."""
    from warehouse.status import render_status

    click.echo(render_status(config.database_path(db)))


def _register_optional_commands() -> None:
    """Commands that live in their own modules (query, export, serve)."""
    from warehouse import commands

    for command in commands.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    _register_optional_commands()
    try:
        cli.main(args=argv, prog_name="brainwh", standalone_mode=False)
    except click.exceptions.Abort:
        progress.note("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as error:
        error.show()
        sys.exit(ExitCode.USAGE)
    except BrainwhError as error:
        progress.note(f"error: {error}")
        sys.exit(exit_code_for(error))
    except KeyboardInterrupt:
        progress.note("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(ExitCode.OK)
