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
