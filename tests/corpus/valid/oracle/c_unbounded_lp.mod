# Oracle for c_unbounded_lp.json
var t;
var s >= 0, <= 4;
minimize objective: t - s;
s.t. top: t <= 5;
s.t. pair: t + s <= 8;
solve;
end;
