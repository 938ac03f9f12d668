# Oracle for c_range_param_end.json
param weeks := 4;
param total := 14;
param step := 2;
set W := 1..weeks;
set LATE := (weeks - 1)..weeks;
var x{W} >= 0;
maximize objective: sum{w in W} w * x[w];
s.t. start: x[1] <= 1;
s.t. ramp{t in 2..card(W)}: x[t] - x[t-1] <= step;
s.t. budget: sum{t in 1..weeks} x[t] <= total;
s.t. late{t in LATE}: x[t] <= 6;
solve;
printf "objective %.17g\n", objective;
end;
