/* two-product word problem (integer): oracle for m_bakery_word.json */
var s integer, >= 0;
var b integer, >= 40, <= 200;
maximize profit: 3.8 * s + 2.1 * b;
s.t. flour_limit: 0.5 * s + 0.3 * b <= 90;
s.t. oven_limit: 12 * s + 5 * b <= 1800;
s.t. ratio: s <= 2 * b;
solve;
printf "objective %.17g\n", profit;
printf "report sourdough loaves\t%.17g\n", s;
printf "report baguettes\t%.17g\n", b;
end;
