-- Model store: create, replace, drop, validation, metadata.
\set mlp_b64 `base64 -w0 test/fixtures/mlp.onnx`
\set linear_b64 `base64 -w0 test/fixtures/linear.onnx`
\set unsupported_b64 `base64 -w0 test/fixtures/unsupported_ops.onnx`

SELECT onnx_create_model('mlp', decode(:'mlp_b64', 'base64'), 'small MLP');
SELECT name, description, size_bytes, length(sha256), ir_version, opsets, producer,
       inputs, outputs
FROM onnx_models;

-- the name is taken
SELECT onnx_create_model('mlp', decode(:'mlp_b64', 'base64'));

-- bytes that are not a model: error, table unchanged
SELECT onnx_create_model('junk', '\x00010203deadbeef'::bytea);
SELECT onnx_create_model('junk', convert_to('not a model at all', 'UTF8'));
-- unsupported operators: all of them listed
SELECT onnx_create_model('unsupported', decode(:'unsupported_b64', 'base64'));
SELECT count(*) FROM onnx_models;

-- plain INSERT and UPDATE go through the same validation
INSERT INTO onnx_models (name, model) VALUES ('bad', '\x0a0b'::bytea);
INSERT INTO onnx_models (name, model) VALUES ('lin', decode(:'linear_b64', 'base64'));
SELECT name, inputs -> 0 ->> 'name' AS input, outputs -> 0 -> 'shape' AS output_shape
FROM onnx_models ORDER BY name;
UPDATE onnx_models SET model = '\x00'::bytea WHERE name = 'lin';
SELECT name, size_bytes FROM onnx_models ORDER BY name;

-- replace swaps the model and refreshes the metadata
SELECT onnx_replace_model('lin', decode(:'mlp_b64', 'base64'));
SELECT name, size_bytes, inputs -> 0 ->> 'name' AS input FROM onnx_models ORDER BY name;
SELECT onnx_replace_model('nothere', decode(:'mlp_b64', 'base64'));

-- drop
SELECT onnx_drop_model('lin');
SELECT onnx_drop_model('lin');
SELECT name FROM onnx_models ORDER BY name;

-- what get_modelmeta(), get_inputs() and get_outputs() tell
SELECT jsonb_pretty(onnx_model_info('mlp'));
SELECT onnx_model_info('nothere');

-- model names: 1 to 120 bytes (not characters), one rule at insert and at scoring
SELECT onnx_create_model(repeat('é', 61), decode(:'mlp_b64', 'base64'));
INSERT INTO onnx_models (name, model) VALUES (repeat('é', 61), decode(:'mlp_b64', 'base64'));
SELECT onnx_create_model(repeat('é', 60), decode(:'mlp_b64', 'base64'));
SELECT array_length(onnx_predict(repeat('é', 60), '{1,2,3,4}'), 1) AS n;
SELECT onnx_drop_model(repeat('é', 60));
SELECT onnx_create_model('', decode(:'mlp_b64', 'base64'));

-- NULL arguments: errors, not silent no-ops (pg_read_binary_file(path, true)
-- gives NULL for a missing file)
SELECT onnx_replace_model('mlp', NULL);
SELECT onnx_replace_model(NULL, decode(:'mlp_b64', 'base64'));
SELECT onnx_drop_model(NULL);
SELECT onnx_create_model(NULL, decode(:'mlp_b64', 'base64'));
SELECT onnx_model_info(NULL) IS NULL AS null_info;
