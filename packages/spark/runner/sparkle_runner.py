"""Sparkle Studio plan runner: executes an ExecutionPlan (JSON) on a SparkSession.

One self-contained file, shipped with @sparkle-studio/spark, in two modes:

Batch (one run, under spark-submit):
  spark-submit sparkle_runner.py --plan PLAN.json --events EVENTS.jsonl [--conf-file CONF.json] [--wait-for-plan S]
                                 [--secrets-file SECRETS.json]

  With --wait-for-plan the driver is started ahead of its job: JVM and Python start, then it waits up to S seconds
  for PLAN.json to appear (and exits without an event when none does); CONF.json then adds Spark configuration.
  SECRETS.json ({name: value}, the secrets the plan references) is read and removed as soon as the plan is there.

  Events are JSON objects, one per line, appended to the events file (their own channel, apart from Spark's logs):
    {"type": "started", "appId", "uiUrl" (null when the UI is off), "master", "appName", "sparkVersion", "appStartTime",
     "runnerStartTime", "pid" (this Python driver), "driverPid" (the driver JVM)}
    {"type": "step_started", "nodeId", "index", "kind"}
    {"type": "step_finished", "nodeId", "index", "durationMs", "rows"?, "checksMs"?, "rowsIn"?, "bytesRead"?,
     "bytesWritten"?, "taskMs"?, "jobs"?}     the last five from the step's own Spark jobs (none for a lazy view)
    {"type": "rows", "nodeId", "schema", "rows", "truncated"}
    {"type": "check", "nodeId", "severity", "description", "failedRows"}
    {"type": "usage", "executors", "cores", "coreSeconds", "taskSeconds", "cpuSeconds", "peakMemoryBytes"?,
     "inputBytes", "outputBytes", "shuffleReadBytes", "shuffleWriteBytes"}   right before the final event (also of a
                                                 failed or terminated run), when the driver's status store answers
    {"type": "succeeded", "durationMs", "completedTasks"?, "totalTasks"?}   written after the SparkSession stopped
    {"type": "failed", "nodeId"?, "errorClass"?, "message", "rule"?, "fix"?, "completedTasks"?, "totalTasks"?}
                                                 rule and fix for a refused step
  completedTasks/totalTasks: the application's task counts at its end, as Spark's REST API counts them.
  Every exit path writes exactly one final event (succeeded or failed); the exit code is 0 only after "succeeded".
  runner/events.schema.json describes these events and the serve messages below (tests check both sides against it).

Serve (the warm preview driver, under spark-submit):
  spark-submit sparkle_runner.py --serve HOST:PORT --token-file FILE [--concurrency N] [--no-warm-up]
  Reads the session's token from FILE and removes it, connects to HOST:PORT (loopback), says {"type": "hello",
  "token"}, starts Spark, warms it up, says {"type": "ready", ...}, then answers line-delimited JSON requests:
    {"op": "preview", "id", "plan", "limit", "sampleRows", "secrets"?}
        -> {"type": "result", "id", "nodes", "durationMs", "checksMs"}
           or {"type": "error", "id", "errorClass", "message", "rule"?, "fix"?}
    {"op": "cancel", "id"}                                  -> the request answers {"type": "cancelled", "id"}
    {"op": "shutdown"}                                      -> stops Spark and exits
  Each preview runs in a fresh Spark session (temporary views never leak between requests) under its own job group,
  never writes a sink, and answers per node: rows and schema, or the node's error. The driver exits when the
  connection closes. A request's "secrets" are the ones its plan references, for that request only.

Both modes check every step before it runs (see "Plan checks" below): a refused step fails with a POLICY_* error
class, its rule and the fix, and nothing of it runs. Secret values are redacted (***) from everything written.
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


def error_fields(exc):
    """What a failure reports: Spark's error class and message; for a refused step also its rule and the fix."""
    fields = {"errorClass": error_class(exc), "message": error_message(exc)}
    if isinstance(exc, PolicyViolation):
        fields["rule"] = exc.rule
        fields["fix"] = exc.fix
    return fields


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
# Secrets and redaction
#
# Secret values reach this driver only in its memory: a batch driver reads them from a mode-0600 file in its job folder
# and removes the file at once (--secrets-file); the preview driver gets the ones a request references with that
# request. They are never in the environment or in JVM system properties, go only into the reader and writer options
# that reference them, and are replaced by *** in everything this driver writes: events, answers, its own log lines.

REDACTED = "***"
_secrets_lock = threading.Lock()
_secret_values = ()  # longest first, so that a secret inside another is never half-replaced


def remember_secrets(values):
    """Adds values to those redacted from everything the driver writes."""
    global _secret_values
    fresh = [v for v in values if isinstance(v, str) and v]
    if not fresh:
        return
    with _secrets_lock:
        _secret_values = tuple(sorted(set(_secret_values) | set(fresh), key=len, reverse=True))


