#!/usr/bin/env python3
"""oracle.py - the independent optima of tests/corpus/nonlinear/*.json.

Run from anywhere:  python3 tests/corpus/nonlinear/oracle.py [--check]

It writes expected.json beside itself (with --check it only compares and
exits 1 on a difference). Python 3 standard library only, and nothing of
optagent is imported or run: each model below is restated in Python from
its problem text and solved by one of

  closed form    the optimum derived by hand (the derivation is in "why"),
                 usually confirmed by a second method;
  golden         golden-section search of a one-dimensional reduction
                 (the other variables eliminated by hand, see "why");
  qp-active-set  a convex quadratic program solved by enumerating every set
                 of active inequalities, solving the KKT equations and
                 keeping the feasible points with nonnegative multipliers
                 (for a strictly convex objective the best one is global);
  lp-vertices    a linear program solved by enumerating every vertex
                 (the exact linearization of a ratio, abs, min or max);
  weiszfeld      Weiszfeld's fixed-point iteration for the Weber point,
                 compared with the value at every demand point;
  enumeration    every point of a small integer domain.

Each entry: objective, tol (relative, |got-want| <= tol*max(1,|want|)),
status ("optimal": optagent must prove it; "either": optimal or
local_optimal, for models whose global optimality optagent's cheap rules
cannot be expected to prove), proven (true: sv_result_proven must hold;
null: not checked), how, why.
"""
import itertools
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXACT = 1e-6     # LP/MILP after an exact reformulation, enumeration
LOCAL = 1e-5     # an interior-point solve (Ipopt's default tolerance 1e-8)

# ---------------------------------------------------------------- methods

def golden(f, a, b, maximize=False, iters=200):
    """Minimum (or maximum) of a unimodal f on [a, b]: (x, f(x))."""
    g = (lambda t: -f(t)) if maximize else f
    r = (math.sqrt(5) - 1) / 2
    c, d = b - r * (b - a), a + r * (b - a)
    gc, gd = g(c), g(d)
    for _ in range(iters):
        if gc < gd:
            b, d, gd = d, c, gc
            c = b - r * (b - a)
            gc = g(c)
        else:
            a, c, gc = c, d, gd
            d = a + r * (b - a)
            gd = g(d)
    x = (a + b) / 2
    return x, f(x)


def linsolve(A, b):
    """Solves A x = b by Gaussian elimination with partial pivoting; None if
    A is (numerically) singular."""
    n = len(A)
    M = [list(map(float, A[i])) + [float(b[i])] for i in range(n)]
    for k in range(n):
        p = max(range(k, n), key=lambda i: abs(M[i][k]))
        if abs(M[p][k]) < 1e-12:
            return None
        M[k], M[p] = M[p], M[k]
        for i in range(k + 1, n):
            f = M[i][k] / M[k][k]
            for j in range(k, n + 1):
                M[i][j] -= f * M[k][j]
    x = [0.0] * n
    for i in range(n - 1, -1, -1):
        x[i] = (M[i][n] - sum(M[i][j] * x[j] for j in range(i + 1, n))) / M[i][i]
    return x


def qp(Q, c, Aeq=(), beq=(), G=(), h=()):
    """min 0.5 x'Qx + c'x  s.t. Aeq x = beq, G x <= h, Q positive definite
    on the feasible directions: every active set, KKT solved, the best
    feasible KKT point. Returns (x, value)."""
    n, me = len(c), len(Aeq)
    best = None
    for k in range(len(G) + 1):
        for act in itertools.combinations(range(len(G)), k):
            rows = [list(Aeq[i]) for i in range(me)] + [list(G[i]) for i in act]
            rhs = list(beq) + [h[i] for i in act]
            m = len(rows)
            if m > n:
                continue
            K = [[0.0] * (n + m) for _ in range(n + m)]
            for i in range(n):
                for j in range(n):
                    K[i][j] = Q[i][j]
                for j in range(m):
                    K[i][n + j] = rows[j][i]
                    K[n + j][i] = rows[j][i]
            sol = linsolve(K, [-ci for ci in c] + rhs)
            if sol is None:
                continue
            x, mult = sol[:n], sol[n:]
            if any(mult[me + j] < -1e-9 for j in range(k)):
                continue
            if any(sum(G[i][j] * x[j] for j in range(n)) > h[i] + 1e-9 for i in range(len(G))):
                continue
            v = 0.5 * sum(x[i] * Q[i][j] * x[j] for i in range(n) for j in range(n)) \
                + sum(c[i] * x[i] for i in range(n))
            if best is None or v < best[1] - 1e-15:
                best = (x, v)
    return best


