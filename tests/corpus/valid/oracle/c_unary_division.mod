# Oracle for c_unary_division.json
param k := 3;
param neg := -k + 2 - -1;
check: neg = 0;
var x >= 0; var y >= 0; var z >= 0;
var d;
maximize objective: -(x - 4*y) / 2 + -(-z) - d / (2*2) + neg * x;
s.t. xy: (x + y) / 3 <= 2;
s.t. yz: -(y - z) >= -(1 + 2);
s.t. zc: z <= 10 / (1 + 1) - -1;
s.t. xl: x >= -(-1);
s.t. dl: d >= -(y + z) / 2;
s.t. dm: -d <= k + 2;
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "d", d;
end;
