# Oracle for c_tuple_membership.json
set N := 1..5;
set ARCS dimen 2;
set AVOID := {4};
param len{ARCS};
param src := 1;
param dst := 5;
var use{(i,j) in ARCS} >= 0, <= 1;
minimize objective: sum{(i,j) in ARCS} len[i,j] * use[i,j];
s.t. node{n in N}:
  sum{j in N: (n,j) in ARCS} use[n,j] - sum{i in N: (i,n) in ARCS} use[i,n]
  = if n = src then 1 else if n = dst then -1 else 0;
s.t. avoid{n in N: n in AVOID}: sum{i in N: (i,n) in ARCS} use[i,n] <= 0;
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "arcs used", sum{(i,j) in ARCS} use[i,j];
data;
set ARCS := (1,2) (1,3) (2,4) (3,4) (2,5) (3,2) (4,5) (3,5);
param len := 1 2 4  1 3 2  2 4 5  3 4 1  2 5 7  3 2 1  4 5 3  3 5 9;
end;