def lp(c, G, h, Aeq=(), beq=()):
    """min c'x s.t. G x <= h, Aeq x = beq, by enumerating the vertices
    (the feasible region must have one and the minimum be finite)."""
    n = len(c)
    best = None
    for act in itertools.combinations(range(len(G)), n - len(Aeq)):
        rows = [list(r) for r in Aeq] + [list(G[i]) for i in act]
        x = linsolve(rows, list(beq) + [h[i] for i in act])
        if x is None:
            continue
        if any(sum(G[i][j] * x[j] for j in range(n)) > h[i] + 1e-9 for i in range(len(G))):
            continue
        v = sum(c[j] * x[j] for j in range(n))
        if best is None or v < best[1]:
            best = (x, v)
    return best


def weber(pts, w):
    """The weighted Weber point: Weiszfeld's iteration from the weighted
    centroid, and the value at each demand point (the optimum may be one)."""
    def cost(x, y):
        return sum(wi * math.hypot(x - a, y - b) for (a, b), wi in zip(pts, w))
    x = sum(wi * a for (a, _), wi in zip(pts, w)) / sum(w)
    y = sum(wi * b for (_, b), wi in zip(pts, w)) / sum(w)
    for _ in range(100000):
        num_x = num_y = den = 0.0
        for (a, b), wi in zip(pts, w):
            d = math.hypot(x - a, y - b)
            if d < 1e-14:
                break
            num_x += wi * a / d
            num_y += wi * b / d
            den += wi / d
        else:
            nx, ny = num_x / den, num_y / den
            if abs(nx - x) + abs(ny - y) < 1e-15:
                x, y = nx, ny
                break
            x, y = nx, ny
            continue
        break
    return min([cost(x, y)] + [cost(a, b) for a, b in pts])


def enum(ranges, objective, feasible=lambda *v: True, maximize=False):
    """Best objective over the integer box (ranges: (lo, hi) inclusive)."""
    best = None
    for v in itertools.product(*[range(lo, hi + 1) for lo, hi in ranges]):
        if not feasible(*v):
            continue
        f = objective(*v)
        if best is None or (f > best if maximize else f < best):
            best = f
    return best


def global_1d(f, a, b, n=100000):
    """The global minimum of a continuous f on [a, b]: the best of n + 1 grid
    points, refined by golden-section search between its neighbours."""
    h = (b - a) / n
    k = min(range(n + 1), key=lambda i: f(a + i * h))
    lo, hi = max(a, a + (k - 1) * h), min(b, a + (k + 1) * h)
    return golden(f, lo, hi)


def agree(a, b, what, tol=1e-7):
    if abs(a - b) > tol * max(1.0, abs(b)):
        raise SystemExit("oracle: %s: the two methods disagree: %.12g vs %.12g" % (what, a, b))
    return a

# ---------------------------------------------------------------- the models

E = {}


def entry(name, objective, status, proven, how, why, tol=None):
    if tol is None:
        tol = EXACT if status == "optimal" else LOCAL
    E[name + ".json"] = {"objective": objective, "tol": tol, "status": status,
                         "proven": proven, "how": how, "why": why}


PI = math.pi

# geometry
v = agree(golden(lambda w: 2 * w + 48 / w, 1, 24)[1], 4 * math.sqrt(24), "garden")
entry("geo_garden", v, "either", None, "closed form + golden",
      "h = 24/w at the optimum, f(w) = 2w + 48/w, f' = 0 at w = sqrt(24): f = 4 sqrt(24)")
v = agree(golden(lambda w: w * (20 - w), 0, 20, True)[1], 100, "max_area")
entry("geo_max_area", v, "either", None, "closed form + golden",
      "w + h = 20, w h <= ((w + h)/2)^2 = 100 with w = h = 10")
v = agree(golden(lambda x: x * (100 - 2 * x), 0, 50, True)[1], 1250, "river")
entry("geo_river_fence", v, "either", None, "closed form + golden",
      "y = 100 - 2x, A = 100x - 2x^2, A' = 0 at x = 25, y = 50: A = 1250")
v = agree(golden(lambda x: x * x + 128 / x, 1, 20)[1], 48, "box")
entry("geo_box_square_base", v, "either", None, "closed form + golden",
      "h = 32/x^2, M = x^2 + 128/x, M' = 2x - 128/x^2 = 0 at x = 4, h = 2: M = 48")