def redact(value):
    """`value` (a string, or JSON-like data) with every secret value the driver holds replaced by ***."""
    secrets = _secret_values
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {redact(k): redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


class RedactingStream:
    """stdout or stderr of the driver, with secret values replaced by *** in every line written to it."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(redact(text) if isinstance(text, str) else text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def read_secrets_file(path):
    """The secrets handed to a batch driver ({name: value}), from a file that is removed as soon as it was read."""
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    finally:
        try:
            os.remove(path)
        except OSError:
            pass
    secrets = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    remember_secrets(secrets.values())
    return secrets


def read_token_file(path):
    """The preview session's token, from a file that is removed as soon as it was read (never in the environment)."""
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    finally:
        try:
            os.remove(path)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------------------------------
# Plan checks
#
# Before a step runs, the driver checks what Spark will do: the parsed plan of the step's SQL (so that a command is
# refused before Spark would run it, which it does as soon as it analyzes one) and its analyzed plan (where every
# function call, in any spelling or case, is resolved to its expression class, and every relation to what it reads).
# A Java class compiled at start with Spark's own compiler (Janino) walks a plan in the JVM and describes it in one
# call; walking it from Python, node by node, would cost a preview more than the preview itself.
#
# Always refused: reflection (reflect, java_method, try_reflect and the expressions behind them), commands (DDL, SET,
# ADD JAR, CREATE FUNCTION, INSERT, EXECUTE IMMEDIATE, scripts, ...; only an `action` step's CACHE TABLE of a view runs)
# and script transformation (TRANSFORM ... USING runs a program on the host). With the plan's policy: functions it
# denies, files read outside its read roots or written outside its write roots (local paths with symbolic links
# resolved), and JDBC connections to URLs none of its patterns allow.

PLAN_WALKER_CLASS = "SparklePlanWalker"
PLAN_WALKER_SOURCE = r"""
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

public class SparklePlanWalker {
    private final List markers = new ArrayList();
    private final ConcurrentHashMap methods = new ConcurrentHashMap();
    private final int maxFiles;

    public SparklePlanWalker(String markerNames, int maxFiles) {
        ClassLoader loader = SparklePlanWalker.class.getClassLoader();
        String[] names = markerNames.split(",");
        for (int i = 0; i < names.length; i++) {
            try { markers.add(Class.forName(names[i].trim(), false, loader)); } catch (Throwable t) { }
        }
        this.maxFiles = maxFiles;
    }

    public int markerCount() { return markers.size(); }

    public String describe(Object root) {
        StringBuilder out = new StringBuilder("[");
        visit(root, 0, out, new IdentityHashMap());
        if (out.length() > 1) out.setLength(out.length() - 1);
        return out.append("]").toString();
    }

    private Object call(Object target, String name) {
        if (target == null) return null;
        Class c = target.getClass();
        String key = c.getName() + "#" + name;
        Object m = methods.get(key);
        if (m == null) {
            try { m = c.getMethod(name, new Class[0]); } catch (Throwable t) { m = Boolean.FALSE; }
            methods.put(key, m);
        }
        if (!(m instanceof Method)) return null;
        try { return ((Method) m).invoke(target, new Object[0]); } catch (Throwable t) { return null; }
    }

    private static List items(Object seq) {
        List list = new ArrayList();
        if (seq == null) return list;
        if (seq instanceof Object[]) {
            Object[] a = (Object[]) seq;
            for (int i = 0; i < a.length; i++) list.add(a[i]);
        } else if (seq instanceof scala.collection.Iterable) {
            scala.collection.Iterator it = ((scala.collection.Iterable) seq).iterator();
            while (it.hasNext()) list.add(it.next());
        } else if (seq instanceof scala.Option) {
            scala.Option o = (scala.Option) seq;
            if (o.isDefined()) list.add(o.get());
        } else {
            list.add(seq);
        }
        return list;
    }

    private static void quote(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '"' || ch == '\\') out.append('\\').append(ch);
            else if (ch < 0x20 || ch > 0x7e) {
                String hex = Integer.toHexString(ch);
                out.append("\\u");
                for (int k = hex.length(); k < 4; k++) out.append('0');
                out.append(hex);
            } else out.append(ch);
        }
        out.append('"');
    }

    private void record(StringBuilder out, String kind, int depth, String cls, String flags, List details) {
        out.append('[');
        quote(out, kind);
        out.append(',').append(depth).append(',');
        quote(out, cls);
        out.append(',');
        quote(out, flags);
        out.append(",[");
        for (int i = 0; i < details.size(); i++) {
            if (i > 0) out.append(',');
            quote(out, String.valueOf(details.get(i)));
        }
        out.append("]],");
    }

    private static String joined(Object seq) {
        StringBuilder b = new StringBuilder();
        List parts = items(seq);
        for (int i = 0; i < parts.size(); i++) {
            if (i > 0) b.append('\u0000');
            b.append(String.valueOf(parts.get(i)));
        }
        return b.toString();
    }

    private void visit(Object node, int depth, StringBuilder out, IdentityHashMap seen) {
        if (node == null || seen.containsKey(node)) return;
        seen.put(node, node);
        String cls = node.getClass().getName();
        boolean plan = node instanceof org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
        String flags = "";
        for (int i = 0; i < markers.size(); i++) {
            if (((Class) markers.get(i)).isInstance(node)) { flags = "C"; break; }
        }
        List details = new ArrayList();
        String simple = cls.substring(cls.lastIndexOf('.') + 1);
        if (simple.equals("UnresolvedFunction")) {
            details.add(joined(call(node, "nameParts")));
        } else if (simple.equals("UnresolvedTableValuedFunction")) {
            details.add(joined(call(node, "name")));
        } else if (simple.equals("UnresolvedRelation")) {
            details.add(joined(call(node, "multipartIdentifier")));
        } else if (simple.endsWith("WithUnresolvedIdentifier")) {
            Object e = call(node, "identifierExpr");
            if (e instanceof org.apache.spark.sql.catalyst.expressions.Literal) {
                details.add(String.valueOf(call(e, "value")));
            }
        } else if (simple.equals("StaticInvoke")) {
            Object c = call(node, "staticObject");
            details.add(c instanceof Class ? ((Class) c).getName() : "");
        } else if (simple.equals("NewInstance")) {
            Object c = call(node, "cls");
            details.add(c instanceof Class ? ((Class) c).getName() : "");
        } else if (simple.equals("Invoke")) {
            details.add(String.valueOf(call(call(node, "targetObject"), "dataType")));
        }
        record(out, plan ? "P" : "E", depth, cls, flags, details);
        if (simple.equals("LogicalRelation")) relation(call(node, "relation"), depth + 1, out);
        if (simple.startsWith("DataSourceV2")) v2(node, depth + 1, out);
        List kids = items(call(node, "children"));
        kids.addAll(items(call(node, "innerChildren")));
        if (plan) kids.addAll(items(call(node, "expressions")));
        for (int i = 0; i < kids.size(); i++) visit(kids.get(i), depth + 1, out, seen);
    }

    private void files(Object index, List details) {
        List roots = items(call(index, "rootPaths"));
        for (int i = 0; i < roots.size(); i++) details.add("root:" + roots.get(i));
        List inputs = items(call(index, "inputFiles"));
        for (int i = 0; i < inputs.size() && i < maxFiles; i++) details.add("file:" + inputs.get(i));
    }

    private void relation(Object rel, int depth, StringBuilder out) {
        if (rel == null) return;
        List details = new ArrayList();
        if (rel.getClass().getName().endsWith("HadoopFsRelation")) files(call(rel, "location"), details);
        Object jdbc = call(rel, "jdbcOptions");
        if (jdbc != null) details.add("jdbc:" + call(jdbc, "url"));
        record(out, "R", depth, rel.getClass().getName(), "", details);
    }

    private void v2(Object node, int depth, StringBuilder out) {
        List details = new ArrayList();
        Object table = call(node, "table");
        Object options = call(node, "options");
        if (options instanceof java.util.Map) {
            Object p = ((java.util.Map) options).get("path");
            if (p != null) details.add("path:" + p);
            Object ps = ((java.util.Map) options).get("paths");
            if (ps != null) details.add("paths:" + ps);
        }
        Object index = call(table, "fileIndex");
        if (index != null) files(index, details);
        Object jdbc = call(table, "jdbcOptions");
        if (jdbc != null) details.add("jdbc:" + call(jdbc, "url"));
        record(out, "R", depth, table == null ? "" : table.getClass().getName(), "", details);
    }
}
"""
# Plan node types whose instances are commands: Spark runs them when it analyzes them, or writes with them.
COMMAND_MARKERS = (
    "org.apache.spark.sql.catalyst.plans.logical.Command",
    "org.apache.spark.sql.catalyst.plans.logical.ParsedStatement",
    "org.apache.spark.sql.catalyst.plans.logical.V2WriteCommand",
    "org.apache.spark.sql.catalyst.plans.logical.InsertIntoDir",
)
COMMAND_NAMES = ("CompoundBody", "InsertIntoDir", "InsertIntoStatement")
# Expression classes that call Java methods named in SQL (what reflect, java_method and try_reflect resolve to).
REFLECTION_CLASSES = frozenset(["CallMethodViaReflection", "TryReflect"])
# Expressions that call Java code: Spark's built-in functions and char/varchar columns use them on Spark's own classes
# only; anything else is refused as reflection.
INVOKE_CLASSES = frozenset(["StaticInvoke", "Invoke", "NewInstance"])
SPARK_CLASS = re.compile(r"(?:^|class |ObjectType\()org\.apache\.spark\.")
REFLECTION_FUNCTIONS = frozenset(["reflect", "java_method", "try_reflect"])
# Data sources that name a file in SQL (`csv`.`/path`): such a relation is a path to check.
FILE_FORMATS = frozenset(["csv", "json", "parquet", "orc", "text", "avro", "xml", "binaryfile", "image", "libsvm"])
MAX_CHECKED_FILES = 10000
URI_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(.*)$", re.S)

# Every refusal: its error class, rule and fix.
POLICY_RULES = {
    "reflection": (
        "POLICY_REFLECTION",
        "remove the call: reflect, java_method and try_reflect reach the JVM and are never allowed; use Spark SQL's "
        "built-in functions",
    ),
    "command": (
        "POLICY_COMMAND",
        "a step's SQL must be a query: commands (SET, ADD JAR, CREATE FUNCTION, DDL, INSERT, EXECUTE IMMEDIATE, "
        "scripts, ...) never run; Spark configuration belongs in the document's spark.conf, data goes through sources "
        "and sinks",
    ),
    "script-transformation": (
        "POLICY_SCRIPT_TRANSFORM",
        "TRANSFORM ... USING runs a program on the host and is never allowed: compute the columns in SQL",
    ),
    "denied-function": ("POLICY_FUNCTION", "remove the call: the execution policy denies this function"),
    "read-roots": ("POLICY_PATH", "read from a path inside one of the policy's read roots"),
    "write-roots": ("POLICY_PATH", "write to a path inside one of the policy's write roots"),
    "jdbc-url": ("POLICY_JDBC", "connect to a database whose URL one of the policy's JDBC URL patterns allows"),
    "plan-check": ("POLICY_VIOLATION", "the driver could not check the plan, so nothing ran; see the driver's log"),
}


class PolicyViolation(StepError):
    """A step the driver refuses to run: what it would do is against a rule. Nothing of the step ran."""

    def __init__(self, rule, message, fix=None):
        condition, default_fix = POLICY_RULES[rule]
        self.rule = rule
        self.fix = fix or default_fix
        super().__init__(condition, "%s (rule: %s). Fix: %s" % (message, rule, self.fix))


_walkers = {}
_walkers_lock = threading.Lock()
_function_classes = {}


def plan_walker(jvm, gateway):
    """The plan walker of a driver's JVM, compiled on first use (once per driver, a second or less)."""
    with _walkers_lock:
        walker = _walkers.get(id(jvm))
        if walker is None:
            compiler = jvm.org.codehaus.janino.SimpleCompiler()
            compiler.setParentClassLoader(jvm.org.apache.spark.sql.SparkSession._java_lang_class.getClassLoader())
            compiler.cook(PLAN_WALKER_SOURCE)
            cls = compiler.getClassLoader().loadClass(PLAN_WALKER_CLASS)
            args = gateway.new_array(jvm.java.lang.Object, 2)
            args[0] = ",".join(COMMAND_MARKERS)
            args[1] = MAX_CHECKED_FILES
            walker = cls.getConstructors()[0].newInstance(args)
            if walker.markerCount() == 0:
                raise RuntimeError("none of Spark's command types was found: the plan walker cannot tell commands")
            _walkers[id(jvm)] = walker
        return walker


def split_identifier(text):
    """The parts of a multi-part SQL identifier (`a`.`b.c` -> ['a', 'b.c'])."""
    parts, current, quoted, i = [], "", False, 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            if quoted and text[i + 1 : i + 2] == "`":
                current += "`"
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current.strip())
    return parts


