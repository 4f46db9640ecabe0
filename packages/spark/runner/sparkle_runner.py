"""Sparkle Studio plan runner: executes an ExecutionPlan (JSON) on a SparkSession.

One self-contained file, shipped with @sparkle-studio/spark, in two modes:

Batch (one run, under spark-submit):
  spark-submit sparkle_runner.py --plan PLAN.json --events EVENTS.jsonl [--conf-file CONF.json] [--wait-for-plan S]

  With --wait-for-plan the driver is started ahead of its job: JVM and Python start, then it waits up to S seconds
  for PLAN.json to appear (and exits without an event when none does); CONF.json then adds Spark configuration.

  Events are JSON objects, one per line, appended to the events file (their own channel, apart from Spark's logs):
    {"type": "started", "appId", "uiUrl" (null when the UI is off), "master", "appName", "sparkVersion", "appStartTime",
     "runnerStartTime", "pid" (this Python driver), "driverPid" (the driver JVM)}
    {"type": "step_started", "nodeId", "index", "kind"}
    {"type": "step_finished", "nodeId", "index", "durationMs", "rows"?}
    {"type": "rows", "nodeId", "schema", "rows", "truncated"}
    {"type": "check", "nodeId", "severity", "description", "failedRows"}
    {"type": "succeeded", "durationMs"}          written after the SparkSession stopped
    {"type": "failed", "nodeId"?, "errorClass"?, "message"}
  Every exit path writes exactly one final event (succeeded or failed); the exit code is 0 only after "succeeded".
  runner/events.schema.json describes these events and the serve messages below (tests check both sides against it).

Serve (the warm preview driver, under spark-submit):
  spark-submit sparkle_runner.py --serve HOST:PORT [--concurrency N] [--no-warm-up]
  Connects to HOST:PORT (loopback), says {"type": "hello", "token": $SPARKLE_PREVIEW_TOKEN}, starts Spark, warms it up,
  says {"type": "ready", ...}, then answers line-delimited JSON requests:
    {"op": "preview", "id", "plan", "limit", "sampleRows"} -> {"type": "result", "id", "nodes", "durationMs"}
                                                                or {"type": "error", "id", "errorClass", "message"}
    {"op": "cancel", "id"}                                  -> the request answers {"type": "cancelled", "id"}
    {"op": "shutdown"}                                      -> stops Spark and exits
  Each preview runs in a fresh Spark session (temporary views never leak between requests) under its own job group,
  never writes a sink, and answers per node: rows and schema, or the node's error. The driver exits when the
  connection closes.
"""

import argparse
import base64
import datetime
import decimal
import json
import math
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
import traceback

RUNNER_STARTED_MS = int(time.time() * 1000)
MAX_SAFE_INTEGER = 2**53 - 1
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


# ---------------------------------------------------------------------------------------------------------------------
# Values and errors


