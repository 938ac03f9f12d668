# Oracle for c_lead_lag.json
set T := 1..5;
param budget := 12;
var x{T} >= 0;
maximize objective: sum{t in T} t * x[t];
s.t. first: x[1] <= 1;
s.t. grow{t in T: t < card(T)}: x[t+1] - x[t] <= 1;
s.t. dbl{t in 2..card(T)}: x[t] <= 2 * x[t-1];
s.t. tot: sum{t in T} x[t] <= budget;
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "x5", x[5];
printf {t in T} "# %d %.17g\n", t, x[t];
end;
