"""Sparkle Studio plan runner: executes an ExecutionPlan (JSON) step by step on a SparkSession.

Usage: spark-submit sparkle_runner.py --plan PLAN.json --events EVENTS.jsonl

Events are JSON objects, one per line, appended to the events file (their own channel, apart from Spark's logs):
  {"type": "started", "appId", "uiUrl", "master", "sparkVersion"}
  {"type": "step_started", "nodeId", "index"}
  {"type": "step_finished", "nodeId", "index", "durationMs", "rows"?}
  {"type": "rows", "nodeId", "schema", "rows", "truncated"}
  {"type": "succeeded", "durationMs"}
  {"type": "failed", "nodeId"?, "errorClass"?, "message"}
Every exit path writes exactly one final event (succeeded or failed); the exit code is 0 only after "succeeded".
"""

import argparse
import datetime
import decimal
import json
import os
import signal
import sys
import time
import traceback

_events = None
_final_written = False


def emit(event):
    global _final_written
    if _events is None:
        return
    event = dict(event)
    event["ts"] = int(time.time() * 1000)
    _events.write(json.dumps(event, default=_json_default, separators=(",", ":")) + "\n")
    _events.flush()
    if event["type"] in ("succeeded", "failed"):
        _final_written = True


def _json_default(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


def _error_class(exc):
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


def _message(exc):
    text = str(exc).strip() or type(exc).__name__
    # Spark appends the JVM stack trace after the message; keep the first paragraph for humans.
    marker = "\nJVM stacktrace:"
    if marker in text:
        text = text.split(marker, 1)[0].strip()
    return text[:4000]


def _row_to_json(row, names):
    return {name: row[i] for i, name in enumerate(names)}


def run_plan(spark, plan):
    steps = plan.get("steps", [])
    for index, step in enumerate(steps):
        node_id = step["nodeId"]
        kind = step["kind"]
        emit({"type": "step_started", "nodeId": node_id, "index": index, "kind": kind})
        started = time.time()
        rows = None
        try:
            if kind == "view":
                spark.sql(step["sql"]).createOrReplaceTempView(step["view"])
            elif kind == "action":
                spark.sql(step["sql"]).collect()
            elif kind == "query":
                df = spark.sql(step["sql"])
                limit = int(step.get("limit", 100))
                fetched = df.limit(limit + 1).collect()
                names = df.schema.names
                schema = [
                    {"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable}
                    for f in df.schema.fields
                ]
                emit({
                    "type": "rows",
                    "nodeId": node_id,
                    "schema": schema,
                    "rows": [_row_to_json(r, names) for r in fetched[:limit]],
                    "truncated": len(fetched) > limit,
                })
                rows = min(len(fetched), limit)
            elif kind == "write":
                target = step["target"]
                df = spark.sql(step["sql"])
                writer = df.write.format(target["format"]).mode(target.get("mode", "errorifexists"))
                for key, value in (target.get("options") or {}).items():
                    writer = writer.option(key, value)
                if target.get("partitionBy"):
                    writer = writer.partitionBy(*target["partitionBy"])
                if target.get("path"):
                    writer.save(target["path"])
                else:
                    writer.save()
            else:
                raise ValueError("unknown step kind %r" % kind)
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its node
            emit({
                "type": "failed",
                "nodeId": node_id,
                "errorClass": _error_class(exc),
                "message": _message(exc),
            })
            traceback.print_exc(file=sys.stderr)
            return False
        finished = {
            "type": "step_finished",
            "nodeId": node_id,
            "index": index,
            "durationMs": int((time.time() - started) * 1000),
        }
        if rows is not None:
            finished["rows"] = rows
        emit(finished)
    return True


def main():
    global _events
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", required=True)
    parser.add_argument("--events", required=True)
    args = parser.parse_args()
    _events = open(args.events, "a", encoding="utf-8")

    def on_term(signum, _frame):
        if not _final_written:
            emit({"type": "failed", "errorClass": "CANCELLED", "message": "terminated by signal %d" % signum})
        os._exit(143)

    signal.signal(signal.SIGTERM, on_term)

    started = time.time()
    spark = None
    ok = False
    try:
        with open(args.plan, encoding="utf-8") as fh:
            plan = json.load(fh)
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName("sparkle:" + str(plan.get("pipeline", "plan")))
        for key, value in (plan.get("conf") or {}).items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        sc = spark.sparkContext
        emit({
            "type": "started",
            "appId": sc.applicationId,
            "uiUrl": sc.uiWebUrl,
            "master": sc.master,
            "sparkVersion": spark.version,
        })
        ok = run_plan(spark, plan)
        if ok:
            emit({"type": "succeeded", "durationMs": int((time.time() - started) * 1000)})
    except BaseException as exc:  # noqa: BLE001 - never a silent failure
        if not _final_written:
            emit({"type": "failed", "errorClass": _error_class(exc), "message": _message(exc)})
        traceback.print_exc(file=sys.stderr)
        ok = False
    finally:
        if spark is not None:
            try:
                spark.stop()
            except Exception:  # noqa: BLE001
                pass
        if not _final_written:
            emit({"type": "failed", "message": "runner exited without a result"})
        _events.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
