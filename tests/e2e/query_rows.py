"""query_rows.py MODE [EXPR] - read JSON of `owmesh query` or `owmesh
completeness` on stdin and print one figure of its rows (every object with a
"sent", or with an "unmeasured_s" for completeness):
  paths     the number of distinct paths with packets sent
  sums      total sent, lost, dups
  first EXPR   EXPR (Python) over the first row r ("sent": 0 and no
               unmeasured time when there is none)
  count EXPR   how many rows r satisfy EXPR
"""
import json
import sys


def rows(x, key):
    if isinstance(x, dict):
        if key in x:
            yield x
            return
        for v in x.values():
            yield from rows(v, key)
    elif isinstance(x, list):
        for v in x:
            yield from rows(v, key)


def main():
    mode = sys.argv[1]
    data = json.load(sys.stdin)
    if mode == "count":
        print(sum(1 for r in rows(data, "unmeasured_s") if eval(sys.argv[2])))
        return
    r = list(rows(data, "sent"))
    if mode == "paths":
        print(len({x.get("path") for x in r if x.get("sent", 0) > 0}))
    elif mode == "sums":
        print(sum(x["sent"] for x in r), sum(x["lost"] for x in r),
              sum(x.get("dups", 0) for x in r))
    elif mode == "first":
        first = r[0] if r else {"sent": 0, "lost": 0, "unmeasured_s": 0}
        first.setdefault("unmeasured", {})
        print(eval(sys.argv[2], {}, {"r": first}))
    else:
        sys.exit("query_rows.py: unknown mode " + mode)


main()