def to_json_value(value):
    """Converts a Spark value into JSON that JavaScript reads back without loss or error."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        # Beyond 2^53 a JavaScript number silently changes the value; a string keeps it exact.
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    as_dict = getattr(value, "asDict", None)
    if callable(as_dict):
        return {str(k): to_json_value(v) for k, v in as_dict(recursive=False).items()}
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_json_value(v) for v in value]
    return str(value)


def error_class(exc):
    for attr in ("getCondition", "getErrorClass"):
        fn = getattr(exc, attr, None)
        if callable(fn):
            try:
                value = fn()
                if value:
                    return value
            except Exception:  # noqa: BLE001 - best effort only
                pass
    return type(exc).__name__


def error_message(exc):
    java = getattr(exc, "java_exception", None)
    text = str(java) if java is not None and not getattr(exc, "getCondition", None) else str(exc)
    text = text.strip() or type(exc).__name__
    # Spark appends the JVM stack trace, and analysis errors the query plan, after the message: keep the message.
    for marker in ("\nJVM stacktrace:", "\n\tat "):
        if marker in text:
            text = text.split(marker, 1)[0].strip()
    match = re.match(r"(?s)(.*?SQLSTATE: \w+(?:; line \d+ pos \d+)?)", text)
    if match:
        text = match.group(1)
    return text[:4000]


def error_parameters(exc):
    fn = getattr(exc, "getMessageParameters", None)
    if callable(fn):
        try:
            return fn() or {}
        except Exception:  # noqa: BLE001
            return {}
    return {}


class StepError(Exception):
    """A failure the runner detects itself (bad plan, unresolved secret, failed quality check)."""

    def __init__(self, condition, message):
        super().__init__(message)
        self.condition = condition

    def getCondition(self):  # noqa: N802 - same name as Spark's exceptions
        return self.condition


def print_traceback():
    try:
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - the log pipe may be gone when the driver was killed
        pass


def normalize_name(name):
    """`db`.`View` and db.view name the same relation; compare the last part, unquoted, case-insensitively."""
    parts = [p for p in str(name).replace("`", "").split(".") if p]
    return parts[-1].lower() if parts else ""


# ---------------------------------------------------------------------------------------------------------------------
# Steps


def resolve_options(options):
    resolved = {}
    for key, value in (options or {}).items():
        if isinstance(value, dict) and "$secret" in value:
            # Secret references are resolved here, at run time, from the environment the submitter passed
            # (SPARKLE_SECRET_<NAME>): plans, documents and logs only ever hold the reference.
            name = str(value["$secret"])
            secret = os.environ.get("SPARKLE_SECRET_" + name)
            if secret is None:
                raise StepError(
                    "UNRESOLVED_SECRET",
                    "option %r references secret %r: set SPARKLE_SECRET_%s in the environment of the server or worker"
                    % (key, name, name),
                )
            resolved[key] = secret
            continue
        resolved[key] = str(value)
    return resolved


def read_source(spark, step, limit):
    source = step.get("source") or {}
    if not source.get("format"):
        raise StepError("INVALID_PLAN", "read step has no source format")
    reader = spark.read.format(source["format"])
    if source.get("schema"):
        reader = reader.schema(source["schema"])
    options = resolve_options(source.get("options"))
    if options:
        reader = reader.options(**options)
    df = reader.load(source["path"]) if source.get("path") else reader.load()
    if limit is not None:
        df = df.limit(int(limit))
    return df


def schema_of(df):
    return [{"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable} for f in df.schema.fields]


def head_rows(df, limit):
    fetched = df.limit(limit + 1).collect()
    names = df.schema.names
    rows = [{name: to_json_value(r[i]) for i, name in enumerate(names)} for r in fetched[:limit]]
    return rows, len(fetched) > limit


def check_failed_rows(df):
    if "failed_rows" not in df.schema.names:
        raise StepError("INVALID_PLAN", "a check query must return a failed_rows column")
    first = df.select("failed_rows").limit(1).collect()
    return int(first[0][0] or 0) if first else 0


def write_rows(spark, step):
    """Writes the step's rows; returns the number written when Spark reports it without extra work, else None."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    target = step.get("target") or {}
    if not target.get("format"):
        raise StepError("INVALID_PLAN", "write step has no target format")
    observation = Observation("sparkle_rows_written")
    df = spark.sql(step["sql"]).observe(observation, F.count(F.lit(1)).alias("rows"))
    writer = df.write.format(target["format"]).mode(target.get("mode", "errorifexists"))
    options = resolve_options(target.get("options"))
    if options:
        writer = writer.options(**options)
    if target.get("partitionBy"):
        writer = writer.partitionBy(*target["partitionBy"])
    if target.get("path"):
        writer.save(target["path"])
    else:
        writer.save()
    # The count rides along with the write job; some sources never report it, so never wait long for it.
    try:
        future = observation._jo.future()
        waited = 0.0
        while not future.isCompleted() and waited < 2.0:
            time.sleep(0.02)
            waited += 0.02
        if future.isCompleted():
            return int(observation.get["rows"])
    except Exception:  # noqa: BLE001 - the count is a nicety
        pass
    return None


