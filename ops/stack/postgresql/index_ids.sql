-- A stand-in's tuning, not the shop's schema: a GIN index on `_id` for every
-- collection FerretDB creates in this database.
--
-- FerretDB 1.24 keeps a collection as a table of one `jsonb` column, `_jsonb`,
-- in a schema per MongoDB database, and indexes `_id` with a btree on
-- `_jsonb->'_id'`. But it filters by `_id` as `_jsonb->'_id' @> $1`, which that
-- btree cannot serve, so without this every lookup and guarded update scanned
-- the collection. A real MongoDB serves `_id` from its own index.

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
        EXECUTE format('CREATE INDEX ON %s USING gin ((_jsonb->''_id'') jsonb_path_ops)',
                       created.object_identity);
    END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS shopstream_index_ferretdb_ids;
CREATE EVENT TRIGGER shopstream_index_ferretdb_ids ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION shopstream_index_ferretdb_ids();
