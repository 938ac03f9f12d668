# Oracle for c_empty_sums.json
set N := {'a', 'b', 'c'};
set ARCS dimen 2;
var f{(i,j) in ARCS} >= 0, <= 4;
maximize objective: sum{(i,j) in ARCS: j = 'c'} f[i,j];
s.t. inflow{n in N}: sum{(i,n) in ARCS} f[i,n] <= 3;
s.t. cons{n in N: n = 'b'}: sum{(i,n) in ARCS} f[i,n] = sum{(n,j) in ARCS} f[n,j];
s.t. nothing{n in N: n = 'z'}: sum{(n,j) in ARCS} f[n,j] >= 100;
solve;
printf "objective %.17g\n", objective;
data;
set ARCS := (a,b) (b,c);
end;