def data_location(path):
    """Where a path points, as the policy compares it: ("local", real path), ("uri", normalized URI), or (None, why)."""
    import urllib.parse

    text = str(path).strip()
    if not text:
        return None, "an empty path"
    if "{" in text or "}" in text:
        return None, "a {a,b} pattern (list the paths instead)"
    match = URI_PATTERN.match(text)
    scheme = match.group(1).lower() if match else None
    if scheme is not None and scheme != "file":
        rest = re.match(r"^//([^/]*)(/.*)?$", match.group(2), re.S)
        if rest is None:
            return None, "a URI without an authority"
        segments = urllib.parse.unquote(rest.group(2) or "/").split("/")
        if ".." in segments:
            return None, "a path with '..'"
        return "uri", "%s://%s/%s" % (scheme, rest.group(1), "/".join(s for s in segments if s not in ("", ".")))
    local = text
    if scheme == "file":
        rest = match.group(2)
        if rest.startswith("//"):
            hosted = re.match(r"^//([^/]*)(/.*)?$", rest, re.S)
            if hosted.group(1) not in ("", "localhost"):
                return None, "a file: URI of another host"
            local = urllib.parse.unquote(hosted.group(2) or "/")
        else:
            local = rest
    if not local.startswith("/"):
        return None, "a relative path"
    if ".." in local.split("/"):
        return None, "a path with '..'"
    return "local", os.path.realpath(local)


