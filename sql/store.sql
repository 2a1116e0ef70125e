-- Model store: create, replace, drop, validation, metadata.

SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'), 'small MLP');
SELECT name, description, size_bytes, length(sha256), ir_version, opsets, producer,
       inputs, outputs
FROM onnx_models;

-- the name is taken
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));

-- bytes that are not a model: error, table unchanged
SELECT onnx_create_model('junk', '\x00010203deadbeef'::bytea);
SELECT onnx_create_model('junk', convert_to('not a model at all', 'UTF8'));
-- unsupported operators: all of them listed
SELECT onnx_create_model('unsupported', (SELECT data FROM onnx_test_fixtures WHERE name = 'unsupported_ops.onnx'));
SELECT count(*) FROM onnx_models;

-- plain INSERT and UPDATE go through the same validation
INSERT INTO onnx_models (name, model) VALUES ('bad', '\x0a0b'::bytea);
INSERT INTO onnx_models (name, model) VALUES ('lin', (SELECT data FROM onnx_test_fixtures WHERE name = 'linear.onnx'));
SELECT name, inputs -> 0 ->> 'name' AS input, outputs -> 0 -> 'shape' AS output_shape
FROM onnx_models ORDER BY name;
UPDATE onnx_models SET model = '\x00'::bytea WHERE name = 'lin';
SELECT name, size_bytes FROM onnx_models ORDER BY name;

-- replace swaps the model and refreshes the metadata
SELECT onnx_replace_model('lin', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
SELECT name, size_bytes, inputs -> 0 ->> 'name' AS input FROM onnx_models ORDER BY name;
SELECT onnx_replace_model('nothere', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));

-- drop
SELECT onnx_drop_model('lin');
SELECT onnx_drop_model('lin');
SELECT name FROM onnx_models ORDER BY name;

-- what get_modelmeta(), get_inputs() and get_outputs() tell
SELECT jsonb_pretty(onnx_model_info('mlp'));
SELECT onnx_model_info('nothere');

-- model names: 1 to 120 bytes (not characters), one rule at insert and at scoring
SELECT onnx_create_model(repeat('é', 61), (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
INSERT INTO onnx_models (name, model) VALUES (repeat('é', 61), (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
SELECT onnx_create_model(repeat('é', 60), (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
SELECT array_length(onnx_predict(repeat('é', 60), '{1,2,3,4}'), 1) AS n;
SELECT onnx_drop_model(repeat('é', 60));
SELECT onnx_create_model('', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));

-- NULL arguments: errors, not silent no-ops (pg_read_binary_file(path, true)
-- gives NULL for a missing file)
SELECT onnx_replace_model('mlp', NULL);
SELECT onnx_replace_model(NULL, (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
SELECT onnx_drop_model(NULL);
SELECT onnx_create_model(NULL, (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
SELECT onnx_model_info(NULL) IS NULL AS null_info;
