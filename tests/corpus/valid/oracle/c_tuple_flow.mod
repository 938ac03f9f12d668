# Oracle for c_tuple_flow.json
set N := {'s', 'a', 'b', 'c', 't'};
set ARCS dimen 2;
param cap{ARCS};
var flow{(i,j) in ARCS} >= 0, <= cap[i,j];
maximize throughput: sum{(i,j) in ARCS: i = 's'} flow[i,j];
s.t. conserve{n in N: n != 's' and n != 't'}:
  sum{(i,n) in ARCS} flow[i,n] = sum{(n,j) in ARCS} flow[n,j];
solve;
printf "objective %.17g\n", throughput;
data;
set ARCS := (s,a) (s,b) (a,b) (a,c) (a,t) (b,c) (b,t) (c,t);
param cap := s a 8  s b 6  a b 3  a c 4  a t 2  b c 2  b t 5  c t 9;
end;