def inside(location, roots):
    kind, where = location
    for root_kind, root in roots:
        if root_kind != kind:
            continue
        base = root if root.endswith("/") else root + "/"
        if where == root or where.startswith(base):
            return True
    return False


class PlanGuard:
    """The checks of one run or one preview request, under the plan's policy (None for a plan without one)."""

    def __init__(self, session, policy):
        self.session = session
        self.policy = policy if isinstance(policy, dict) else None
        try:
            self.walker = plan_walker(session.sparkContext._jvm, session.sparkContext._gateway)
            # `${env:NAME}`, `${system:name}` and `${spark.conf}` in SQL text would read the driver's environment,
            # system properties and configuration: off, and this session parses the steps (not the default one).
            session.conf.set("spark.sql.variable.substitute", "false")
            session.sparkContext._jvm.org.apache.spark.sql.SparkSession.setActiveSession(session._jsparkSession)
        except Exception as exc:  # noqa: BLE001 - without its checks no step runs
            print_traceback()
            raise PolicyViolation("plan-check", "the driver could not prepare its plan checks (%s)" % exc) from exc
        self.seconds = 0.0  # time spent checking, reported with the results
        self._verdicts = {}
        self._denied_classes = None
        policy = self.policy or {}
        self.denied = frozenset(str(f).lower() for f in policy.get("deniedFunctions") or ()) - REFLECTION_FUNCTIONS
        self.read_roots = [r for r in (data_location(p) for p in policy.get("readRoots") or ()) if r[0]]
        self.write_roots = [r for r in (data_location(p) for p in policy.get("writeRoots") or ()) if r[0]]
        self.jdbc_patterns = []
        for pattern in policy.get("jdbcUrlPatterns") or ():
            try:
                self.jdbc_patterns.append(re.compile(str(pattern)))
            except re.error:
                # A pattern that does not compile allows nothing.
                print("[sparkle] not a regular expression: JDBC URL pattern %r" % pattern, file=sys.stderr)

    # Entry points: each raises PolicyViolation before anything of the step ran.

    def sql(self, session, sql):
        """The DataFrame of a step's query, once its parsed and analyzed plans passed the checks."""
        from pyspark.sql import DataFrame

        jss = session._jsparkSession
        parsed = jss.sessionState().sqlParser().parsePlan(sql)
        self._check(self._describe(parsed), parsed=True)
        mode = session.sparkContext._jvm.org.apache.spark.sql.execution.CommandExecutionMode.SKIP()
        # SKIP: analyzing runs no command (and the parsed plan had none); the checked plan is the one that runs.
        analyzed = jss.sessionState().executePlan(parsed, mode).analyzed()
        self._check(self._describe(analyzed), parsed=False)
        return DataFrame(session.sparkContext._jvm.org.apache.spark.sql.classic.Dataset.ofRows(jss, analyzed), session)

    def action(self, session, sql):
        """Runs an `action` step's statement: a CACHE TABLE of a view, the one command a plan may hold."""
        records = self._describe(session._jsparkSession.sessionState().sqlParser().parsePlan(sql))
        plans = [r for r in records if r[0] == "P"]
        root, rest = (plans[0], plans[1:]) if plans else (None, [])
        simple = root[2].rsplit(".", 1)[-1] if root else ""
        single_view = (
            len(rest) == 1
            and rest[0][2].endswith(".UnresolvedRelation")
            and len(rest[0][4][0].split("\0")) == 1
        )
        if simple != "CacheTable" or not single_view:
            raise PolicyViolation("command", "an action step may only cache a view (CACHE [LAZY] TABLE view)")
        self._check([r for r in records if r is not root], parsed=True)
        return session.sql(sql)

    def loaded(self, df):
        """Checks what a source the runner read itself resolved to (files, JDBC) before any row of it is used."""
        self._check(self._describe(df._jdf.queryExecution().analyzed()), parsed=False)

    def source(self, step, options):
        """Checks a `read` step's paths and JDBC URL before the source is opened."""
        source = step.get("source") or {}
        self._check_io(source.get("format"), source.get("path"), options, "read-roots", self.read_roots)

    def target(self, step, options):
        """Checks a `write` step's paths and JDBC URL before anything is written."""
        target = step.get("target") or {}
        self._check_io(target.get("format"), target.get("path"), options, "write-roots", self.write_roots)

    # The rules

    def _describe(self, plan):
        started = time.perf_counter()
        try:
            return json.loads(self.walker.describe(plan))
        finally:
            self.seconds += time.perf_counter() - started

    def _check(self, records, parsed):
        started = time.perf_counter()
        try:
            for kind, _depth, cls, flags, details in records:
                simple = cls.rsplit(".", 1)[-1]
                if kind == "P":
                    self._check_plan_node(simple, flags, details, parsed)
                elif kind == "E":
                    self._check_expression(cls, simple, details)
                elif kind == "R" and self.policy is not None:
                    self._check_relation(details)
        finally:
            self.seconds += time.perf_counter() - started

    def _check_plan_node(self, simple, flags, details, parsed):
        if flags == "C" or simple in COMMAND_NAMES or simple.endswith("Command") or "ExecuteImmediate" in simple:
            raise PolicyViolation("command", "the SQL is a command (%s), not a query" % simple)
        if "ScriptTransformation" in simple:
            raise PolicyViolation("script-transformation", "the SQL runs a script (TRANSFORM ... USING)")
        if not parsed or self.policy is None:
            return
        if simple == "UnresolvedRelation" and details:
            self._check_sql_file(details[0].split("\0"))
        elif simple == "PlanWithUnresolvedIdentifier" and details:
            self._check_sql_file(split_identifier(details[0]))
        elif simple == "UnresolvedTableValuedFunction" and details:
            self._check_function_name(details[0].split("\0")[-1])

    def _check_expression(self, cls, simple, details):
        if simple in REFLECTION_CLASSES:
            raise PolicyViolation("reflection", "the SQL calls a Java method (%s)" % simple)
        if simple in INVOKE_CLASSES and not (details and SPARK_CLASS.search(details[0])):
            raise PolicyViolation("reflection", "the SQL calls Java code outside Spark (%s)" % simple)
        if simple == "UnresolvedFunction" and details:
            self._check_function_name(details[0].split("\0")[-1])
        elif simple == "ExpressionWithUnresolvedIdentifier" and details:
            self._check_function_name(split_identifier(details[0])[-1])
        elif self.denied and cls in self._denied_function_classes():
            name = self._denied_function_classes()[cls]
            raise PolicyViolation("denied-function", "the SQL calls %s (under this or another of its names)" % name)

    def _check_function_name(self, name):
        lower = name.strip("`").lower()
        if lower in REFLECTION_FUNCTIONS:
            raise PolicyViolation("reflection", "the SQL calls %s" % lower)
        if lower in self.denied:
            raise PolicyViolation("denied-function", "the SQL calls %s" % lower)

    def _denied_function_classes(self):
        # A denied function's expression class: its other names (aliases) resolve to the same class.
        if self._denied_classes is None:
            classes = {}
            for name in sorted(self.denied):
                if name not in _function_classes:
                    try:
                        _function_classes[name] = self.session.catalog.getFunction(name).className
                    except Exception:  # noqa: BLE001 - not a function Spark knows: nothing to resolve to
                        _function_classes[name] = None
                if _function_classes[name]:
                    classes[_function_classes[name]] = name
            self._denied_classes = classes
        return self._denied_classes

    def _check_sql_file(self, parts):
        # `csv`.`/data/in.csv`: Spark reads the file when it analyzes the query, so it is checked before that.
        if len(parts) < 2:
            return
        name, container = parts[-1], parts[-2].lower()
        if container in FILE_FORMATS or "/" in name or ":" in name or "." in container:
            self._check_path(name, "read-roots", self.read_roots)

    def _check_relation(self, details):
        for detail in details:
            key, _, value = detail.partition(":")
            if key in ("root", "file", "path"):
                self._check_path(value, "read-roots", self.read_roots)
            elif key == "paths":
                try:
                    paths = json.loads(value)
                except ValueError:
                    paths = [value]
                for path in paths if isinstance(paths, list) else [paths]:
                    self._check_path(str(path), "read-roots", self.read_roots)
            elif key == "jdbc":
                self._check_jdbc(value)

    def _check_io(self, fmt, path, options, rule, roots):
        if self.policy is None:
            return
        started = time.perf_counter()
        try:
            paths = [path] if path else []
            for key, value in options.items():
                lower = key.lower()
                if lower == "path":
                    paths.append(value)
                elif lower == "paths":
                    try:
                        listed = json.loads(value)
                    except ValueError:
                        listed = [value]
                    paths.extend(str(p) for p in (listed if isinstance(listed, list) else [listed]))
                elif lower == "url" and ("jdbc" in str(fmt or "").lower() or str(value).lower().startswith("jdbc:")):
                    self._check_jdbc(value)
            for p in paths:
                self._check_path(p, rule, roots)
        finally:
            self.seconds += time.perf_counter() - started

    def _check_path(self, path, rule, roots):
        key = (path, rule)
        verdict = self._verdicts.get(key)
        if verdict is None:
            location = data_location(path)
            if location[0] is None:
                verdict = "%s is %s" % (path, location[1])
            elif not inside(location, roots):
                shown = location[1] if location[1] == path else "%s (%s)" % (path, location[1])
                verdict = "%s is outside the %s" % (shown, "read roots" if rule == "read-roots" else "write roots")
            else:
                verdict = ""
            self._verdicts[key] = verdict
        if verdict:
            allowed = [root for _, root in roots]
            fix = "%s: %s" % (POLICY_RULES[rule][1], ", ".join(allowed) if allowed else "(none)")
            raise PolicyViolation(rule, verdict, fix)

    def _check_jdbc(self, url):
        if not any(p.fullmatch(str(url)) for p in self.jdbc_patterns):
            # The URL is not quoted: it may hold a password.
            raise PolicyViolation("jdbc-url", "the JDBC URL is not one the execution policy allows")