v = agree(golden(lambda x: x * (12 - 2 * x) ** 2, 0.5, 5, True)[1], 128, "sheet")
entry("geo_open_box_sheet", v, "either", None, "closed form + golden",
      "V' = (12 - 2x)(12 - 6x) = 0 at x = 2 (x = 6 is outside [0.5, 5]): V = 2 * 8^2 = 128")
r = (500 / PI) ** (1 / 3)
v = agree(golden(lambda r: 2 * PI * r * r + 2000 / r, 1, 20)[1], 6 * PI * r * r, "can")
entry("geo_can_min_area", v, "either", None, "closed form + golden",
      "h = 1000/(pi r^2), A = 2 pi r^2 + 2000/r, A' = 0 at r = (500/pi)^(1/3) = 5.419, h = 2r: A = 6 pi r^2")
r = math.sqrt(150 / (6 * PI))
v = agree(golden(lambda r: PI * r * r * (150 - 2 * PI * r * r) / (2 * PI * r), 0.5, 4.5, True)[1],
          2 * PI * r ** 3, "cylinder")
entry("geo_cylinder_max_volume", v, "either", None, "closed form + golden",
      "h = (150 - 2 pi r^2)/(2 pi r), V = r (150 - 2 pi r^2)/2, V' = 0 at r^2 = 150/(6 pi), h = 2r: V = 2 pi r^3")
v = agree(golden(lambda x: 4 * x * math.sqrt(25 - x * x), 0, 5, True)[1], 50, "inscribed")
entry("geo_rect_in_circle", v, "either", None, "closed form + golden",
      "y = sqrt(25 - x^2) at the optimum, 4xy <= 2(x^2 + y^2) = 50 with x = y = 5/sqrt 2")
k = 0.5 + PI / 8
v = agree(golden(lambda w: w * (20 - w - PI * w / 2) / 2 + PI * w * w / 8, 0.1, 20 / (1 + PI / 2), True)[1],
          400 / (16 * k), "window")
entry("geo_norman_window", v, "either", None, "closed form + golden",
      "h = (20 - w - pi w/2)/2, A = 10 w - k w^2 with k = 1/2 + pi/8, A' = 0 at w = 10/(2k) = 5.601: A = 100/(4k)")

# production x price
v = agree(golden(lambda q: (100 - 2 * q) * q - 20 * q, 0, 50, True)[1], 800, "monopoly")
entry("price_monopoly", v, "either", None, "closed form + golden",
      "profit = (100 - 2q) q - 20q = 80q - 2q^2, q = 20, p = 60: 800")
x, v = qp([[4, 0], [0, 2]], [-80, -70],
          G=[[1, 1], [-1, 0], [0, -1], [1, 0], [0, 1]], h=[30, 0, 0, 50, 80])
entry("price_two_products", -v, "either", None, "qp-active-set",
      "substituting p_i = a_i - b_i q_i: max 80 q1 - 2 q1^2 + 70 q2 - q2^2, q1 + q2 <= 30 binding: "
      "80 - 4 q1 = 70 - 2 q2, q1 = 35/3, q2 = 55/3")
v = agree(golden(lambda p: (p - 30) * (200 - 2 * p), 30, 100, True)[1], 2450, "price setting")
entry("price_setting", v, "either", None, "closed form + golden",
      "(p - 30)(200 - 2p), derivative 260 - 4p = 0 at p = 65, d = 70: 2450")
v = enum([(0, 40)], lambda q: (90 - 3 * q) * q - 10 * q, maximize=True)
entry("price_integer_quantity", v, "optimal", True, "enumeration",
      "q = 0..40; continuous optimum 13.33, integer optimum q = 13: 533")
v = agree(golden(lambda q: (100 - 2 * q) * q - 0.5 * q * q - 5 * q, 0, 50, True)[1], 902.5, "quadcost")
entry("price_quadratic_cost", v, "either", None, "closed form + golden",
      "95q - 2.5q^2, q = 19: 902.5")

# quadratic costs
a, b = [10, 12, 8], [0.05, 0.04, 0.08]
x, v = qp([[2 * b[i] if i == j else 0 for j in range(3)] for i in range(3)], a,
          Aeq=[[1, 1, 1]], beq=[300],
          G=[[-1 if i == j else 0 for j in range(3)] for i in range(3)] +
            [[1 if i == j else 0 for j in range(3)] for i in range(3)], h=[-20] * 3 + [200] * 3)
