/* cutting stock over given patterns: oracle for m_cutting_stock.json */
set W;
set PAT;
param order{W};
param pieces{PAT, W} default 0;
param bar := 120;
var cut{PAT} integer, >= 0;
minimize bars: sum{p in PAT} cut[p];
s.t. fill{w in W}: sum{p in PAT} pieces[p,w] * cut[p] >= order[w];
solve;
printf "objective %.17g\n", bars;
printf "report trim loss cm\t%.17g\n", sum{p in PAT} cut[p] * (bar - sum{w in W} w * pieces[p,w]);
data;
param: W: order := 50 40  38 75  27 60  19 90;
set PAT := p1 p2 p3 p4 p5 p6 p7 p8 p9 p10;
param pieces:  50  38  27  19 :=
  p1            2   .   .   1
  p2            1   1   1   .
  p3            .   3   .   .
  p4            .   .   4   .
  p5            .   .   .   6
  p6            .   2   .   2
  p7            .   .   3   2
  p8            1   .   1   2
  p9            .   1   3   .
  p10           .   .   2   3 ;
end;
