# Oracle for c_diet_nested.json
set F := {'bread', 'milk', 'cheese', 'potato'};
set NUT := {'cal', 'prot', 'vit'};
param amt{NUT, F};
param cost{F};
param need{NUT};
param calmax := 40;
var buy{F} >= 0, <= 10;
minimize spend: sum{f in F} cost[f] * buy[f];
s.t. least{n in NUT}: sum{f in F} amt[n,f] * buy[f] >= need[n];
s.t. most: sum{f in F} amt['cal',f] * buy[f] <= calmax;
solve;
printf "objective %.17g\n", spend;
printf {f in F} "# %s %.17g\n", f, buy[f];
data;
param amt : bread milk cheese potato :=
  cal   4 3 5 2
  prot  1 3 4 1
  vit   0 2 1 3;
param cost := bread 2 milk 3.5 cheese 8 potato 1.5;
param need := cal 20 prot 12 vit 9;
end;
