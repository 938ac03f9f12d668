"""Generate a convex quadratic program as a format-1 formulation (JSON).

    bench/gen_quadratic.py [--vars N] [--rows M] [--seed S] [--linear] [-o FILE]

N variables x[i] in [0, 10] (default 2,000), M covering rows (default N/10)
of 20 random variables each with coefficients 1..5,

    sum{(r,i) in A} a[r,i] * x[i] >= b[r],

and the objective

    sum{i in I} (q[i] * x[i]^2 + c[i] * x[i]) + sum{i in I: i < N} (x[i] - x[i+1])^2

(a diagonal plus a tridiagonal coupling: a sparse positive definite
Hessian). --linear writes the same model with the quadratic terms dropped
(the LP optagent solves with GLPK), the baseline of bench/nlp_quadratic.sh.
The output depends only on the arguments (a fixed seed).
"""
import argparse
import json
import random
import sys


def generate(n, m, seed, linear):
    rng = random.Random(seed)
    q = [round(rng.uniform(0.5, 2.0), 3) for _ in range(n)]
    c = [rng.randint(-20, 20) for _ in range(n)]
    rows, b = [], []
    for r in range(1, m + 1):
        cols = rng.sample(range(1, n + 1), min(20, n))
        for i in sorted(cols):
            rows.append([r, i, rng.randint(1, 5)])
        b.append(rng.randint(20, 60))
    quad = "" if linear else "q[i] * x[i]^2 + "
    coupling = "" if linear else " + sum{i in I: i < %d} (x[i] - x[i+1])^2" % n
    return {
        "format": 1,
        "name": "quadratic_%d%s" % (n, "_linear" if linear else ""),
        "description": "Convex QP: %d variables, %d covering rows, seed %d%s "
                       "(bench/gen_quadratic.py)" % (n, m, seed,
                                                     ", quadratic terms dropped" if linear else ""),
        "sets": [
            {"name": "I", "range": [1, n]},
            {"name": "R", "range": [1, m]},
            {"name": "A", "dimen": 2, "elements": [[r, i] for r, i, _ in rows]},
        ],
        "parameters": [
            {"name": "q", "index": ["I"], "values": q},
            {"name": "c", "index": ["I"], "values": c},
            {"name": "a", "index": ["A"], "rows": rows},
            {"name": "b", "index": ["R"], "values": b},
        ],
        "variables": [{"name": "x", "index": ["I"], "lower": 0, "upper": 10}],
        "objective": {"name": "cost", "sense": "minimize",
                      "expression": "sum{i in I} (%sc[i] * x[i])%s" % (quad, coupling)},
        "constraints": [
            {"name": "cover", "index": "{r in R}",
             "expression": "sum{(r,i) in A} a[r,i] * x[i] >= b[r]"},
        ],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vars", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--linear", action="store_true")
    ap.add_argument("-o", default="-")
    a = ap.parse_args()
    m = a.rows or max(1, a.vars // 10)
    doc = generate(a.vars, m, a.seed, a.linear)
    out = sys.stdout if a.o == "-" else open(a.o, "w")
    json.dump(doc, out)
    out.write("\n")


if __name__ == "__main__":
    main()
