/* sql/onnx.sql - install script of the onnx extension, copied to onnx--VERSION.sql by make */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION onnx" to load this file. \quit

-- The model store.  Dumped by pg_dump (extension configuration table);
-- readable and writable only through ordinary GRANTs (none to PUBLIC).
CREATE TABLE @extschema@.onnx_models (
	name text PRIMARY KEY
		CONSTRAINT onnx_models_name_check CHECK (pg_catalog.octet_length(name) BETWEEN 1 AND 120),
	model bytea NOT NULL,
	description text,
	sha256 text NOT NULL,
	size_bytes bigint NOT NULL,
	ir_version bigint NOT NULL,
	opsets jsonb NOT NULL,
	producer text,
	inputs jsonb NOT NULL,
	outputs jsonb NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	version int,				-- set by the trigger: 1, 2, ... per name
	changed_by name				-- who stored this version
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.onnx_models', '');
REVOKE ALL ON @extschema@.onnx_models FROM PUBLIC;
-- The extension is trusted: a database owner may create it, and then owns
-- the model store (to grant on it); everything else stays the bootstrap
-- superuser's.
ALTER TABLE @extschema@.onnx_models OWNER TO @extowner@;

-- Previous versions: written by the trigger of onnx_models (as this table's
-- owner), pruned to onnx.max_model_versions per model, dumped by pg_dump.
CREATE TABLE @extschema@.onnx_model_history (
	name text NOT NULL,
	version int NOT NULL,
	sha256 text NOT NULL,
	model bytea NOT NULL,
	size_bytes bigint NOT NULL,
	created_at timestamptz NOT NULL,
	created_by name,
	replaced_at timestamptz NOT NULL,
	PRIMARY KEY (name, version)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.onnx_model_history', '');
REVOKE ALL ON @extschema@.onnx_model_history FROM PUBLIC;
ALTER TABLE @extschema@.onnx_model_history OWNER TO @extowner@;

COMMENT ON TABLE @extschema@.onnx_models IS
	'ONNX models; every insert or update is validated and its metadata filled by a trigger';

-- Internal: validates rows of onnx_models only (it checks the table by OID).
CREATE FUNCTION @extschema@.onnx_models_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'onnx_models_trigger' LANGUAGE C;
REVOKE ALL ON FUNCTION @extschema@.onnx_models_trigger() FROM PUBLIC;

-- Fires also under session_replication_role = replica (logical replication
-- apply, pg_restore --disable-triggers does not skip it either).
CREATE TRIGGER onnx_models_validate
	BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.onnx_models
	FOR EACH ROW EXECUTE FUNCTION @extschema@.onnx_models_trigger();
ALTER TABLE @extschema@.onnx_models ENABLE ALWAYS TRIGGER onnx_models_validate;

-- Model management (caller's privileges on onnx_models apply).
CREATE FUNCTION @extschema@.onnx_create_model(name text, model bytea, description text DEFAULT NULL)
	RETURNS void AS 'MODULE_PATHNAME', 'onnx_create_model'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Not STRICT: a null name or model is an error, not a silent no-op.
CREATE FUNCTION @extschema@.onnx_replace_model(name text, model bytea)
	RETURNS void AS 'MODULE_PATHNAME', 'onnx_replace_model'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.onnx_drop_model(name text)
	RETURNS void AS 'MODULE_PATHNAME', 'onnx_drop_model'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.onnx_model_info(name text)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'onnx_model_info'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- Scoring.
CREATE FUNCTION @extschema@.onnx_predict(model text, input float4[])
	RETURNS float4[] AS 'MODULE_PATHNAME', 'onnx_predict'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.onnx_predict(model text, input float4[], output text)
	RETURNS float4[] AS 'MODULE_PATHNAME', 'onnx_predict_output'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.onnx_predict_batch(model text, inputs float4[])
	RETURNS float4[] AS 'MODULE_PATHNAME', 'onnx_predict_batch'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- Introspection.
CREATE FUNCTION @extschema@.onnx_cache_info(
	OUT model text, OUT device text, OUT model_bytes bigint,
	OUT session_bytes bigint, OUT hits bigint, OUT last_used timestamptz,
	OUT shared boolean)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'onnx_cache_info'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.onnx_cuda_is_available()
	RETURNS boolean AS 'MODULE_PATHNAME', 'onnx_cuda_is_available'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- Named inputs to named outputs, every dtype, JSON tensors.
CREATE FUNCTION @extschema@.onnx_run(model text, inputs jsonb)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'onnx_run'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.onnx_run(model text, inputs jsonb, outputs text[])
	RETURNS jsonb AS 'MODULE_PATHNAME', 'onnx_run'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- Batch scoring of a query: each row's columns followed by the outputs.
CREATE FUNCTION @extschema@.onnx_score(model text, query text)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'onnx_score'
	LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

-- Progress of running onnx_score calls (needs shared_preload_libraries).
CREATE FUNCTION @extschema@.onnx_score_progress(
	OUT pid int, OUT model text, OUT rows_done bigint, OUT elapsed interval,
	OUT rows_per_second float8)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'onnx_score_progress'
	LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Score one table row with a (multi-input) model: fields bound by name.
CREATE FUNCTION @extschema@.onnx_run_row(model text, row_value anyelement)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'onnx_run_row'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- onnx_score's rows on the Citus workers (see the README's Scaling out):
-- one row's outputs, its fields named by field_names, as bytes that
-- onnx_score reads back on the coordinator.
CREATE FUNCTION @extschema@.onnx_score_row(model text, row_value anyelement, field_names text[])
	RETURNS bytea AS 'MODULE_PATHNAME', 'onnx_score_row'
	LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- One copy of each model for all backends, warm starts and statistics
-- (need shared_preload_libraries).
CREATE FUNCTION @extschema@.onnx_prewarm(model text)
	RETURNS boolean AS 'MODULE_PATHNAME', 'onnx_prewarm'
	LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION @extschema@.onnx_shared_memory(
	OUT size bigint, OUT used bigint, OUT models int)
	RETURNS record AS 'MODULE_PATHNAME', 'onnx_shared_memory'
	LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION @extschema@.onnx_stat_models(
	OUT userid oid, OUT dbid oid, OUT model text, OUT sha256 text,
	OUT calls bigint, OUT rows bigint, OUT batches bigint, OUT errors bigint,
	OUT total_time float8, OUT mean_time float8, OUT max_time float8,
	OUT prepares bigint, OUT prepare_time float8,
	OUT shared_bytes bigint, OUT backends int)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'onnx_stat_models'
	LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW @extschema@.onnx_stat_models AS
	SELECT * FROM @extschema@.onnx_stat_models();
GRANT SELECT ON @extschema@.onnx_stat_models TO PUBLIC;

CREATE FUNCTION @extschema@.onnx_stat_reset()
	RETURNS void AS 'MODULE_PATHNAME', 'onnx_stat_reset'
	LANGUAGE C STRICT VOLATILE PARALLEL SAFE;
REVOKE ALL ON FUNCTION @extschema@.onnx_stat_reset() FROM PUBLIC;

-- Versions: list, roll back; name@version and name@hashprefix work wherever
-- a model name does.
CREATE FUNCTION @extschema@.onnx_model_versions(model text,
	OUT version int, OUT sha256 text, OUT size_bytes bigint, OUT created_at timestamptz,
	OUT created_by name, OUT current boolean)
	RETURNS SETOF record LANGUAGE sql STABLE PARALLEL SAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
	SELECT m.version, m.sha256, m.size_bytes, m.updated_at, m.changed_by, true
	  FROM @extschema@.onnx_models m WHERE m.name OPERATOR(pg_catalog.=) $1
	UNION ALL
	SELECT h.version, h.sha256, h.size_bytes, h.created_at, h.created_by, false
	  FROM @extschema@.onnx_model_history h WHERE h.name OPERATOR(pg_catalog.=) $1
	ORDER BY 1
	$$;

CREATE FUNCTION @extschema@.onnx_rollback_model(name text, version int)
	RETURNS void AS 'MODULE_PATHNAME', 'onnx_rollback_model'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- Scoring pinned to content: the model named by its SHA-256 (32 bytes).
-- The same content always gives the same result, so these are IMMUTABLE
-- (expression indexes, generated columns) and have no collatable argument
-- (postgres_fdw can push them to remote servers that have the content).
CREATE FUNCTION @extschema@.onnx_predict(model_sha256 bytea, input float4[])
	RETURNS float4[] AS 'MODULE_PATHNAME', 'onnx_predict_pinned'
	LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.onnx_predict_batch(model_sha256 bytea, inputs float4[])
	RETURNS float4[] AS 'MODULE_PATHNAME', 'onnx_predict_batch_pinned'
	LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION @extschema@.onnx_run(model_sha256 bytea, inputs jsonb)
	RETURNS jsonb AS 'MODULE_PATHNAME', 'onnx_run_pinned'
	LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

-- Copy a model to a postgres_fdw server (the remote database has the
-- extension): through a temporary foreign table on its onnx_models, with
-- the caller's user mapping; the remote trigger validates it.  Pinned calls
-- (onnx_predict(bytea, ...)) are then pushed down by postgres_fdw when the
-- server lists 'onnx' in its extensions option.
CREATE FUNCTION @extschema@.onnx_push_model(server name, model text, remote_schema name DEFAULT 'public')
	RETURNS void LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
	SET search_path = pg_catalog, pg_temp
	AS $$
DECLARE
	ft text := pg_catalog.format('pg_temp.%I', 'onnx_push_' || server);
BEGIN
	IF server IS NULL OR model IS NULL THEN
		RAISE EXCEPTION 'server and model name must not be null';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM @extschema@.onnx_models m WHERE m.name OPERATOR(pg_catalog.=) onnx_push_model.model) THEN
		RAISE EXCEPTION 'ONNX model "%" does not exist', model USING ERRCODE = 'undefined_object';
	END IF;
	EXECUTE pg_catalog.format('DROP FOREIGN TABLE IF EXISTS %s', ft);
	EXECUTE pg_catalog.format('CREATE FOREIGN TABLE %s (name text, model bytea, description text) '
							  'SERVER %I OPTIONS (schema_name %L, table_name %L)',
							  ft, server, remote_schema, 'onnx_models');
	EXECUTE pg_catalog.format('DELETE FROM %s WHERE name OPERATOR(pg_catalog.=) $1', ft) USING model;
	EXECUTE pg_catalog.format('INSERT INTO %s (name, model, description) '
							  'SELECT m.name, m.model, m.description FROM @extschema@.onnx_models m '
							  'WHERE m.name OPERATOR(pg_catalog.=) $1', ft) USING model;
	EXECUTE pg_catalog.format('DROP FOREIGN TABLE %s', ft);
END
$$;
