"""The `brainwh` command: every subcommand's click definition, registered at import.

The only module that prints results or exits. Commands stay thin: they parse their options
(shared ones through the decorators below) and call the module that does the job. Data goes to
stdout, messages to stderr; errors become exit codes in `main()` through
`warehouse.errors.exit_code_for` (0 ok, 1 bad data or failed query, 2 usage, 3 locked, 130
interrupted, 143 terminated). `serve` keeps its definition in `warehouse.server.command`
and is registered here.
"""

from __future__ import annotations

import importlib.abc
import signal
import sys
from pathlib import Path

import click

from warehouse import config, progress, signals
from warehouse.errors import BrainwhError, ExitCode, exit_code_for
from warehouse.server.command import serve_command

KIND_CHOICES = ("ontology", "cells", "taxonomy", "ephys", "microarray", "parcellation",
                "spatial", "expression", "ish")
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
@click.option("--layout", type=click.Choice(["release", "abc-cache"]), default="release",
              show_default=True, help="abc-cache: as an abc_atlas_access cache holds it (other "
              "datasets, an older copy, older and newer manifests)")
def sample(directory: Path, scale: str, seed: int, layout: str) -> None:
    """Write a synthetic release in Allen's real formats into DIRECTORY."""
    from ingest.sample import write_release

    write_release(directory, scale=scale, seed=seed, layout=layout)
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
              help="ABC release to read (default: the newest whose files are all present)")
def build(sources: tuple[str, ...], db_path: Path | None, cache: Path | None,
          release: str | None) -> None:
    """Build a new warehouse from every Allen source file found under SOURCES.

    SOURCES are folders, files, s3:// or https:// locations. Files are recognised by their
    content (`brainwh sources PATH` shows what each one is and where it would go): the
    structure ontology, ABC WMB-10X cells and the WMB taxonomy, Cell Types tables and
    AllenSDK caches, AHBA donor folders and zips. ABC release layouts are read through their
    releases/<YYYYMMDD>/manifest.json (the files' versions and md5s): the release --release
    names, else the newest whose files are all present. The new file replaces the old one
    only when complete; a build that would leave a source file out stops instead.

    Remote files are downloaded to the cache once and read from there. Public buckets need
    no credentials.
    """
    from warehouse.build import run

    _print_outcome(run(config.database_path(db_path), sources, fresh=True, release=release,
                       cache=cache))

@cli.command("fetch")
@click.argument("names", nargs=-1, required=True, metavar="SOURCE...")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where to put the files (default: $BRAINWH_CACHE, else ~/.cache/brainwh)")
@click.option("--release", metavar="YYYYMMDD", default=None,
              help="ABC release to fetch (default: the newest in the bucket)")
@click.option("--abc-url", envvar="BRAINWH_ABC_URL", show_envvar=True,
              default="https://allen-brain-cell-atlas.s3.us-west-2.amazonaws.com",
              show_default=True, help="the ABC Atlas bucket over HTTPS (or a mirror)")
@click.option("--api-url", envvar="BRAINWH_API_URL", show_envvar=True,
              default="https://api.brain-map.org", show_default=True,
              help="the Allen Brain Map API (or a mirror)")
@click.option("--ahba-url", envvar="BRAINWH_AHBA_URL", show_envvar=True,
              default="https://human.brain-map.org", show_default=True,
              help="the Allen Human Brain Atlas downloads (or a mirror)")
@click.option("--download-url", envvar="BRAINWH_DOWNLOAD_URL", show_envvar=True,
              default="http://download.alleninstitute.org", show_default=True,
              help="Allen's atlas volume downloads (the ISH grid annotation), or a mirror")
@click.option("--genes", default=None, metavar="SYMBOL,...",
              help="ish: only these genes' experiments (Allen's symbols, e.g. Pvalb,Drd1a)")
@click.option("--grids", type=click.Choice(["all", "coronal", "none"]), default="all",
              show_default=True, help="ish: the 3-D grids of which experiments to download "
              "(all ~26,000 take ~10 GB; the 4,345 coronal ~1.6 GB)")
@click.option("--retries", type=click.IntRange(1, 20), default=5, show_default=True,
              help="attempts per request")
@click.option("--retry-wait", type=click.FloatRange(0, 600), default=1.0, show_default=True,
              help="seconds before the first retry; doubled before each next one")
def fetch_command(names: tuple[str, ...], cache: Path | None, release: str | None,
                  abc_url: str, api_url: str, ahba_url: str, download_url: str,
                  genes: str | None, grids: str, retries: int, retry_wait: float) -> None:
    """Download the real public Allen sources into the folder `brainwh build` reads.

    SOURCE is abc (an ABC Atlas release's files brainwh loads: the WMB 10x cells, taxonomy and
    genes, the MERFISH cells in the CCF, the Allen-CCF-2020 parcellation, the MapMyCells
    statistics of 1.4 GB and marker lookup), ontology (the mouse and human structure graphs),
    ahba (the six Allen Human Brain Atlas donors, ~4 GB), ephys (the Cell Types Database
    tables), ish (the Allen Mouse Brain Atlas: experiments,
    structure unionizes, 3-D grids, the grid annotation), or all. Downloads resume where they
    stopped and are checked (md5 from the release manifest, sizes); run the same command again
    after an interruption. Then: brainwh build CACHE.
    """
    from warehouse.fetch.downloads import Retry
    from warehouse.fetch.sources import Endpoints, Request, fetch
    from warehouse.remote.cache import cache_dir

    folder = cache_dir(cache)
    chosen = tuple(g.strip() for g in (genes or "").split(",") if g.strip())
    request = Request(cache=folder, endpoints=Endpoints(abc=abc_url, api=api_url,
                                                        ahba=ahba_url, download=download_url),
                      release=release, retry=Retry(attempts=retries, first_wait=retry_wait),
                      genes=chosen, grids=grids)
    fetch(list(names), request)
    progress.note(f"fetched into {folder}; next: brainwh build {folder}")


