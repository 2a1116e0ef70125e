-- Scoring functions are PARALLEL SAFE and give the same answers in workers.
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o

SELECT proname, proparallel FROM pg_proc
WHERE proname IN ('onnx_predict', 'onnx_predict_batch', 'onnx_model_info')
ORDER BY proname, pronargs;

CREATE TABLE par_rows AS
SELECT g AS id, ARRAY[sin(g), cos(g), g % 7 - 3, ln(g)]::float4[] AS features
FROM generate_series(1, 20000) g;
ANALYZE par_rows;

-- an order-independent exact checksum of every prediction
SELECT count(*) AS serial_rows, sum(hashtext(onnx_predict('mlp', features)::text)) AS serial_sum
FROM par_rows \gset

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF)
SELECT count(*), sum(hashtext(onnx_predict('mlp', features)::text)) FROM par_rows;

-- workers really ran the function
CREATE FUNCTION pg_temp.workers_launched(q text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO plan;
	RETURN jsonb_path_query_first(plan, 'strict $.**."Workers Launched"')::int;
END $$;
SELECT pg_temp.workers_launched(
	$q$SELECT sum(hashtext(onnx_predict('mlp', features)::text)) FROM par_rows$q$) > 0
	AS workers_ran;

-- identical answers to the serial run
SELECT count(*) = :serial_rows AS same_rows,
       sum(hashtext(onnx_predict('mlp', features)::text)) = :serial_sum AS same_predictions
FROM par_rows;

RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
DROP TABLE par_rows;
