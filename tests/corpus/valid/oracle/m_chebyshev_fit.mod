/* minimax (Chebyshev) line fit with free variables: oracle for m_chebyshev_fit.json */
set PTS := 1..6;
param xv{PTS};
param yv{PTS};
var a;            /* intercept, free */
var b;            /* slope, free */
var dev >= 0;
minimize max_error: dev;
s.t. above{i in PTS}: yv[i] - a - b * xv[i] <= dev;
s.t. below{i in PTS}: a + b * xv[i] - yv[i] <= dev;
solve;
printf "objective %.17g\n", max_error;
printf "report intercept\t%.17g\n", a;
printf "report slope\t%.17g\n", b;
data;
param: xv yv :=
  1  0  -2.3
  2  1  -0.4
  3  2   1.9
  4  3   3.6
  5  4   6.1
  6  5   7.4 ;
end;
