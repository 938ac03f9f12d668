# Oracle for c_default_rows.json
set REG := {'west', 'east', 'north'};
param sup{REG} default 0;
param dem{REG} default 0;
param tc{i in REG, j in REG: i < j};
param ecap{i in REG, j in REG: i < j} default 10;
var fwd{i in REG, j in REG: i < j} >= 0, <= ecap[i,j];
var back{i in REG, j in REG: i < j} >= 0, <= ecap[i,j];
minimize objective: sum{i in REG, j in REG: i < j} tc[i,j] * (fwd[i,j] + back[i,j]);
s.t. balance{n in REG}:
  sup[n] + sum{i in REG: i < n} (fwd[i,n] - back[i,n]) + sum{j in REG: n < j} (back[n,j] - fwd[n,j]) = dem[n];
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "direct east-west", fwd['east','west'];
data;
param sup := east 6;
param dem := west 4 north 2;
param tc := east north 3  east west 5  north west 1;
param ecap := east north 5;
end;
