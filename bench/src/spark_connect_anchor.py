"""The PySpark anchor of spark-connect.bench.ts: the same queries through PySpark's own Spark Connect client.

Usage: python spark_connect_anchor.py sc://127.0.0.1:PORT  < spec.json  > timings.json

spec.json:
  {"latency":    [{"name": "...", "sql": "...", "iterations": 30, "warmup": 5}],
   "throughput": [{"name": "...", "sql": "...", "iterations": 4, "warmup": 1}]}

It times itself in-process, as the TypeScript side does: wall time (time.perf_counter) of each query from the request
to all rows materialized as Python values. Per latency query, `spark.sql(q).collect()` (what a PySpark user writes:
one ExecutePlan for the SQL command, one for the rows) and `df.collect()` of a DataFrame made once (one ExecutePlan
per request, as SparkConnectClient.executeSql). Per throughput query, `spark.sql(q).collect()` (Row objects) and
`spark.sql(q).toArrow()` (an Arrow table, no Python values). Prints one JSON object: milliseconds, in run order.
"""

import json
import sys
import time
import warnings

warnings.simplefilter("ignore", FutureWarning)

from pyspark.sql import SparkSession  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t0) * 1000.0, result


def main() -> None:
    remote = sys.argv[1]
    spec = json.load(sys.stdin)
    t0 = time.perf_counter()
    spark = SparkSession.builder.remote(remote).getOrCreate()
    spark.sql("SELECT 1").collect()
    session_ms = (time.perf_counter() - t0) * 1000.0
    out = {"pyspark": None, "sessionMs": session_ms, "latency": [], "throughput": []}
    import pyspark

    out["pyspark"] = pyspark.__version__
    try:
        for q in spec.get("latency", []):
            sql = q["sql"]
            for _ in range(q.get("warmup", 5)):
                spark.sql(sql).collect()
            sql_ms, rows = [], 0
            for _ in range(q["iterations"]):
                ms, result = timed(lambda: spark.sql(sql).collect())
                sql_ms.append(ms)
                rows = len(result)
            df = spark.sql(sql)
            for _ in range(q.get("warmup", 5)):
                df.collect()
            df_ms = []
            for _ in range(q["iterations"]):
                ms, _r = timed(df.collect)
                df_ms.append(ms)
            out["latency"].append({"name": q["name"], "rows": rows, "sqlCollectMs": sql_ms, "dfCollectMs": df_ms})
        for q in spec.get("throughput", []):
            sql = q["sql"]
            for _ in range(q.get("warmup", 1)):
                spark.sql(sql).collect()
            collect_ms, arrow_ms, rows, arrow_rows = [], [], 0, 0
            for _ in range(q["iterations"]):
                ms, result = timed(lambda: spark.sql(sql).collect())
                collect_ms.append(ms)
                rows = len(result)
                del result
            for _ in range(q["iterations"]):
                ms, table = timed(lambda: spark.sql(sql).toArrow())
                arrow_ms.append(ms)
                arrow_rows = table.num_rows
                del table
            out["throughput"].append(
                {
                    "name": q["name"],
                    "rows": rows,
                    "arrowRows": arrow_rows,
                    "collectMs": collect_ms,
                    "toArrowMs": arrow_ms,
                }
            )
    finally:
        spark.stop()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
