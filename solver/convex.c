/* solver/convex.c — cheap convexity detection (stub: implemented with the
 * Ipopt backend). */
#include "solver/internal.h"

int sv_nlp_convex(const fm_nlp *n)
{
    (void)n;
    return 0;
}
