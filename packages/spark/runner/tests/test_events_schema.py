"""The runner's side of runner/events.schema.json: every event and serve message it writes matches the schema.

Standard library only (run by src/events-schema.test.ts with the project's Python):
    python runner/tests/test_events_schema.py

Spark is not needed: a stand-in `pyspark` package (written to a temporary folder and put first on the path) answers
the few calls the runner makes, so that the runner's own code writes each kind of event, in batch mode (in this
process and as a subprocess) and in serve mode (a subprocess connected to a socket of this test).
"""

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

RUNNER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(RUNNER_DIR, "sparkle_runner.py")
with open(os.path.join(RUNNER_DIR, "events.schema.json"), encoding="utf-8") as _fh:
    SCHEMA = json.load(_fh)


# ---------------------------------------------------------------------------------------------------------------------
# A validator for the part of JSON Schema the schema uses


def _is_type(value, name):
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise ValueError("unsupported type %r" % (name,))


def _same(a, b):
    # JSON equality: true is not 1.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


SUPPORTED = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "required", "properties", "enum",
             "const", "oneOf", "anyOf", "items", "additionalProperties"}


def validate(value, schema, root=SCHEMA, path="$"):
    """The errors of `value` against `schema` (a list of strings, empty when it is valid)."""
    unknown = set(schema) - SUPPORTED
    if unknown:
        raise ValueError("the test validator does not support %s" % sorted(unknown))
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            raise ValueError("unsupported $ref %r" % ref)
        return validate(value, root["$defs"][ref[len("#/$defs/"):]], root, path)
    errors = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, n) for n in names):
            return ["%s: expected %s, got %s" % (path, "|".join(names), json.dumps(value)[:80])]
    if "const" in schema and not _same(value, schema["const"]):
        errors.append("%s: expected %s" % (path, json.dumps(schema["const"])))
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        errors.append("%s: expected one of %s" % (path, json.dumps(schema["enum"])))
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append("%s: missing %s" % (path, key))
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                errors.extend(validate(item, properties[key], root, "%s.%s" % (path, key)))
            elif schema.get("additionalProperties") is False:
                errors.append("%s: unexpected property %s" % (path, key))
            elif isinstance(schema.get("additionalProperties"), dict):
                errors.extend(validate(item, schema["additionalProperties"], root, "%s.%s" % (path, key)))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors.extend(validate(item, schema["items"], root, "%s[%d]" % (path, i)))
    for keyword in ("oneOf", "anyOf"):
        if keyword in schema:
            results = [validate(value, option, root, path) for option in schema[keyword]]
            matches = sum(1 for r in results if not r)
            if matches == 0 or (keyword == "oneOf" and matches > 1):
                best = min(results, key=len) if matches == 0 else ["matches %d options" % matches]
                errors.append("%s: no single %s option matches (%s)" % (path, keyword, "; ".join(best)))
    return errors


def schema_types(definition):
    """The `type` constants of the options of a oneOf definition (runnerEvent, serveMessage)."""
    refs = [o["$ref"][len("#/$defs/"):] for o in SCHEMA["$defs"][definition]["oneOf"]]
    return {SCHEMA["$defs"][r]["properties"]["type"]["const"] for r in refs}


# ---------------------------------------------------------------------------------------------------------------------
# A stand-in pyspark

