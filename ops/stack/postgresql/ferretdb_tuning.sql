-- A stand-in's tuning, not the shop's schema: what lets FerretDB find a document
-- by `_id` through an index, as a real MongoDB does with its own `_id` index.
--
-- FerretDB 1.24 keeps a collection as a table of one `jsonb` column, `_jsonb`,
-- in a schema per MongoDB database, and indexes `_id` with a btree on
-- `_jsonb->'_id'`. But it filters by `_id` as `_jsonb->$1 @> $2` (with $1 = '_id'),
-- which that btree cannot serve, so every lookup and guarded update scanned the
-- collection. Two things make it an index search:

-- 1. A GIN index on `_id` for every collection FerretDB creates in this database.
CREATE OR REPLACE FUNCTION shopstream_index_ferretdb_ids() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    created record;
BEGIN
    FOR created IN
        SELECT command.objid, command.object_identity
        FROM pg_event_trigger_ddl_commands() AS command
        JOIN pg_attribute AS jsonb_column
          ON jsonb_column.attrelid = command.objid AND jsonb_column.attname = '_jsonb'
        WHERE command.object_type = 'table'
          AND command.schema_name NOT IN ('pg_catalog', 'information_schema', 'public')
    LOOP
        -- Without fastupdate: a GIN index's list of pending entries is read in full by
        -- every search until a vacuum merges it, and each update of a cart adds to it.
        EXECUTE format(
            'CREATE INDEX ON %s USING gin ((_jsonb->''_id'') jsonb_path_ops) WITH (fastupdate = off)',
            created.object_identity);
    END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS shopstream_index_ferretdb_ids;
CREATE EVENT TRIGGER shopstream_index_ferretdb_ids ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION shopstream_index_ferretdb_ids();

-- 2. Plans made for the values at hand. FerretDB sends each query as a prepared
-- statement; after five runs PostgreSQL may switch to a plan for any parameters,
-- where `_jsonb->$1` no longer matches the index's `_jsonb->'_id'`, and scans.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan',
                   current_database());
END
$$;
