"""Python's csv module on the side of the csv round-trip test (packages/spark/test/csv-round-trip.test.ts).

  csv_dialect.py write <rows.json> <out.csv> <line terminator: lf|crlf> [bom]
  csv_dialect.py read <file.csv>      prints the rows as JSON

Fields are formatted one by one by csv.writer (QUOTE_MINIMAL, the excel dialect) with a CRLF terminator, so that
every field holding a CR or LF is quoted (RFC 4180; Python 3.11's writer leaves a lone CR unquoted when the
terminator is LF, which its own reader cannot read back); records end with the given terminator. A field given as
null is written empty and unquoted; the empty string is written "" (what csv.writer writes for a lone empty field),
which is how CSV tells the two apart.
"""

import csv
import io
import json
import sys


def field(value):
    if value is None:
        return ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([value])
    return buf.getvalue()[:-2]


def write(rows_path, out_path, terminator, bom):
    with open(rows_path, encoding="utf-8") as fh:
        rows = json.load(fh)
    end = {"lf": "\n", "crlf": "\r\n"}[terminator]
    text = "".join(",".join(field(v) for v in row) + end for row in rows)
    with open(out_path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        fh.write(text)


def read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        json.dump(list(csv.reader(fh)), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4], len(sys.argv) > 5 and sys.argv[5] == "bom")
    else:
        read(sys.argv[2])