class SampleCache:
    """Source samples of a preview driver, kept in the JVM between requests.

    An editor previews the same sources over and over while the transformations change: reading a source again (and
    inferring its schema again) would be most of a preview's time. A sample is reused while its files keep their
    names, sizes and modification times; sources that are not local files (JDBC, object stores) are read each time.
    """

    def __init__(self, capacity=16):
        self.capacity = capacity
        self.entries = {}
        self.lock = threading.Lock()

    @staticmethod
    def _local_path(path):
        if not path or ("://" in path and not path.startswith("file://")):
            return None
        return path[len("file://") :] if path.startswith("file://") else path

    def key(self, step, cap):
        import glob
        import hashlib

        source = step.get("source") or {}
        local = self._local_path(source.get("path"))
        if local is None:
            return None
        files = []
        for match in sorted(glob.glob(local)) if glob.has_magic(local) else [local]:
            if os.path.isdir(match):
                for root, _dirs, names in os.walk(match):
                    for name in names:
                        files.append(os.path.join(root, name))
                        if len(files) > 2000:
                            return None
            else:
                files.append(match)
        stats = []
        for path in sorted(files):
            try:
                st = os.stat(path)
            except OSError:
                return None
            stats.append([path, st.st_size, st.st_mtime_ns])
        text = json.dumps([source, cap, stats], sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                entry["used"] = time.time()
                return entry["rows"], entry["schema"]
        return None

    def put(self, key, rows, schema):
        with self.lock:
            self.entries[key] = {"rows": rows, "schema": schema, "used": time.time()}
            while len(self.entries) > self.capacity:
                del self.entries[min(self.entries, key=lambda k: self.entries[k]["used"])]


def read_sample(session, step, sample_rows, samples):
    """The source's first rows as a local relation: Spark folds filters and projections over it without running jobs."""
    from pyspark.sql import DataFrame

    cap = sample_rows if step.get("limit") is None else min(int(step["limit"]), sample_rows)
    key = samples.key(step, cap) if samples is not None else None
    cached = samples.get(key) if key is not None else None
    if cached is None:
        df = read_source(session, step, cap)
        cached = (df._jdf.collectAsList(), df._jdf.schema())
        if key is not None:
            samples.put(key, *cached)
    return DataFrame(session._jsparkSession.createDataFrame(*cached), session)


# ---------------------------------------------------------------------------------------------------------------------
# Step kinds: one table for both modes
#
# A batch run executes each step for its effect: views defined, rows and checks reported, checks enforced, sinks
# written. A preview only defines what each node would produce, over samples of its sources, and never writes a sink
# (a `write` node shows the rows it would write). Each kind has a handler per mode, side by side in STEP_KINDS.


class StepContext:
    """What a step handler gets besides its step: the Spark session and the parameters of the mode it runs in."""

    def __init__(self, session, mode, emit=None, limit=None, sample_rows=None, samples=None):
        self.session = session
        self.mode = mode  # "batch" or "preview"
        self.emit = emit  # batch: writes an event
        self.limit = limit  # preview: rows shown per node
        self.sample_rows = sample_rows  # preview: most rows read from a source
        self.samples = samples  # preview: source samples kept between requests (a SampleCache), or None


class StepOutcome:
    """What a step produced: the relation its node shows in a preview, the rows it reported or wrote (batch), the
    rows to show (preview) and the temporary views it defined."""

    def __init__(self, df=None, rows=None, limit=None, views=()):
        self.df = df
        self.rows = rows
        self.limit = limit
        self.views = list(views)


def define_view(ctx, step):
    df = ctx.session.sql(step["sql"])
    df.createOrReplaceTempView(step["view"])
    return StepOutcome(df, views=[step["view"]])


def read_whole_source(ctx, step):
    df = read_source(ctx.session, step, step.get("limit"))
    df.createOrReplaceTempView(step["view"])
    return StepOutcome(df, views=[step["view"]])


def read_source_sample(ctx, step):
    df = read_sample(ctx.session, step, ctx.sample_rows, ctx.samples)
    df.createOrReplaceTempView(step["view"])
    return StepOutcome(df, views=[step["view"]])


def run_action(ctx, step):
    ctx.session.sql(step["sql"]).collect()
    return StepOutcome()


def report_rows(ctx, step):
    df = ctx.session.sql(step["sql"])
    limit = max(0, int(step.get("limit", DEFAULT_LIMIT)))
    fetched, truncated = head_rows(df, limit)
    ctx.emit({
        "type": "rows",
        "nodeId": step.get("nodeId"),
        "schema": schema_of(df),
        "rows": fetched,
        "truncated": truncated,
    })
    return StepOutcome(df, rows=len(fetched))


def preview_query(ctx, step):
    df = ctx.session.sql(step["sql"])
    limit = ctx.limit if step.get("limit") is None else max(0, min(ctx.limit, int(step["limit"])))
    return StepOutcome(df, limit=limit)


def enforce_check(ctx, step):
    failed_rows = check_failed_rows(ctx.session.sql(step["sql"]))
    severity = step.get("severity", "error")
    description = step.get("description") or "quality check"
    ctx.emit({
        "type": "check",
        "nodeId": step.get("nodeId"),
        "severity": severity,
        "description": description,
        "failedRows": failed_rows,
    })
    if failed_rows > 0 and severity == "error":
        raise StepError("QUALITY_CHECK_FAILED", "%s: %d rows failed the check" % (description, failed_rows))
    return StepOutcome()


def write_sink(ctx, step):
    return StepOutcome(rows=write_rows(ctx.session, step))


def relation_only(ctx, step):
    """Preview of an action, a check or a sink: the rows of its query, without running it for its effect."""
    return StepOutcome(ctx.session.sql(step["sql"]))


class StepKind:
    def __init__(self, defines_view, batch, preview):
        self.defines_view = defines_view
        self.handlers = {"batch": batch, "preview": preview}


STEP_KINDS = {
    #                  defines a view  batch              preview
    "view": StepKind(True, define_view, define_view),
    "read": StepKind(True, read_whole_source, read_source_sample),
    "action": StepKind(False, run_action, relation_only),
    "query": StepKind(False, report_rows, preview_query),
    "check": StepKind(False, enforce_check, relation_only),
    "write": StepKind(False, write_sink, relation_only),
}


def run_step(ctx, step):
    """Runs one step with the handler of its kind for the context's mode."""
    kind = STEP_KINDS.get(step.get("kind"))
    if kind is None:
        raise StepError("INVALID_PLAN", "unknown step kind %r" % (step.get("kind"),))
    return kind.handlers[ctx.mode](ctx, step)


def defines_view(step):
    kind = STEP_KINDS.get(step.get("kind"))
    return kind is not None and kind.defines_view and bool(step.get("view"))


# ---------------------------------------------------------------------------------------------------------------------
# Batch mode

_events = None
# Reentrant: the SIGTERM handler emits from the main thread, possibly while it is inside emit().
_events_lock = threading.RLock()
_final_written = False
_running_node = None


def emit(event):
    global _final_written
    if _events is None:
        return
    event = dict(event)
    event["ts"] = int(time.time() * 1000)
    line = json.dumps(event, default=str, separators=(",", ":"), allow_nan=False) + "\n"
    with _events_lock:
        if _final_written:
            return
        _events.write(line)
        _events.flush()
        if event["type"] in ("succeeded", "failed"):
            _final_written = True


def run_steps(spark, steps):
    global _running_node
    ctx = StepContext(spark, "batch", emit=emit)
    for index, step in enumerate(steps):
        node_id = step.get("nodeId")
        _running_node = node_id
        emit({"type": "step_started", "nodeId": node_id, "index": index, "kind": step.get("kind")})
        started = time.time()
        try:
            outcome = run_step(ctx, step)
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its node
            emit({"type": "failed", "nodeId": node_id, "errorClass": error_class(exc), "message": error_message(exc)})
            print_traceback()
            return False
        finished = {
            "type": "step_finished",
            "nodeId": node_id,
            "index": index,
            "durationMs": int((time.time() - started) * 1000),
        }
        if outcome.rows is not None:
            finished["rows"] = outcome.rows
        emit(finished)
        _running_node = None
    return True


def on_terminate(signum, _frame):
    event = {
        "type": "failed",
        "errorClass": "TERMINATED",
        "message": "the driver was terminated by signal %d (%s)" % (signum, signal.Signals(signum).name),
    }
    if _running_node is not None:
        event["nodeId"] = _running_node
    emit(event)
    os._exit(128 + signum)


def wait_for_plan(path, seconds):
    """A driver started ahead of its job: the JVM and Python are up; wait for the plan (False after `seconds`)."""
    from pyspark import SparkContext

    # Connect to spark-submit's JVM now rather than when the job arrives.
    SparkContext._ensure_initialized()
    with open(os.path.join(os.path.dirname(os.path.abspath(path)), "ready"), "w", encoding="utf-8") as fh:
        fh.write(str(int(time.time() * 1000)))
    give_up = time.time() + seconds
    while not os.path.exists(path):
        if time.time() > give_up:
            return False
        time.sleep(0.01)
    return True


def run_batch(args):
    global _events
    _events = open(args.events, "a", encoding="utf-8")
    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGINT, on_terminate)

    spark = None
    app_start = time.time() * 1000
    ok = False
    try:
        from pyspark.sql import SparkSession

        if args.wait_for_plan and not wait_for_plan(args.plan, args.wait_for_plan):
            _events.close()
            os._exit(0)
        with open(args.plan, encoding="utf-8") as fh:
            plan = json.load(fh)
        builder = SparkSession.builder
        # Configuration decided when the job was assigned to a driver started ahead of it (see wait_for_plan).
        if args.conf_file and os.path.exists(args.conf_file):
            with open(args.conf_file, encoding="utf-8") as fh:
                for key, value in json.load(fh).items():
                    builder = builder.config(key, str(value))
        spark = builder.getOrCreate()
        sc = spark.sparkContext
        app_start = sc.startTime
        for key, value in (plan.get("conf") or {}).items():
            if spark.conf.isModifiable(key):
                spark.conf.set(key, str(value))
        emit({
            "type": "started",
            "appId": sc.applicationId,
            "uiUrl": sc.uiWebUrl,
            "master": sc.master,
            "appName": sc.appName,
            "sparkVersion": spark.version,
            "appStartTime": app_start,
            "runnerStartTime": RUNNER_STARTED_MS,
            "pid": os.getpid(),
            "driverPid": os.getppid(),
        })
        ok = run_steps(spark, plan.get("steps") or [])
    except BaseException as exc:  # noqa: BLE001 - never a silent failure
        emit({"type": "failed", "errorClass": error_class(exc), "message": error_message(exc)})
        print_traceback()
        ok = False
    finally:
        if spark is not None:
            try:
                spark.stop()
            except Exception:  # noqa: BLE001
                print_traceback()
        if ok:
            emit({"type": "succeeded", "durationMs": int(time.time() * 1000 - app_start)})
        emit({"type": "failed", "message": "the runner exited without a result"})
        _events.close()
    sys.exit(0 if ok else 1)


