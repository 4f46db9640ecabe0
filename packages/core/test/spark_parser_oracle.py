"""Spark's own SQL parser as an oracle for the fragment checker's property test.

Reads JSON lines on stdin and answers one JSON line per request on stdout, in order:

  {"op": "fragment", "text": "<fragment>"}
      -> {"verdict": "inside" | "escapes" | "invalid", "detail": "..."}
      Spark parses  SELECT * FROM (SELECT 1 AS a) t WHERE (<fragment>)  (parsing only, nothing runs):
      "inside"  the statement is one query whose WHERE condition is exactly the fragment: the same condition as the
                fragment gives as the whole WHERE without the parentheses (or parsed on its own);
      "escapes" the statement parses, but not as that query (the fragment closed the parentheses or added clauses);
      "invalid" Spark refuses the statement.
  {"op": "lex", "text": "<sql>"}
      -> {"tokens": [[symbolic name, start, end (exclusive)], ...]}  Spark's lexer, hidden tokens included.

A local SparkSession is started once; it prints {"ready": true, "spark": "<version>"} when it can answer.
"""

import json
import re
import sys

from pyspark.sql import SparkSession

WRAPPER = "SELECT * FROM (SELECT 1 AS a) t WHERE ({})"
BARE = "SELECT * FROM (SELECT 1 AS a) t WHERE {}"


def main() -> None:
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("sparkle-fragment-oracle")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("OFF")
    jvm = spark._jvm
    parser = spark._jsparkSession.sessionState().sqlParser()
    parsers = jvm.org.apache.spark.sql.catalyst.parser
    char_streams = jvm.org.antlr.v4.runtime.CharStreams
    reference = parser.parsePlan(WRAPPER.format("TRUE"))

    def shaped(plan) -> bool:
        """Project [*] over a Filter over the reference's subquery: the statement the wrapper writes."""
        return (
            plan.getClass().getSimpleName() == "Project"
            and plan.projectList().toString() == reference.projectList().toString()
            and plan.child().getClass().getSimpleName() == "Filter"
            and without_ids(plan.child().child().toString()) == without_ids(reference.child().child().toString())
        )

    def same(a, b) -> bool:
        return a.equals(b) or without_ids(a.treeString()) == without_ids(b.treeString())

    def fragment_verdict(text: str) -> dict:
        try:
            plan = parser.parsePlan(WRAPPER.format(text))
        except Exception as error:  # noqa: BLE001 - any parse error means Spark refuses the statement
            return {"verdict": "invalid", "detail": first_line(error)}
        try:
            if not shaped(plan):
                return {"verdict": "escapes", "detail": f"plan: {plan.toString()[:300]}"}
        except Exception as error:  # noqa: BLE001 - a plan of another shape
            return {"verdict": "escapes", "detail": f"shape: {first_line(error)}"}
        condition = plan.child().condition()
        # The fragment as the whole WHERE, without the wrapper's parentheses: a fragment that closed them early leaves
        # an unmatched ")" here; one that is several things (a, b / SELECT ...) is not a condition here.
        try:
            bare = parser.parsePlan(BARE.format(text))
            if shaped(bare) and same(bare.child().condition(), condition):
                return {"verdict": "inside", "detail": ""}
        except Exception:  # noqa: BLE001, S110 - then compare with the fragment parsed on its own
            pass
        try:
            alone = parser.parseExpression(text)
        except Exception as error:  # noqa: BLE001
            return {"verdict": "escapes", "detail": f"not one expression: {first_line(error)}"}
        if same(condition, alone):
            return {"verdict": "inside", "detail": ""}
        return {"verdict": "escapes", "detail": f"condition {condition.toString()[:200]} != {alone.toString()[:200]}"}

    def lex(text: str) -> dict:
        lexer = parsers.SqlBaseLexer(parsers.UpperCaseCharStream(char_streams.fromString(text)))
        vocabulary = lexer.getVocabulary()
        tokens = []
        while True:
            token = lexer.nextToken()
            if token.getType() == -1:
                break
            tokens.append([vocabulary.getSymbolicName(token.getType()), token.getStartIndex(), token.getStopIndex() + 1])
        return {"tokens": tokens}

    out = sys.stdout
    out.write(json.dumps({"ready": True, "spark": spark.version}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            answer = lex(request["text"]) if request.get("op") == "lex" else fragment_verdict(request["text"])
        except Exception as error:  # noqa: BLE001 - report, never stop the batch
            answer = {"verdict": "error", "detail": first_line(error)}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    spark.stop()


def without_ids(text: str) -> str:
    """A plan's text without expression ids (a#1) and positional parameters' offsets, which differ between parses."""
    return re.sub(r"posparameter\(\d+\)", "posparameter(?)", re.sub(r"#\d+", "#", text))


def first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


if __name__ == "__main__":
    main()
