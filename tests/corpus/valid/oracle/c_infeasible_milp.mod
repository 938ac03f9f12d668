# Oracle for c_infeasible_milp.json
var x integer >= 0, <= 10;
var y integer >= 0, <= 10;
minimize objective: x + y;
s.t. odd: 2*x + 4*y == 7;
s.t. some: x + y >= 1;
solve;
end;
