/* scenario portfolio LP: oracle for m_portfolio.json */
set A;
set S;
param ret{S, A};
param mean_ret{a in A} := (sum{s in S} ret[s,a]) / card(S);
var invest{A} >= 0, <= 35;
maximize expected_return: sum{a in A} mean_ret[a] / 100 * invest[a];
s.t. all_in: sum{a in A} invest[a] = 100;
s.t. bond_min: invest['bonds'] >= 15;
s.t. downside{s in S}: sum{a in A} ret[s,a] / 100 * invest[a] >= -5;
solve;
printf "objective %.17g\n", expected_return;
printf "report return in a crisis\t%.17g\n", sum{a in A} ret['crisis',a] / 100 * invest[a];
data;
set A := bonds blue_chip tech emerging real_estate;
set S := boom steady slump crisis;
param ret: bonds blue_chip tech emerging real_estate :=
  boom       3      11      24      30        12
  steady     4       7       9       8         6
  slump      5       1      -6     -10        -2
  crisis     6      -9     -22     -28       -12 ;
end;
