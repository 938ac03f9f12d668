/* routing on links derived from a bandwidth matrix: oracle for m_network_derived.json */
set N;
param bw{N, N};
set LINKS := setof{i in N, j in N: bw[i,j] > 0} (i,j);
param latency{N, N} default 0;
var load{(i,j) in LINKS} >= 0, <= bw[i,j];
minimize total_latency: sum{(i,j) in LINKS} latency[i,j] * load[i,j];
s.t. conserve{n in N}: sum{(n,j) in LINKS} load[n,j] - sum{(i,n) in LINKS} load[i,n]
                       = (if n = 'n1' then 15 else if n = 'n6' then -15 else 0);
solve;
printf "objective %.17g\n", total_latency;
printf "report links in the network\t%.17g\n", card(LINKS);
data;
set N := n1 n2 n3 n4 n5 n6;
param bw:  n1 n2 n3 n4 n5 n6 :=
  n1        0  8  6  4  0  0
  n2        0  0  3  0  5  0
  n3        0  0  0  4  3  6
  n4        0  0  0  0  0  5
  n5        0  0  0  2  0  7
  n6        0  0  0  0  0  0 ;
param latency :=
  n1 n2 2   n1 n3 5   n1 n4 9
  n2 n3 1   n2 n5 4
  n3 n4 2   n3 n5 2   n3 n6 6
  n4 n6 3
  n5 n4 1   n5 n6 2 ;
end;
