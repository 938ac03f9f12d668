# Oracle for c_range_keyed.json
set T := 1..12;
param price{T};
param demand{T} default 0;
param hold := 1;
param init := 0;
var make{T} >= 0, <= 6;
var stock{T} >= 0;
minimize objective: sum{t in T} (price[t]*make[t] + hold*stock[t]);
s.t. balance{t in T}: stock[t] = (if t = 1 then init else stock[t-1]) + make[t] - demand[t];
solve;
printf "objective %.17g\n", objective;
data;
param price := 1 5  2 4  3 6  4 3  5 7  6 8  7 2  8 6  9 5  10 4  11 9  12 3;
param demand := 3 5  7 8  12 4;
end;
