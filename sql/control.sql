-- Models with control flow, model-local functions and random operators
-- score through SQL like any other (test/fixtures/make_fixtures.py).
\o /dev/null
SELECT onnx_create_model('loop', (SELECT data FROM onnx_test_fixtures WHERE name = 'loop.onnx'));
SELECT onnx_create_model('function', (SELECT data FROM onnx_test_fixtures WHERE name = 'function.onnx'));
SELECT onnx_create_model('random', (SELECT data FROM onnx_test_fixtures WHERE name = 'random.onnx'));
\o

-- Loop: three trips carry x and gather it as a scan output
SELECT onnx_run('loop', '{"trips": {"dtype": "int64", "shape": [], "data": [3]},
                          "c": {"dtype": "bool", "shape": [], "data": [true]},
                          "x": [1.5, -2]}');

-- a Loop that never ends (no trip limit, the condition stays true) is
-- stopped by statement_timeout, and the backend goes on
SET statement_timeout = '300ms';
SELECT onnx_run('loop', '{"trips": {"dtype": "int64", "shape": [], "data": [9223372036854775807]},
                          "c": {"dtype": "bool", "shape": [], "data": [true]},
                          "x": [1]}');
RESET statement_timeout;
SELECT onnx_run('loop', '{"trips": {"dtype": "int64", "shape": [], "data": [0]},
                          "c": {"dtype": "bool", "shape": [], "data": [true]},
                          "x": [7]}') -> 'x_final' AS zero_trips;

-- a model-local function (nested call, attribute reference) is inlined at load
SELECT onnx_predict('function', '{1,2,3}');
SELECT (onnx_model_info('function') -> 'inputs' -> 0 ->> 'name') AS input;

-- random operators: a seeded one gives the same values in every call
SELECT (onnx_run('random', '{"p": [0, 1, 1], "logits": [[0, 0]]}') -> 'u') =
       (onnx_run('random', '{"p": [0, 1, 1], "logits": [[0, 0]]}') -> 'u') AS seeded_is_reproducible,
       onnx_run('random', '{"p": [0, 1, 1], "logits": [[0, 0]]}') -> 'b' -> 'data' AS bernoulli_of_0_1_1;

SELECT onnx_drop_model('loop'), onnx_drop_model('function'), onnx_drop_model('random');
