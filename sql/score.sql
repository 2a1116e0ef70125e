-- onnx_score: batch scoring of a query; columns bound by name; NULL rows
-- give NULL outputs; usable in CREATE TABLE AS and INSERT ... SELECT.
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o

CREATE TABLE score_rows AS
SELECT g AS id, ARRAY[sin(g), cos(g), g % 5 - 2, ln(g)]::float4[] AS features
FROM generate_series(1, 2500) g;
UPDATE score_rows SET features = NULL WHERE id = 3;
UPDATE score_rows SET features = '{1,NULL,2,3}' WHERE id = 4;

-- the same answers as onnx_predict (to float rounding: batches use GEMM,
-- single rows GEMV), batch boundaries included
SET onnx.batch_size = 1000;
SELECT count(*) AS rows, count(probabilities) AS scored,
       count(*) FILTER (WHERE CASE WHEN probabilities IS NULL THEN false
                             ELSE (SELECT max(abs(a - b)) < 1e-6
                                   FROM unnest(probabilities, onnx_predict('mlp', features)) u(a, b)) END)
       AS same_as_predict
FROM onnx_score('mlp', 'SELECT id, features FROM score_rows')
     AS s(id int, features float4[], probabilities float4[]);
SET onnx.batch_size = 7;
SELECT count(*) AS rows, count(probabilities) AS scored,
       count(*) FILTER (WHERE CASE WHEN probabilities IS NULL THEN false
                             ELSE (SELECT max(abs(a - b)) < 1e-6
                                   FROM unnest(probabilities, onnx_predict('mlp', features)) u(a, b)) END)
       AS same_as_predict
FROM onnx_score('mlp', 'SELECT id, features FROM score_rows')
     AS s(id int, features float4[], probabilities float4[]);
RESET onnx.batch_size;

-- rows with NULLs are kept, with NULL outputs
SELECT id, (SELECT array_agg(round(x::numeric, 4)) FROM unnest(probabilities) x) AS probabilities
FROM onnx_score('mlp', 'SELECT id, features FROM score_rows WHERE id <= 4 ORDER BY id')
     AS s(id int, features float4[], probabilities float4[]);

-- a single-input model takes the query's array column whatever its name
SELECT count(p) FROM onnx_score('mlp', 'SELECT id, features AS x FROM score_rows')
     AS s(id int, x float4[], p float4[]);

-- outputs as jsonb
SELECT s.p - 'data' AS p, jsonb_array_length(s.p -> 'data') AS n
FROM onnx_score('mlp', 'SELECT id, features FROM score_rows WHERE id = 1')
     AS s(id int, features float4[], p jsonb);

-- CREATE TABLE AS and INSERT ... SELECT
CREATE TABLE score_out AS
SELECT id, p FROM onnx_score('mlp', 'SELECT id, features FROM score_rows')
     AS s(id int, features float4[], p float4[]);
INSERT INTO score_out
SELECT id, p FROM onnx_score('mlp', 'SELECT id, features FROM score_rows WHERE id <= 10')
     AS s(id int, features float4[], p float4[]);
SELECT count(*), count(p) FROM score_out;

-- errors say what was expected
SELECT * FROM onnx_score('mlp', 'SELECT id, features FROM score_rows');
SELECT * FROM onnx_score('mlp', 'SELECT id, features FROM score_rows')
     AS s(id bigint, features float4[], p float4[]);
SELECT * FROM onnx_score('mlp', 'SELECT id, features FROM score_rows')
     AS s(id int, features float4[]);
SELECT * FROM onnx_score('mlp', 'SELECT id, features FROM score_rows')
     AS s(id int, features float4[], p float4);
SELECT * FROM onnx_score('mlp', 'SELECT id, features[1:3] AS features FROM score_rows')
     AS s(id int, features float4[], p float4[]);
SELECT * FROM onnx_score('mlp', 'SELECT id, features::text AS features FROM score_rows')
     AS s(id int, features text, p float4[]);
SELECT * FROM onnx_score('mlp', 'DELETE FROM score_rows RETURNING id, features')
     AS s(id int, features float4[], p float4[]);
SELECT * FROM onnx_score('nothere', 'SELECT 1') AS s(x int, p float4[]);
-- the query reads through a read-only cursor: data-modifying WITH and row locks are refused
SELECT * FROM onnx_score('mlp', 'WITH d AS (DELETE FROM score_rows RETURNING id, features) SELECT * FROM d')
     AS s(id int, features float4[], p float4[]);
SELECT * FROM onnx_score('mlp', 'SELECT id, features FROM score_rows FOR UPDATE')
     AS s(id int, features float4[], p float4[]);
SELECT count(*) FROM score_rows;
-- onnx_score_row: what the Citus workers return to onnx_score (tested on a
-- Citus cluster by test/sessions/test_citus.py); fields named by its array
SELECT id, length(onnx_score_row('mlp', s, ARRAY['id', 'features'])) AS bytes
FROM score_rows s WHERE id <= 2 ORDER BY id;
SELECT length(onnx_score_row('mlp', ROW(1, '{1,2,3,4}'::float4[]), ARRAY['id', 'features'])) AS bytes;
SELECT onnx_score_row('mlp', ROW(1, NULL::float4[]), ARRAY['id', 'features']) IS NULL AS not_scored;
SELECT onnx_score_row('mlp', ROW(1, '{1,2,3,4}'::float4[]), ARRAY['id']);
SELECT onnx_score_row('mlp', ROW(1, '{1,2,3,4}'::float4[]), ARRAY['id', NULL]);
SELECT onnx_score_row('mlp', 42, ARRAY['id']);

DROP TABLE score_out;
DROP TABLE score_rows;