lam = (300 + sum(a[i] / (2 * b[i]) for i in range(3))) / sum(1 / (2 * b[i]) for i in range(3))
g = [(lam - a[i]) / (2 * b[i]) for i in range(3)]
agree(v, sum(a[i] * g[i] + b[i] * g[i] ** 2 for i in range(3)), "dispatch")
entry("quad_dispatch", v, "optimal", True, "qp-active-set + closed form",
      "equal marginal costs a_i + 2 b_i g_i = lambda = 20.87, all g_i inside [20, 200]")
d = [40, 70, 50]
# s_t = sum_{k<=t} x_k - D_t; cost = 0.1 sum x^2 + 2 sum_t s_t
lin = [2 * (3 - k) for k in range(3)]
const = -2 * sum(sum(d[:t + 1]) for t in range(3))
G = [[-1 if k <= t else 0 for k in range(3)] for t in range(3)] + \
    [[-1 if i == j else 0 for j in range(3)] for i in range(3)]
h = [-sum(d[:t + 1]) for t in range(3)] + [0] * 3
x, v = qp([[0.2 if i == j else 0 for j in range(3)] for i in range(3)], lin, G=G, h=h)
entry("quad_smoothing", v + const, "optimal", True, "qp-active-set",
      "stocks eliminated (s_t = cumulative production - cumulative demand >= 0); x = (50, 60, 50)")
xs, ys = [1, 2, 3, 4, 5], [2, 3, 5, 4, 6]
x, v = qp([[2 * 5, 2 * sum(xs)], [2 * sum(xs), 2 * sum(t * t for t in xs)]],
          [-2 * sum(ys), -2 * sum(t * u for t, u in zip(xs, ys))])
v += sum(u * u for u in ys)
entry("quad_least_squares", agree(v, 1.9, "least squares"), "optimal", True,
      "closed form + qp-active-set",
      "normal equations: b = Sxy/Sxx = 9/10, a = 4 - 3b = 1.3, SSE = Syy - b Sxy = 10 - 8.1 = 1.9")


def portfolio(cov, mu, target, lo, hi, scale=2.0, risk_only=True):
    n = len(mu)
    Q = [[scale * cov[i][j] for j in range(n)] for i in range(n)]
    G, h = [], []
    if target is not None:
        G.append([-m for m in mu]); h.append(-target)
    for i in range(n):
        if lo is not None:
            G.append([-1 if j == i else 0 for j in range(n)]); h.append(-lo)
        if hi is not None:
            G.append([1 if j == i else 0 for j in range(n)]); h.append(hi)
    c = [0.0] * n if risk_only else [-m for m in mu]
    return qp(Q, c, Aeq=[[1] * n], beq=[1], G=G, h=h)


cov3 = [[0.04, 0.006, 0.01], [0.006, 0.09, 0.012], [0.01, 0.012, 0.16]]
x, v = portfolio(cov3, [0.08, 0.12, 0.15], 0.11, 0, None)
entry("quad_portfolio_3", v, "either", None, "qp-active-set",
      "min x' C x (= 0.5 x'(2C)x), budget, return >= 0.11, x >= 0; the return row binds")
cov4 = [[0.01, 0.002, 0.001, 0.0], [0.002, 0.04, 0.006, 0.004],
        [0.001, 0.006, 0.09, 0.02], [0.0, 0.004, 0.02, 0.16]]
x, v = portfolio(cov4, [0.06, 0.09, 0.12, 0.14], 0.10, 0, 0.4)
entry("quad_portfolio_4", v, "either", None, "qp-active-set",
      "min x' C x, budget, return >= 0.10, 0 <= x <= 0.4")
cov5 = [[0.005, 0.001, 0.0, 0.0, 0.0], [0.001, 0.02, 0.004, 0.002, 0.0],
        [0.0, 0.004, 0.05, 0.01, 0.005], [0.0, 0.002, 0.01, 0.08, 0.01],
        [0.0, 0.0, 0.005, 0.01, 0.2]]
x, v = portfolio(cov5, [0.05, 0.08, 0.11, 0.13, 0.16], None, 0, None, scale=4.0, risk_only=False)
entry("quad_portfolio_5", -v, "either", None, "qp-active-set",
      "max mu'x - 2 x'Cx = -min (0.5 x'(4C)x - mu'x), budget, x >= 0")
covm = [[0.09, 0.03, 0.01], [0.03, 0.04, 0.0], [0.01, 0.0, 0.0625]]
x, v = portfolio(covm, [0, 0, 0], None, None, None)
ones = linsolve(covm, [1, 1, 1])
entry("quad_portfolio_minvar", agree(v, 1 / sum(ones), "minvar"), "either", None,
      "closed form + qp-active-set", "x = C^-1 1 / (1' C^-1 1), variance = 1 / (1' C^-1 1)")
