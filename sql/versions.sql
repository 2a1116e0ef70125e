-- Model versions: every change keeps the previous version; name@version,
-- name@hashprefix and the content hash pin one; pinned scoring is IMMUTABLE.
SELECT onnx_create_model('ver', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'), 'first');
SELECT onnx_replace_model('ver', (SELECT data FROM onnx_test_fixtures WHERE name = 'linear.onnx'));
-- a description change is not a new version
UPDATE onnx_models SET description = 'second' WHERE name = 'ver';
SELECT onnx_replace_model('ver', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
SELECT version, size_bytes, created_by = current_user AS by_me, current FROM onnx_model_versions('ver');
SELECT version, changed_by = current_user AS by_me FROM onnx_models WHERE name = 'ver';

-- pinned references score the version they name
SELECT array_length(onnx_predict('ver@2', '{1,2,3,4}'), 1) AS v2,
       onnx_predict('ver@1', '{1,2,3,4}') = onnx_predict('ver', '{1,2,3,4}') AS v1_is_v3;
SELECT onnx_predict('ver@' || left(sha256, 8), '{1,2,3,4}') = onnx_predict('ver@2', '{1,2,3,4}') AS by_hash
FROM onnx_model_versions('ver') WHERE version = 2;
SELECT onnx_predict(decode(sha256, 'hex'), '{1,2,3,4}'::float4[]) = onnx_predict('ver@2', '{1,2,3,4}') AS pinned
FROM onnx_model_versions('ver') WHERE version = 2;
SELECT onnx_run(decode(sha256, 'hex'), '{"input": [[1, 2, 3, 4]]}') -> 'output' -> 'shape' AS run_pinned
FROM onnx_model_versions('ver') WHERE version = 2;
SELECT onnx_model_info('ver@2') -> 'inputs' -> 0 ->> 'name' AS v2_input;
SELECT onnx_predict('ver@9', '{1,2,3,4}');
SELECT onnx_predict('ver@zz', '{1,2,3,4}');
SELECT onnx_predict('ver@abc', '{1,2,3,4}');
SELECT onnx_predict(decode('00', 'hex'), '{1,2,3,4}'::float4[]);
SELECT onnx_predict(decode(repeat('00', 32), 'hex'), '{1,2,3,4}'::float4[]);
SELECT p.proname, p.provolatile FROM pg_proc p
WHERE p.proname IN ('onnx_predict', 'onnx_predict_batch', 'onnx_run')
  AND p.proargtypes[0] = 'bytea'::regtype ORDER BY 1;

-- IMMUTABLE: expression indexes and generated columns
CREATE TABLE ver_rows (id int, f float4[]);
INSERT INTO ver_rows SELECT g, ARRAY[g, g, g, g]::float4[] FROM generate_series(1, 5) g;
SELECT sha256 AS v2_sha FROM onnx_model_versions('ver') WHERE version = 2 \gset
CREATE INDEX ver_rows_p ON ver_rows (((onnx_predict(decode(:'v2_sha', 'hex'), f))[1]));
ALTER TABLE ver_rows ADD COLUMN p float4[]
	GENERATED ALWAYS AS (onnx_predict(decode(:'v2_sha', 'hex'), f)) STORED;
SELECT count(*) FROM ver_rows WHERE p = onnx_predict('ver@2', f);
DROP TABLE ver_rows;

-- roll back: the old content becomes the newest version
SELECT onnx_rollback_model('ver', 2);
SELECT version, current FROM onnx_model_versions('ver');
SELECT onnx_predict('ver', '{1,2,3,4}') = onnx_predict('ver@2', '{1,2,3,4}') AS rolled_back;
SELECT onnx_rollback_model('ver', 42);

-- retention: onnx.max_model_versions previous versions per model
SET onnx.max_model_versions = 1;
SELECT onnx_replace_model('ver', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
SELECT version, current FROM onnx_model_versions('ver');
RESET onnx.max_model_versions;

-- a dropped model keeps its last version in the history
SELECT onnx_drop_model('ver');
SELECT version, current FROM onnx_model_versions('ver');
SELECT array_length(onnx_predict('ver@5', '{1,2,3,4}'), 1) AS dropped_still_pinnable;
-- recreated, it counts on
SELECT onnx_create_model('ver', (SELECT data FROM onnx_test_fixtures WHERE name = 'linear.onnx'));
SELECT version FROM onnx_models WHERE name = 'ver';
SELECT onnx_drop_model('ver');
DELETE FROM onnx_model_history WHERE name = 'ver';

-- "@" pins versions, so names cannot hold one
SELECT onnx_create_model('a@b', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
