# Oracle for c_int_fractional_bounds.json
# The formulation's bounds are 2.5 and -7.5; for integer variables they are
# equivalent to floor(2.5) = 2 and ceil(-7.5) = -7 (glp_intopt without presolve
# rejects non-integer bounds on integer columns, so the oracle rounds them).
param budget := 10;
param price := 4;
var n integer >= 0, <= floor(budget / price);
var m integer >= ceil(-15/2), <= 0;
var w >= 0, <= 3.7;
maximize objective: 5*n - m + w;
s.t. mix: n - m + w <= 12;
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "n", n;
printf "report %s\t%.17g\n", "m", m;
end;
