"""`brainwh serve`: the warehouse over the Postgres wire protocol.

Modules, one job each:
    command   the CLI command: options, limits, start and stop
    protocol  the wire: limits before login, login (SCRAM), the message loop, rows streamed
    session   sessions, statements and portals on DuckDB cursors (timeouts, cancel)
    params    parameter types without running a statement, and values for DuckDB
    copy      COPY (query) TO STDOUT in text, csv and binary
    policy    what a client may run: queries only; which SETs are client settings
    sqltext   literal-aware scanning of SQL text (statements, placeholders, words)
    rewrite   catalog SQL from clients rewritten for DuckDB, as a list of named rules
    catalog   a Postgres-shaped catalog (pg_catalog, information_schema) of the warehouse
    handles   the published file: new file versions for new sessions, memory and spill limits
    pgtypes   DuckDB types as Postgres types; parameters as DuckDB values
    encode    Arrow batches as DataRow messages
    pgmimic   everything taken from pg-mimic (messages, codecs, SCRAM), in one place
"""
