/* onnx--0.1.0--0.2.0.sql - upgrade of the onnx extension from 0.1.0 to 0.2.0 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION onnx UPDATE TO '0.2.0'" to load this file. \quit

-- Model names: one rule, in bytes, as the C code counts them.  Rows whose
-- names are longer could never be scored; the update stops on them.
ALTER TABLE @extschema@.onnx_models DROP CONSTRAINT onnx_models_name_check;
ALTER TABLE @extschema@.onnx_models ADD CONSTRAINT onnx_models_name_check
	CHECK (pg_catalog.octet_length(name) BETWEEN 1 AND 120);

-- The trigger function is internal; its trigger fires in every replication role.
REVOKE ALL ON FUNCTION @extschema@.onnx_models_trigger() FROM PUBLIC;
ALTER TABLE @extschema@.onnx_models ENABLE ALWAYS TRIGGER onnx_models_validate;

-- A null name or model is an error, not a silent no-op.
ALTER FUNCTION @extschema@.onnx_replace_model(text, bytea) CALLED ON NULL INPUT;
ALTER FUNCTION @extschema@.onnx_drop_model(text) CALLED ON NULL INPUT;

-- onnx_cache_info says whether a cached model is in shared memory.
DROP FUNCTION @extschema@.onnx_cache_info();
CREATE FUNCTION @extschema@.onnx_cache_info(
	OUT model text, OUT device text, OUT model_bytes bigint,
	OUT session_bytes bigint, OUT hits bigint, OUT last_used timestamptz,
	OUT shared boolean)
	RETURNS SETOF record AS 'MODULE_PATHNAME', 'onnx_cache_info'
	LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
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
