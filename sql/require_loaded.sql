-- name: require_loaded
-- kind: macro
-- signature: require_loaded(n_rows, what, how, caller)
-- example: select require_loaded((select count(*) from ahba_genes),
--   'Allen Human Brain Atlas microarray data', 'brainwh ingest microarray', 'my_macro')
-- question: Is the data a macro reads loaded at all? Returns true when n_rows > 0; otherwise
--   raises an error every client sees, naming the caller, what is missing and the command
--   that loads it ("differential_search: no Allen Human Brain Atlas microarray data is
--   loaded: load it with `brainwh build` or `brainwh ingest microarray`"), so an empty
--   warehouse answers with what to do, not with an empty result.
-- grain: one value per call
-- columns:
--   require_loaded  BOOLEAN  true, when n_rows > 0; else an Invalid Input Error
-- sources: none (pure SQL)
create or replace macro require_loaded(n_rows, what, how, caller) as (
    case
        when coalesce(n_rows, 0) > 0 then true
        else error(caller || ': no ' || what || ' is loaded: load it with `brainwh build` or `'
            || how || '`')
    end
)
