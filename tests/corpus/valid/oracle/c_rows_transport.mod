# Oracle for c_rows_transport.json
set S := {'sea', 'sd'};
set D := {'ny', 'chi', 'top'};
param cost{S, D};
param supply{S};
param demand{D};
var ship{S, D} >= 0;
minimize objective: sum{i in S, j in D} cost[i,j] * ship[i,j];
s.t. avail{i in S}: sum{j in D} ship[i,j] <= supply[i];
s.t. meet{j in D}: sum{i in S} ship[i,j] = demand[j];
solve;
printf "objective %.17g\n", objective;
data;
param cost : ny chi top :=
  sea 25 17 18
  sd  25 18 14;
param supply := sea 350 sd 600;
param demand := ny 325 chi 300 top 275;
end;
