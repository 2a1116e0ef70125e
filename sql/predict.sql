-- onnx_predict on the MLP fixture, matched against onnxruntime's outputs
-- (test/fixtures/make_fixtures.py) to 1e-5.
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o

CREATE TEMP TABLE mlp_rows AS SELECT * FROM onnx_test_mlp_rows;

-- every row within 1e-5 of onnxruntime
SELECT id,
       array_length(onnx_predict('mlp', features), 1) AS n,
       (SELECT max(abs(p - e)) < 1e-5
        FROM unnest(onnx_predict('mlp', features), expected) AS u(p, e)) AS matches
FROM mlp_rows ORDER BY id;

-- probabilities sum to one
SELECT id, abs((SELECT sum(p) FROM unnest(onnx_predict('mlp', features)) p) - 1) < 1e-5 AS sums_to_one
FROM mlp_rows ORDER BY id;

-- the named output
SELECT (SELECT max(abs(p - e)) < 1e-5
        FROM unnest(onnx_predict('mlp', features, 'probabilities'), expected) AS u(p, e)) AS matches
FROM mlp_rows WHERE id = 1;

-- two rows in one 1-D array fill the batch dimension: 6 values back
SELECT array_length(onnx_predict('mlp', a.features || b.features), 1) AS n
FROM mlp_rows a, mlp_rows b WHERE a.id = 1 AND b.id = 2;

-- an array with the input's rank keeps the output's shape
SELECT array_dims(onnx_predict('mlp', ARRAY[features]::float4[])) FROM mlp_rows WHERE id = 1;

-- batch: rows x features in, one run, rows x outputs out
SELECT array_dims(onnx_predict_batch('mlp', array_agg(features ORDER BY id))) AS dims,
       (SELECT max(abs(p - e)) < 1e-5
        FROM unnest(onnx_predict_batch('mlp', array_agg(features ORDER BY id)),
                    array_agg(expected ORDER BY id)) AS u(p, e)) AS matches
FROM mlp_rows;

-- scoring a table and writing back
CREATE TEMP TABLE scored AS SELECT id, (onnx_predict('mlp', features))[2] AS p2 FROM mlp_rows;
SELECT count(*), count(p2) FROM scored;

-- the session is cached: later calls are hits
SELECT model, device, hits > 0 AS reused FROM onnx_cache_info();