# ---------------------------------------------------------------------------------------------------------------------
# Steps


def resolve_options(options, secrets):
    resolved = {}
    for key, value in (options or {}).items():
        if isinstance(value, dict) and "$secret" in value:
            # Secret references are resolved here, at run time, from the secrets handed to this driver (the ones its
            # plan references): plans, documents and logs only ever hold the reference.
            name = str(value["$secret"])
            secret = (secrets or {}).get(name)
            if secret is None:
                raise StepError(
                    "UNRESOLVED_SECRET",
                    "option %r references secret %r, which the server does not know: set SPARKLE_SECRET_%s in the "
                    "environment of the server or worker" % (key, name, name),
                )
            resolved[key] = secret
            continue
        resolved[key] = str(value)
    return resolved


def read_source(ctx, step, limit):
    source = step.get("source") or {}
    if not source.get("format"):
        raise StepError("INVALID_PLAN", "read step has no source format")
    options = resolve_options(source.get("options"), ctx.secrets)
    ctx.guard.source(step, options)
    reader = ctx.session.read.format(source["format"])
    if source.get("schema"):
        reader = reader.schema(source["schema"])
    if options:
        reader = reader.options(**options)
    df = reader.load(source["path"]) if source.get("path") else reader.load()
    ctx.guard.loaded(df)
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


