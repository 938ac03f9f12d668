/* workforce hiring/firing: oracle for m_workforce.json */
param H := 6;
set Q := 1..H;
param required{Q};
var staff{Q} integer, >= 0;
var hire{Q} integer, >= 0, <= 8;
var fire{Q} integer, >= 0;
minimize objective: sum{q in Q} (4000 * staff[q] + 1800 * hire[q] + 1200 * fire[q]);
s.t. first: staff[1] = 20 + hire[1] - fire[1];
s.t. carry{q in 2..H}: staff[q] = staff[q-1] + hire[q] - fire[q];
s.t. enough{q in Q}: staff[q] >= required[q];
solve;
printf "objective %.17g\n", objective;
printf "report total hires\t%.17g\n", sum{q in Q} hire[q];
printf "report total layoffs\t%.17g\n", sum{q in Q} fire[q];
data;
param required := 1 22  2 27  3 24  4 31  5 26  6 23;
end;
