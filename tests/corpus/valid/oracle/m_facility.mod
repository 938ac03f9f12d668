/* capacitated facility location: oracle for m_facility.json */
set SITES;
set ZONES;
param fixed{SITES};
param capacity{SITES};
param demand{ZONES};
param cost{ZONES, SITES};
var open{SITES} binary;
var ship{SITES, ZONES} >= 0;
minimize total_cost: sum{s in SITES} fixed[s] * open[s]
                   + sum{s in SITES, z in ZONES} cost[z,s] * ship[s,z];
s.t. serve{z in ZONES}: sum{s in SITES} ship[s,z] = demand[z];
s.t. cap{s in SITES}: sum{z in ZONES} ship[s,z] <= capacity[s] * open[s];
s.t. link{s in SITES, z in ZONES}: ship[s,z] <= demand[z] * open[s];
solve;
printf "objective %.17g\n", total_cost;
printf "report warehouses opened\t%.17g\n", sum{s in SITES} open[s];
printf "report fixed cost\t%.17g\n", sum{s in SITES} fixed[s] * open[s];
data;
param: SITES: fixed capacity :=
  harbor  500  90
  valley  420  70
  ridge   380  60
  plain   450 100 ;
param: ZONES: demand := z1 30  z2 25  z3 40  z4 20  z5 35  z6 15;
param cost: harbor valley ridge plain :=
  z1          12     20    28    15
  z2          18     10    25    22
  z3          25     14    12    20
  z4          30     22    10    18
  z5          16     24    20     8
  z6          22     18    15    12 ;
end;