# ---------------------------------------------------------------------------------------------------------------------
# Preview


class Cancelled(Exception):
    pass


class DriverLost(Exception):
    """The JVM under this Python driver is gone: no answer from here can be trusted any more."""


def jvm_alive(spark):
    try:
        spark.sparkContext._jvm.java.lang.System.nanoTime()
        return True
    except Exception:  # noqa: BLE001 - any failure to reach the JVM means it is gone
        return False


def answer_steps(steps):
    """Index of the step that answers for each node: its last step (sinks answer with the rows they would write)."""
    last = {}
    for index, step in enumerate(steps):
        last[step.get("nodeId")] = index
    return last


def preview_plan(session, plan, limit, sample_rows, is_cancelled, samples=None):
    steps = plan.get("steps") or []
    answering = answer_steps(steps)
    view_owner = {}
    for step in steps:
        if defines_view(step):
            view_owner[normalize_name(step["view"])] = step.get("nodeId")

    ctx = StepContext(session, "preview", limit=limit, sample_rows=sample_rows, samples=samples)
    results = {}
    order = []
    failed = {}
    views_of = {}
    for index, step in enumerate(steps):
        node_id = step.get("nodeId")
        if node_id not in results and node_id not in order:
            order.append(node_id)
        if node_id in failed:
            continue
        if is_cancelled():
            raise Cancelled()
        started = time.time()
        try:
            outcome = run_step(ctx, step)
            views_of.setdefault(node_id, []).extend(outcome.views)
            if answering.get(node_id) == index:
                rows, truncated = head_rows(outcome.df, limit if outcome.limit is None else outcome.limit)
                results[node_id] = {
                    "nodeId": node_id,
                    "ok": True,
                    "schema": schema_of(outcome.df),
                    "rows": rows,
                    "truncated": truncated,
                    "durationMs": int((time.time() - started) * 1000),
                }
        except Exception as exc:  # noqa: BLE001 - a failing node answers with its error, the others go on
            if is_cancelled():
                raise Cancelled() from exc
            if not jvm_alive(session):
                raise DriverLost() from exc
            error = {"errorClass": error_class(exc), "message": error_message(exc)}
            if error["errorClass"] == "TABLE_OR_VIEW_NOT_FOUND":
                owner = view_owner.get(normalize_name(error_parameters(exc).get("relationName", "")))
                if owner is not None and owner in failed and owner != node_id:
                    error = {
                        "errorClass": "UPSTREAM_FAILED",
                        "message": "upstream node %s failed: %s" % (owner, failed[owner]["message"]),
                        "upstreamNodeId": owner,
                    }
            failed[node_id] = error
            results[node_id] = {"nodeId": node_id, "ok": False, "error": error}
            # Without its views, nodes that read this one fail at analysis, naming it as their failed upstream.
            for view in views_of.get(node_id, []):
                try:
                    # The plan names views in SQL identifier syntax (quoted): DROP VIEW reads them the same way.
                    session.sql("DROP VIEW IF EXISTS " + view)
                except Exception:  # noqa: BLE001
                    pass
    return [results[n] for n in order if n in results]