x, v = qp([[1, 0], [0, 2]], [10, 4], Aeq=[[1, 1]], beq=[10], G=[[-1, 0], [0, -1]], h=[0, 0])
entry("quad_congestion", v, "optimal", True, "qp-active-set",
      "Wardrop: 10 + f1 = 4 + 2 f2 with f1 + f2 = 10: f2 = 16/3, f1 = 14/3")

# distances
entry("dist_weber_3", weber([(0, 0), (4, 0), (1, 3)], [1, 1, 1]), "either", None, "weiszfeld",
      "every angle of the triangle is below 120 degrees: the Fermat point is interior")
entry("dist_weber_weighted", weber([(0, 0), (8, 1), (7, 7), (1, 6)], [2, 1, 1.5, 1]), "either", None,
      "weiszfeld", "weighted Weber point; compared with the cost at each customer")
entry("dist_weber_epigraph", weber([(0, 0), (10, 2), (3, 9)], [3, 2, 2]), "either", None, "weiszfeld",
      "d_i equals the distance at the optimum (positive weights), so this is a Weber problem")
pts = [(0, 0), (6, 0), (2, 4), (3, 1)]


def circle_r2():
    best = None
    cands = []
    for p, q in itertools.combinations(pts, 2):
        cands.append(((p[0] + q[0]) / 2, (p[1] + q[1]) / 2))
    for p, q, s in itertools.combinations(pts, 3):
        c = linsolve([[2 * (q[0] - p[0]), 2 * (q[1] - p[1])], [2 * (s[0] - p[0]), 2 * (s[1] - p[1])]],
                     [q[0] ** 2 + q[1] ** 2 - p[0] ** 2 - p[1] ** 2,
                      s[0] ** 2 + s[1] ** 2 - p[0] ** 2 - p[1] ** 2])
        if c:
            cands.append(tuple(c))
    for cx, cy in cands:
        r2 = max((cx - a) ** 2 + (cy - b) ** 2 for a, b in pts)
        best = r2 if best is None else min(best, r2)
    return best


entry("dist_enclosing_circle", agree(circle_r2(), 10, "circle"), "optimal", True, "enumeration + closed form",
      "the smallest enclosing circle passes through 2 or 3 of the points: every candidate tried; "
      "here the circumcircle of the acute triangle (0,0),(6,0),(2,4): centre (3,1), r^2 = 10")
x, v = qp([[2, 0], [0, 2]], [-6, -8], G=[[1, 1], [-1, 0], [0, -1]], h=[2, 0, 0])
entry("dist_projection", agree(v + 25, 12.5, "projection"), "optimal", True, "qp-active-set + closed form",
      "projection of (3,4) on x + y = 2 is (0.5, 1.5), inside x, y >= 0: 2.5^2 + 2.5^2 = 12.5")
entry("dist_two_disks", 4.0, "optimal", True, "closed form",
      "disjoint discs: the distance is |c1 - c2| - r1 - r2 = 5 - 1 - 2 = 2, squared 4, at (1,0) and (3,0)")
v = agree(golden(lambda x: math.sqrt(x * x + 4) + math.sqrt((6 - x) ** 2 + 16), 0, 6)[1],
          math.sqrt(72), "river path")
entry("dist_river_path", v, "either", None, "closed form + golden",
      "reflect (0,2) to (0,-2): the shortest route is the straight line to (6,4), length sqrt(72)")

# ratios
x, v = lp([3, 1], G=[[-0.7, 0.3], [-1, -1], [-1, 0], [0, -1]], h=[0, -10, 0, -1])
entry("ratio_blend", agree(v, 16, "blend"), "optimal", True, "lp-vertices + closed form",
      "p/(p+c) >= 0.3 with p + c >= 1 > 0 is 0.7p - 0.3c >= 0; optimum p = 3, c = 7: 16")
x, v = lp([-5, -4], G=[[0.6, -0.4], [1, 1], [-1, 0], [0, -1]], h=[0, 20, 0, -1])
entry("ratio_share_cap", agree(-v, 88, "share"), "optimal", True, "lp-vertices",
      "x/(x+y) <= 0.4 with y >= 1 is 0.6x - 0.4y <= 0; optimum x = 8, y = 12: 88")
