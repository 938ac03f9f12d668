/* capital budgeting with precedence and exclusion: oracle for m_capital_budgeting.json */
set PROJ;
set YEAR := 2025..2027;
param npv{PROJ};
param outlay{PROJ, YEAR} default 0;
param budget{YEAR};
var fund{PROJ} binary;
maximize total_npv: sum{p in PROJ} npv[p] * fund[p];
s.t. yearly_budget{y in YEAR}: sum{p in PROJ} outlay[p,y] * fund[p] <= budget[y];
s.t. lab_needs_pilot: fund['lab'] <= fund['pilot'];
s.t. one_logistics: fund['warehouse'] + fund['fleet'] <= 1;
solve;
printf "objective %.17g\n", total_npv;
printf "report projects funded\t%.17g\n", sum{p in PROJ} fund[p];
printf "report spent in 2025\t%.17g\n", sum{p in PROJ} outlay[p,2025] * fund[p];
data;
param: PROJ: npv := pilot 90  lab 150  warehouse 120  fleet 105  software 70  solar 85  training 40;
param outlay:  2025 2026 2027 :=
  pilot          40   20    .
  lab             .   60   50
  warehouse      70   10    .
  fleet          30   30   20
  software       25   15   10
  solar          35    .   25
  training       10   10   10 ;
param budget := 2025 130  2026 100  2027 80;
end;
