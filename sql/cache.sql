-- The per-backend session cache: hits, listing, LRU bound onnx.cache_size.
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o
SELECT onnx_create_model('cache_a', (SELECT data FROM onnx_test_fixtures WHERE name = 'linear.onnx'));
SELECT onnx_create_model('cache_b', (SELECT data FROM onnx_test_fixtures WHERE name = 'linear.onnx'));

SET onnx.cache_size = 2;
SELECT array_length(onnx_predict('mlp', '{1,2,3,4}'), 1);
SELECT array_length(onnx_predict('cache_a', '{1,2,3,4}'), 1);
SELECT array_length(onnx_predict('cache_a', '{1,2,3,4}'), 1);
SELECT model, device, model_bytes, session_bytes > 0 AS has_bytes, hits
FROM onnx_cache_info() ORDER BY model;
-- a third model evicts the least recently used (mlp)
SELECT array_length(onnx_predict('cache_b', '{1,2,3,4}'), 1);
SELECT model, hits FROM onnx_cache_info() ORDER BY model;

-- a replace in this transaction is seen at once by this backend
SELECT onnx_replace_model('cache_a', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
SELECT array_length(onnx_predict('cache_a', '{1,2,3,4}'), 1);
SELECT model, hits FROM onnx_cache_info() ORDER BY model;
RESET onnx.cache_size;
SELECT onnx_drop_model('cache_a');
SELECT onnx_drop_model('cache_b');
SELECT count(*) FROM onnx_cache_info() WHERE model LIKE 'cache_%';
