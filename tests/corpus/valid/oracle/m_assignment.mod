/* assignment: oracle for m_assignment.json */
set W;
set J;
param hours{W, J};
var assign{W, J} binary;
minimize total_hours: sum{w in W, j in J} hours[w,j] * assign[w,j];
s.t. one_job{w in W}: sum{j in J} assign[w,j] = 1;
s.t. one_translator{j in J}: sum{w in W} assign[w,j] = 1;
solve;
printf "objective %.17g\n", total_hours;
data;
set W := ana bo chen dara eli;
set J := contract manual brochure patent website;
param hours: contract manual brochure patent website :=
  ana        14       9       12       19      11
  bo         11      13        8       17      15
  chen       16      10       14       13      12
  dara       10      15       11       21       9
  eli        13      12       10       15      14 ;
end;
