/* by hand: x[a] + x[b] <= 1; maximize x[a] + 2 x[b] + 4 x[c]: x[b] = x[c] = 1 gives 6 */
set S := {'a', 'b', 'c'};
param w{S};
var x{S} >= 0, <= 1;
maximize obj: sum{i in S: w[i] >= 2} w[i] * x[i] + x['a'] + x['c'];
s.t. pick: sum{i in S: w[i] <= 2} x[i] <= 1;
solve;
printf "%.17g\n", sum{i in S: w[i] >= 2} w[i] * x[i].val + x['a'].val + x['c'].val;
data;
param w := a 1 b 2 c 3;
end;
