# Oracle for c_furniture_basic.json
set P := {'chair', 'table'};
set R := {'labor', 'boards'};
param profit{P};
param use{R, P};
param avail{R};
var x{P} integer >= 0;
maximize total_profit: sum{p in P} profit[p]*x[p];
s.t. cap{r in R}: sum{p in P} use[r,p]*x[p] <= avail[r];
s.t. tables: x['table'] >= 2;
solve;
printf "objective %.17g\n", total_profit;
printf "report %s\t%.17g\n", "tables to build", x['table'];
printf "report %s\t%.17g\n", "labor hours used", sum{p in P} use['labor',p]*x[p];
data;
param profit := chair 30 table 50;
param use : chair table :=
  labor   2 5
  boards  3 4;
param avail := labor 40 boards 36;
end;
