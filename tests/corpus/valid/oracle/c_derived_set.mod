# Oracle for c_derived_set.json
set N := {'a', 'b', 'c', 'd'};
param bw{N, N} default 0;
set LINKS := setof{i in N, j in N: bw[i,j] > 0} (i,j);
var f{(i,j) in LINKS} >= 0, <= bw[i,j];
maximize objective: sum{i in N, j in N: (i,j) in LINKS and j = 'd'} f[i,j];
s.t. conserve{n in N: n != 'a' && n != 'd'}:
  sum{(i,n) in LINKS} f[i,n] - sum{(n,j) in LINKS} f[n,j] == 0;
solve;
printf "objective %.17g\n", objective;
printf "report %s\t%.17g\n", "flow b-d", f['b','d'];
printf "report %s\t%.17g\n", "links", card(LINKS);
data;
param bw := a b 5  a c 3  b d 4  c b 2  c d 6;
end;
