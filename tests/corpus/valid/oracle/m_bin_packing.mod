/* bin packing: oracle for m_bin_packing.json */
set CRATES;
param size{CRATES};
param K := 4;
set TRUCKS := 1..K;
var put{CRATES, TRUCKS} binary;
var used{TRUCKS} binary;
minimize trucks: sum{b in TRUCKS} used[b];
s.t. once{i in CRATES}: sum{b in TRUCKS} put[i,b] = 1;
s.t. load{b in TRUCKS}: sum{i in CRATES} size[i] * put[i,b] <= 12 * used[b];
s.t. order{b in 1..K-1}: used[b] >= used[b+1];
solve;
printf "objective %.17g\n", trucks;
data;
set CRATES := c1 c2 c3 c4 c5 c6 c7 c8;
param size := c1 7  c2 6  c3 5  c4 5  c5 4  c6 4  c7 3  c8 2;
end;
