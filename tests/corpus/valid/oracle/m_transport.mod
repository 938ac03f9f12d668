/* transportation: oracle for m_transport.json */
set PLANTS;
set MARKETS;
param supply{PLANTS};
param demand{MARKETS};
param cost{PLANTS, MARKETS};
var ship{PLANTS, MARKETS} >= 0;
minimize objective: sum{p in PLANTS, m in MARKETS} cost[p,m] * ship[p,m];
s.t. capacity{p in PLANTS}: sum{m in MARKETS} ship[p,m] <= supply[p];
s.t. meet{m in MARKETS}: sum{p in PLANTS} ship[p,m] >= demand[m];
solve;
printf "objective %.17g\n", objective;
data;
param: PLANTS: supply := avon 300  brook 450  cedar 250;
param: MARKETS: demand := north 200  south 300  east 250  west 180;
param cost: north south east west :=
  avon      8     6    10    9
  brook     9    12    13    7
  cedar    14     9    16    5 ;
end;