v = agree(golden(lambda q: (100 + 5 * q + 0.25 * q * q) / q, 1, 100)[1], 15, "avg cost")
entry("ratio_average_cost", v, "either", None, "closed form + golden",
      "100/q + 5 + 0.25q, minimum at q = sqrt(100/0.25) = 20: 5 + 5 + 5 = 15")
verts = [(0, 0), (3, 0), (0, 4), (2, 3)]
for vx in verts:
    assert vx[0] + 2 * vx[1] <= 8 + 1e-12 and 3 * vx[0] + vx[1] <= 9 + 1e-12
v = max((3 * a + 2 * b + 1) / (a + b + 2) for a, b in verts)
entry("ratio_fractional", agree(v, 2, "fractional"), "either", None, "lp-vertices",
      "a linear-fractional objective with a positive denominator is quasi-linear: its maximum over a "
      "polytope is at a vertex; vertices (0,0),(3,0),(0,4),(2,3) give 0.5, 2, 1.5, 13/7")
# x = (corn, soy, hay, total)
cost, prot = [2, 3.5, 1.5], [0.1, 0.4, 0.05]
x, v = lp(cost + [0], G=[[0, 0, 0, -1], [-(p - 0.2) for p in prot] + [0],
                         [-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 0]],
          h=[-100, 0, 0, 0, 0], Aeq=[[1, 1, 1, -1]], beq=[0])
entry("ratio_diet", v, "optimal", True, "lp-vertices",
      "protein/total >= 0.2 with total >= 100 > 0 is linear; soy and hay mixed 3:4, 100 kg: 1650/7")

# integer nonlinear
entry("int_max_product", enum([(0, 11), (0, 11)], lambda x, y: x * y, lambda x, y: x + y <= 11, True),
      "optimal", True, "enumeration", "x, y in 0..11: 5 * 6 = 30")
entry("int_rectangle_fence", enum([(1, 30), (1, 30)], lambda w, h: 2 * w + 2 * h, lambda w, h: w * h >= 50),
      "optimal", True, "enumeration", "w, h in 1..30 with w h >= 50: 7 x 8, fence 30")
entry("int_quadratic_pair", enum([(0, 10), (0, 10)], lambda x, y: x * x + y * y + x * y - 7 * x - 9 * y),
      "optimal", True, "enumeration", "x, y in 0..10")
vv, ww = [4, 3, 5, 2, 3], [4, 3, 5, 2, 3]
pairs = {(1, 2): 3, (2, 3): 4, (4, 5): 5, (1, 5): 2}
entry("int_quadratic_knapsack",
      enum([(0, 1)] * 5,
           lambda *z: sum(vv[j] * z[j] for j in range(5)) + sum(b * z[i - 1] * z[j - 1] for (i, j), b in pairs.items()),
           lambda *z: sum(ww[j] * z[j] for j in range(5)) <= 10, True),
      "optimal", True, "enumeration", "all 32 choices")
entry("int_cylinder", enum([(1, 20), (1, 20)], lambda r, h: 2 * PI * r * r + 2 * PI * r * h,
                           lambda r, h: PI * r * r * h >= 500),
      "optimal", True, "enumeration", "r, h in 1..20 with pi r^2 h >= 500")
entry("int_nearest_point", enum([(0, 10), (-5, 5)], lambda n, m: (n - 3.7) ** 2 + (m + 1.2) ** 2),
      "optimal", True, "enumeration", "n = 4, m = -1: 0.09 + 0.04")
entry("int_batches", enum([(1, 20)], lambda n: 50 * n + 0.5 * (100 / n) ** 2 * n), "either", None,
      "enumeration + closed form",
      "for each n the best s is 100/n (the cost grows with s): 50n + 5000/n, n = 10: 1000")
entry("int_cube_sum", enum([(1, 12)] * 3, lambda a, b, c: a + 2 * b + 3 * c,
                           lambda a, b, c: a ** 3 + b ** 3 + c ** 3 <= 1000, True),
      "optimal", True, "enumeration", "a, b, c in 1..12")

# binary x continuous


def fixed_charge():
    m, f = [5, 4, 3], [20, 5, 2]
    best = None
    for y in itertools.product([0, 1], repeat=3):
        cap, val = 15, -sum(f[i] * y[i] for i in range(3))
        for i in sorted(range(3), key=lambda i: -m[i]):
            if y[i]:
                q = min(10, cap)
                val += m[i] * q
                cap -= q
        best = val if best is None else max(best, val)
    return best


entry("bin_fixed_charge", agree(fixed_charge(), 48, "fixed charge"), "optimal", True, "enumeration",
      "each of the 8 choices of open lines, capacity given greedily to the best margins: lines 2 and 3, 48")


