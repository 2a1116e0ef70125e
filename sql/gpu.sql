-- GPU execution: runs only where this build has CUDA and a GPU is usable;
-- elsewhere it checks the error and skips (expected/gpu_1.out is the GPU
-- variant).
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o
SELECT onnx_cuda_is_available() AS cuda \gset
\if :cuda
SET onnx.device = 'cuda';
SELECT (SELECT max(abs(g - c)) < 1e-5
        FROM unnest(onnx_predict('mlp', '{0.5,-1,2,0.25}'),
                    (SELECT onnx_predict('mlp', '{0.5,-1,2,0.25}') FROM (SELECT set_config('onnx.device', 'cpu', true)) s)) u(g, c))
       AS cuda_matches_cpu;
SELECT device FROM onnx_cache_info() WHERE model = 'mlp' ORDER BY device;
RESET onnx.device;
\else
\echo 'no usable CUDA device: GPU checks skipped'
SET onnx.device = 'cuda';
DO $$
BEGIN
	PERFORM onnx_predict('mlp', '{0.5,-1,2,0.25}');
	RAISE NOTICE 'cuda ran without a usable device';
EXCEPTION WHEN feature_not_supported THEN
	RAISE NOTICE 'refused with "CUDA is not available": %', SQLERRM LIKE 'CUDA is not available%';
END $$;
RESET onnx.device;
SELECT array_length(onnx_predict('mlp', '{0.5,-1,2,0.25}'), 1) AS cpu_still_works;
SELECT device FROM onnx_cache_info() WHERE model = 'mlp';
\endif
