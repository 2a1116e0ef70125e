-- Model bytes are not readable by PUBLIC; GRANTs decide who reads and writes.
\o /dev/null
SELECT onnx_create_model('mlp', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'))
WHERE NOT EXISTS (SELECT 1 FROM onnx_models WHERE name = 'mlp');
\o

CREATE ROLE onnx_regress_reader;
CREATE ROLE onnx_regress_nobody;
GRANT SELECT ON onnx_models TO onnx_regress_reader;

SET ROLE onnx_regress_nobody;
SELECT count(*) FROM onnx_models;
SELECT onnx_predict('mlp', '{1,2,3,4}');
SELECT onnx_create_model('x', (SELECT data FROM onnx_test_fixtures WHERE name = 'mlp.onnx'));
RESET ROLE;

-- a session cached by the superuser is not a way around the check
SELECT array_length(onnx_predict('mlp', '{1,2,3,4}'), 1) AS n;
SET ROLE onnx_regress_nobody;
SELECT onnx_predict('mlp', '{1,2,3,4}');
RESET ROLE;

SET ROLE onnx_regress_reader;
SELECT array_length(onnx_predict('mlp', '{1,2,3,4}'), 1) AS n;
SELECT onnx_drop_model('mlp');
RESET ROLE;

-- install script follows the rules for extension scripts
SELECT p.proname, p.prosecdef FROM pg_proc p
JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'onnx'
WHERE p.prosecdef;

REVOKE SELECT ON onnx_models FROM onnx_regress_reader;
DROP ROLE onnx_regress_reader;
DROP ROLE onnx_regress_nobody;
