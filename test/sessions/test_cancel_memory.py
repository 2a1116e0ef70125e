#!/usr/bin/env python3
"""Cancellation and memory.

- statement_timeout and pg_cancel_backend stop a long inference (a 60
  MatMul model of about 5 s) within 200 ms, and the backend stays usable.
- Repeated cancellations leak nothing: the backend's resident memory does
  not grow.
- 1,000,000 onnx_predict calls, row by row and auto-batched, grow the
  backend's resident memory by less than 5 MB after a warm-up.
"""
import threading
import time

from common import Tally, fixture_bytes, fresh_database

t = Tally()
connect = fresh_database("onnx_sessions_cancel")
c = connect()
c.execute("SELECT onnx_create_model('slow', %s)", (fixture_bytes("slow.onnx"),))
c.execute("SELECT onnx_create_model('linear', %s)", (fixture_bytes("linear.onnx"),))
pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]
SLOW = "SELECT count(*) FROM unnest(onnx_predict('slow', array_fill((1/1500.0)::float4, ARRAY[1500,1500])))"


def rss_kb(p):
    for line in open("/proc/%d/status" % p):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


# statement_timeout
c.execute("SET statement_timeout = '300ms'")
t0 = time.perf_counter()
try:
    c.execute(SLOW)
    t.check(False, "statement_timeout stops a long inference")
except Exception as e:  # noqa: BLE001
    late = time.perf_counter() - t0 - 0.300
    t.check("statement timeout" in str(e), "statement_timeout stops a long inference", str(e))
    t.check(late < 0.200, "within 200 ms of the timeout (%.0f ms late)" % (late * 1000))
c.execute("RESET statement_timeout")
t.check(c.execute("SELECT array_length(onnx_predict('linear', '{1,2,3,4}'), 1)").fetchone()[0] == 3,
        "the backend is usable after the timeout")

# pg_cancel_backend from another session
other = connect()
result = {}


def slow():
    try:
        c.execute(SLOW)
    except Exception as e:  # noqa: BLE001
        result["error"] = str(e)
        result["at"] = time.perf_counter()


th = threading.Thread(target=slow)
th.start()
time.sleep(0.8)
sent = time.perf_counter()
other.execute("SELECT pg_cancel_backend(%s)", (pid,))
th.join(20)
latency = result.get("at", sent + 99) - sent
t.check("cancel" in result.get("error", ""), "pg_cancel_backend stops a long inference", str(result))
t.check(latency < 0.200, "within 200 ms of the cancel (%.0f ms)" % (latency * 1000))

# cancellations leak nothing
c.execute("SET statement_timeout = '150ms'")
for _ in range(3):  # warm-up
    try:
        c.execute(SLOW)
    except Exception:  # noqa: BLE001
        pass
before = rss_kb(pid)
for _ in range(15):
    try:
        c.execute(SLOW)
    except Exception:  # noqa: BLE001
        pass
after = rss_kb(pid)
c.execute("RESET statement_timeout")
t.check(after - before < 2048, "15 cancelled runs grow resident memory by %d kB (< 2 MB)" % (after - before))

# 1,000,000 onnx_predict calls, row by row and auto-batched.  The warm-up has
# the same size: after the long inferences above, where the C library puts
# the query's tuplestore (work_mem) moves the first run's RSS by megabytes
# either way; a leak shows in the second.
q = "SELECT count(onnx_predict('linear', ARRAY[g %% 7, 1, 2, 3]::float4[])) FROM generate_series(1, %d) g"
for mode in ("off", "on"):
    c.execute("SET onnx.auto_batch = " + mode)
    c.execute(q % 1000000)  # warm-up
    before = rss_kb(pid)
    t0 = time.perf_counter()
    n = c.execute(q % 1000000).fetchone()[0]
    secs = time.perf_counter() - t0
    after = rss_kb(pid)
    t.check(n == 1000000, "1,000,000 onnx_predict calls, auto_batch %s (%.1f s)" % (mode, secs))
    t.check(after - before < 5 * 1024, "resident memory grew by %d kB (< 5 MB)" % (after - before))
t.finish()
