/* min-cost flow: oracle for m_mincost_flow.json */
set NODES;
set ROUTES within NODES cross NODES;
param supply{NODES} default 0;
param unit_cost{ROUTES};
param cap{ROUTES} default 30;
var move{(i,j) in ROUTES} >= 0, <= cap[i,j];
minimize objective: sum{(i,j) in ROUTES} unit_cost[i,j] * move[i,j];
s.t. balance{n in NODES}: sum{(n,j) in ROUTES} move[n,j] - sum{(i,n) in ROUTES} move[i,n] = supply[n];
solve;
printf "objective %.17g\n", objective;
data;
set NODES := f1 f2 h1 h2 s1 s2 s3;
param supply := f1 40  f2 30  s1 -20  s2 -25  s3 -25;
param: ROUTES: unit_cost :=
  f1 h1 4   f1 h2 6   f2 h1 5   f2 h2 3   f1 s1 11  f2 s3 10
  h1 s1 3   h1 s2 5   h2 s2 4   h2 s3 2   h1 h2 1   s1 s2 2 ;
param cap := f2 h2 20  h1 s1 15  h2 s3 18  h1 h2 10;
end;