FAKE_PYSPARK = {
    "pyspark/__init__.py": """
        class SparkContext:
            _jvm = None
            _gateway = None

            @staticmethod
            def _ensure_initialized():
                from pyspark.sql import _GATEWAY, _JVM

                SparkContext._jvm, SparkContext._gateway = _JVM, _GATEWAY
    """,
    "pyspark/sql/functions.py": """
        class _Column:
            def alias(self, name):
                return self

        def count(_column):
            return _Column()

        def lit(_value):
            return _Column()
    """,
    "pyspark/sql/__init__.py": """
        import json
        import re
        import time
        import types


        class SparkError(Exception):
            def __init__(self, condition, message):
                super().__init__(message)
                self.condition = condition

            def getCondition(self):
                return self.condition


        class _Type:
            def __init__(self, name):
                self.name = name

            def simpleString(self):
                return self.name


        class _Field:
            def __init__(self, name, type_name):
                self.name, self.dataType, self.nullable = name, _Type(type_name), True


        class _Schema:
            def __init__(self, columns):
                self.columns = columns
                self.fields = [_Field(n, t) for n, t in columns]
                self.names = [n for n, _ in columns]


        class _JDF:
            def __init__(self, columns, rows):
                self.columns, self.rows = columns, rows

            def queryExecution(self):
                return types.SimpleNamespace(analyzed=lambda: _Plan(""))

            def collectAsList(self):
                return list(self.rows)

            def schema(self):
                return self.columns


        class _Writer:
            def __init__(self, df):
                self.df = df

            def format(self, _f):
                return self

            def mode(self, _m):
                return self

            def options(self, **_o):
                return self

            def partitionBy(self, *_c):
                return self

            def save(self, path=None):
                self.df._observed_rows = len(self.df._jdf.rows)


        class DataFrame:
            def __init__(self, jdf, session):
                self._jdf, self.session = jdf, session
                self.schema = _Schema(jdf.columns)

            def limit(self, n):
                return DataFrame(_JDF(self._jdf.columns, self._jdf.rows[:n]), self.session)

            def collect(self):
                return [tuple(r) for r in self._jdf.rows]

            def select(self, *names):
                idx = [self.schema.names.index(n) for n in names]
                columns = [self._jdf.columns[i] for i in idx]
                return DataFrame(_JDF(columns, [tuple(r[i] for i in idx) for r in self._jdf.rows]), self.session)

            def createOrReplaceTempView(self, name):
                self.session.views[name] = self

            def observe(self, observation, *_exprs):
                observation._df = self
                return self

            @property
            def write(self):
                return _Writer(self)


        class Observation:
            def __init__(self, name):
                self._df = None
                self._jo = types.SimpleNamespace(future=lambda: types.SimpleNamespace(isCompleted=lambda: True))

            @property
            def get(self):
                return {"rows": self._df._observed_rows}


        class _Reader:
            def __init__(self, session):
                self.session = session

            def format(self, _f):
                return self

            def schema(self, _s):
                return self

            def options(self, **_o):
                return self

            def load(self, path=None):
                rows = [(i, "r%d" % i) for i in range(5)]
                return DataFrame(_JDF([("id", "int"), ("name", "string")], rows), self.session)


        class _Conf:
            def isModifiable(self, _key):
                return True

            def set(self, _key, _value):
                pass


        class _Catalog:
            def listTables(self):
                return []


        # What the runner's plan checks ask the JVM, answered from the SQL text: CACHE is the runner's one command,
        # REFLECT a call of a Java method; RAISE fails at analysis.
        class _Plan:
            def __init__(self, text):
                self.text = text


        class _Walker:
            def markerCount(self):
                return 4

            def describe(self, plan):
                text = plan.text.upper()
                if text.startswith("CACHE"):
                    return json.dumps([["P", 0, "x.CacheTable", "C", []], ["P", 1, "x.UnresolvedRelation", "", ["v"]]])
                records = [["P", 0, "x.Project", "", []]]
                if "REFLECT" in text:
                    records.append(["E", 1, "x.CallMethodViaReflection", "", []])
                return json.dumps(records)


        class _Compiler:
            def setParentClassLoader(self, _loader):
                pass

            def cook(self, _source):
                pass

            def getClassLoader(self):
                ctor = types.SimpleNamespace(newInstance=lambda _args: _Walker())
                cls = types.SimpleNamespace(getConstructors=lambda: [ctor])
                return types.SimpleNamespace(loadClass=lambda _name: cls)


        def _analyze(plan, _mode):
            m = re.search(r"RAISE (\\S+)", plan.text)
            if m:
                raise SparkError(m.group(1), "[%s] the stand-in Spark says no. SQLSTATE: 42000" % m.group(1))
            return types.SimpleNamespace(analyzed=lambda: plan)


        _JVM = types.SimpleNamespace(
            java=types.SimpleNamespace(
                lang=types.SimpleNamespace(System=types.SimpleNamespace(nanoTime=lambda: 1), Object=object)
            ),
            org=types.SimpleNamespace(
                codehaus=types.SimpleNamespace(janino=types.SimpleNamespace(SimpleCompiler=_Compiler)),
                apache=types.SimpleNamespace(
                    spark=types.SimpleNamespace(
                        sql=types.SimpleNamespace(
                            SparkSession=types.SimpleNamespace(
                                _java_lang_class=types.SimpleNamespace(getClassLoader=lambda: None),
                                setActiveSession=lambda _s: None,
                            ),
                            execution=types.SimpleNamespace(
                                CommandExecutionMode=types.SimpleNamespace(SKIP=lambda: "SKIP")
                            ),
                            classic=types.SimpleNamespace(
                                Dataset=types.SimpleNamespace(ofRows=lambda jss, plan: jss.result(plan.text))
                            ),
                        )
                    )
                ),
            ),
        )
        _CONVERTERS = types.SimpleNamespace(asJava=list)
        _JVM.scala = types.SimpleNamespace(
            jdk=types.SimpleNamespace(javaapi=types.SimpleNamespace(CollectionConverters=_CONVERTERS))
        )
        _GATEWAY = types.SimpleNamespace(new_array=lambda _cls, n: [None] * n)


        def _option(value=None):
            return types.SimpleNamespace(isDefined=lambda: value is not None, get=lambda: value)


        def _date(ms):
            return types.SimpleNamespace(getTime=lambda: ms)


        class _Stage:
            # One stage of the write step (index 5 of ALL_KINDS), with the figures the runner sums.
            def __getattr__(self, name):
                return lambda: 7


        class _StatusStore:
            def jobsList(self, _statuses):
                job = types.SimpleNamespace(
                    jobTags=lambda: ["spark-session-1", "sparkle-step-5"], stageIds=lambda: [0],
                    numCompletedTasks=lambda: 1, numTasks=lambda: 1, numSkippedTasks=lambda: 0,
                )
                return [job]

            def stageList(self, *_args):
                return [_Stage()]

            def stageData(self, _stage_id, *_args):
                return [_Stage()]

            def executorList(self, _active_only):
                metrics = types.SimpleNamespace(getMetricValue=lambda _name: 1000)
                driver = types.SimpleNamespace(
                    id=lambda: "driver", totalCores=lambda: 1, addTime=lambda: _date(_Context.startTime),
                    removeTime=_option, peakMemoryMetrics=lambda: _option(metrics),
                )
                return [driver]

            def __getattr__(self, name):
                # The defaults of the store's optional parameters (stageList$default$4, ...).
                return lambda: None


        _JSC = types.SimpleNamespace(
            listenerBus=lambda: types.SimpleNamespace(waitUntilEmpty=lambda _ms: None),
            statusStore=_StatusStore,
        )


        class _Context:
            applicationId = "local-1700000000000"
            uiWebUrl = None
            master = "local[1]"
            appName = "fake"
            startTime = int(time.time() * 1000)
            _jvm = _JVM
            _gateway = _GATEWAY
            _jsc = types.SimpleNamespace(sc=lambda: _JSC)

            def addJobTag(self, _tag):
                pass

            def removeJobTag(self, _tag):
                pass

            def setLogLevel(self, _level):
                pass

            def setJobGroup(self, *_args):
                pass

            def setLocalProperty(self, *_args):
                pass

            def cancelJobGroup(self, _group):
                pass


        class _JSession:
            def createDataFrame(self, rows, columns):
                return _JDF(columns, rows)

            def sessionState(self):
                parser = types.SimpleNamespace(parsePlan=_Plan)
                return types.SimpleNamespace(sqlParser=lambda: parser, executePlan=_analyze)

            def result(self, text):
                # SLEEP: runs until stopped; <N> AS failed_rows: a check's answer.
                if "SLEEP" in text:
                    time.sleep(600)
                m = re.search(r"(\\d+) AS failed_rows", text)
                if m:
                    return _JDF([("failed_rows", "bigint")], [(int(m.group(1)),)])
                rows = [(i, "x%d" % i, i * 1.5) for i in range(4)]
                return _JDF([("n", "bigint"), ("label", "string"), ("amount", "double")], rows)


        class SparkSession:
            def __init__(self):
                self.sparkContext = _Context()
                self.version = "4.3.0"
                self.conf = _Conf()
                self.catalog = _Catalog()
                self.read = _Reader(self)
                self.views = {}
                self._jsparkSession = _JSession()

            def sql(self, text):
                # Only the runner's own statements (CACHE TABLE of an action, DROP VIEW) still come this way.
                return DataFrame(self._jsparkSession.result(text), self)

            def newSession(self):
                return SparkSession()

            def stop(self):
                pass


        class _Builder:
            def config(self, _key, _value):
                return self

            def getOrCreate(self):
                return SparkSession()


        SparkSession.builder = _Builder()
    """,
}

