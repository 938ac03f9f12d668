# Oracle for c_offdiag_tour.json
set C := {'a', 'b', 'c', 'd'};
param dist{i in C, j in C: i != j};
param sym{i in C, j in C: i != j} := (dist[i,j] + dist[j,i]) / 2;
var x{i in C, j in C: i != j} binary;
minimize length: sum{i in C, j in C: i != j} dist[i,j] * x[i,j];
s.t. leave{i in C}: sum{j in C: j != i} x[i,j] = 1;
s.t. enter{j in C}: sum{i in C: i <> j} x[i,j] = 1;
s.t. no2cycle{i in C, j in C: i < j}: x[i,j] + x[j,i] <= 1;
solve;
printf "objective %.17g\n", length;
printf "report %s\t%.17g\n", "symmetric length", sum{i in C, j in C: i < j} sym[i,j] * (x[i,j] + x[j,i]);
printf "report %s\t%.17g\n", "a to b", x['a','b'];
data;
param dist : a b c d :=
  a . 4 9 5
  b 6 . 3 8
  c 7 5 . 2
  d 3 9 6 . ;
end;
