"""The `brainwh` command: every subcommand's click definition, registered at import.

The only module that prints results or exits. Commands stay thin: they parse their options
(shared ones through the decorators below) and call the module that does the job. Data goes to
stdout, messages to stderr; errors become exit codes in `main()` through
`warehouse.errors.exit_code_for` (0 ok, 1 bad data or failed query, 2 usage, 3 locked, 130
interrupted). `serve` keeps its definition in `warehouse.server.command` and is registered here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from warehouse import config, progress
from warehouse.errors import BrainwhError, ExitCode, UsageError, exit_code_for
from warehouse.server.command import serve_command

KIND_CHOICES = ("ontology", "cells", "taxonomy", "ephys", "microarray")
FORMAT_CHOICES = ("csv", "json", "parquet", "table")

# Options several commands share: declared once, applied as decorators.
db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="warehouse file (default: $BRAINWH_DB, else ./brainwh.duckdb)",
)
scale_option = click.option(
    "--scale", type=click.Choice(["tiny", "small", "full"]), default="small",
    show_default=True, help="tiny for tests, small for the demo, full = the real sizes",
)
seed_option = click.option("--seed", type=int, default=42, show_default=True,
                           help="random seed of the sample generator")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="brainwh")
def cli() -> None:
    """brainwh: Allen brain-atlas data in one DuckDB file, answered in SQL."""


@cli.command()
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=Path("data"),
              show_default=True, help="where to write the sample release")
@scale_option
@seed_option
@db_option
def demo(data: Path, scale: str, seed: int, db_path: Path | None) -> None:
    """Generate the sample release, build the warehouse, print answers.

    The warehouse goes where every other command looks by default (--db, else $BRAINWH_DB,
    else ./brainwh.duckdb), so the next `brainwh sql` finds it. The demo replaces only a
    warehouse an earlier demo built.
    """
    from warehouse.demo import run_demo

    run_demo(data, scale=scale, seed=seed, db_path=config.database_path(db_path))


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@scale_option
@seed_option
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
@db_option
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="download cache for s3:// and https:// sources (default: $BRAINWH_CACHE, "
              "else ~/.cache/brainwh)")
@click.option("--release", metavar="YYYYMMDD", default=None,
              help="ABC release to read from a remote location (default: the newest)")
def build(sources: tuple[str, ...], db_path: Path | None, cache: Path | None,
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

    if cache or release:
        from warehouse import remote

        remote.configure(cache=cache, release=release)
    _print_outcome(run(config.database_path(db_path), sources, fresh=True))


@cli.command()
@click.argument("kind", type=click.Choice(KIND_CHOICES))
@click.argument("paths", nargs=-1, required=True)
@db_option
def ingest(kind: str, paths: tuple[str, ...], db_path: Path | None) -> None:
    """Load one source (KIND) into the warehouse, keeping everything else in it."""
    from ingest import registry
    from warehouse.build import run

    if kind not in registry.KINDS:
        raise UsageError(f"the {kind} source is not available in this version")
    _print_outcome(run(config.database_path(db_path), paths, kind=kind, fresh=False))


@cli.command("sql")
@click.argument("query", required=False)
@click.option("-f", "--file", "query_file", type=click.Path(exists=True, dir_okay=False,
              allow_dash=True, path_type=Path),
              help="read the query from a file ('-' or no QUERY: stdin)")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="table",
              show_default=True, help="aligned text, CSV, JSON (one object per row) or Parquet")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="write to a new file instead of stdout (its folder is created)")
@click.option("--force", is_flag=True, help="let --out replace an existing file")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="bind $NAME in the query (repeatable); never interpolated")
@db_option
def sql(query: str | None, query_file: Path | None, fmt: str, out: Path | None, force: bool,
        params: tuple[str, ...], db_path: Path | None) -> None:
    """Run a SQL query against the warehouse (read-only) and print the result.

    The query comes from the argument, from -f FILE, or from stdin. Parameters are bound:
    `brainwh sql 'select * from composition where region_acronym = $r' --param r=MOp`.
    """
    from warehouse.query import read_query, run_sql

    run_sql(read_query(query, query_file), params, fmt, out, db_path, force=force)


@cli.command("export")
@click.argument("source", metavar="VIEW_OR_SQL")
@click.option("--out", required=True, metavar="PATH_OR_URI",
              help="a file (or, with --partition-by, a folder): local path or s3://bucket/key")
@click.option("--partition-by", "partition_by", multiple=True, metavar="COL",
              help="write a hive-partitioned folder, COL=value/ per value (repeatable)")
@db_option
def export(source: str, out: str, partition_by: tuple[str, ...], db_path: Path | None) -> None:
    """Export a view, table, table macro call or query as zstd Parquet.

    Each file records the query, the warehouse's source versions (release, taxonomy
    version, every loaded file) and the export time in its key-value metadata. The result
    is written under a temporary name and moved into place only when complete.
    """
    from warehouse.export import export as run_export

    rows = run_export(source, out, partition_by=partition_by, db_path=db_path)
    progress.note(f"exported {rows:,} rows to {out}"
                  + (f" (partitioned by {', '.join(partition_by)})" if partition_by else ""))


@cli.command()
@db_option
def views(db_path: Path | None) -> None:
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
@db_option
def status(db_path: Path | None) -> None:
    """Tables, row counts, and every loaded file with its version, size, md5 and time."""
    from warehouse.status import render_status

    click.echo(render_status(config.database_path(db_path)))


cli.add_command(serve_command, "serve")


def main(argv: list[str] | None = None) -> None:
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
