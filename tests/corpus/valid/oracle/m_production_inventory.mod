/* multi-period production with inventory: oracle for m_production_inventory.json */
set T := 1..6;
param demand{T};
param reg_cost{T};
param ot_cost{t in T} := reg_cost[t] + 5;
param reg_cap := 150;
param ot_cap := 40;
param hold := 1.5;
param initial_stock := 30;
param final_stock := 20;
var reg{T} >= 0, <= reg_cap;
var ot{T} >= 0, <= ot_cap;
var stock{T} >= 0;
minimize objective: sum{t in T} (reg_cost[t] * reg[t] + ot_cost[t] * ot[t] + hold * stock[t]);
s.t. balance1: stock[1] = initial_stock + reg[1] + ot[1] - demand[1];
s.t. balance{t in 2..6}: stock[t] = stock[t-1] + reg[t] + ot[t] - demand[t];
s.t. ending: stock[6] >= final_stock;
solve;
printf "objective %.17g\n", objective;
printf "report overtime units\t%.17g\n", sum{t in T} ot[t];
data;
param: demand reg_cost :=
  1  120  10
  2  160  10
  3  200  11
  4  180  11
  5  140  12
  6  100  12 ;
end;
