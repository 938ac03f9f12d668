/* shortest path as unit flow: oracle for m_shortest_path.json */
set V;
set E within V cross V;
param minutes{E};
var use{E} >= 0;
minimize travel_time: sum{(i,j) in E} minutes[i,j] * use[i,j];
s.t. path{v in V}: sum{(v,j) in E} use[v,j] - sum{(i,v) in E} use[i,v]
                   = (if v = 'A' then 1 else if v = 'H' then -1 else 0);
solve;
printf "objective %.17g\n", travel_time;
printf "report streets used\t%.17g\n", sum{(i,j) in E} use[i,j];
data;
set V := A B C D E F G H;
param: E: minutes :=
  A B 7   A C 9   A D 4
  B C 3   B E 12
  C E 7   C F 4
  D C 3   D F 10
  E G 3   E H 11
  F E 2   F G 7
  G H 5 ;
end;
