-- demo.sql: run by scripts/demo.sh from the repository root.
\pset footer off
CREATE EXTENSION onnx;

-- load the shipped model (read by psql on the client side)
\set model_b64 `base64 -w0 test/fixtures/mlp.onnx`
SELECT onnx_create_model('churn', decode(:'model_b64', 'base64'),
                         'demo: 4 customer features -> 3 class probabilities');
\echo
\echo 'Model stored in onnx_models:'
SELECT name, size_bytes, ir_version, opsets, inputs, outputs FROM onnx_models;

-- a sample table of customers with four features each
CREATE TABLE customers AS
SELECT id, ARRAY[sin(id), cos(id), id % 5 - 2, ln(id + 1) - 1]::float4[] AS features
FROM generate_series(1, 10) AS id;

\echo
\echo 'Predictions (row by row with onnx_predict):'
SELECT id, features, onnx_predict('churn', features) AS probabilities
FROM customers ORDER BY id;

\echo 'Write back the probability of class 2:'
ALTER TABLE customers ADD COLUMN risk float4;
UPDATE customers SET risk = (onnx_predict('churn', features))[2];
SELECT id, round(risk::numeric, 4) AS risk FROM customers ORDER BY risk DESC LIMIT 3;
