-- Auto-batching: per-row calls run through the OnnxBatch node, which EXPLAIN
-- shows with its models and batch size; the results, NULLs and errors are
-- those of the per-row calls (test/sessions/test_auto_batch.py compares
-- every SQL form bit for bit).
\o /dev/null
SELECT onnx_create_model('ab_lin', (SELECT data FROM onnx_test_fixtures WHERE name = 'linear.onnx'));
SELECT onnx_create_model('ab_mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
\o
SET onnx.batch_size = 4;
CREATE TABLE ab_rows AS
SELECT g AS id, g % 3 AS grp, ARRAY[g, 1, -g, 0.5]::float4[] AS f FROM generate_series(1, 10) g;
UPDATE ab_rows SET f = NULL WHERE id = 4;
ANALYZE ab_rows;
-- the node's lines of EXPLAIN ANALYZE (other lines differ between majors)
CREATE FUNCTION pg_temp.batch_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || q LOOP
		IF l ~ 'OnnxBatch|Models|Batch|Model |Removed' THEN
			RETURN NEXT regexp_replace(l, ' \(actual.*\)$', '');
		END IF;
	END LOOP;
END $$;

-- the target list, a named output, NULL input gives NULL (values rounded:
-- the last bits depend on the CPU's instruction set)
EXPLAIN (COSTS OFF, VERBOSE)
SELECT id, onnx_predict('ab_lin', f), onnx_predict('ab_lin', f, 'output') FROM ab_rows;
SELECT id, onnx_predict('ab_lin', f)::numeric(10,4)[] FROM ab_rows ORDER BY id;

-- a filter on the prediction moves into the node; filters before it stay below
EXPLAIN (COSTS OFF)
SELECT id FROM ab_rows WHERE id > 1 AND (onnx_predict('ab_lin', f))[2] > 10 AND grp <> 2;
SELECT id FROM ab_rows WHERE id > 1 AND (onnx_predict('ab_lin', f))[2] > 10 AND grp <> 2 ORDER BY id;

-- aggregates above: the node between the aggregate and its input
EXPLAIN (COSTS OFF)
SELECT grp, sum((onnx_predict('ab_lin', f))[2]) FROM ab_rows GROUP BY grp;
SELECT grp, round(sum((onnx_predict('ab_lin', f))[2])::numeric, 3) FROM ab_rows GROUP BY grp ORDER BY grp;

-- a LIMIT: the first batch reads only the rows it needs
EXPLAIN (COSTS OFF) SELECT id, onnx_predict('ab_lin', f) FROM ab_rows LIMIT 3;

-- several models, a join, onnx_run and onnx_run_row
EXPLAIN (COSTS OFF)
SELECT a.id, onnx_predict('ab_lin', a.f), onnx_predict('ab_mlp', b.f),
       onnx_run('ab_lin', jsonb_build_object('input', jsonb_build_array(to_jsonb(a.f)))),
       onnx_run_row('ab_mlp', b)
FROM ab_rows a JOIN ab_rows b ON a.id = b.id + 1;

-- EXPLAIN ANALYZE: batches, rows and the rows evaluated one by one per model
SELECT pg_temp.batch_lines($$SELECT id, onnx_predict('ab_lin', f) FROM ab_rows$$);
SELECT pg_temp.batch_lines($$SELECT id FROM ab_rows WHERE (onnx_predict('ab_lin', f))[1] > 0$$);
-- in JSON: one object per model
CREATE FUNCTION pg_temp.model_runs(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	plan json;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF, FORMAT JSON) ' || q INTO plan;
	RETURN jsonb_path_query_first(plan::jsonb, '$.**."Model Runs"');
END $$;
SELECT pg_temp.model_runs($$SELECT id, onnx_predict('ab_lin', f), onnx_predict('ab_mlp', f) FROM ab_rows$$);

-- what stays per row: volatile arguments, a model name per row, a call
-- under CASE, onnx.auto_batch off
EXPLAIN (COSTS OFF)
SELECT onnx_predict('ab_lin', ARRAY[random(), 1, 2, 3]::float4[]) FROM ab_rows;
EXPLAIN (COSTS OFF)
SELECT onnx_predict(CASE WHEN id > 5 THEN 'ab_lin' ELSE 'ab_mlp' END, f) FROM ab_rows;
EXPLAIN (COSTS OFF)
SELECT CASE WHEN id > 5 THEN onnx_predict('ab_lin', f) END FROM ab_rows;
SET onnx.auto_batch = off;
EXPLAIN (COSTS OFF) SELECT onnx_predict('ab_lin', f) FROM ab_rows;
-- a plan made with it on runs row by row when it is off at execution
RESET onnx.auto_batch;
SET plan_cache_mode = force_generic_plan;
PREPARE ab_q AS SELECT id, onnx_predict('ab_lin', f)::numeric(10,4)[] FROM ab_rows;
EXECUTE ab_q;
SET onnx.auto_batch = off;
SELECT pg_temp.batch_lines('EXECUTE ab_q');
EXECUTE ab_q;
RESET onnx.auto_batch;
RESET plan_cache_mode;
DEALLOCATE ab_q;

-- errors are the per-row call's, at the row's turn (values rounded: the last
-- bits depend on the CPU's instruction set)
CREATE TABLE ab_bad AS SELECT * FROM ab_rows;
UPDATE ab_bad SET f = '{1,2,3}' WHERE id = 7;
SELECT id, onnx_predict('ab_lin', f) FROM ab_bad ORDER BY id;
SELECT id, onnx_predict('ab_lin', f)::numeric(10,4)[] FROM ab_bad LIMIT 5;
UPDATE ab_bad SET f = '{1,NULL,3,4}' WHERE id = 7;
SELECT id, onnx_predict('ab_lin', f) FROM ab_bad ORDER BY id;
SELECT id, onnx_predict('ab_lin', f, 'nothere') FROM ab_rows;
SELECT id, onnx_predict('nothere', f) FROM ab_rows;
SELECT id, onnx_predict('nothere', f) FROM ab_rows WHERE f IS NULL;
SELECT id, onnx_run('ab_lin', '{"input": [[1, 2]]}') FROM ab_rows;
-- a row of two samples is evaluated alone, as onnx_predict takes it
UPDATE ab_bad SET f = f || f WHERE id = 2;
UPDATE ab_bad SET f = '{7,7,7,7}' WHERE id = 7;
SELECT pg_temp.batch_lines($$SELECT id, onnx_predict('ab_lin', f) FROM ab_bad$$);
SELECT id, array_length(onnx_predict('ab_lin', f), 1) FROM ab_bad ORDER BY id;

DROP TABLE ab_rows, ab_bad;
RESET onnx.batch_size;
\o /dev/null
SELECT onnx_drop_model('ab_lin');
SELECT onnx_drop_model('ab_mlp');
\o
