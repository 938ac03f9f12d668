# Oracle for c_binary_knapsack.json (optimum checked unique by enumeration: stove, rope, lamp)
set I := {'tent', 'stove', 'rope', 'lamp', 'food', 'kit'};
param weight{I};
param worth{I};
param capacity := 26;
var take{I} binary;
maximize value: sum{i in I} worth[i] * take[i];
s.t. load: sum{i in I} weight[i] * take[i] <= capacity;
solve;
printf "objective %.17g\n", value;
printf "report %s\t%.17g\n", "weight used", sum{i in I} weight[i] * take[i];
printf "report %s\t%.17g\n", "items taken", sum{i in I} take[i];
printf "report %s\t%.17g\n", "rope taken", take['rope'];
data;
param weight := tent 12 stove 7 rope 11 lamp 8 food 9 kit 6;
param worth := tent 24 stove 13 rope 23 lamp 15 food 16 kit 11;
end;
