-- Bad inputs give errors that say what was expected; NULLs give NULL.
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o

-- STRICT: NULL model or input gives NULL
SELECT onnx_predict(NULL, '{1,2,3,4}') IS NULL AS null_model;
SELECT onnx_predict('mlp', NULL) IS NULL AS null_input;
SELECT onnx_predict_batch('mlp', NULL) IS NULL AS null_batch;

-- NULL elements
SELECT onnx_predict('mlp', '{1,NULL,3,4}');
-- wrong number of values
SELECT onnx_predict('mlp', '{1,2,3}');
SELECT onnx_predict('mlp', '{}');
-- wrong rank and wrong static dimension
SELECT onnx_predict('mlp', '{{{1,2,3,4}}}');
SELECT onnx_predict('mlp', '{{1,2,3}}');
SELECT onnx_predict_batch('mlp', '{{1,2,3},{4,5,6}}');
SELECT onnx_predict_batch('mlp', '{1,2,3,4}');
-- unknown model and output
SELECT onnx_predict('nothere', '{1,2,3,4}');
SELECT onnx_predict('mlp', '{1,2,3,4}', 'nothere');
SELECT onnx_predict('', '{1,2,3,4}');
-- the backend is still fine
SELECT array_length(onnx_predict('mlp', '{1,2,3,4}'), 1) AS n;
