/* TSP with MTZ: oracle for m_tsp_mtz.json */
param n := 7;
set C := 1..n;
param xc{C};
param yc{C};
param dist{i in C, j in C: i != j} := abs(xc[i] - xc[j]) + abs(yc[i] - yc[j]);
var x{i in C, j in C: i != j} binary;
var u{i in C: i != 1} >= 1, <= n - 1;
minimize tour_length: sum{i in C, j in C: i != j} dist[i,j] * x[i,j];
s.t. leave{i in C}: sum{j in C: j != i} x[i,j] = 1;
s.t. enter{j in C}: sum{i in C: i != j} x[i,j] = 1;
s.t. mtz{i in 2..n, j in 2..n: i != j}: u[i] - u[j] + (n - 1) * x[i,j] <= n - 2;
solve;
printf "objective %.17g\n", tour_length;
data;
param:  xc  yc :=
  1      0   0
  2      4   1
  3      7   3
  4      6   7
  5      2   6
  6      9   8
  7      3   4 ;
end;