@cli.command("sources")
@click.argument("paths", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(KIND_CHOICES), default=None,
              help="only what `brainwh ingest KIND` would load")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="download cache for s3:// and https:// sources")
@click.option("--release", metavar="YYYYMMDD", default=None,
              help="ABC release to read (default: the newest whose files are present)")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="aligned text, or CSV / JSON rows for scripts")
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
@db_option
@click.option("--release", metavar="YYYYMMDD", default=None,
              help="ABC release to read (default: the newest whose files are all present)")
def ingest(kind: str, paths: tuple[str, ...], db_path: Path | None,
           release: str | None) -> None:
    """Load one source (KIND) into the warehouse, keeping everything else in it."""
    from warehouse.build import run

    _print_outcome(run(config.database_path(db_path), paths, kind=kind, fresh=False,
                       release=release))


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


@cli.group()
def plot() -> None:
    """PNG/SVG pictures: composition bar charts and MERFISH sections (needs matplotlib)."""


out_option = click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="the picture to write, .png or .svg (default: a name from the arguments, .png)")
force_option = click.option("--force", is_flag=True, help="replace --out if it exists")


@plot.command("composition")
@click.argument("regions", nargs=-1, required=True, metavar="REGION...")
@click.option("--level", default="subclass", show_default=True,
              type=click.Choice(["neurotransmitter", "class", "subclass", "supertype",
                                 "cluster"]))
@click.option("--method", type=click.Choice(["spatial", "dissection"]), default=None,
              help="MERFISH cells by CCF parcellation, or 10x cells by dissection region "
              "(default: spatial when every region has MERFISH cells)")
@click.option("--top", type=click.IntRange(1, 60), default=15, show_default=True,
              help="cell types drawn one by one; the rest are one 'other' segment")
@out_option
@force_option
@db_option
def plot_composition(regions: tuple[str, ...], level: str, method: str | None, top: int,
                     out: Path | None, force: bool, db_path: Path | None) -> None:
    """A stacked bar of each REGION's cell-type fractions (ROI or CCF acronyms)."""
    from warehouse import plot as plotting

    written = plotting.plot_composition(config.database_path(db_path), list(regions), level=level,
                                        method=method, top=top, out=out, force=force)
    progress.note(f"wrote {written}")


@plot.command("section")
@click.argument("section")
@click.option("--color-by", default="subclass", show_default=True,
              type=click.Choice(["neurotransmitter", "class", "subclass", "supertype",
                                 "cluster", "division", "structure", "substructure"]),
              help="a taxonomy level (its colours) or a parcellation level (CCF colours)")
@click.option("--coordinates", type=click.Choice(["section", "reconstructed", "ccf"]),
              default="section", show_default=True)
@out_option
@force_option
@db_option
def plot_section(section: str, color_by: str, coordinates: str, out: Path | None, force: bool,
                 db_path: Path | None) -> None:
    """The cells of one MERFISH SECTION (e.g. C57BL6J-638850.40), coloured by type."""
    from warehouse import plot as plotting

    written = plotting.plot_section(config.database_path(db_path), section, color_by=color_by,
                                    coordinates=coordinates, out=out, force=force)
    progress.note(f"wrote {written}")


cli.add_command(serve_command, "serve")


def command() -> None:
    """The `brainwh` program (console script and `python -m warehouse`): `main` in a process of
    its own, with pandas hidden. pyarrow imports pandas, when it is installed, the first time it
    converts Python values to Arrow: 0.8 s of CPU, half of a `brainwh ingest ontology`, measured;
    no brainwh command uses pandas. Code calling `main` in its own process is left alone."""
    sys.meta_path.insert(0, _WithoutPandas())
    main()


class _WithoutPandas(importlib.abc.MetaPathFinder):
    """Imports of pandas fail as if it were not installed (pyarrow then goes on without it)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("brainwh's command line runs without pandas", name=name)
        return None


def main(argv: list[str] | None = None) -> None:
    signals.unwind_on_signals()
    try:
        cli.main(args=argv, prog_name="brainwh", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        _stopped(signal.SIGINT)
    except signals.Terminated:
        _stopped(signal.SIGTERM)
    except Exception as error:
        if signals.received() is not None:  # DuckDB's "Query interrupted" after our handler
            _stopped(signals.received())
        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(ExitCode.USAGE)
        if isinstance(error, BrainwhError):
            progress.note(f"error: {error}")
            sys.exit(exit_code_for(error))
        if isinstance(error, BrokenPipeError):
            sys.stderr.close()
            sys.exit(ExitCode.OK)
        raise


def _stopped(signum: int) -> None:
    """Exit as a stop the user asked for: Ctrl-C (130) or SIGTERM (143)."""
    if signum == signal.SIGTERM:
        progress.note("terminated")
        sys.exit(ExitCode.TERMINATED)
    progress.note("interrupted")
    sys.exit(ExitCode.INTERRUPTED)