def uncache_session(session):
    try:
        for table in session.catalog.listTables():
            if table.isTemporary and session.catalog.isCached(table.name):
                session.catalog.uncacheTable(table.name)
    except Exception:  # noqa: BLE001 - cache cleanup is best effort
        pass


def warm_up(spark):
    """Runs the shapes a preview runs (read, filter, aggregate, sort) so the first real preview finds a warm JVM."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="sparkle-warmup-")
    path = os.path.join(folder, "warmup.csv")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,grp,amount,label\n")
        for i in range(200):
            fh.write("%d,g%d,%d.5,x%d\n" % (i, i % 7, i, i % 3))
    plan = {
        "steps": [
            {
                "nodeId": "src",
                "kind": "read",
                "view": "w_src",
                "source": {"format": "csv", "path": path, "options": {"header": "true", "inferSchema": "true"}},
                "limit": 1000,
            },
            {"nodeId": "src", "kind": "query", "sql": "SELECT * FROM w_src", "limit": 10},
            {"nodeId": "f", "kind": "view", "view": "w_f", "sql": "SELECT * FROM w_src WHERE amount > 10"},
            {"nodeId": "f", "kind": "query", "sql": "SELECT * FROM w_f", "limit": 10},
            {
                "nodeId": "a",
                "kind": "view",
                "view": "w_a",
                "sql": "SELECT grp, count(*) AS n, sum(amount) AS total FROM w_f GROUP BY grp",
            },
            {"nodeId": "a", "kind": "query", "sql": "SELECT * FROM w_a ORDER BY total DESC", "limit": 10},
        ]
    }
    for _ in range(2):
        preview_plan(spark.newSession(), plan, 10, 1000, lambda: False)
    try:
        os.remove(path)
        os.rmdir(folder)
    except OSError:
        pass


def serve(args):
    from pyspark.sql import SparkSession

    # Spark-submit's JVM is this process's parent: when it dies, this driver has nothing left to answer with.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(70)

    threading.Thread(target=watch_parent, daemon=True).start()

    host, _, port = args.serve.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("r", encoding="utf-8", newline="\n")
    send_lock = threading.Lock()

    def send(message):
        data = (json.dumps(message, default=str, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
        with send_lock:
            sock.sendall(data)

    send({"type": "hello", "token": os.environ.get("SPARKLE_PREVIEW_TOKEN", "")})

    spark = SparkSession.builder.getOrCreate()
    sc = spark.sparkContext
    # Per-job INFO lines cost time on every preview; warnings and errors still reach the session's log.
    sc.setLogLevel("WARN")
    if args.warm_up:
        warm_up(spark)
    send({
        "type": "ready",
        "appId": sc.applicationId,
        "uiUrl": sc.uiWebUrl,
        "sparkVersion": spark.version,
        "pid": os.getpid(),
        "driverPid": os.getppid(),
    })

    jobs = queue.Queue()
    samples = SampleCache()
    cancelled = set()
    cancelled_lock = threading.Lock()

    def is_cancelled(request_id):
        with cancelled_lock:
            return request_id in cancelled

    def work():
        while True:
            request = jobs.get()
            if request is None:
                return
            request_id = request.get("id")
            started = time.time()
            group = "sparkle-preview-%s" % request_id
            session = None
            try:
                if is_cancelled(request_id):
                    raise Cancelled()
                sc.setJobGroup(group, "preview %s" % request_id, True)
                session = spark.newSession()
                plan = request.get("plan") or {}
                for key, value in (plan.get("conf") or {}).items():
                    if session.conf.isModifiable(key):
                        session.conf.set(key, str(value))
                limit = max(0, min(int(request.get("limit", DEFAULT_LIMIT)), MAX_LIMIT))
                sample_rows = max(1, int(request.get("sampleRows", 10000)))
                nodes = preview_plan(session, plan, limit, sample_rows, lambda: is_cancelled(request_id), samples)
                if is_cancelled(request_id):
                    raise Cancelled()
                send({"type": "result", "id": request_id, "nodes": nodes, "durationMs": int((time.time() - started) * 1000)})
            except Cancelled:
                send({"type": "cancelled", "id": request_id})
            except DriverLost:
                os._exit(70)
            except Exception as exc:  # noqa: BLE001 - a broken request never takes the driver down
                print_traceback()
                send({"type": "error", "id": request_id, "errorClass": error_class(exc), "message": error_message(exc)})
            finally:
                if session is not None and any(
                    s.get("kind") == "action" for s in (request.get("plan") or {}).get("steps") or []
                ):
                    uncache_session(session)
                with cancelled_lock:
                    cancelled.discard(request_id)
                try:
                    sc.setLocalProperty("spark.jobGroup.id", None)
                except Exception:  # noqa: BLE001
                    pass

    workers = [threading.Thread(target=work, daemon=True) for _ in range(max(1, args.concurrency))]
    for worker in workers:
        worker.start()

    try:
        for line in reader:
            if not line.strip():
                continue
            message = json.loads(line)
            op = message.get("op")
            if op == "preview":
                jobs.put(message)
            elif op == "cancel":
                with cancelled_lock:
                    cancelled.add(message.get("id"))
                sc.cancelJobGroup("sparkle-preview-%s" % message.get("id"))
            elif op == "shutdown":
                break
    except Exception:  # noqa: BLE001 - a closed connection ends the driver
        print_traceback()
    try:
        spark.stop()
    except Exception:  # noqa: BLE001
        pass
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description="Sparkle Studio plan runner")
    parser.add_argument("--plan")
    parser.add_argument("--events")
    parser.add_argument("--serve", help="HOST:PORT of the preview session to connect to")
    parser.add_argument("--conf-file", help="JSON object of Spark configuration to start the session with")
    parser.add_argument("--wait-for-plan", type=float, default=0, help="seconds to wait for the plan file to appear")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false")
    args = parser.parse_args()
    if args.serve:
        serve(args)
    elif args.plan and args.events:
        run_batch(args)
    else:
        parser.error("either --plan and --events, or --serve, is required")


if __name__ == "__main__":
    main()
