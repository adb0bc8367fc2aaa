"""`brainwh serve`: the warehouse over the Postgres wire protocol (pg_mimic + our DuckDB bridge).

Modules, one job each:
    command   the CLI command: options, auth, start and stop
    protocol  pg_mimic server/connection: who may connect, rows streamed with back-pressure
    session   sessions, statements and portals on DuckDB cursors (timeouts, cancel)
    policy    what a client may run: queries only; which SETs are client settings
    rewrite   catalog SQL from clients rewritten for DuckDB and our catalog
    catalog   a Postgres-shaped catalog (pg_catalog, information_schema) of the warehouse
    handles   the published file: new file versions for new sessions
    pgtypes   DuckDB types as Postgres types; parameters as DuckDB values
    encode    Arrow batches as DataRow messages
"""
