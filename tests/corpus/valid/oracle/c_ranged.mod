# Oracle for c_ranged.json
set P := {'a', 'b'};
param lo{P};
param cap{P};
var x{P} >= 0;
var y{P} >= 0;
maximize objective: 2*x['a'] + y['a'] + x['b'] - 2*y['b'];
s.t. band{p in P}: lo[p] * 2 <= x[p] + y[p] <= sum{q in P} cap[q] - 3 * lo[p];
s.t. tie: x['a'] = 3 * y['a'];
s.t. gap: -1 <= x['b'] - y['b'] <= 1;
s.t. total: sum{p in P} x[p] <= 15;
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "y b", y['b'];
data;
param lo := a 2 b 3;
param cap := a 10 b 10;
end;
