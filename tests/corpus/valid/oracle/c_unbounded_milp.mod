# Oracle for c_unbounded_milp.json
var x integer >= 0;
var y integer >= 0;
maximize objective: x + 2*y;
s.t. lead: x - y <= 3;
s.t. lag: -x + y <= 2;
solve;
end;