def open_sites():
    c, f = [3, 4, 2], [10, 4, 12]
    best = None
    for y in itertools.product([0, 1], repeat=3):
        need, val = 12, sum(f[i] * y[i] for i in range(3))
        for i in sorted(range(3), key=lambda i: c[i]):
            if y[i]:
                q = min(8, need)
                val += c[i] * q
                need -= q
        if need <= 1e-12:
            best = val if best is None else min(best, val)
    return best


entry("bin_open_sites", agree(open_sites(), 48, "open sites"), "optimal", True, "enumeration",
      "each choice of open sites, delivery from the cheapest open ones: sites 2 and 3, 8*2 + 4*4 + 4 + 12")
entry("bin_discount", min(10 * 40, 8 * 40 + 30), "optimal", True, "enumeration",
      "y = 0: 10x, y = 1: 8x + 30, both grow with x, x = 40: min(400, 350)")

# abs, min, max
entry("abs_l1_fit", 6.0, "optimal", True, "closed form",
      "sum |x_i - t_i| >= |sum (x_i - t_i)| = |15 - 21| = 6, reached by any x <= t summing to 15")
av, wv = [1, 4, 6, 9, 12], [1, 2, 1, 3, 1]
v = min(sum(w * abs(p - q) for q, w in zip(av, wv)) for p in av)
entry("abs_weighted_median", v, "optimal", True, "enumeration",
      "convex piecewise linear: the minimum is at a breakpoint (weighted median, any point of [6, 9])")
x, v = lp([0, 0, 0, 1], G=[[1, 0, 0, -1], [0, 0.5, 0, -1], [0, 0, 1 / 3, -1],
                            [-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 0]],
          h=[0] * 6, Aeq=[[1, 1, 1, 0]], beq=[100])
entry("minmax_makespan", agree(v, 100 / 6, "makespan"), "optimal", True, "lp-vertices + closed form",
      "x_m <= s_m T sums to 100 <= 6 T: T = 100/6 with x = (T, 2T, 3T)")
x, v = lp([0, 0, -1], G=[[-2, 0, 1], [0, -3, 1], [1, 1, 1], [-1, 0, 0], [0, -1, 0]], h=[0, 0, 12, 0, 0])
entry("maxmin_fair", agree(-v, 72 / 11, "maxmin"), "optimal", True, "lp-vertices + closed form",
      "t <= 2x, 3y, 12 - x - y; (1/2)(2x) + (1/3)(3y) + (12 - x - y) = 12 gives t <= 12/(11/6) = 72/11")
x, v = lp([-3, -2], G=[[1, -1], [-1, 1], [1, 1], [-1, 0], [0, -1]], h=[2, 2, 10, 0, 0])
entry("abs_band", agree(-v, 26, "band"), "optimal", True, "lp-vertices",
      "|x - y| <= 2 is two rows; x = 6, y = 4: 26")
entry("max_overtime", 1650.0, "optimal", True, "closed form",
      "10 * 150 + 5 * sum max(0, x_w - 40) >= 1500 + 5 (150 - 3*40) = 1650, reached at x = (50, 50, 50)")

# exp / log
K, L = 0.3 * 100 / 4, 0.7 * 100 / 2
entry("log_cobb_douglas", 0.3 * math.log(K) + 0.7 * math.log(L), "optimal", True, "closed form",
      "Cobb-Douglas demand: K = 0.3 B / 4 = 7.5, L = 0.7 B / 2 = 35 (budget binding, concave objective)")
entry("pow_cobb_douglas", K ** 0.3 * L ** 0.7, "either", None, "closed form",
      "the same point as log_cobb_douglas (a monotone transform): 7.5^0.3 * 35^0.7")


def entropy():
    def mean(beta):
        w = [math.exp(-beta * i) for i in range(1, 5)]
        return sum(i * wi for i, wi in zip(range(1, 5), w)) / sum(w)
    lo, hi = 0.0, 10.0            # mean(0) = 2.5 > 2, mean(10) ~ 1
    for _ in range(200):
        mid = (lo + hi) / 2
        if mean(mid) > 2:
            lo = mid
        else:
            hi = mid
    w = [math.exp(-lo * i) for i in range(1, 5)]
    p = [wi / sum(w) for wi in w]
    assert min(p) > 1e-6
    return -sum(q * math.log(q) for q in p)


entry("log_entropy", entropy(), "either", None, "closed form (bisection)",
      "KKT of max entropy with a mean: p_i proportional to exp(-beta i), beta found by bisection")
