#!/usr/bin/env python3
"""The extension is trusted: the owner of a database, without superuser,
can CREATE EXTENSION onnx (as managed services need).  It then owns the
model store and decides who may read or change models, and it gets
nothing else: the superuser-only settings, the internal trigger function,
server files and the extension's functions stay out of its reach."""
import psycopg

from common import Tally, fixture_bytes

t = Tally()
DB = "onnx_sessions_trusted"
with psycopg.connect(dbname="postgres", autocommit=True) as c:
    c.execute("DROP DATABASE IF EXISTS %s" % DB)
    for r in ("onnx_dbowner", "onnx_reader"):
        c.execute("DROP ROLE IF EXISTS %s" % r)
    c.execute("CREATE ROLE onnx_dbowner LOGIN")
    c.execute("CREATE ROLE onnx_reader LOGIN")
    c.execute("CREATE DATABASE %s OWNER onnx_dbowner" % DB)


def connect(role):
    return psycopg.connect(dbname=DB, user=role, autocommit=True)


def error_of(conn, sql, args=None):
    try:
        conn.execute(sql, args)
        return None
    except psycopg.Error as e:
        return str(e)


own = connect("onnx_dbowner")
e = error_of(own, "CREATE EXTENSION onnx")
t.check(e is None, "the database owner creates the extension without superuser", str(e))
owner = own.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'onnx_models'").fetchone()[0]
t.check(owner == "onnx_dbowner", "and owns the model store (%s)" % owner)
own.execute("SELECT onnx_create_model('m', %s)", (fixture_bytes("mlp.onnx"),))
t.check(own.execute("SELECT array_length(onnx_predict('m', '{1,2,3,4}'), 1)").fetchone()[0] == 3,
        "stores and scores models")
reader = connect("onnx_reader")
e = error_of(reader, "SELECT onnx_predict('m', '{1,2,3,4}')")
t.check(e is not None and "permission denied" in e, "other roles cannot score until granted", str(e))
own.execute("GRANT SELECT ON onnx_models TO onnx_reader")
t.check(reader.execute("SELECT array_length(onnx_predict('m', '{1,2,3,4}'), 1)").fetchone()[0] == 3,
        "a role granted SELECT by the owner scores")
e = error_of(reader, "SELECT onnx_drop_model('m')")
t.check(e is not None and "permission denied" in e, "but cannot drop models", str(e))

for sql, what in (("SET onnx.max_memory = '10GB'", "raise onnx.max_memory"),
                  ("SET onnx.max_cached_memory = '10GB'", "raise onnx.max_cached_memory"),
                  ("SET onnx.max_threads = 64", "raise onnx.max_threads"),
                  ("CREATE TABLE other(name text, model bytea); CREATE TRIGGER x BEFORE INSERT ON other "
                   "FOR EACH ROW EXECUTE FUNCTION onnx_models_trigger()", "attach the internal trigger function"),
                  ("CREATE OR REPLACE FUNCTION onnx_predict(model text, input float4[]) RETURNS float4[] "
                   "LANGUAGE sql AS 'SELECT NULL::float4[]'", "replace an extension function"),
                  ("SELECT pg_read_binary_file('/etc/passwd')", "read server files"),
                  ("ALTER EXTENSION onnx UPDATE TO '9.9'", "update to a version that does not exist")):
    e = error_of(own, sql)
    t.check(e is not None, "the owner cannot %s" % what, str(e))
t.check(own.execute("SELECT array_length(onnx_predict('m', '{1,2,3,4}'), 1)").fetchone()[0] == 3,
        "scoring is unchanged")
e = error_of(own, "DROP EXTENSION onnx")
t.check(e is None, "the owner can drop the extension again", str(e))
reader.close()
own.close()
t.finish()
