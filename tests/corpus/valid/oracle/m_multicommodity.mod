/* two-commodity flow with joint capacities: oracle for m_multicommodity.json */
set K;
set N;
set TRACKS within N cross N;
param net{K, N} default 0;
param cap{TRACKS};
param rate{K, TRACKS};
var cars{K, TRACKS} >= 0;
minimize objective: sum{k in K, (i,j) in TRACKS} rate[k,i,j] * cars[k,i,j];
s.t. balance{k in K, n in N}:
  sum{(n,j) in TRACKS} cars[k,n,j] - sum{(i,n) in TRACKS} cars[k,i,n] = net[k,n];
s.t. joint_cap{(i,j) in TRACKS}: sum{k in K} cars[k,i,j] <= cap[i,j];
solve;
printf "objective %.17g\n", objective;
data;
set K := grain fertilizer;
set N := depotA depotB junction townX townY;
param: TRACKS: cap :=
  depotA junction 45   depotB junction 40
  depotA townX 25      depotB townY 20
  junction townX 40    junction townY 50
  townX townY 15 ;
param net :   depotA depotB junction townX townY :=
  grain          50     20      .      -30   -40
  fertilizer     10     35      .      -25   -20 ;
param rate :=
  [grain,*,*]      depotA junction 3  depotB junction 4  depotA townX 9  depotB townY 8
                   junction townX 4   junction townY 5   townX townY 3
  [fertilizer,*,*] depotA junction 5  depotB junction 6  depotA townX 11 depotB townY 7
                   junction townX 6   junction townY 6   townX townY 4 ;
end;