def write_rows(ctx, step):
    """Writes the step's rows; returns the number written when Spark reports it without extra work, else None."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    target = step.get("target") or {}
    if not target.get("format"):
        raise StepError("INVALID_PLAN", "write step has no target format")
    options = resolve_options(target.get("options"), ctx.secrets)
    ctx.guard.target(step, options)
    observation = Observation("sparkle_rows_written")
    df = ctx.guard.sql(ctx.session, step["sql"]).observe(observation, F.count(F.lit(1)).alias("rows"))
    writer = df.write.format(target["format"]).mode(target.get("mode", "errorifexists"))
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


def read_sample(ctx, step):
    """The source's first rows as a local relation: Spark folds filters and projections over it without running jobs."""
    from pyspark.sql import DataFrame

    session, samples = ctx.session, ctx.samples
    # Checked before the sample cache looks at the files: a sample kept for another request is no way around a rule.
    ctx.guard.source(step, resolve_options((step.get("source") or {}).get("options"), ctx.secrets))
    cap = ctx.sample_rows if step.get("limit") is None else min(int(step["limit"]), ctx.sample_rows)
    key = samples.key(step, cap) if samples is not None else None
    cached = samples.get(key) if key is not None else None
    if cached is None:
        df = read_source(ctx, step, cap)
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
    """What a step handler gets besides its step: the Spark session, the plan checks, the secrets the plan references
    and the parameters of the mode it runs in."""

    def __init__(self, session, mode, guard, secrets=None, emit=None, limit=None, sample_rows=None, samples=None):
        self.session = session
        self.mode = mode  # "batch" or "preview"
        self.guard = guard  # a PlanGuard: every query and every source and sink goes through it
        self.secrets = secrets or {}  # secret values by name, only the ones the plan references
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
    df = ctx.guard.sql(ctx.session, step["sql"])
    df.createOrReplaceTempView(step["view"])
    return StepOutcome(df, views=[step["view"]])


def read_whole_source(ctx, step):
    df = read_source(ctx, step, step.get("limit"))
    df.createOrReplaceTempView(step["view"])
    return StepOutcome(df, views=[step["view"]])


def read_source_sample(ctx, step):
    df = read_sample(ctx, step)
    df.createOrReplaceTempView(step["view"])
    return StepOutcome(df, views=[step["view"]])


def run_action(ctx, step):
    ctx.guard.action(ctx.session, step["sql"]).collect()
    return StepOutcome()


def report_rows(ctx, step):
    df = ctx.guard.sql(ctx.session, step["sql"])
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
    df = ctx.guard.sql(ctx.session, step["sql"])
    limit = ctx.limit if step.get("limit") is None else max(0, min(ctx.limit, int(step["limit"])))
    return StepOutcome(df, limit=limit)


def enforce_check(ctx, step):
    failed_rows = check_failed_rows(ctx.guard.sql(ctx.session, step["sql"]))
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
    return StepOutcome(rows=write_rows(ctx, step))


def relation_only(ctx, step):
    """Preview of a check or a sink: the rows of its query, without running it for its effect."""
    return StepOutcome(ctx.guard.sql(ctx.session, step["sql"]))


def preview_sink(ctx, step):
    """Preview of a sink: the rows it would write, once its target passed the checks a run would apply."""
    options = (step.get("target") or {}).get("options") or {}
    # A preview never writes: a secret it was not handed is left out here (a run checks the value).
    known = {k: v for k, v in options.items() if not (isinstance(v, dict) and str(v.get("$secret")) not in ctx.secrets)}
    ctx.guard.target(step, resolve_options(known, ctx.secrets))
    return relation_only(ctx, step)


def preview_action(ctx, step):
    """Preview of an action (a view cached because several nodes read it): cached for the request only."""
    return StepOutcome(ctx.guard.action(ctx.session, step["sql"]))


class StepKind:
    def __init__(self, defines_view, batch, preview):
        self.defines_view = defines_view
        self.handlers = {"batch": batch, "preview": preview}


