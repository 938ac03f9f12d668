/* tests/library_insights.h — two insights and two problem texts shared by
 * the tests of the library in the pipeline (test_agent.c) and in the
 * commands (test_library_run.c): both insights apply to LIB_PROBLEM (BM25
 * scores about 5.4 and 4.5), none to LIB_UNRELATED. Each example carries a
 * marker (MARKER-12, MARKER-7) that fake-server rules can match on. */
#ifndef OPTAGENT_TESTS_LIBRARY_INSIGHTS_H
#define OPTAGENT_TESTS_LIBRARY_INSIGHTS_H

#define LIB_PROBLEM "A furniture shop makes chairs and tables from wood boards; the labor per piece " \
    "is given in minutes and the shop has 40 labor hours. How many of each maximize profit?"
#define LIB_UNRELATED "A refinery blends two crude oils into gasoline at least cost."

static const char lib_insights[] =
    "[{\"id\": 12, \"taxonomy\": [\"General Formulation\", \"Integrality\", \"Integrality of counts\"],"
    "  \"condition\": \"Applies when a shop makes chairs and tables (whole pieces of furniture) from "
    "limited labor hours and wood boards. Does NOT apply when the products are liquids or continuous blends.\","
    "  \"explanation\": \"When furniture pieces such as chairs and tables are counted, declare the "
    "production variables integer; a common mistake is to leave them continuous.\","
    "  \"example\": \"Wrong: x continuous  Right: x integer (MARKER-12)\"},"
    " {\"id\": 7, \"taxonomy\": [\"General Formulation\", \"Units and Scaling\"],"
    "  \"condition\": \"Applies when a shop makes chairs and tables and the labor hours per piece are "
    "given in minutes while the shop's capacity is in hours. Does NOT apply when all times share one unit.\","
    "  \"explanation\": \"When a shop's labor for chairs and tables mixes minutes and hours, convert to "
    "one unit before writing the constraint; a common mistake is comparing minutes with hours.\","
    "  \"example\": \"Wrong: 30*x <= 40  Right: 0.5*x <= 40 (MARKER-7)\"}]";

#endif
