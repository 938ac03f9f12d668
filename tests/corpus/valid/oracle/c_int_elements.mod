# Oracle for c_int_elements.json
set S := {10, 20, 30};
param cost{S};
var x{S} >= 0;
minimize objective: sum{s in S} cost[s] * x[s];
s.t. c1: sum{s in S} x[s] >= 50;
s.t. c2{s in S}: x[s] <= s;
s.t. c3: x[20] >= 5;
solve;
printf "objective %.17g\n", objective;
data;
param cost := 10 3  20 2  30 4;
end;
