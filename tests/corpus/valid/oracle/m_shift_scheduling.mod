/* cyclic shift scheduling (5 on, 2 off): oracle for m_shift_scheduling.json */
set D := 1..7;
param need{D};
/* an agent starting on day s works days s, s+1, ..., s+4 (mod 7) */
param works{s in D, d in D} := if (d - s + 7) mod 7 <= 4 then 1 else 0;
param pay{s in D} := 500 + 50 * (works[s,6] + works[s,7]);
var start{D} integer, >= 0;
minimize payroll: sum{s in D} pay[s] * start[s];
s.t. cover{d in D}: sum{s in D} works[s,d] * start[s] >= need[d];
solve;
printf "objective %.17g\n", payroll;
printf "report agents\t%.17g\n", sum{s in D} start[s];
data;
param need := 1 14  2 18  3 16  4 20  5 22  6 12  7 10;
end;
