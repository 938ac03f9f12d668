/* furniture production mix (integer): oracle for m_furniture.json */
set PROD;
set RES;
param profit{PROD};
param need{RES, PROD};
param avail{RES};
var make{PROD} integer, >= 0;
maximize weekly_profit: sum{p in PROD} profit[p] * make[p];
s.t. resource{r in RES}: sum{p in PROD} need[r,p] * make[p] <= avail[r];
s.t. chairs: make['chair'] <= 40;
s.t. tables_vs_desks: make['table'] >= make['desk'];
solve;
printf "objective %.17g\n", weekly_profit;
printf "report desks\t%.17g\n", make['desk'];
printf "report finishing hours used\t%.17g\n", sum{p in PROD} need['finishing',p] * make[p];
data;
param: PROD: profit := chair 45  table 120  desk 150  bookcase 95;
param need:   chair table desk bookcase :=
  boards        8    30   40     25
  carpentry     4    12   15     10
  finishing     2     5    7      6 ;
param: RES: avail := boards 600  carpentry 300  finishing 140;
end;
