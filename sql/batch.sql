-- onnx_predict_batch: rows x features in one engine run; grouped scoring
-- with array_agg.
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o

CREATE TEMP TABLE accounts AS
SELECT g AS id, g % 3 AS region, ARRAY[sin(g), cos(g), g % 5 - 2, ln(g)]::float4[] AS features
FROM generate_series(1, 30) g;

-- one run per region; the same answers as row-by-row scoring
WITH per_region AS (
	SELECT region, array_agg(id ORDER BY id) AS ids,
	       onnx_predict_batch('mlp', array_agg(features ORDER BY id)) AS probs
	FROM accounts GROUP BY region
)
SELECT region, array_length(ids, 1) AS rows, array_dims(probs) AS dims
FROM per_region ORDER BY region;

WITH per_region AS (
	SELECT region, array_agg(id ORDER BY id) AS ids,
	       onnx_predict_batch('mlp', array_agg(features ORDER BY id)) AS probs
	FROM accounts GROUP BY region
),
unnested AS (
	SELECT r.ids[i] AS id, r.probs[i:i][1:3] AS batch_probs
	FROM per_region r, generate_subscripts(r.ids, 1) AS i
)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (SELECT max(abs(b - p)) < 1e-6
                               FROM unnest(u.batch_probs, onnx_predict('mlp', a.features)) AS x(b, p)))
       AS same_as_row_by_row
FROM unnested u JOIN accounts a USING (id);

-- 3-D input for a rank-2 model is refused with the expected shape
SELECT onnx_predict_batch('mlp', '{{{1,2,3,4}}}');
-- a model whose input is a scalar has no batch dimension
SELECT onnx_create_model('scalar', (SELECT data FROM onnx_test_fixtures WHERE name = 'scalar.onnx'));
SELECT onnx_predict('scalar', '{5}');
SELECT onnx_predict_batch('scalar', '{{5}}');
SELECT onnx_drop_model('scalar');
