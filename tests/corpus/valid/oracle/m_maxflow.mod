/* max flow: oracle for m_maxflow.json */
set N;
set ARCS within N cross N;
param cap{ARCS};
var f{(i,j) in ARCS} >= 0, <= cap[i,j];
maximize throughput: sum{(i,j) in ARCS: i = 's'} f[i,j];
s.t. conserve{n in N diff {'s','t'}}: sum{(i,n) in ARCS} f[i,n] = sum{(n,j) in ARCS} f[n,j];
solve;
printf "objective %.17g\n", throughput;
printf "report flow into t\t%.17g\n", sum{(i,'t') in ARCS} f[i,'t'];
data;
set N := s a b c d t;
param: ARCS: cap :=
  s a 10   s b 8   s c 5
  a b 3    a d 7   a t 4
  b d 6    b c 4
  c d 2    c t 6
  d t 12 ;
end;
