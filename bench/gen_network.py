#!/usr/bin/env python3
"""Generate a sparse min-cost-flow network as a format-1 formulation (JSON).

    bench/gen_network.py [--nodes N] [--degree D] [--seed S] [-o FILE]
                         [--mathprog FILE]

N nodes (default 10,000) give N flow-conservation constraints and about D*N
arcs (default D = 4): a ring 1 -> 2 -> ... -> N -> 1 whose capacity equals
the total supply (so every balanced supply/demand vector is feasible: each unit
can travel around the ring), plus D-1 random arcs out of every node with small
capacities and costs that are cheaper than the ring's. Sources and sinks are
5% of the nodes each; supply sums to zero. All data are integers and the
output depends only on the arguments (a fixed seed).

The model uses a tuple set ARCS ("dimen": 2, "elements"), parameters cost and
cap given as "rows", supply as a keyed object, and one indexed constraint
whose sums filter ARCS by a bound tuple component:

    sum{(n,j) in ARCS} f[n,j] - sum{(i,n) in ARCS} f[i,n] = supply[n]

--mathprog FILE also writes the same network as a hand-written GNU MathProg
model with its data, in the form MathProg instantiates fastest: the arcs out
of and into each node are indexed sets OUT{N} and IN{N} given as data, so
each balance row reads only its own arcs,

    sum{j in OUT[n]} f[n,j] - sum{i in IN[n]} f[i,n] = supply[n]

(glpsol -m FILE solves it; bench/run.sh times glpsol on it next to
optagent's own MathProg export).
"""
import argparse
import json
import random
import sys


def generate(nodes, degree, seed):
    if nodes < 3:
        raise ValueError("need at least 3 nodes")
    if degree < 1:
        raise ValueError("degree must be at least 1")
    rng = random.Random(seed)

    # supplies: 5% sources, 5% sinks, balanced
    k = max(1, nodes // 20)
    picked = rng.sample(range(1, nodes + 1), 2 * k)
    sources, sinks = picked[:k], picked[k:]
    supply = {n: 0 for n in range(1, nodes + 1)}
    for s in sources:
        supply[s] = rng.randint(10, 100)
    total = sum(supply[s] for s in sources)
    share = [total // k] * k
    for i in range(total - sum(share)):
        share[i] += 1
    for t, amount in zip(sinks, share):
        supply[t] = -amount

    arcs = []          # (i, j, cost, cap)
    seen = set()
    ring_cost = 50     # dearer than any random arc: the ring is the fallback
    for i in range(1, nodes + 1):
        j = i % nodes + 1
        arcs.append((i, j, ring_cost, total))
        seen.add((i, j))
    extra = min(degree - 1, nodes - 2)
    for i in range(1, nodes + 1):
        made = 0
        while made < extra:
            j = rng.randint(1, nodes)
            if j == i or (i, j) in seen:
                continue
            seen.add((i, j))
            arcs.append((i, j, rng.randint(1, 20), rng.randint(5, 60)))
            made += 1
    arcs.sort()
    return nodes, seed, arcs, supply


def formulation(nodes, seed, arcs, supply):
    return {
        "format": 1,
        "name": "mincost_network_%d" % nodes,
        "description": "Sparse min-cost flow: %d nodes, %d arcs, seed %d "
                       "(bench/gen_network.py)" % (nodes, len(arcs), seed),
        "sets": [
            {"name": "N", "range": [1, nodes], "description": "nodes"},
            {"name": "ARCS", "dimen": 2,
             "elements": [[i, j] for (i, j, _, _) in arcs],
             "description": "directed arcs"},
        ],
        "parameters": [
            {"name": "cost", "index": ["ARCS"],
             "rows": [[i, j, c] for (i, j, c, _) in arcs]},
            {"name": "cap", "index": ["ARCS"],
             "rows": [[i, j, u] for (i, j, _, u) in arcs]},
            {"name": "supply", "index": ["N"],
             "values": {str(n): supply[n] for n in range(1, nodes + 1)},
             "description": "net supply (negative: demand)"},
        ],
        "variables": [
            {"name": "f", "index": "{(i,j) in ARCS}", "lower": 0,
             "upper": "cap[i,j]", "description": "flow on arc (i,j)"},
        ],
        "objective": {"name": "total_cost", "sense": "minimize",
                      "expression": "sum{(i,j) in ARCS} cost[i,j] * f[i,j]"},
        "constraints": [
            {"name": "balance", "index": "{n in N}",
             "expression": "sum{(n,j) in ARCS} f[n,j] - "
                           "sum{(i,n) in ARCS} f[i,n] = supply[n]"},
        ],
    }


def write_mathprog(out, nodes, seed, arcs, supply):
    """Writes the network as a hand-written MathProg model plus data."""
    w = out.write
    w("/* mincost_network_%d: %d nodes, %d arcs, seed %d "
      "(bench/gen_network.py --mathprog) */\n\n" % (nodes, nodes, len(arcs), seed))
    w("set N := 1 .. %d;\n" % nodes)
    w("set OUT{N} within N;   /* heads of the arcs out of each node */\n")
    w("set IN{N} within N;    /* tails of the arcs into each node */\n")
    w("set ARCS := setof{i in N, j in OUT[i]} (i, j);\n")
    w("param cost{ARCS};\n")
    w("param cap{ARCS};\n")
    w("param supply{N} default 0;\n")
    w("var f{(i, j) in ARCS} >= 0, <= cap[i, j];\n")
    w("minimize total_cost: sum{(i, j) in ARCS} cost[i, j] * f[i, j];\n")
    w("s.t. balance{n in N}:\n")
    w("    sum{j in OUT[n]} f[n, j] - sum{i in IN[n]} f[i, n] = supply[n];\n")
    w("solve;\n\ndata;\n\n")
    out_of = {n: [] for n in range(1, nodes + 1)}
    into = {n: [] for n in range(1, nodes + 1)}
    for (i, j, _, _) in arcs:
        out_of[i].append(j)
        into[j].append(i)
    for n in range(1, nodes + 1):
        w("set OUT[%d] := %s;\n" % (n, " ".join(map(str, out_of[n]))))
    for n in range(1, nodes + 1):
        w("set IN[%d] := %s;\n" % (n, " ".join(map(str, sorted(into[n])))))
    w("\nparam : cost cap :=\n")
    for (i, j, c, u) in arcs:
        w("%d %d %d %d\n" % (i, j, c, u))
    w(";\n\nparam supply :=\n")
    for n in range(1, nodes + 1):
        if supply[n]:
            w("%d %d\n" % (n, supply[n]))
    w(";\n\nend;\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--degree", type=int, default=4,
                    help="arcs out of each node, ring arc included (default 4)")
    ap.add_argument("--seed", type=int, default=20240521)
    ap.add_argument("-o", "--output", help="output file (default stdout)")
    ap.add_argument("--mathprog", metavar="FILE",
                    help="also write a hand-written MathProg model of the "
                         "same network to FILE")
    a = ap.parse_args()
    try:
        net = generate(a.nodes, a.degree, a.seed)
    except ValueError as e:
        ap.error(str(e))
    model = formulation(*net)
    if a.mathprog:
        with open(a.mathprog, "w") as mp:
            write_mathprog(mp, *net)
    out = open(a.output, "w") if a.output else sys.stdout
    try:
        json.dump(model, out, separators=(",", ":"))
        out.write("\n")
    finally:
        if a.output:
            out.close()


if __name__ == "__main__":
    main()