STEP_KINDS = {
    #                  defines a view  batch              preview
    "view": StepKind(True, define_view, define_view),
    "read": StepKind(True, read_whole_source, read_source_sample),
    "action": StepKind(False, run_action, preview_action),
    "query": StepKind(False, report_rows, preview_query),
    "check": StepKind(False, enforce_check, relation_only),
    "write": StepKind(False, write_sink, preview_sink),
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
    event = redact(dict(event))
    event["ts"] = int(time.time() * 1000)
    line = json.dumps(event, default=str, separators=(",", ":"), allow_nan=False) + "\n"
    with _events_lock:
        if _final_written:
            return
        _events.write(line)
        _events.flush()
        if event["type"] in ("succeeded", "failed"):
            _final_written = True


def task_counts(spark):
    """The application's completed and total tasks so far, counted as Spark's monitoring REST API counts them (per job,
    skipped tasks of reused stages left out of both), from the driver's status store: the final counts of a run,
    which nothing can ask for once the application stopped. Empty when Spark cannot say (e.g. its JVM is gone)."""
    try:
        sc = spark.sparkContext
        jobs = sc._jvm.scala.jdk.javaapi.CollectionConverters.asJava(sc._jsc.sc().statusStore().jobsList(None))
        completed = total = 0
        for job in jobs:
            completed += job.numCompletedTasks()
            total += max(0, job.numTasks() - job.numSkippedTasks())
        return {"completedTasks": completed, "totalTasks": total}
    except Exception:  # noqa: BLE001 - the counts are optional; the run's result is not
        return {}


# ---------------------------------------------------------------------------------------------------------------------
# Metrics: what each step's Spark jobs did and what the application used, from the driver's status store (the figures
# Spark's UI shows). Nothing is counted again: every figure is one Spark already keeps for its stages and executors.


def step_tag(index):
    """The job tag of every Spark job a batch step runs: how its figures are told apart from other steps'."""
    return "sparkle-step-%d" % index


class StatusStore:
    """The driver's status store (AppStatusStore) through py4j, once the listener bus delivered what happened so far:
    jobs, stages and executors are recorded by a listener, after the action that ran them returned."""

    def __init__(self, spark, wait_ms=10000):
        sc = spark.sparkContext
        jsc = sc._jsc.sc()
        try:
            jsc.listenerBus().waitUntilEmpty(wait_ms)
        except Exception:  # noqa: BLE001 - a busy bus leaves the last figures a little behind; still worth reporting
            pass
        self.store = jsc.statusStore()
        self._as_java = sc._jvm.scala.jdk.javaapi.CollectionConverters.asJava

    def _list(self, seq):
        return list(self._as_java(seq))

    def jobs(self):
        return self._list(self.store.jobsList(None))

    def stages(self):
        """Every attempt of every stage the store keeps."""
        store = self.store
        return self._list(
            store.stageList(None, False, False, getattr(store, "stageList$default$4")(),
                            getattr(store, "stageList$default$5")())
        )

    def stage_attempts(self, stage_id):
        store = self.store
        return self._list(
            store.stageData(stage_id, False, getattr(store, "stageData$default$3")(), False,
                            getattr(store, "stageData$default$5")())
        )

    def executors(self):
        """Every executor the application had (removed ones too)."""
        return self._list(self.store.executorList(False))


def step_metrics(spark, tag, counted_stages):
    """What the Spark jobs tagged `tag` did: rows and bytes their stages read, bytes they wrote, their tasks' run time
    and how many jobs there were. A stage is counted once, by the first step whose job ran it (a later job that reuses
    its shuffle output lists it as skipped); `counted_stages` holds the stages counted so far and is updated. Empty
    when the step ran no job (a lazy view) or Spark cannot say."""
    try:
        status = StatusStore(spark)
        jobs = [job for job in status.jobs() if tag in status._list(job.jobTags())]
        if not jobs:
            return {}
        metrics = {"rowsIn": 0, "bytesRead": 0, "bytesWritten": 0, "taskMs": 0, "jobs": len(jobs)}
        stage_ids = sorted({int(s) for job in jobs for s in status._list(job.stageIds())} - counted_stages)
        for stage_id in stage_ids:
            for stage in status.stage_attempts(stage_id):
                metrics["rowsIn"] += stage.inputRecords()
                metrics["bytesRead"] += stage.inputBytes()
                metrics["bytesWritten"] += stage.outputBytes()
                metrics["taskMs"] += stage.executorRunTime()
            counted_stages.add(stage_id)
        return metrics
    except Exception:  # noqa: BLE001 - the figures are optional; the step's result is not
        return {}


def usage(spark, wait_ms=10000):
    """What the application used so far: its executors and their cores, the core-seconds they were allocated for
    (what a cluster bills), the task and CPU time its stages spent, the peak memory of an executor and the bytes its
    stages read, wrote and shuffled. In local mode the driver is the only executor. None when Spark cannot say."""
    try:
        status = StatusStore(spark, wait_ms)
        everyone = status.executors()
        # On a cluster the driver is listed too, without cores; in local mode it is the executor.
        executors = [e for e in everyone if e.id() != "driver"] or everyone
        now_ms = time.time() * 1000
        core_ms = 0.0
        peak = None
        for e in executors:
            removed = e.removeTime()
            until = removed.get().getTime() if removed.isDefined() else now_ms
            core_ms += e.totalCores() * max(0.0, until - e.addTime().getTime())
            metrics = e.peakMemoryMetrics()
            if metrics.isDefined():
                memory = metrics.get().getMetricValue("JVMHeapMemory") + metrics.get().getMetricValue(
                    "JVMOffHeapMemory"
                )
                # Sampled at heartbeats (every 10 s by default): 0 until the first sample.
                if memory > 0:
                    peak = memory if peak is None else max(peak, memory)
        totals = {"run": 0, "cpu": 0, "in": 0, "out": 0, "shuffleRead": 0, "shuffleWrite": 0, "execPeak": None}
        for stage in status.stages():
            totals["run"] += stage.executorRunTime()
            totals["cpu"] += stage.executorCpuTime()
            totals["in"] += stage.inputBytes()
            totals["out"] += stage.outputBytes()
            totals["shuffleRead"] += stage.shuffleReadBytes()
            totals["shuffleWrite"] += stage.shuffleWriteBytes()
            totals["execPeak"] = max(totals["execPeak"] or 0, stage.peakExecutionMemory())
        event = {
            "type": "usage",
            "executors": len(executors),
            "cores": sum(e.totalCores() for e in executors),
            "coreSeconds": round(core_ms / 1000, 3),
            "taskSeconds": round(totals["run"] / 1000, 3),
            "cpuSeconds": round(totals["cpu"] / 1e9, 3),
            "inputBytes": totals["in"],
            "outputBytes": totals["out"],
            "shuffleReadBytes": totals["shuffleRead"],
            "shuffleWriteBytes": totals["shuffleWrite"],
        }
        if not peak and all(e.id() == "driver" for e in executors):
            # Local mode, before the first heartbeat sampled it: the driver is the executor, so ask its JVM.
            peak = driver_jvm_peak_memory(spark)
        peak = peak or totals["execPeak"]
        if peak:
            event["peakMemoryBytes"] = peak
        return event
    except Exception:  # noqa: BLE001 - the figures are optional; the run's result is not
        return None


def driver_jvm_peak_memory(spark):
    """The driver JVM's peak memory (heap and non-heap pools, each at its own peak), or None when it cannot say."""
    try:
        pools = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
        return sum(pool.getPeakUsage().getUsed() for pool in pools if pool.getPeakUsage() is not None) or None
    except Exception:  # noqa: BLE001 - the figure is optional
        return None


_usage_written = False
_spark = None  # the batch run's session, for a usage event when the driver is terminated


def emit_usage(spark, within=None):
    """Writes the run's `usage` event, once, right before its final event, when Spark can still say. With `within`
    (seconds), asks from another thread and gives up after that long: a signal handler interrupted this thread, maybe
    in the middle of a call to the JVM, and the JVM may be stopping too."""
    global _usage_written
    if spark is None or _usage_written:
        return
    if within is None:
        event = usage(spark)
    else:
        answer = []
        thread = threading.Thread(target=lambda: answer.append(usage(spark, wait_ms=500)), daemon=True)
        thread.start()
        thread.join(within)
        event = answer[0] if answer else None
    if event is not None:
        _usage_written = True
        emit(event)


def run_steps(spark, steps, policy=None, secrets=None):
    global _running_node, _usage_written
    _usage_written = False
    ctx = StepContext(spark, "batch", PlanGuard(spark, policy), secrets, emit=emit)
    counted_stages = set()
    for index, step in enumerate(steps):
        node_id = step.get("nodeId")
        _running_node = node_id
        emit({"type": "step_started", "nodeId": node_id, "index": index, "kind": step.get("kind")})
        started = time.time()
        checked = ctx.guard.seconds
        tagged = tag_jobs(spark, step_tag(index))
        try:
            outcome = run_step(ctx, step)
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its node
            counts = task_counts(spark)
            emit_usage(spark)
            emit({"type": "failed", "nodeId": node_id, **error_fields(exc), **counts})
            print_traceback()
            return False
        finally:
            if tagged:
                untag_jobs(spark, step_tag(index))
        finished = {
            "type": "step_finished",
            "nodeId": node_id,
            "index": index,
            "durationMs": int((time.time() - started) * 1000),
            "checksMs": round((ctx.guard.seconds - checked) * 1000, 3),
        }
        if outcome.rows is not None:
            finished["rows"] = outcome.rows
        if tagged:
            finished.update(step_metrics(spark, step_tag(index), counted_stages))
        emit(finished)
        _running_node = None
    return True


def tag_jobs(spark, tag):
    """Tags the Spark jobs this thread starts from now on (False when Spark cannot, e.g. an older stand-in)."""
    try:
        spark.sparkContext.addJobTag(tag)
        return True
    except Exception:  # noqa: BLE001 - without the tag the step's figures are left out, nothing else
        return False


def untag_jobs(spark, tag):
    try:
        spark.sparkContext.removeJobTag(tag)
    except Exception:  # noqa: BLE001 - a JVM that is gone tags nothing any more
        pass


def on_terminate(signum, _frame):
    event = {
        "type": "failed",
        "errorClass": "TERMINATED",
        "message": "the driver was terminated by signal %d (%s)" % (signum, signal.Signals(signum).name),
    }
    if _running_node is not None:
        event["nodeId"] = _running_node
    # A cancelled or timed-out run used the cluster too.
    emit_usage(_spark, within=2.0)
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


def prepare_plan_checks():
    """Compiles the plan walker in the background while Spark starts (or while a warm driver waits for its job)."""
    from pyspark import SparkContext

    SparkContext._ensure_initialized()

    def compile_walker():
        try:
            plan_walker(SparkContext._jvm, SparkContext._gateway)
        except Exception:  # noqa: BLE001 - compiled again, and reported, when the first step is checked
            print_traceback()

    thread = threading.Thread(target=compile_walker, daemon=True)
    thread.start()
    return thread


def run_batch(args):
    global _events, _spark
    _events = open(args.events, "a", encoding="utf-8")
    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGINT, on_terminate)

    spark = None
    app_start = time.time() * 1000
    ok = False
    try:
        from pyspark.sql import SparkSession

        checks_ready = prepare_plan_checks()
        if args.wait_for_plan and not wait_for_plan(args.plan, args.wait_for_plan):
            _events.close()
            os._exit(0)
        with open(args.plan, encoding="utf-8") as fh:
            plan = json.load(fh)
        # At once: the file exists no longer than it takes Spark to start.
        secrets = read_secrets_file(args.secrets_file)
        builder = SparkSession.builder
        # Configuration decided when the job was assigned to a driver started ahead of it (see wait_for_plan).
        if args.conf_file and os.path.exists(args.conf_file):
            with open(args.conf_file, encoding="utf-8") as fh:
                for key, value in json.load(fh).items():
                    builder = builder.config(key, str(value))
        spark = _spark = builder.getOrCreate()
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
        checks_ready.join()
        ok = run_steps(spark, plan.get("steps") or [], plan.get("policy"), secrets)
    except BaseException as exc:  # noqa: BLE001 - never a silent failure
        emit_usage(spark)
        emit({"type": "failed", **error_fields(exc)})
        print_traceback()
        ok = False
    finally:
        counts = task_counts(spark) if spark is not None and ok else {}
        # Before Spark stops: its status store goes with it. A failed run wrote its usage before its failed event.
        if ok:
            emit_usage(spark)
        if spark is not None:
            try:
                spark.stop()
            except Exception:  # noqa: BLE001
                print_traceback()
        if ok:
            emit({"type": "succeeded", "durationMs": int(time.time() * 1000 - app_start), **counts})
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


