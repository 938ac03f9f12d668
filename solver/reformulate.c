/* solver/reformulate.c — exact linearization of nonlinear programs (stub:
 * implemented by the reformulation work). */
#include "solver/internal.h"

fm_program *sv_reformulate(const fm_nlp *n, sv_strlist *applied, const char **why)
{
    (void)n; (void)applied;
    if (why)
        *why = "no exact reformulation is implemented yet";
    return NULL;
}
