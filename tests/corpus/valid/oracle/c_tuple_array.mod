# Oracle for c_tuple_array.json
set O := {'x', 'y'};
set D := {'p', 'q'};
set ROUTES dimen 2;
param profit{ROUTES};
param supply{O};
param need{D};
var z{(o,d) in ROUTES} >= 0;
maximize objective: sum{(o,d) in ROUTES} profit[o,d] * z[o,d];
s.t. origin{o in O}: sum{(o,d) in ROUTES} z[o,d] <= supply[o];
s.t. dest{d in D}: sum{(o,d) in ROUTES} z[o,d] <= need[d];
solve;
printf "objective %.17g\n", objective;
data;
set ROUTES := (x,p) (x,q) (y,q);
param profit := x p 4  x q 3  y q 5;
param supply := x 6 y 4;
param need := p 3 q 8;
end;
