/* production with setup costs (big-M): oracle for m_setup_cost.json */
set PARTS;
param margin{PARTS};
param hrs{PARTS};
param setup{PARTS};
param max_sale{PARTS};
param bigM{p in PARTS} := min(160 / hrs[p], max_sale[p]);
var units{PARTS} >= 0;
var setup_on{PARTS} binary;
maximize net_profit: sum{p in PARTS} (margin[p] * units[p] - setup[p] * setup_on[p]);
s.t. press: sum{p in PARTS} hrs[p] * units[p] <= 160;
s.t. only_if_set_up{p in PARTS}: units[p] <= bigM[p] * setup_on[p];
s.t. minimum_run{p in PARTS}: units[p] >= 20 * setup_on[p];
solve;
printf "objective %.17g\n", net_profit;
printf "report parts set up\t%.17g\n", sum{p in PARTS} setup_on[p];
data;
param: PARTS: margin hrs setup max_sale :=
  bracket   14  0.8  420  120
  hinge      9  0.5  150  150
  panel     25  1.6  600   70
  clip       4  0.2  180  300 ;
end;
