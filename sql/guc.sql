-- onnx.* settings: bounds, reserved prefix, superuser-only ceilings.
LOAD 'onnx';
SELECT name, setting, unit, min_val, max_val, context
FROM pg_settings WHERE name LIKE 'onnx.%' AND context <> 'postmaster' ORDER BY name;
-- the server-start settings exist only with shared_preload_libraries (see the TAP tests)

SET onnx.threads = 0;
SET onnx.threads = 2;
SHOW onnx.threads;
RESET onnx.threads;
SET onnx.cache_size = 0;
SET onnx.batch_size = 2000000;
SET onnx.device = 'tpu';
SET onnx.no_such_setting = 1;

-- ceilings are for superusers only
CREATE ROLE onnx_regress_guc;
SET ROLE onnx_regress_guc;
SET onnx.max_threads = 64;
SET onnx.max_memory = '10GB';
SET onnx.threads = 8;
RESET ROLE;
DROP ROLE onnx_regress_guc;

-- asking for CUDA where this build or machine has none is an error saying so
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o
SELECT onnx_cuda_is_available() AS cuda \gset
\if :cuda
\echo 'CUDA available: skipping the no-CUDA error check'
\else
SET onnx.device = 'cuda';
SELECT onnx_predict('mlp', '{1,2,3,4}');
RESET onnx.device;
\endif
SELECT array_length(onnx_predict('mlp', '{1,2,3,4}'), 1) AS n;

-- a tiny memory limit refuses the run instead of allocating
SET onnx.max_memory = '1kB';
SELECT onnx_predict_batch('mlp', array_fill(0.5::float4, ARRAY[100, 4]));
RESET onnx.max_memory;
