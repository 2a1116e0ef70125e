#!/usr/bin/env python3
"""A running onnx_score is visible to another session through
onnx_score_progress() (rows done, rows/s), and pg_cancel_backend stops it
between batches, leaving the backend usable."""
import threading
import time

from common import Tally, fixture_bytes, fresh_database

t = Tally()
connect = fresh_database("onnx_sessions_progress")
setup = connect()
setup.execute("SELECT onnx_create_model('mlp', %s)", (fixture_bytes("mlp.onnx"),))
setup.execute("""CREATE TABLE big AS SELECT g AS id,
                 ARRAY[random(), random(), random(), random()]::float4[] AS features
                 FROM generate_series(1, 300000) g""")

scorer = connect()
pid = scorer.execute("SELECT pg_backend_pid()").fetchone()[0]
result = {}


def run_score():
    try:
        scorer.execute("SET onnx.batch_size = 500")
        # pg_sleep in the query slows it so the observer can look
        result["rows"] = scorer.execute(
            """SELECT count(p) FROM onnx_score('mlp',
                 'SELECT id, features FROM big WHERE pg_sleep(0.00001) IS NOT NULL')
               AS s(id int, features float4[], p float4[])""").fetchone()[0]
    except Exception as e:  # noqa: BLE001
        result["error"] = str(e)


th = threading.Thread(target=run_score)
th.start()
observer = connect()
seen = []
deadline = time.time() + 20
while time.time() < deadline and th.is_alive():
    rows = observer.execute("SELECT pid, model, rows_done, rows_per_second FROM onnx_score_progress()").fetchall()
    seen.extend(r for r in rows if r[0] == pid)
    if len(seen) >= 3 and seen[-1][2] > 0:
        break
    time.sleep(0.05)
t.check(len(seen) > 0 and seen[0][1] == "mlp", "another session sees the running onnx_score", str(seen[:2]))
t.check(len(seen) > 1 and seen[-1][2] >= seen[0][2] and seen[-1][2] > 0,
        "rows_done grows", str([s[2] for s in seen]))
t.check(len(seen) > 0 and seen[-1][3] > 0, "rows per second is reported")

t0 = time.time()
observer.execute("SELECT pg_cancel_backend(%s)", (pid,))
th.join(30)
elapsed = time.time() - t0
t.check("error" in result and "cancel" in result["error"], "pg_cancel_backend stops it", str(result))
t.check(elapsed < 2.0, "it stops promptly (%.3f s)" % elapsed)
left = observer.execute("SELECT count(*) FROM onnx_score_progress() WHERE pid = %s", (pid,)).fetchone()[0]
t.check(left == 0, "the progress entry is gone")
ok = scorer.execute("SELECT array_length(onnx_predict('mlp', '{1,2,3,4}'), 1)").fetchone()[0]
t.check(ok == 3, "the cancelled backend keeps working")
t.finish()
