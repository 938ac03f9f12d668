# Oracle for c_var_bounds.json
set P := {'p1', 'p2'};
param cost{P};
param minq{P};
param cap{P};
param need := 10;
var w >= 2, <= 8;
var z >= -5, <= 3;
var y;
var u >= -10;
var x{p in P} >= minq[p], <= cap[p];
minimize total: 100 + 2*w - 2*z + y + u + sum{p in P} cost[p]*x[p];
s.t. ya: y >= -z - 7;
s.t. yb: y >= z - 9;
s.t. ua: u >= -2*z - 3;
s.t. wz: w >= 1 + z;
s.t. enough: sum{p in P} x[p] >= need;
solve;
# the objective constant is not part of the row value MathProg prints for "total",
# so print the whole expression
printf "objective %.17g\n", 100 + 2*w - 2*z + y + u + sum{p in P} cost[p]*x[p];
printf "report %s\t%.17g\n", "z", z;
printf "report %s\t%.17g\n", "y", y;
printf "report %s\t%.17g\n", "u", u;
printf "report %s\t%.17g\n", "x p2", x['p2'];
data;
param cost := p1 3 p2 5;
param minq := p1 1 p2 2;
param cap := p1 6 p2 8;
end;
