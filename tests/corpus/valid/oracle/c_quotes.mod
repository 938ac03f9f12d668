# Oracle for c_quotes.json
set P := {'chair', 'table', 'end-table'};
param profit{P};
param wood{P};
var x{P} integer >= 0;
maximize objective: sum{p in P} profit[p] * x[p];
s.t. boards: sum{p in P} wood[p] * x[p] <= 30;
s.t. floor_space: x['chair'] + x["table"] <= 8;
s.t. small: x["end-table"] <= 3;
s.t. some{p in P: p > 'd'}: x[p] >= 1;
s.t. no_single{p in P: p = "chair"}: x[p] <= 2 * x['table'];
solve;
printf "objective %.17g\n", objective;
printf {p in P} "# %s %g\n", p, x[p];
data;
param profit := chair 5 table 9 'end-table' 4;
param wood := 'end-table' 3 chair 2 table 5;
end;