# Every step kind, a failing-rows check that only warns, and a sink.
ALL_KINDS = [
    {"nodeId": "src", "kind": "read", "view": "`src`", "source": {"format": "csv", "path": "/nowhere/in.csv"}},
    {"nodeId": "v", "kind": "view", "view": "`v`", "sql": "SELECT * FROM `src`"},
    {"nodeId": "a", "kind": "action", "sql": "CACHE TABLE `v`"},
    {"nodeId": "q", "kind": "query", "sql": "SELECT * FROM `v`", "limit": 2},
    {"nodeId": "c", "kind": "check", "sql": "SELECT 3 AS failed_rows", "severity": "warn", "description": "few"},
    {"nodeId": "w", "kind": "write", "sql": "SELECT * FROM `v`", "target": {"format": "parquet", "path": "/nowhere"}},
]


def setUpModule():
    global FAKE_DIR, runner
    FAKE_DIR = tempfile.mkdtemp(prefix="sparkle-fake-pyspark-")
    for rel, text in FAKE_PYSPARK.items():
        path = os.path.join(FAKE_DIR, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(textwrap.dedent(text))
    sys.path.insert(0, FAKE_DIR)
    sys.path.insert(0, RUNNER_DIR)
    # No __pycache__ next to the runner: the runner folder is shipped as it is.
    sys.dont_write_bytecode = True
    import pyspark.sql  # noqa: F401, PLC0415 - the stand-in, now first on the path
    import sparkle_runner  # noqa: PLC0415

    runner = sparkle_runner


def tearDownModule():
    shutil.rmtree(FAKE_DIR, ignore_errors=True)


def subprocess_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = FAKE_DIR
    env.pop("PYSPARK_GATEWAY_PORT", None)
    env.update(extra)
    return env


SEEN = {"runnerEvent": set(), "serveMessage": set()}


class SchemaCase(unittest.TestCase):
    def assertValid(self, message, definition):
        errors = validate(message, {"$ref": "#/$defs/" + definition})
        self.assertEqual(errors, [], "%s does not match %s" % (json.dumps(message)[:400], definition))
        SEEN[definition].add(message["type"])


# ---------------------------------------------------------------------------------------------------------------------
# The tests


class TheValidator(unittest.TestCase):
    def test_rejects_what_the_schema_does_not_allow(self):
        ok = {"type": "failed", "ts": 1, "message": "m"}
        self.assertEqual(validate(ok, {"$ref": "#/$defs/runnerEvent"}), [])
        for bad in (
            {"type": "failed", "ts": 1},
            {"type": "failed", "ts": 1.5, "message": "m"},
            {"type": "failed", "ts": 1, "message": "m", "extra": True},
            {"type": "nope", "ts": 1, "message": "m"},
            {"type": "check", "ts": 1, "nodeId": "c", "severity": "fatal", "description": "d", "failedRows": 0},
        ):
            self.assertNotEqual(validate(bad, {"$ref": "#/$defs/runnerEvent"}), [], json.dumps(bad))


class BatchEvents(SchemaCase):
    def run_in_process(self, steps):
        out = io.StringIO()
        runner._events, runner._final_written = out, False
        try:
            # A failing step's traceback goes to stderr, for the job's log; not to this test's output.
            with contextlib.redirect_stderr(io.StringIO()):
                ok = runner.run_steps(sys.modules["pyspark.sql"].SparkSession(), steps)
        finally:
            runner._events = None
        return ok, [json.loads(line) for line in out.getvalue().splitlines()]

    def test_every_step_kind_reports_events_that_match(self):
        ok, events = self.run_in_process(ALL_KINDS)
        self.assertTrue(ok)
        for event in events:
            self.assertValid(event, "runnerEvent")
        types = [e["type"] for e in events]
        self.assertEqual(types.count("step_started"), len(ALL_KINDS))
        self.assertEqual(types.count("step_finished"), len(ALL_KINDS))
        self.assertIn("rows", types)
        self.assertIn("check", types)
        written = [e for e in events if e["type"] == "step_finished" and e["nodeId"] == "w"]
        self.assertEqual(written[0].get("rows"), 4)
        # The write step's jobs (the stand-in's status store tags one job with its index), one stage's figures.
        self.assertEqual(
            {k: written[0].get(k) for k in ("jobs", "rowsIn", "bytesRead", "bytesWritten", "taskMs")},
            {"jobs": 1, "rowsIn": 7, "bytesRead": 7, "bytesWritten": 7, "taskMs": 7},
        )
        # A step that ran no job says nothing of jobs.
        view = [e for e in events if e["type"] == "step_finished" and e["nodeId"] == "v"]
        self.assertNotIn("jobs", view[0])

    def test_a_failing_step_reports_its_node(self):
        ok, events = self.run_in_process([
            {"nodeId": "v", "kind": "view", "view": "v", "sql": "SELECT 1"},
            {"nodeId": "bad", "kind": "query", "sql": "RAISE UNRESOLVED_COLUMN.WITH_SUGGESTION"},
        ])
        self.assertFalse(ok)
        for event in events:
            self.assertValid(event, "runnerEvent")
        self.assertEqual(events[-1]["type"], "failed")
        self.assertEqual(events[-1]["nodeId"], "bad")
        self.assertEqual(events[-1]["errorClass"], "UNRESOLVED_COLUMN.WITH_SUGGESTION")

    def test_an_unknown_step_kind_fails_the_plan(self):
        ok, events = self.run_in_process([{"nodeId": "x", "kind": "teleport"}])
        self.assertFalse(ok)
        self.assertEqual(events[-1]["errorClass"], "INVALID_PLAN")
        self.assertValid(events[-1], "runnerEvent")

    def test_a_refused_step_reports_its_rule_and_fix(self):
        ok, events = self.run_in_process([{"nodeId": "r", "kind": "query", "sql": "SELECT reflect('a', 'b')"}])
        self.assertFalse(ok)
        self.assertValid(events[-1], "runnerEvent")
        failed = events[-1]
        self.assertEqual(
            (failed["nodeId"], failed["errorClass"], failed["rule"]), ("r", "POLICY_REFLECTION", "reflection")
        )
        self.assertIn("Fix: ", events[-1]["message"])
        ok, events = self.run_in_process([{"nodeId": "a", "kind": "action", "sql": "SELECT 1"}])
        self.assertEqual((events[-1]["errorClass"], events[-1]["rule"]), ("POLICY_COMMAND", "command"))

    def run_batch(self, steps, stop_after_s=None, secrets=None):
        with tempfile.TemporaryDirectory(prefix="sparkle-runner-test-") as folder:
            plan, events = os.path.join(folder, "plan.json"), os.path.join(folder, "events.jsonl")
            secrets_file = os.path.join(folder, "secrets.json")
            with open(plan, "w", encoding="utf-8") as fh:
                json.dump({"pipeline": "p", "mode": "run", "steps": steps, "conf": {"spark.sql.x": "1"}}, fh)
            if secrets is not None:
                with open(secrets_file, "w", encoding="utf-8") as fh:
                    json.dump(secrets, fh)
            open(events, "w", encoding="utf-8").close()
            proc = subprocess.Popen(
                [sys.executable, RUNNER, "--plan", plan, "--events", events, "--secrets-file", secrets_file],
                env=subprocess_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if stop_after_s is not None:
                give_up = time.time() + 30
                while time.time() < give_up and '"step_started"' not in open(events, encoding="utf-8").read():
                    time.sleep(0.05)
                time.sleep(stop_after_s)
                proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=60)
            self.assertFalse(os.path.exists(secrets_file), "the runner removes the secrets file once read")
            with open(events, encoding="utf-8") as fh:
                return proc.returncode, [json.loads(line) for line in fh.read().splitlines()], stderr.decode()

    def test_a_whole_run_starts_and_succeeds(self):
        code, events, stderr = self.run_batch(ALL_KINDS)
        self.assertEqual(code, 0, stderr)
        for event in events:
            self.assertValid(event, "runnerEvent")
        self.assertEqual(events[0]["type"], "started")
        self.assertEqual([e["type"] for e in events[-2:]], ["usage", "succeeded"])
        self.assertEqual((events[-2]["executors"], events[-2]["cores"], events[-2]["taskSeconds"]), (1, 1, 0.007))

    def test_a_failed_run_ends_with_one_failed_event(self):
        code, events, _ = self.run_batch([{"nodeId": "bad", "kind": "action", "sql": "RAISE PATH_NOT_FOUND"}])
        self.assertEqual(code, 1)
        for event in events:
            self.assertValid(event, "runnerEvent")
        self.assertEqual([e["type"] for e in events if e["type"] in ("succeeded", "failed")], ["failed"])
        self.assertEqual([e["type"] for e in events[-2:]], ["usage", "failed"])

    def test_secret_values_are_redacted_from_events_and_the_log(self):
        read = {"nodeId": "src", "kind": "read", "view": "`src`", "source": {"format": "csv", "path": "/in.csv",
                "options": {"password": {"$secret": "DB_PASSWORD"}}}}
        code, events, stderr = self.run_batch(
            [read, {"nodeId": "bad", "kind": "query", "sql": "RAISE hunter2-secret"}],
            secrets={"DB_PASSWORD": "hunter2-secret", "UNUSED": "other"},
        )
        self.assertEqual(code, 1)
        self.assertEqual(events[-1]["nodeId"], "bad")
        self.assertIn("***", events[-1]["message"])
        self.assertNotIn("hunter2-secret", json.dumps(events))
        self.assertNotIn("hunter2-secret", stderr)
        self.assertIn("***", stderr)

    def test_an_unknown_secret_says_which_one(self):
        read = {"nodeId": "src", "kind": "read", "view": "`src`", "source": {"format": "csv", "path": "/in.csv",
                "options": {"password": {"$secret": "NOPE"}}}}
        code, events, _ = self.run_batch([read], secrets={})
        self.assertEqual(code, 1)
        self.assertEqual((events[-1]["nodeId"], events[-1]["errorClass"]), ("src", "UNRESOLVED_SECRET"))
        self.assertIn("SPARKLE_SECRET_NOPE", events[-1]["message"])

    def test_a_terminated_run_says_so(self):
        code, events, _ = self.run_batch([{"nodeId": "slow", "kind": "query", "sql": "SLEEP"}], stop_after_s=0.2)
        self.assertEqual(code, 128 + signal.SIGTERM)
        for event in events:
            self.assertValid(event, "runnerEvent")
        self.assertEqual(events[-1]["errorClass"], "TERMINATED")
        self.assertEqual(events[-1]["nodeId"], "slow")
        self.assertEqual(events[-2]["type"], "usage")


class ServeMessages(SchemaCase):
    def test_hello_ready_and_every_answer_match(self):
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(60)
        port = server.getsockname()[1]
        token_dir = tempfile.mkdtemp(prefix="sparkle-token-")
        token_file = os.path.join(token_dir, "token")
        with open(token_file, "w", encoding="utf-8") as fh:
            fh.write("t0ken")
        proc = subprocess.Popen(
            [sys.executable, RUNNER, "--serve", "127.0.0.1:%d" % port, "--no-warm-up", "--token-file", token_file],
            env=subprocess_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            conn, _ = server.accept()
            conn.settimeout(60)
            reader = conn.makefile("r", encoding="utf-8")

            def receive():
                message = json.loads(reader.readline())
                self.assertValid(message, "serveMessage")
                return message

            def send(message):
                conn.sendall((json.dumps(message) + "\n").encode("utf-8"))

            self.assertEqual(receive(), {"type": "hello", "token": "t0ken"})
            self.assertFalse(os.path.exists(token_file), "the driver removes the token file once read")
            self.assertEqual(receive()["type"], "ready")

            plan = {"steps": ALL_KINDS + [{"nodeId": "bad", "kind": "query", "sql": "RAISE DIVIDE_BY_ZERO"}]}
            send({"op": "preview", "id": 1, "plan": plan, "limit": 3, "sampleRows": 10})
            result = receive()
            self.assertEqual(result["type"], "result")
            nodes = {n["nodeId"]: n for n in result["nodes"]}
            self.assertEqual(len(nodes["q"]["rows"]), 2)
            self.assertTrue(nodes["w"]["ok"])
            self.assertEqual(nodes["bad"]["error"]["errorClass"], "DIVIDE_BY_ZERO")
            self.assertIsInstance(result["checksMs"], (int, float))

            # A refused node answers with its rule; a request's secrets are redacted from the answer.
            refused = {"steps": [
                {"nodeId": "r", "kind": "query", "sql": "SELECT REFLECT('x')"},
                {"nodeId": "s", "kind": "query", "sql": "RAISE s3cr3t-value"},
            ]}
            send({"op": "preview", "id": 4, "plan": refused, "secrets": {"K": "s3cr3t-value"}})
            nodes = {n["nodeId"]: n for n in receive()["nodes"]}
            self.assertEqual(nodes["r"]["error"]["rule"], "reflection")
            self.assertIn("***", nodes["s"]["error"]["message"])
            self.assertNotIn("s3cr3t-value", json.dumps(nodes))

            # Cancelled before it started: the request answers `cancelled`.
            send({"op": "cancel", "id": 2})
            send({"op": "preview", "id": 2, "plan": plan})
            self.assertEqual(receive(), {"type": "cancelled", "id": 2})

            send({"op": "preview", "id": 3, "plan": plan, "limit": "many"})
            error = receive()
            self.assertEqual((error["type"], error["id"], error["errorClass"]), ("error", 3, "ValueError"))

            send({"op": "shutdown"})
            self.assertEqual(proc.wait(timeout=30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()
            server.close()
            shutil.rmtree(token_dir, ignore_errors=True)


class Coverage(unittest.TestCase):
    def test_every_type_the_runner_writes_is_in_the_schema(self):
        with open(RUNNER, encoding="utf-8") as fh:
            written = set(re.findall(r'"type": "(\w+)"', fh.read()))
        self.assertEqual(written, schema_types("runnerEvent") | schema_types("serveMessage"))

    def test_the_tests_above_saw_every_type_of_the_schema(self):
        # Meaningful after the other classes ran, as `python test_events_schema.py` runs them (see the end).
        if not SEEN["runnerEvent"] or not SEEN["serveMessage"]:
            self.skipTest("run the whole file")
        self.assertEqual(SEEN["runnerEvent"], schema_types("runnerEvent"))
        self.assertEqual(SEEN["serveMessage"], schema_types("serveMessage"))


if __name__ == "__main__":
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for case in (TheValidator, BatchEvents, ServeMessages, Coverage):
        suite.addTests(loader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
