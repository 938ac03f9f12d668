# Oracle for c_if_then_else.json
set T := 1..4;
param cap{T};
param weight{t in T} := if t <= 2 then 3 else if t == 3 then 1 else 2;
var x{T} >= 0, <= 10;
maximize objective: sum{t in T} (if t <= 2 then 3*x[t] else if t == 3 then x[t] else 2 * x[t]);
s.t. lim{t in T}: (if t = 1 then x[t] else if t = 2 then 2*x[t] else x[t] + x[t-1]) <= cap[t];
s.t. mix: sum{t in T} (if t = 2 || t = 4 then x[t] else 0) <= 7.5;
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "weighted", sum{t in T} weight[t] * x[t];
printf "report %s\t%.17g\n", "x3", x[3];
data;
param cap := 1 4  2 6  3 9  4 5;
end;
