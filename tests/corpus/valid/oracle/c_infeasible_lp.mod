# Oracle for c_infeasible_lp.json
set P := {'a', 'b'};
param need{P};
param capacity := 10;
var x{P} >= 0;
minimize objective: sum{p in P} x[p];
s.t. c1: sum{p in P} x[p] <= capacity;
s.t. c2{p in P}: x[p] >= need[p];
solve;
data;
param need := a 6 b 7;
end;
