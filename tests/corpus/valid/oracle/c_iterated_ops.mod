# Oracle for c_iterated_ops.json
set I := {'p', 'q', 'r'};
param f{I};
param g{I};
var x{I} >= 0;
var y >= 0;
maximize objective: sum{i in I} g[i]*x[i] + (max{i in I: i != 'r'} g[i]) * y;
s.t. tot: sum{i in I} f[i]*x[i] + y <= prod{i in I} f[i];
s.t. each{i in I}: x[i] <= min{j in I} g[j] + sum{j in I: f[j] < f[i]} 1;
s.t. ycap: y <= prod{k in 1..3} (k + 1) / 2;
s.t. pairs: sum{i in I} x[i] <= sum{i in I, j in I: f[i] < f[j]} g[j] / 3;
solve;
printf "objective %.17g\n", objective;
data;
param f := p 2 q 3 r 4;
param g := p 5 q 1 r 7;
end;
