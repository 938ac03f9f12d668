# Oracle for c_bounds_only.json
var x >= 0, <= 5;
var y >= 2;
var k integer >= -4, <= 2;
var m integer >= -7;
maximize objective: 3*x - y + 2*k - m;
solve;
printf "objective %.17g\n", objective;
end;
