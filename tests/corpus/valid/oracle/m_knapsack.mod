/* 0-1 knapsack: oracle for m_knapsack.json */
set ITEMS;
param weight{ITEMS};
param value{ITEMS};
param allowance := 30;
var take{ITEMS} binary;
maximize objective: sum{i in ITEMS} value[i] * take[i];
s.t. weight_limit: sum{i in ITEMS} weight[i] * take[i] <= allowance;
solve;
printf "objective %.17g\n", objective;
data;
param: ITEMS: weight value :=
  tent          12  40
  stove          7  26
  rope           5  14
  camera         4  18
  books          9  11
  water_filter   3  17
  first_aid      2  13
  radio          6  20
  tripod         8  15
  lantern        5  16 ;
end;
