/* alloy blending: oracle for m_blending.json */
set MAT;
set ELEM;
param pct{ELEM, MAT};
param price{MAT};
param lo{ELEM};
param hi{ELEM};
param on_hand{MAT} default 1000;
param batch := 1000;
var use{m in MAT} >= 0, <= on_hand[m];
minimize material_cost: sum{m in MAT} price[m] * use[m];
s.t. batch_size: sum{m in MAT} use[m] = batch;
s.t. grade_lo{e in ELEM}: sum{m in MAT} pct[e,m] * use[m] >= lo[e] * batch;
s.t. grade_hi{e in ELEM}: sum{m in MAT} pct[e,m] * use[m] <= hi[e] * batch;
solve;
printf "objective %.17g\n", material_cost;
data;
param: MAT: price :=
  scrapA 4.1  scrapB 4.3  scrapC 5.8  tin_ingot 12.0  zinc_ingot 9.5;
param pct: scrapA scrapB scrapC tin_ingot zinc_ingot :=
  tin        10     25     50      95        2
  zinc       10     15      5       2       92
  lead       80     60     45       3        6 ;
param: ELEM: lo hi :=
  tin   20 30
  zinc  15 25
  lead  50 60 ;
param on_hand := scrapC 300;
end;
