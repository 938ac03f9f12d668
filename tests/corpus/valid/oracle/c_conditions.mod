# Oracle for c_conditions.json
set T := 1..8;
set ODDS := {1, 3, 5, 7, 9};
var x{T} >= 0, <= 10;
var y{T} >= 0, <= 1;
maximize objective: sum{t in T} x[t] + sum{t in T} y[t];
s.t. capa{t in {1,3,5}}: x[t] <= t / 2;
s.t. capb{t in T: t == 2 or t = 4}: x[t] <= 2;
s.t. capc{t in T: t > 6 && t >= 8}: x[t] <= 4;
s.t. capd{t in T: not (t <= 5) and t <> 7 and t != 8}: x[t] <= 3.25;
s.t. cape{t in T: t in ODDS and t > 5}: x[t] <= 1.25;
s.t. prec{t in T: !(t < 2) && t != 3 || t = 1}: y[t] <= 0;
solve;
printf "objective %.17g\n", objective;
end;
