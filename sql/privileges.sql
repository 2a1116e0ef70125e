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

-- onnx_score_row (what Citus workers return to onnx_score) and onnx_score
-- check the same right, also by content hash, also under a hostile
-- search_path (a schema of the role's own shadowing pg_catalog's names)
SELECT sha256 AS mlp_sha FROM onnx_models WHERE name = 'mlp' \gset
SET ROLE onnx_regress_nobody;
SELECT onnx_score_row('mlp', ROW(1, '{1,2,3,4}'::float4[]), ARRAY['id', 'features']);
SELECT onnx_score_row('@' || :'mlp_sha', ROW(1, '{1,2,3,4}'::float4[]), ARRAY['id', 'features']);
SELECT * FROM onnx_score('mlp', 'SELECT 1 AS id, ''{1,2,3,4}''::float4[] AS x')
    AS s(id int, x float4[], p float4[]);
RESET ROLE;
CREATE SCHEMA onnx_regress_evil;
CREATE FUNCTION onnx_regress_evil.length(bytea) RETURNS int LANGUAGE sql AS 'SELECT -1';
SET ROLE onnx_regress_reader;
SET search_path = onnx_regress_evil, public;
SELECT pg_catalog.length(public.onnx_score_row('mlp', ROW(1, '{1,2,3,4}'::float4[]),
                                               ARRAY['id', 'features'])) AS bytes;
SELECT count(*) FROM public.onnx_score('mlp', 'SELECT 1 AS id, ''{1,2,3,4}''::float4[] AS x')
    AS s(id int, x float4[], p float4[]);
RESET search_path;
RESET ROLE;
DROP SCHEMA onnx_regress_evil CASCADE;

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
