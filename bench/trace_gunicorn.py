"""A gunicorn config for counter.py --trace: what happened inside each request of a worker.

Loaded through ``GUNICORN_CMD_ARGS=--config …``; it writes one line per request to the file named by
``GRIDAPP_BENCH_TRACE``: the worker's pid, method, path, milliseconds inside the worker, the
garbage collector's full collections (generation 2) during the request and their milliseconds, and
whether the database file itself was written during the request (in WAL mode only a checkpoint
writes it). With ``GRIDAPP_BENCH_TRACE_WARM=1`` each worker also runs the app's own
``post_worker_init`` (gunicorn_config.py: the PDF warm-up and gc.freeze), as ``make run`` does.
Bench-only: never loaded by the app, the tests or ``make run``.
"""
import gc
import os
import time

_state = {"gc_ms": 0.0, "gc_full": 0, "gc_started": 0.0}


def _on_gc(phase, info):
    if info.get("generation") != 2:
        return
    if phase == "start":
        _state["gc_started"] = time.perf_counter()
    else:
        _state["gc_full"] += 1
        _state["gc_ms"] += (time.perf_counter() - _state["gc_started"]) * 1000


def _database_file() -> str | None:
    uri = os.environ.get("GRIDAPP_DATABASE_URL", "")
    return uri.removeprefix("sqlite:///").split("?")[0] if uri.startswith("sqlite:///") else None


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, TypeError):
        return None


def post_worker_init(worker):
    if os.environ.get("GRIDAPP_BENCH_TRACE_WARM") == "1":
        from gunicorn_config import post_worker_init as warm

        warm(worker)
    gc.callbacks.append(_on_gc)


def pre_request(worker, req):
    _state.update(gc_ms=0.0, gc_full=0)
    req._trace = (time.perf_counter(), _mtime(_database_file()))


def post_request(worker, req, environ, resp):
    started, mtime = getattr(req, "_trace", (None, None))
    if started is None:
        return
    ms = (time.perf_counter() - started) * 1000
    checkpoint = int(mtime is not None and _mtime(_database_file()) != mtime)
    with open(os.environ["GRIDAPP_BENCH_TRACE"], "a") as out:
        out.write(f"{os.getpid()} {req.method} {req.path} {ms:.2f} {_state['gc_full']} {_state['gc_ms']:.2f} "
                  f"{checkpoint}\n")
