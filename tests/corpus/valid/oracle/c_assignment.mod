# Oracle for c_assignment.json (unique optimum ann-2, bob-1, cid-3 checked by enumeration of the 6 permutations)
set W := {'ann', 'bob', 'cid'};
set J := 1..3;
param cost{W, J};
var x{W, J} binary;
minimize objective: sum{w in W, j in J} cost[w,j] * x[w,j];
s.t. c1{w in W}: sum{j in J} x[w,j] = 1;
s.t. c2{j in J}: sum{w in W} x[w,j] = 1;
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "job of ann", sum{j in J} j * x['ann', j];
printf "report %s\t%.17g\n", "job of cid", sum{j in J} j * x["cid", j];
data;
param cost : 1 2 3 :=
  ann 9 2 7
  bob 6 4 3
  cid 5 8 1;
end;