def preview_plan(session, plan, limit, sample_rows, is_cancelled, samples=None, guard=None, secrets=None):
    steps = plan.get("steps") or []
    answering = answer_steps(steps)
    view_owner = {}
    for step in steps:
        if defines_view(step):
            view_owner[normalize_name(step["view"])] = step.get("nodeId")

    guard = guard or PlanGuard(session, plan.get("policy"))
    ctx = StepContext(session, "preview", guard, secrets, limit=limit, sample_rows=sample_rows, samples=samples)
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
            error = error_fields(exc)
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

    # Read and removed before Spark starts: no query can reach it, and it is in no environment.
    token = read_token_file(args.token_file)
    host, _, port = args.serve.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("r", encoding="utf-8", newline="\n")
    send_lock = threading.Lock()

    def send(message):
        data = (json.dumps(redact(message), default=str, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
        with send_lock:
            sock.sendall(data)

    send({"type": "hello", "token": token})
    del token

    spark = SparkSession.builder.getOrCreate()
    sc = spark.sparkContext
    # Per-job INFO lines cost time on every preview; warnings and errors still reach the session's log.
    sc.setLogLevel("WARN")
    # The plan checks are compiled now rather than in the first request.
    plan_walker(sc._jvm, sc._gateway)
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
                # Only the secrets this plan references, for this request only; redacted from all that follows.
                secrets = {str(k): str(v) for k, v in (request.get("secrets") or {}).items()}
                remember_secrets(secrets.values())
                guard = PlanGuard(session, plan.get("policy"))
                nodes = preview_plan(
                    session, plan, limit, sample_rows, lambda: is_cancelled(request_id), samples, guard, secrets
                )
                if is_cancelled(request_id):
                    raise Cancelled()
                send({
                    "type": "result",
                    "id": request_id,
                    "nodes": nodes,
                    "durationMs": int((time.time() - started) * 1000),
                    "checksMs": round(guard.seconds * 1000, 3),
                })
            except Cancelled:
                send({"type": "cancelled", "id": request_id})
            except DriverLost:
                os._exit(70)
            except Exception as exc:  # noqa: BLE001 - a broken request never takes the driver down
                print_traceback()
                send({"type": "error", "id": request_id, **error_fields(exc)})
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
    parser.add_argument("--secrets-file", help="JSON object of the secrets the plan references; removed once read")
    parser.add_argument("--token-file", help="the preview session's token; removed once read")
    args = parser.parse_args()
    # Before anything else writes: a secret value never reaches the driver's log.
    sys.stdout = RedactingStream(sys.stdout)
    sys.stderr = RedactingStream(sys.stderr)
    if args.serve:
        serve(args)
    elif args.plan and args.events:
        run_batch(args)
    else:
        parser.error("either --plan and --events, or --serve, is required")


if __name__ == "__main__":
    main()
