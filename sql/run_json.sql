-- onnx_run: named inputs to named outputs with JSON tensors, every dtype.
SELECT onnx_create_model('dtypes', (SELECT data FROM onnx_test_fixtures WHERE name = 'dtypes.onnx'));
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o

-- every dtype round-trips through the engine (Identity); int64 exact,
-- NaN and infinities as strings, a scalar has shape []
SELECT key, value FROM jsonb_each(onnx_run('dtypes', '{
  "x_f32": [[1.5, -2.25], ["NaN", "Infinity"]],
  "x_f64": [0.1, "-Infinity", 1e300],
  "x_f16": [0.5, 65504, -0.000061035156],
  "x_bf16": [1, 3.140625],
  "x_i8": [-128, 127],
  "x_i16": [-32768, 32767],
  "x_i32": [[-2147483648], [2147483647]],
  "x_i64": [9007199254740993, -9223372036854775808, 9223372036854775807],
  "x_u8": [0, 255],
  "x_u16": [65535],
  "x_u32": [4294967295],
  "x_u64": [18446744073709551615],
  "x_b": [[true, false, true]],
  "x_s": ["héllo", "", "a \"quoted\" word"]
}')) ORDER BY key;

-- the object form, and scalars
SELECT onnx_run('dtypes', '{"x_f32": {"dtype": "float32", "shape": [2, 1], "data": [3, 4]},
  "x_f64": 2.5, "x_f16": [], "x_bf16": [], "x_i8": [], "x_i16": [], "x_i32": [],
  "x_i64": {"dtype": "int64", "shape": [], "data": [42]}, "x_u8": [], "x_u16": [],
  "x_u32": [], "x_u64": [], "x_b": false, "x_s": "only"}',
  '{y_f32, y_f64, y_i64, y_b, y_s}');

-- selected outputs, like session.run(output_names, feed)
SELECT onnx_run('mlp', '{"features": [[1, 2, 3, 4]]}', '{probabilities}') -> 'probabilities' -> 'shape';

-- errors say what was expected
SELECT onnx_run('mlp', '[1, 2]');
SELECT onnx_run('mlp', '{"feature": [[1, 2, 3, 4]]}');
SELECT onnx_run('mlp', '{"features": [[1, 2, 3]]}');
SELECT onnx_run('mlp', '{"features": [[1, 2], [3]]}');
SELECT onnx_run('mlp', '{"features": [["a", 2, 3, 4]]}');
SELECT onnx_run('mlp', '{"features": {"dtype": "float64", "data": [1, 2, 3, 4]}}');
SELECT onnx_run('mlp', '{"features": {"dtype": "float32", "shape": [2, 4], "data": [1, 2, 3, 4]}}');
SELECT onnx_run('mlp', '{}');
SELECT onnx_run('mlp', '{"features": [[1, 2, 3, 4]]}', '{nothere}');
SELECT onnx_run('dtypes', '{"x_i8": [128]}');
SELECT onnx_run('dtypes', '{"x_i64": [1.5]}');
SELECT onnx_run('dtypes', '{"x_u64": [-1]}');
SELECT onnx_run('dtypes', '{"x_s": [1]}');
SELECT onnx_run('mlp', NULL) IS NULL AS null_inputs;
-- shapes hold non-negative integers that fit int64; arrays are rectangular
-- even when empty; a finite number must be finite in the input's type
-- (infinities are the strings "Infinity" and "-Infinity")
SELECT onnx_run('mlp', '{"features": {"dtype": "float32", "shape": [0.5, 4], "data": [1, 2, 3, 4]}}');
SELECT onnx_run('mlp', '{"features": {"dtype": "float32", "shape": [9223372036854775808, 4], "data": []}}');
SELECT onnx_run('mlp', '{"features": [[], [1, 2]]}');
SELECT onnx_run('mlp', '{"features": [[1e39, 2, 3, 4]]}');
SELECT onnx_run('dtypes', '{"x_f64": [1e400]}');
SELECT onnx_run('dtypes', '{"x_f16": [65520]}');
SELECT onnx_run('dtypes', '{"x_f32": [3.4028234e38], "x_f64": [1.7976931348623157e308], "x_f16": [65504],
  "x_bf16": [], "x_i8": [], "x_i16": [], "x_i32": [], "x_i64": [], "x_u8": [], "x_u16": [],
  "x_u32": [], "x_u64": [], "x_b": [], "x_s": []}', '{y_f32, y_f64, y_f16}') -> 'y_f16' AS largest_float16;
SELECT onnx_drop_model('dtypes');

-- float8 and float4 types take and give numbers, as float16 does; an
-- optional input takes null (absent) or its value (present)
SELECT onnx_create_model('json_types', (SELECT data FROM onnx_test_fixtures WHERE name = 'json_types.onnx'));
SELECT key, value FROM jsonb_each(onnx_run('json_types', '{
  "x_e4m3fn": [0.46875, -448, 0.001953125], "x_e4m3fnuz": [0.46875, -240],
  "x_e5m2": [0.5, 57344, -0.0000152587890625], "x_e5m2fnuz": [1.5, -57344],
  "x_e8m0": [0.125, 1, 1024], "x_f4e2m1": [0.5, -6, 1.5],
  "opt": [1, 2], "opt_seq": [[1], [2, 3]]}')) ORDER BY key;
SELECT onnx_run('json_types', '{"x_e4m3fn": [], "x_e4m3fnuz": [], "x_e5m2": [], "x_e5m2fnuz": [],
  "x_e8m0": [], "x_f4e2m1": [], "opt": null, "opt_seq": null}', '{has, has_seq}');
SELECT onnx_run('json_types', '{"x_e4m3fn": [449]}');
SELECT onnx_run('json_types', '{"x_f4e2m1": [7]}');
SELECT onnx_run('json_types', '{"x_e8m0": [-1]}');
SELECT onnx_drop_model('json_types');