entry("exp_sum", 3 * math.e, "optimal", True, "closed form",
      "convex and symmetric: x = y = z = 1 (e^x = lambda for all), 3e")
t = 10 * math.log(2.5)
v = agree(golden(lambda t: 50 * math.exp(-0.1 * t) + 2 * t, 0, 100)[1], 20 + 2 * t, "decay")
entry("exp_decay", v, "optimal", True, "closed form + golden",
      "-5 exp(-0.1 t) + 2 = 0 at t = 10 ln 2.5: 50 * 0.4 + 2t")


def water(a, total):
    lo, hi = min(a), max(a) + total
    for _ in range(200):
        level = (lo + hi) / 2
        if sum(max(0.0, level - ai) for ai in a) > total:
            hi = level
        else:
            lo = level
    return sum(math.log(max(lo, ai)) for ai in a)


entry("log_water_filling", agree(water([1, 2, 4], 4), 2 * math.log(3.5) + math.log(4), "water"),
      "optimal", True, "closed form + bisection",
      "water filling: x_i = max(0, L - a_i), L = 3.5 (channel 3 gets none): 2 ln 3.5 + ln 4")
entry("log10_utility", math.log10(50), "optimal", True, "closed form",
      "x y is largest on x + 2y = 20 at x = 10, y = 5: log10(50)")

# cones
entry("soc_norm_min", math.sqrt(2), "either", None, "closed form",
      "the distance from the origin to the line x + y = 2 is 2/sqrt 2")
entry("soc_ball_linear", 5 - 2 * math.sqrt(5), "optimal", True, "closed form",
      "centre value 1 + 4 = 5 minus radius 2 times |(1, 2)| = sqrt 5")
entry("soc_point_plane", 5 / math.sqrt(3), "either", None, "closed form",
      "|1 + 2 + 2| / |(1, 1, 1)| = 5/sqrt 3")
v = agree(golden(lambda x: x + 4 / x, 0.25, 100)[1], 4, "hyperbolic")
entry("soc_hyperbolic", v, "either", None, "closed form + golden",
      "x + 4y >= 2 sqrt(4xy) >= 4, equality at x = 2, y = 1/2")
v = golden(lambda x: 5 * x + 6 * (10 - x) - 3 * math.sqrt(x * x + (10 - x) ** 2), 0, 10, True)[1]
xr = (10 - math.sqrt(100 - 4 * 800 / 34)) / 2
agree(v, 5 * xr + 6 * (10 - xr) - 3 * math.sqrt(xr * xr + (10 - xr) ** 2), "robust")
entry("soc_robust_return", v, "either", None, "golden + closed form",
      "the gradient (5 - 3x/r, 6 - 3y/r) is positive, so x + y = 10 binds; on it "
      "3(10 - 2x) = sqrt(2x^2 - 20x + 100): 34x^2 - 340x + 800 = 0, x = 3.787")

# multistart: nonconvex with several local minima


def quartic(x):
    return (x * x - 4) ** 2 + x


entry("multi_quartic", global_1d(quartic, -3, 3)[1], "either", None, "grid + golden",
      "local minima near x = 2 and x = -2 (f' = 4x(x^2 - 4) + 1); a grid of 100001 points, refined "
      "by golden section, finds the global one near -2")
wx = global_1d(lambda x: (x * x - 1) ** 2 + 0.3 * x, -2, 2)[1]
wy = global_1d(lambda y: (y * y - 1) ** 2 + 0.2 * y, -2, 2)[1]
entry("multi_wells", wx + wy, "either", None, "grid + golden",
      "separable: each coordinate's global minimum on [-2, 2] by a grid and golden section; both near -1")

# ---------------------------------------------------------------- output


def main():
    path = os.path.join(HERE, "expected.json")
    files = sorted(f for f in os.listdir(HERE) if f.endswith(".json") and f != "expected.json")
    missing = [f for f in files if f not in E] + [f for f in E if f not in files]
    if missing:
        raise SystemExit("oracle: models and entries differ: %s" % ", ".join(missing))
    out = json.dumps({k: E[k] for k in sorted(E)}, indent=1) + "\n"
    if "--check" in sys.argv[1:]:
        with open(path) as f:
            if f.read() != out:
                raise SystemExit("oracle: expected.json is out of date (run without --check)")
        print("oracle: expected.json is up to date (%d models)" % len(E))
        return
    with open(path, "w") as f:
        f.write(out)
    print("oracle: wrote %s (%d models)" % (path, len(E)))


if __name__ == "__main__":
    main()
