/* diet: oracle for m_diet.json */
set F;
set N;
param cost{F};
param content{N, F};
param need{N};
param max_cal := 2600;
param max_serv{F} default 10;
var serv{f in F} >= 0, <= max_serv[f];
minimize total_cost: sum{f in F} cost[f] * serv[f];
s.t. nutrition{n in N}: sum{f in F} content[n,f] * serv[f] >= need[n];
s.t. calorie_cap: sum{f in F} content['calories',f] * serv[f] <= max_cal;
solve;
printf "objective %.17g\n", total_cost;
data;
set F := bread milk cheese potato fish yogurt;
set N := calories protein calcium vitamin_c;
param cost := bread 0.30  milk 0.45  cheese 0.90  potato 0.25  fish 1.60  yogurt 0.55;
param content:  bread milk cheese potato fish yogurt :=
  calories       80   120  110    160    200  100
  protein         3     8    7      4     22    6
  calcium        20   300  200     15     40  180
  vitamin_c       0     2    0     18      0    1 ;
param need := calories 2000  protein 60  calcium 900  vitamin_c 60;
param max_serv := potato 6;
end;
