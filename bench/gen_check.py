#!/usr/bin/env python3
"""bench/gen_check.py KIND N — writes to stdout a formulation stressing the
checker with N names (see bench/check.sh):

  decls     N/2 scalar variables and N/2 constraints "vK <= K", plus a chain
            of N/8 parameters each defined by the one before
  keys      one variable whose object has N unknown keys
  undeclared  N constraints each using an undeclared name (invalid)
"""
import json
import sys


def main():
    kind, n = sys.argv[1], int(sys.argv[2])
    doc = {"format": 1, "name": "check-%s-%d" % (kind, n)}
    if kind == "decls":
        nv = n // 2
        np_ = n // 8
        params = [{"name": "p0", "values": 1}]
        params += [{"name": "p%d" % k, "expression": "p%d + 0" % (k - 1)} for k in range(1, np_)]
        doc["parameters"] = params
        doc["variables"] = [{"name": "v%d" % k, "upper": 10} for k in range(nv)]
        doc["objective"] = {"sense": "maximize", "expression": "v0 + p%d" % (np_ - 1)}
        doc["constraints"] = [{"name": "c%d" % k, "expression": "v%d <= %d" % (k, k + 1)}
                              for k in range(nv)]
    elif kind == "keys":
        var = {"name": "x", "upper": 1}
        for k in range(n):
            var["unknown_key_%d" % k] = k
        doc["variables"] = [var]
        doc["objective"] = {"sense": "maximize", "expression": "x"}
        doc["constraints"] = []
    elif kind == "undeclared":
        doc["variables"] = [{"name": "x", "upper": 1}]
        doc["objective"] = {"sense": "maximize", "expression": "x"}
        doc["constraints"] = [{"name": "c%d" % k, "expression": "x + undeclared_%d <= 1" % k}
                              for k in range(n)]
    else:
        sys.exit("unknown kind " + kind)
    json.dump(doc, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
