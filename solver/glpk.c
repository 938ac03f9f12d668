/* solver/glpk.c — the GLPK backend (sv_backend_glpk, for LP and MILP; the
 * interface is in solver/internal.h): builds a glp_prob from an fm_program
 * that passed the program checks of solver.c, solves it in-process, maps
 * GLPK's outcome onto the contract's statuses, and exports programs through
 * GLPK's LP/MPS writers (sv_export).
 *
 * Two GLPK habits shape this file:
 *  - GLPK prints to stdout and, on an internal error, calls abort(). Every
 *    entry point therefore installs a terminal hook (the output goes into a
 *    capped log) and an error hook that longjmps back to the entry point;
 *    GLPK then requires glp_free_env(), which also frees every other GLPK
 *    object of the calling thread.
 *  - GLPK's environment, hooks included, is per thread. All hook state lives
 *    in a per-call context handed to GLPK as the hooks' info pointer, so
 *    concurrent calls from different threads do not interfere.
 * Cancellation (sv_options.cancel): GLPK's branch-and-cut has a callback,
 * which stops the search with glp_ios_terminate. Its simplex method has
 * none, so every solve asks GLPK for progress output every CANCEL_POLL_MS
 * and the terminal hook, which GLPK then calls regularly, checks the flag
 * and longjmps out through the same path as the error hook: glp_free_env()
 * frees everything GLPK holds (all its memory is tracked by the
 * environment), so abandoning a solve midway leaks nothing. Re-entering the
 * simplex method in time slices was rejected: with the presolver on, each
 * slice would start again from scratch.
 * When the calling thread had no GLPK environment, the call creates one and
 * frees it before returning, which leaves the thread as it was. When it had
 * one, GLPK offers no way to read the hooks installed before ours, so they
 * are reset to GLPK's defaults (none) and the terminal-output switch is put
 * back to its earlier value.
 */
#include <glpk.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "solver/internal.h"

/* ---- the captured log ---------------------------------------------------- */

/* The log keeps the first LOG_HEAD bytes of GLPK's output (banner, problem
 * size, presolve) and the last LOG_TAIL bytes (the search and its outcome),
 * with one marker line saying how many bytes in between were dropped. */
#define LOG_HEAD (16u * 1024u)
#define LOG_TAIL (48u * 1024u)

typedef struct {
    char *head;          /* LOG_HEAD bytes, allocated on first output */
    size_t head_len;
    char *tail;          /* a ring of LOG_TAIL bytes, once the head is full */
    size_t tail_pos;     /* next write position in the ring */
    size_t tail_len;     /* bytes held in the ring */
    size_t dropped;      /* bytes kept in neither (or lost to ENOMEM) */
} sv_log;

/* Appends n bytes of s (borrowed). Never fails: when memory runs out the
 * bytes are only counted as dropped, since a log must not stop a solve. */
static void log_append(sv_log *l, const char *s, size_t n)
{
    if (l->head_len < LOG_HEAD) {
        if (!l->head && !(l->head = malloc(LOG_HEAD))) {
            l->dropped += n;
            return;
        }
        size_t k = LOG_HEAD - l->head_len;
        if (k > n)
            k = n;
        memcpy(l->head + l->head_len, s, k);
        l->head_len += k;
        s += k;
        n -= k;
    }
    if (n == 0)
        return;
    if (!l->tail && !(l->tail = malloc(LOG_TAIL))) {
        l->dropped += n;
        return;
    }
    if (n > LOG_TAIL) {
        l->dropped += n - LOG_TAIL;
        s += n - LOG_TAIL;
        n = LOG_TAIL;
    }
    if (l->tail_len + n > LOG_TAIL)
        l->dropped += l->tail_len + n - LOG_TAIL;   /* overwritten below */
    size_t first = LOG_TAIL - l->tail_pos;
    if (first > n)
        first = n;
    memcpy(l->tail + l->tail_pos, s, first);
    memcpy(l->tail, s + first, n - first);
    l->tail_pos = (l->tail_pos + n) % LOG_TAIL;
    l->tail_len = l->tail_len + n > LOG_TAIL ? LOG_TAIL : l->tail_len + n;
}

/* Returns the log as one malloc'd string (caller frees), or NULL when out of
 * memory. */
static char *log_text(const sv_log *l)
{
    char marker[96] = "";
    if (l->dropped)
        snprintf(marker, sizeof marker,
                 "\n[... %zu bytes of GLPK output omitted ...]\n", l->dropped);
    size_t mlen = strlen(marker);
    char *s = malloc(l->head_len + mlen + l->tail_len + 1);
    if (!s)
        return NULL;
    char *w = s;
    if (l->head_len)
        memcpy(w, l->head, l->head_len);
    w += l->head_len;
    memcpy(w, marker, mlen);
    w += mlen;
    if (l->tail_len < LOG_TAIL) {          /* the ring has not wrapped */
        if (l->tail_len)
            memcpy(w, l->tail, l->tail_len);
    } else {
        memcpy(w, l->tail + l->tail_pos, LOG_TAIL - l->tail_pos);
        memcpy(w + (LOG_TAIL - l->tail_pos), l->tail, l->tail_pos);
    }
    w += l->tail_len;
    *w = '\0';
    return s;
}

static void log_free(sv_log *l)
{
    free(l->head);
    free(l->tail);
}

/* Copies into out (caller's buffer) the last non-empty line of text that is
 * not GLPK's "Error detected in file ..." trailer: that is the line saying
 * what went wrong. out is "" when there is none. */
static void last_line(const char *text, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!text || outlen == 0)
        return;
    const char *end = text + strlen(text);
    while (end > text) {
        const char *e = end;
        while (e > text && (e[-1] == '\n' || e[-1] == '\r'))
            e--;
        const char *b = e;
        while (b > text && b[-1] != '\n')
            b--;
        if (e > b && strncmp(b, "Error detected in file", 22) != 0) {
            size_t n = (size_t)(e - b);
            if (n >= outlen)
                n = outlen - 1;
            memcpy(out, b, n);
            out[n] = '\0';
            return;
        }
        end = b;
    }
}

/* ---- the per-call GLPK context -------------------------------------------- */

struct glpk_ctx {
    jmp_buf jb;          /* where GLPK's error hook jumps to */
    sv_log log;
    int hooked;          /* our hooks are installed in this thread's env */
    int own_env;         /* the env was created by this call */
    int prev_term_out;
    glp_prob *lp;        /* NULL after glp_free_env() freed it */
    int *ind;            /* row scratch, 1-based as GLPK wants */
    double *val;
    int *pos;            /* column -> its place in the current row, or 0 */
    double *obj;         /* objective coefficients, duplicates summed */
    double t0_ms;        /* fm_clock_ms() when the call began */
    double limit_ms;     /* <= 0: no time limit */
    volatile int *cancel;/* the caller's flag, or NULL */
    int solving;         /* inside glp_simplex/glp_intopt: the hook may jump */
    int cancelled;       /* the flag stopped the solve */
    sv_code rc;          /* outcome of the call; set after setjmp, so here */
    char fail[320];      /* why the backend failed, when rc is SV_EBACKEND */
};

static void ctx_free(struct glpk_ctx *c)
{
    if (!c)
        return;
    log_free(&c->log);
    free(c->ind);
    free(c->val);
    free(c->pos);
    free(c->obj);
    free(c);
}

/* GLPK's terminal hook: keep the text, and return nonzero so that GLPK does
 * not print it itself. */
static int term_hook(void *info, const char *s)
{
    struct glpk_ctx *c = info;
    log_append(&c->log, s, strlen(s));
    if (c->solving && c->cancel && *c->cancel) {
        c->cancelled = 1;
        longjmp(c->jb, 2);   /* see the file comment: as safe as the error hook */
    }
    return 1;
}

/* How often (ms) GLPK reports progress while solving, i.e. how often the
 * terminal hook gets a chance to see the cancel flag. */
#define CANCEL_POLL_MS 100

/* Stops before a GLPK call when the flag is already set (the jump lands in
 * run_guarded, which frees the environment). */
static void check_cancel(struct glpk_ctx *c)
{
    if (c->cancel && *c->cancel) {
        c->cancelled = 1;
        longjmp(c->jb, 2);
    }
}

/* glp_intopt's callback: ask the search to stop when the flag is set. */
static void mip_callback(glp_tree *tree, void *info)
{
    struct glpk_ctx *c = info;
    if (c->cancel && *c->cancel) {
        c->cancelled = 1;
        glp_ios_terminate(tree);
    }
}

/* GLPK's error hook: GLPK calls abort() if this returns, so jump back to the
 * entry point, which calls glp_free_env() as GLPK's manual requires. */
static void error_hook(void *info)
{
    struct glpk_ctx *c = info;
    longjmp(c->jb, 1);
}

/* Installs our hooks in this thread's GLPK environment, creating it when
 * there is none (then hooks_remove frees it again, so that a thread that
 * only uses GLPK through us holds no GLPK memory between calls and leaks
 * none when it exits). Returns 0, or -1 when GLPK cannot set up. */
static int hooks_install(struct glpk_ctx *c)
{
    int init = glp_init_env();   /* 0: created now, 1: existed already */
    if (init != 0 && init != 1)
        return -1;
    c->own_env = init == 0;
    glp_term_hook(term_hook, c);
    glp_error_hook(error_hook, c);
    c->prev_term_out = glp_term_out(GLP_ON);
    c->hooked = 1;
    return 0;
}

/* Undoes hooks_install. Call it after deleting c->lp: freeing an
 * environment we created frees every problem in it. */
static void hooks_remove(struct glpk_ctx *c)
{
    if (!c->hooked)
        return;
    c->hooked = 0;
    if (c->own_env) {
        glp_free_env();
        return;
    }
    glp_term_out(c->prev_term_out);
    glp_error_hook(NULL, NULL);
    glp_term_hook(NULL, NULL);
}

/* Called right after the error hook's longjmp: GLPK's state is unusable until
 * glp_free_env(), which also frees c->lp and drops the hooks. */
static void after_glpk_error(struct glpk_ctx *c)
{
    glp_free_env();
    c->lp = NULL;
    c->hooked = 0;
    c->rc = SV_EBACKEND;
    char line[256];
    char *text = log_text(&c->log);
    last_line(text, line, sizeof line);
    free(text);
    snprintf(c->fail, sizeof c->fail, "GLPK stopped with an internal error%s%s",
             line[0] ? ": " : "", line);
}

/* Called after a cancel's longjmp: as after an error, GLPK's state is
 * dropped whole; the caller reports SV_STATUS_INTERRUPTED. */
static void after_cancel(struct glpk_ctx *c)
{
    glp_free_env();
    c->lp = NULL;
    c->hooked = 0;
    c->solving = 0;
    c->rc = SV_OK;
}

static double elapsed_ms(const struct glpk_ctx *c)
{
    return fm_clock_ms() - c->t0_ms;
}

/* GLPK's tm_lim for the next GLPK call: what is left of the limit, but at
 * least 1 ms so that every call (including the reruns that classify an
 * infeasible or unbounded problem) gets a chance; INT_MAX without a limit. */
static int tm_lim(const struct glpk_ctx *c)
{
    if (!(c->limit_ms > 0))
        return INT_MAX;
    double left = ceil(c->limit_ms - elapsed_ms(c));
    if (left < 1)
        return 1;
    if (left >= (double)INT_MAX)
        return INT_MAX;
    return (int)left;
}

/* Test-only switch (used by tests/test_solver.c, deliberately not in
 * solver.h): when set, the next problem built in this thread makes one
 * invalid GLPK call, so that GLPK's real error path (error hook, longjmp,
 * glp_free_env) can be tested; the program checks (solver.c) leave no other
 * way to reach it through the public API. */
void sv_test_glpk_fail_next(int on);
static _Thread_local int test_fail_next;
void sv_test_glpk_fail_next(int on)
{
    test_fail_next = on != 0;
}

/* ---- names ----------------------------------------------------------------- */

#define GLPK_NAME_MAX 255

/* GLPK rejects (through its error hook) names over 255 bytes and names with
 * control characters. Names only label GLPK's output and exports, so GLPK
 * gets a cleaned copy in buf (caller's, GLPK_NAME_MAX + 1 bytes): control
 * bytes become '_', and a long name is cut at a UTF-8 character boundary. */
static const char *glpk_name(const char *name, char *buf)
{
    size_t n = 0;
    if (!name)
        name = "";
    while (name[n] && n < GLPK_NAME_MAX)
        n++;
    if (name[n])     /* cut: do not split a multi-byte character */
        while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
            n--;
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)name[k];
        buf[k] = (ch < 0x20 || ch == 0x7F) ? '_' : (char)ch;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- building the GLPK problem ------------------------------------------------ */

static int bound_type(double lo, double hi)
{
    if (lo == -HUGE_VAL && hi == HUGE_VAL)
        return GLP_FR;
    if (hi == HUGE_VAL)
        return GLP_LO;
    if (lo == -HUGE_VAL)
        return GLP_UP;
    if (lo == hi)
        return GLP_FX;   /* GLPK refuses GLP_DB with lb == ub */
    return GLP_DB;       /* lb > ub only when exporting such a program */
}

/* Builds c->lp (owned by c; deleted by the caller, or freed by
 * glp_free_env() after a GLPK error) from p, which sv_check_program accepted
 * (sizes within GLPK's limits, numbers sane). The scratch arrays live in c so
 * that the error path frees them too. Duplicate columns within a row or the
 * objective are summed: the program means a sum, while GLPK rejects
 * duplicates. Returns 0, or -1 when out of memory. */
static int build_problem(struct glpk_ctx *c, const fm_program *p)
{
    size_t n = fm_program_ncols(p), m = fm_program_nrows(p);
    char nb[GLPK_NAME_MAX + 1];
    const int *cols;
    const double *coefs;

    size_t maxlen = 0;
    for (size_t i = 0; i < m; i++) {
        size_t len = fm_program_row(p, i, &cols, &coefs);
        if (len > maxlen)
            maxlen = len;
    }
    c->obj = calloc(n + 1, sizeof *c->obj);
    c->pos = calloc(n + 1, sizeof *c->pos);
    c->ind = malloc((maxlen + 1) * sizeof *c->ind);
    c->val = malloc((maxlen + 1) * sizeof *c->val);
    if (!c->obj || !c->pos || !c->ind || !c->val)
        return -1;

    glp_prob *lp = c->lp = glp_create_prob();
    glp_set_prob_name(lp, "optagent");     /* MPS readers want a NAME */
    glp_set_obj_name(lp, glpk_name(fm_program_objective_name(p), nb));
    glp_set_obj_dir(lp, fm_program_sense(p) == FM_MAXIMIZE ? GLP_MAX : GLP_MIN);
    if (n)
        glp_add_cols(lp, (int)n);          /* GLPK rejects adding 0 */
    if (m)
        glp_add_rows(lp, (int)m);

    for (size_t j = 0; j < n; j++) {
        int gj = (int)j + 1;
        double lo, hi;
        sv_col_bounds(p, j, &lo, &hi);
        glp_set_col_name(lp, gj, glpk_name(fm_program_col_name(p, j), nb));
        glp_set_col_bnds(lp, gj, bound_type(lo, hi), lo, hi);
        if (fm_program_col_kind(p, j) != FM_COL_CONTINUOUS)
            glp_set_col_kind(lp, gj, GLP_IV);   /* binary: bounds set above */
    }

    size_t on = fm_program_objective(p, &cols, &coefs);
    for (size_t t = 0; t < on; t++)
        c->obj[cols[t]] += coefs[t];
    for (size_t j = 0; j < n; j++)
        if (c->obj[j] != 0.0)
            glp_set_obj_coef(lp, (int)j + 1, c->obj[j]);
    glp_set_obj_coef(lp, 0, fm_program_objective_constant(p));

    for (size_t i = 0; i < m; i++) {
        int gi = (int)i + 1;
        double lo, hi;
        fm_program_row_bounds(p, i, &lo, &hi);
        glp_set_row_name(lp, gi, glpk_name(fm_program_row_name(p, i), nb));
        glp_set_row_bnds(lp, gi, bound_type(lo, hi), lo, hi);
        size_t rn = fm_program_row(p, i, &cols, &coefs);
        int len = 0;
        for (size_t t = 0; t < rn; t++) {
            int j = cols[t];
            if (c->pos[j]) {
                c->val[c->pos[j]] += coefs[t];
            } else {
                c->pos[j] = ++len;
                c->ind[len] = j + 1;
                c->val[len] = coefs[t];
            }
        }
        if (len)
            glp_set_mat_row(lp, gi, len, c->ind, c->val);
        for (int t = 1; t <= len; t++)
            c->pos[c->ind[t] - 1] = 0;
    }

    if (test_fail_next) {
        test_fail_next = 0;
        glp_set_col_kind(lp, 0, GLP_IV);   /* column 0 does not exist */
    }
    return 0;
}

/* ---- results ------------------------------------------------------------------ */

static double *alloc_vec(size_t n)
{
    return malloc((n ? n : 1) * sizeof(double));   /* non-NULL even for 0 */
}

/* Copies the current solution of c->lp into r: the MIP solution when mip,
 * else the basic one, with duals and reduced costs when duals. Returns
 * SV_OK or SV_ENOMEM. */
static sv_code take_solution(struct glpk_ctx *c, sv_result *r, int mip,
                             int duals)
{
    glp_prob *lp = c->lp;
    size_t n = (size_t)glp_get_num_cols(lp), m = (size_t)glp_get_num_rows(lp);
    r->values = alloc_vec(n);
    r->activities = alloc_vec(m);
    if (duals) {
        r->duals = alloc_vec(m);
        r->redcosts = alloc_vec(n);
        r->basic = malloc(n + m + 1);
    }
    if (!r->values || !r->activities || (duals && (!r->duals || !r->redcosts || !r->basic)))
        return SV_ENOMEM;
    for (size_t j = 0; j < n; j++) {
        int gj = (int)j + 1;
        r->values[j] = mip ? glp_mip_col_val(lp, gj) : glp_get_col_prim(lp, gj);
        if (duals) {
            r->redcosts[j] = glp_get_col_dual(lp, gj);
            r->basic[j] = glp_get_col_stat(lp, gj) == GLP_BS;
        }
    }
    for (size_t i = 0; i < m; i++) {
        int gi = (int)i + 1;
        r->activities[i] = mip ? glp_mip_row_val(lp, gi) : glp_get_row_prim(lp, gi);
        if (duals) {
            r->duals[i] = glp_get_row_dual(lp, gi);
            r->basic[n + i] = glp_get_row_stat(lp, gi) == GLP_BS;
        }
    }
    r->objective = mip ? glp_mip_obj_val(lp) : glp_get_obj_val(lp);
    r->has_solution = 1;
    return SV_OK;
}

static const char *glpk_ret_name(int ret)
{
    switch (ret) {
    case GLP_EBADB:   return "invalid initial basis";
    case GLP_ESING:   return "singular basis matrix";
    case GLP_ECOND:   return "ill-conditioned basis matrix";
    case GLP_EBOUND:  return "invalid bounds";
    case GLP_EFAIL:   return "solver failure";
    case GLP_EOBJLL:  return "objective lower limit reached";
    case GLP_EOBJUL:  return "objective upper limit reached";
    case GLP_EITLIM:  return "iteration limit exceeded";
    case GLP_ETMLIM:  return "time limit exceeded";
    case GLP_ENOPFS:  return "no primal feasible solution";
    case GLP_ENODFS:  return "no dual feasible solution";
    case GLP_EROOT:   return "root LP optimum not provided";
    case GLP_ESTOP:   return "search terminated by application";
    case GLP_EMIPGAP: return "relative MIP gap tolerance reached";
    case GLP_ENOFEAS: return "no primal/dual feasible solution";
    case GLP_ENOCVG:  return "no convergence";
    case GLP_EINSTAB: return "numerical instability";
    case GLP_EDATA:   return "invalid data";
    case GLP_ERANGE:  return "result out of range";
    }
    return "unknown return code";
}

static sv_code backend_fail(struct glpk_ctx *c, const char *what, int ret)
{
    if (ret)
        snprintf(c->fail, sizeof c->fail, "GLPK's %s failed: %s (code %d)",
                 what, glpk_ret_name(ret), ret);
    else
        snprintf(c->fail, sizeof c->fail,
                 "GLPK's %s ended without a usable status", what);
    return SV_EBACKEND;
}

/* ---- solving --------------------------------------------------------------------- */

static int run_simplex(struct glpk_ctx *c, int presolve)
{
    glp_smcp parm;
    glp_init_smcp(&parm);
    /* Everything (banner, presolve, outcome line) goes into the capped log. */
    parm.msg_lev = GLP_MSG_ALL;
    parm.presolve = presolve ? GLP_ON : GLP_OFF;
    parm.tm_lim = tm_lim(c);
    if (c->cancel)
        parm.out_frq = CANCEL_POLL_MS;
    check_cancel(c);
    c->solving = 1;
    int ret = glp_simplex(c->lp, &parm);
    c->solving = 0;
    return ret;
}

static int run_intopt(struct glpk_ctx *c, int presolve, double gap)
{
    glp_iocp parm;
    glp_init_iocp(&parm);
    parm.msg_lev = GLP_MSG_ALL;
    parm.presolve = presolve ? GLP_ON : GLP_OFF;
    parm.tm_lim = tm_lim(c);
    if (gap >= 0)                     /* also false for NaN */
        parm.mip_gap = gap;
    if (c->cancel) {
        parm.out_frq = CANCEL_POLL_MS;
        parm.cb_func = mip_callback;
        parm.cb_info = c;
    }
    check_cancel(c);
    c->solving = 1;
    int ret = glp_intopt(c->lp, &parm);
    c->solving = 0;
    if (c->cancelled)   /* glp_ios_terminate: GLP_ESTOP, maybe an incumbent */
        longjmp(c->jb, 2);
    return ret;
}

/* Classifies the outcome ret of glp_simplex on c->lp into r. pre is the
 * presolver's verdict that led to this (rerun) solve, or 0: GLP_ENOPFS (no
 * primal feasible solution) or GLP_ENODFS (no dual feasible solution, i.e.
 * infeasible or unbounded). */
static sv_code lp_outcome(struct glpk_ctx *c, sv_result *r, int ret, int pre,
                          double limit_s)
{
    glp_prob *lp = c->lp;
    if (ret == 0) {
        switch (glp_get_status(lp)) {
        case GLP_OPT:
            sv_result_set(r, SV_STATUS_OPTIMAL, "optimal solution found by "
                        "GLPK's simplex method");
            return take_solution(c, r, 0, 1);
        case GLP_FEAS:
            sv_result_set(r, SV_STATUS_FEASIBLE, "GLPK's simplex method stopped "
                        "with a feasible, not proven optimal, solution");
            return take_solution(c, r, 0, 0);
        case GLP_NOFEAS:
            sv_result_set(r, SV_STATUS_INFEASIBLE, "no point satisfies all "
                        "constraints and bounds (GLPK's simplex method)");
            return SV_OK;
        case GLP_UNBND:
            sv_result_set(r, SV_STATUS_UNBOUNDED, "the objective can be improved "
                        "without limit (GLPK's simplex method)");
            return SV_OK;
        default:
            break;
        }
    } else if (ret != GLP_ETMLIM && ret != GLP_EITLIM) {
        return backend_fail(c, "simplex method", ret);
    }
    /* A limit was reached, or the rerun ended without a definite status. */
    const char *lim = ret == GLP_EITLIM ? "the iteration limit" : "the time limit";
    if (pre == GLP_ENOPFS) {
        sv_result_set(r, SV_STATUS_INFEASIBLE, "no point satisfies all "
                    "constraints and bounds (GLPK's LP presolver)");
        return SV_OK;
    }
    if (glp_get_prim_stat(lp) == GLP_FEAS) {
        if (pre == GLP_ENODFS) {
            /* A feasible point exists and no dual feasible solution does. */
            sv_result_set(r, SV_STATUS_UNBOUNDED, "the objective can be improved "
                        "without limit (a feasible point exists and GLPK's "
                        "presolver found no dual feasible solution)");
            return SV_OK;
        }
        if (ret == 0)
            return backend_fail(c, "simplex method", 0);
        sv_result_set(r, SV_STATUS_FEASIBLE, "%s (%g s) was reached; the values "
                    "are feasible but not proven optimal", lim, limit_s);
        return take_solution(c, r, 0, 0);
    }
    if (pre == GLP_ENODFS) {
        sv_result_set(r, SV_STATUS_INF_OR_UNBD, "GLPK's presolver found no dual "
                    "feasible solution, so the problem is infeasible or "
                    "unbounded; %s stopped the solve that would tell which",
                    ret == 0 ? "an undecided simplex run" : lim);
        return SV_OK;
    }
    if (ret == 0)
        return backend_fail(c, "simplex method", 0);
    sv_result_set(r, SV_STATUS_TIME_LIMIT, "%s (%g s) was reached before a "
                "feasible solution was found", lim, limit_s);
    return SV_OK;
}

/* GLPK's presolver takes an implied column bound within 1e-3 (plus 1e-6
 * relative) of the column's own bound as redundant and drops the row that
 * implied it (npp_implied_upper/lower), so a presolved "optimum" can violate
 * an original row by far more than any feasibility tolerance: maximize
 * 100001 x subject to 100001 x <= 1e6, 0 <= x <= 10 comes back as x = 10.
 * Every solution found with the presolver is therefore checked against the
 * original rows and bounds (c->lp after postsolve); 1 when one is violated
 * beyond 1e-7 of the magnitude of its terms, so the caller solves again
 * without the presolver. -1 when out of memory. */
static int violates_original(struct glpk_ctx *c, int mip)
{
    glp_prob *lp = c->lp;
    int n = glp_get_num_cols(lp), m = glp_get_num_rows(lp);
    int *ind = malloc(((size_t)n + 1) * sizeof *ind);
    double *val = malloc(((size_t)n + 1) * sizeof *val);
    double *x = malloc(((size_t)n + 1) * sizeof *x);
    int bad = -1;
    if (!ind || !val || !x)
        goto out;
    bad = 0;
    for (int j = 1; j <= n && !bad; j++) {
        x[j] = mip ? glp_mip_col_val(lp, j) : glp_get_col_prim(lp, j);
        double lo = glp_get_col_lb(lp, j), hi = glp_get_col_ub(lp, j);
        int t = glp_get_col_type(lp, j);
        double tol = 1e-7 * (1.0 + fabs(x[j]));
        if ((t == GLP_LO || t == GLP_DB || t == GLP_FX) && x[j] < lo - tol) bad = 1;
        if ((t == GLP_UP || t == GLP_DB || t == GLP_FX) && x[j] > hi + tol) bad = 1;
    }
    for (int i = 1; i <= m && !bad; i++) {
        int len = glp_get_mat_row(lp, i, ind, val);
        double act = 0, mag = 0;
        for (int k = 1; k <= len; k++) {
            act += val[k] * x[ind[k]];
            mag = fmax(mag, fabs(val[k] * x[ind[k]]));
        }
        double lo = glp_get_row_lb(lp, i), hi = glp_get_row_ub(lp, i);
        int t = glp_get_row_type(lp, i);
        double tol = 1e-7 * (1.0 + fmax(mag, fabs(act)));
        if ((t == GLP_LO || t == GLP_DB || t == GLP_FX) && act < lo - tol) bad = 1;
        if ((t == GLP_UP || t == GLP_DB || t == GLP_FX) && act > hi + tol) bad = 1;
    }
out:
    free(ind);
    free(val);
    free(x);
    return bad;
}

/* Logs why a presolved solution is discarded (the log is the result's). */
static void note_presolve_discarded(struct glpk_ctx *c)
{
    static const char msg[] = "optagent: the presolved solution violates an original "
                              "constraint or bound; solving again without GLPK's presolver\n";
    log_append(&c->log, msg, sizeof msg - 1);
}

static sv_code solve_lp(struct glpk_ctx *c, const sv_options *o, sv_result *r)
{
    double limit_s = o->time_limit_s;
    int ret = run_simplex(c, o->presolve);
    if (o->presolve && ret == 0 && (glp_get_status(c->lp) == GLP_OPT ||
                                    glp_get_status(c->lp) == GLP_FEAS)) {
        int bad = violates_original(c, 0);
        if (bad < 0)
            return SV_ENOMEM;
        if (bad) {
            note_presolve_discarded(c);
            return lp_outcome(c, r, run_simplex(c, 0), 0, limit_s);
        }
    }
    if (ret != GLP_ENOPFS && ret != GLP_ENODFS)
        return lp_outcome(c, r, ret, 0, limit_s);
    /* The presolver only says that no primal (or dual) feasible solution
     * exists; the simplex method on the original problem tells infeasible
     * from unbounded definitively. */
    int pre = ret;
    ret = run_simplex(c, 0);
    return lp_outcome(c, r, ret, pre, limit_s);
}

/* Classifies the outcome ret of glp_intopt on c->lp into r. */
static sv_code mip_outcome(struct glpk_ctx *c, sv_result *r, int ret,
                           const sv_options *o)
{
    if (ret != 0 && ret != GLP_ETMLIM && ret != GLP_EMIPGAP && ret != GLP_ESTOP)
        return backend_fail(c, "branch-and-cut", ret);
    switch (glp_mip_status(c->lp)) {
    case GLP_OPT:
        sv_result_set(r, SV_STATUS_OPTIMAL, "integer optimal solution found by "
                    "GLPK's branch-and-cut");
        return take_solution(c, r, 1, 0);
    case GLP_FEAS:
        if (ret == GLP_EMIPGAP)
            sv_result_set(r, SV_STATUS_FEASIBLE, "the relative MIP gap tolerance "
                        "(%g) was reached; the solution is within it of the "
                        "optimum", o->mip_gap);
        else if (ret == GLP_ETMLIM)
            sv_result_set(r, SV_STATUS_FEASIBLE, "the time limit (%g s) was "
                        "reached; reporting the best integer solution found",
                        o->time_limit_s);
        else
            sv_result_set(r, SV_STATUS_FEASIBLE, "GLPK's branch-and-cut stopped "
                        "with an integer solution not proven optimal");
        return take_solution(c, r, 1, 0);
    case GLP_NOFEAS:
        sv_result_set(r, SV_STATUS_INFEASIBLE, "no integer point satisfies all "
                    "constraints and bounds (GLPK's branch-and-cut)");
        return SV_OK;
    default:
        if (ret == GLP_ETMLIM) {
            sv_result_set(r, SV_STATUS_TIME_LIMIT, "the time limit (%g s) was "
                        "reached before an integer solution was found",
                        o->time_limit_s);
            return SV_OK;
        }
        return backend_fail(c, "branch-and-cut", ret);
    }
}

/* The LP relaxation is unbounded. A MILP with rational data and an unbounded
 * relaxation is unbounded as soon as it has one integer-feasible point (its
 * integer hull has the same recession cone; Meyer 1974), and infeasible
 * otherwise. So look for any integer point with the objective set to zero
 * (which makes the first one found optimal): found → unbounded; proven none
 * → infeasible; undecided within the time limit → infeasible_or_unbounded.
 * The objective of c->lp is destroyed; no solution is reported either way. */
static sv_code milp_unbounded_relaxation(struct glpk_ctx *c,
                                         const sv_options *o, sv_result *r)
{
    glp_prob *lp = c->lp;
    int n = glp_get_num_cols(lp);
    for (int j = 0; j <= n; j++)
        glp_set_obj_coef(lp, j, 0.0);
    int ret, found = 0, none = 0;
    if (o->presolve) {
        ret = run_intopt(c, 1, -1.0);
    } else {
        /* Without the presolver glp_intopt needs an optimal relaxation. */
        ret = run_simplex(c, 0);
        if (ret == 0 && glp_get_status(lp) == GLP_OPT)
            ret = run_intopt(c, 0, -1.0);
        else if (ret == 0 && glp_get_status(lp) == GLP_NOFEAS)
            none = 1;
        else
            ret = -1;
    }
    if (ret == GLP_ENOPFS)
        none = 1;
    else if (ret == 0 || ret == GLP_ETMLIM) {
        int st = glp_mip_status(lp);
        found = st == GLP_OPT || st == GLP_FEAS;
        none = none || (ret == 0 && st == GLP_NOFEAS);
    }
    if (found)
        sv_result_set(r, SV_STATUS_UNBOUNDED, "the LP relaxation is unbounded and "
                    "an integer-feasible point exists, so the objective can be "
                    "improved without limit");
    else if (none)
        sv_result_set(r, SV_STATUS_INFEASIBLE, "the LP relaxation is unbounded, "
                    "but no integer point satisfies all constraints and bounds");
    else
        sv_result_set(r, SV_STATUS_INF_OR_UNBD, "the LP relaxation is unbounded; "
                    "whether any integer-feasible point exists (unbounded) or "
                    "not (infeasible) was not decided");
    return SV_OK;
}

/* A MILP without GLPK's MIP presolver, or after the presolver found no dual
 * feasible solution (after_enodfs): glp_intopt then needs an optimal basis of
 * the LP relaxation, and the relaxation's outcome classifies the rest. */
static sv_code milp_plain(struct glpk_ctx *c, const sv_options *o,
                          sv_result *r, int after_enodfs)
{
    int ret = run_simplex(c, 0);
    if (ret == GLP_ETMLIM || ret == GLP_EITLIM) {
        if (after_enodfs)
            sv_result_set(r, SV_STATUS_INF_OR_UNBD, "the LP relaxation has no dual "
                        "feasible solution (GLPK's presolver), so the problem "
                        "is infeasible or unbounded; the limit stopped the "
                        "solve that would tell which");
        else
            sv_result_set(r, SV_STATUS_TIME_LIMIT, "the time limit (%g s) was "
                        "reached while solving the LP relaxation",
                        o->time_limit_s);
        return SV_OK;
    }
    if (ret != 0)
        return backend_fail(c, "simplex method (LP relaxation)", ret);
    switch (glp_get_status(c->lp)) {
    case GLP_OPT:
        break;
    case GLP_NOFEAS:
        sv_result_set(r, SV_STATUS_INFEASIBLE, "the LP relaxation has no feasible "
                    "solution, so no integer point does either");
        return SV_OK;
    case GLP_UNBND:
        return milp_unbounded_relaxation(c, o, r);
    default:
        return backend_fail(c, "simplex method (LP relaxation)", 0);
    }
    return mip_outcome(c, r, run_intopt(c, 0, o->mip_gap), o);
}

static sv_code solve_milp(struct glpk_ctx *c, const sv_options *o,
                          sv_result *r)
{
    if (!o->presolve)
        return milp_plain(c, o, r, 0);
    int ret = run_intopt(c, 1, o->mip_gap);
    if (ret == GLP_ENOPFS) {
        sv_result_set(r, SV_STATUS_INFEASIBLE, "the LP relaxation has no feasible "
                    "solution (GLPK's MIP presolver), so no integer point does "
                    "either");
        return SV_OK;
    }
    if (ret == GLP_ENODFS)   /* relaxation infeasible or unbounded: tell which */
        return milp_plain(c, o, r, 1);
    int st = glp_mip_status(c->lp);
    if ((ret == 0 || ret == GLP_ETMLIM || ret == GLP_EMIPGAP) &&
        (st == GLP_OPT || st == GLP_FEAS)) {
        int bad = violates_original(c, 1);
        if (bad < 0)
            return SV_ENOMEM;
        if (bad) {
            note_presolve_discarded(c);
            return milp_plain(c, o, r, 0);
        }
    }
    return mip_outcome(c, r, ret, o);
}

/* Builds c->lp from p and runs work(c, arg) on it inside GLPK's error
 * guard, then deletes the problem; c->rc receives the outcome (SV_EBACKEND
 * with c->fail set when GLPK's error hook fired). Kept apart from the entry
 * points so that no local variable of theirs lives across setjmp. */
static void run_guarded(struct glpk_ctx *c, const fm_program *p,
                        sv_code (*work)(struct glpk_ctx *, void *), void *arg)
{
    if (setjmp(c->jb) != 0) {
        if (c->cancelled)
            after_cancel(c);
        else
            after_glpk_error(c);
        return;
    }
    if (hooks_install(c) != 0) {
        snprintf(c->fail, sizeof c->fail,
                 "GLPK could not initialise its environment");
        c->rc = SV_EBACKEND;
        return;
    }
    c->rc = build_problem(c, p) != 0 ? SV_ENOMEM : work(c, arg);
    if (c->lp)
        glp_delete_prob(c->lp);
    c->lp = NULL;
    hooks_remove(c);
}

struct solve_args {
    const sv_options *o;
    sv_result *r;
    int mip;
};

static sv_code solve_work(struct glpk_ctx *c, void *arg)
{
    struct solve_args *a = arg;
    return a->mip ? solve_milp(c, a->o, a->r) : solve_lp(c, a->o, a->r);
}

/* After a failed call: the diagnostic saying why (log: the captured
 * output, may be NULL). */
static void report_failure(const struct glpk_ctx *c, const char *log,
                           fm_diags *diags)
{
    if (!diags)
        return;
    if (c->rc != SV_EBACKEND) {
        (void)fm_diags_add(diags, FM_SEV_ERROR, "solver", "", "",
                           "%s while solving", sv_strerror(c->rc));
        return;
    }
    char line[256];
    last_line(log, line, sizeof line);
    /* c->fail may already end with that line (error hook). */
    int dup = line[0] && strstr(c->fail, line) != NULL;
    (void)fm_diags_add(diags, FM_SEV_ERROR, "solver", "",
                       "the formulation may be fine; this is a "
                       "solver failure",
                       "%s%s%s", c->fail,
                       line[0] && !dup ? "; GLPK said: " : "",
                       line[0] && !dup ? line : "");
}

/* The backend's solve (solver/internal.h): p passed sv_check_program. */
static sv_result *glpk_solve(const fm_program *p, const sv_options *o,
                             double start_ms, fm_diags *diags, sv_code *code)
{
    struct glpk_ctx *c = calloc(1, sizeof *c);
    sv_result *r = sv_result_new();
    if (!c || !r) {
        free(c);
        sv_result_free(r);
        *code = SV_ENOMEM;
        return NULL;
    }
    c->t0_ms = start_ms;
    c->limit_ms = o->time_limit_s > 0 ? o->time_limit_s * 1e3 : 0.0;
    c->cancel = o->cancel;

    struct solve_args args = {.o = o, .r = r,
                              .mip = sv_program_class(p) == FM_CLASS_MILP};
    if (o->cancel && *o->cancel)
        c->cancelled = 1;
    else
        run_guarded(c, p, solve_work, &args);
    if (c->cancelled) {
        sv_result_drop_solution(r);
        sv_result_set(r, SV_STATUS_INTERRUPTED, "the solve was interrupted "
                      "(cancelled) after %.0f ms", elapsed_ms(c));
    }

    r->time_ms = elapsed_ms(c);
    r->log = log_text(&c->log);
    if (c->rc == SV_OK && !r->log)
        c->rc = SV_ENOMEM;
    if (c->rc != SV_OK) {
        *code = c->rc;
        report_failure(c, r->log, diags);
        sv_result_free(r);
        r = NULL;
    }
    ctx_free(c);
    return r;
}

static int glpk_supports(fm_class cls)
{
    return cls == FM_CLASS_LP || cls == FM_CLASS_MILP;
}

/* Returns a thread-local buffer (valid until the thread's next call). The
 * version is copied because older GLPKs keep it in the per-thread
 * environment, which glp_free_env() frees. */
static const char *glpk_backend_name(void)
{
    static _Thread_local char name[48];
    snprintf(name, sizeof name, "glpk %s", glp_version());
    return name;
}

const sv_backend sv_backend_glpk = {
    .name = glpk_backend_name,
    .supports = glpk_supports,
    .solve = glpk_solve,
};

/* ---- export ---------------------------------------------------------------------- */

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

struct export_args {
    sv_export_format fmt;
    const char *path;
};

/* MPS has no standard way to say "maximize" that GLPK's reader accepts (it
 * rejects an OBJSENSE section), and every reader takes an MPS file as a
 * minimization. So a maximization is written as the equivalent minimization
 * of the negated objective (constant included): any reader then finds the
 * same optimal point, with the objective value's sign flipped, instead of
 * silently minimizing. GLPK's writer ignores the objective's name, so the
 * problem name (the NAME record) says so. */
static void negate_for_mps(struct glpk_ctx *c)
{
    glp_prob *lp = c->lp;
    int n = glp_get_num_cols(lp);
    for (int j = 0; j <= n; j++)
        glp_set_obj_coef(lp, j, -glp_get_obj_coef(lp, j));
    glp_set_obj_dir(lp, GLP_MIN);
    glp_set_prob_name(lp, "optagent_negated_maximization");
}

/* Reads the written file back with GLPK's own reader: names that the
 * writer had to adjust (our cleaning of control bytes and long names, the
 * LP format's own character rules) can collide, and a file whose names
 * collide is either refused by readers or read as a different model (two
 * columns merged). Returns SV_OK when the file reads back with the same
 * number of rows, columns and nonzeros. */
static sv_code export_verify(struct glpk_ctx *c, const struct export_args *a)
{
    /* The LP writer turns a ranged row into an equality with one extra
     * column (~r_K) of its own. */
    int extra = 0, m = glp_get_num_rows(c->lp);
    if (a->fmt == SV_EXPORT_LP)
        for (int i = 1; i <= m; i++)
            extra += glp_get_row_type(c->lp, i) == GLP_DB;
    glp_prob *q = glp_create_prob();
    int ret = a->fmt == SV_EXPORT_LP ? glp_read_lp(q, NULL, a->path)
            : glp_read_mps(q, a->fmt == SV_EXPORT_FIXED_MPS ? GLP_MPS_DECK : GLP_MPS_FILE, NULL, a->path);
    int same = ret == 0 && glp_get_num_rows(q) == m &&
               glp_get_num_cols(q) == glp_get_num_cols(c->lp) + extra &&
               glp_get_num_nz(q) == glp_get_num_nz(c->lp) + extra;
    glp_delete_prob(q);
    return same ? SV_OK : SV_ENAME;
}

static sv_code export_work(struct glpk_ctx *c, void *arg)
{
    struct export_args *a = arg;
    int ret;
    if (a->fmt == SV_EXPORT_LP) {
        ret = glp_write_lp(c->lp, NULL, a->path);
    } else {
        if (glp_get_obj_dir(c->lp) == GLP_MAX)
            negate_for_mps(c);
        ret = glp_write_mps(c->lp, a->fmt == SV_EXPORT_FIXED_MPS ? GLP_MPS_DECK : GLP_MPS_FILE,
                            NULL, a->path);
    }
    if (ret != 0)
        return SV_EIO;
    return export_verify(c, a);
}

/* GLPK's MPS writer writes a column that is in no row and not in the
 * objective against row 1, and fails (an assertion) when there is none: the
 * name of such a column of a program without rows, else NULL. */
static const char *mps_unwritable_column(const fm_program *p)
{
    if (fm_program_nrows(p) > 0)
        return NULL;
    size_t n = fm_program_ncols(p);
    double *obj = calloc(n ? n : 1, sizeof *obj);
    if (!obj)
        return NULL;     /* the writer's own failure then says it */
    const int *cols;
    const double *coefs;
    size_t on = fm_program_objective(p, &cols, &coefs);
    for (size_t t = 0; t < on; t++)
        obj[cols[t]] += coefs[t];
    const char *name = NULL;
    for (size_t j = 0; j < n && !name; j++)
        if (obj[j] == 0.0)
            name = fm_program_col_name(p, j);
    free(obj);
    return name;
}

/* A name fixed MPS holds as it is: 1 to 8 bytes, no blank or control byte. */
static int fixed_mps_name(const char *name)
{
    size_t n = 0;
    for (; name && name[n]; n++)
        if ((unsigned char)name[n] <= 0x20 || name[n] == 0x7F || n >= 8)
            return 0;
    return n > 0;
}

sv_export_format sv_export_mps_format(const fm_program *p)
{
    if (!p)
        return SV_EXPORT_MPS;
    for (size_t j = 0; j < fm_program_ncols(p); j++)
        if (!fixed_mps_name(fm_program_col_name(p, j)))
            return SV_EXPORT_MPS;
    for (size_t i = 0; i < fm_program_nrows(p); i++)
        if (!fixed_mps_name(fm_program_row_name(p, i)))
            return SV_EXPORT_MPS;
    return SV_EXPORT_FIXED_MPS;
}

/* Ownership: p and path are only read; errbuf is the caller's. A program with
 * lo > hi somewhere is written as it is (that is still a model); NaN or
 * misplaced infinite numbers are SV_EARG. GLPK's progress messages are
 * captured and dropped, except the reason of a failure. Format limits: GLPK's
 * CPLEX LP writer puts the objective constant in a comment only (the format
 * has no constant) and adjusts names invalid in that format ('[' and ']'
 * become '(' and ')', others get generic names); MPS maximizations are
 * written negated (negate_for_mps). */
sv_code sv_export(const fm_program *p, sv_export_format fmt, const char *path,
                  char *errbuf, size_t errlen)
{
    set_err(errbuf, errlen, "%s", "");
    if (!p || !path || !path[0]) {
        set_err(errbuf, errlen, "no %s given", p ? "path" : "program");
        return SV_EARG;
    }
    if (fmt != SV_EXPORT_LP && fmt != SV_EXPORT_MPS && fmt != SV_EXPORT_FIXED_MPS) {
        set_err(errbuf, errlen, "unknown export format %d", (int)fmt);
        return SV_EARG;
    }
    sv_checker k = {.diags = NULL};
    sv_check_program(p, &k);
    if (k.too_big || k.invalid) {
        set_err(errbuf, errlen, "%s", k.too_big ? k.too_big_msg : k.first_invalid);
        return SV_EARG;
    }
    if (fmt == SV_EXPORT_LP && fm_program_nrows(p) == 0) {
        /* GLPK writes an empty "Subject To" section that its own reader (and
         * glpsol --lp) rejects with "missing variable name" */
        set_err(errbuf, errlen, "cannot export to %s: GLPK's CPLEX LP reader cannot read a "
                "model without constraints (an empty \"Subject To\" section); export to "
                ".mod or .mps", path);
        return SV_EARG;
    }
    for (size_t i = 0; fmt != SV_EXPORT_LP && i < fm_program_nrows(p); i++)
        if (!strcmp(fm_program_row_name(p, i), "R0000000")) {
            /* GLPK's MPS writer names the objective row R0000000, whatever
             * the objective's own name: the file would define that row twice */
            set_err(errbuf, errlen, "cannot export to %s: constraint 'R0000000' has the name "
                    "GLPK's MPS writer gives the objective row; rename it, or export to .lp or "
                    ".mod", path);
            return SV_EARG;
        }
    const char *idle = fmt != SV_EXPORT_LP ? mps_unwritable_column(p) : NULL;
    if (idle) {
        set_err(errbuf, errlen, "cannot export to %s: GLPK's MPS writer needs a constraint "
                "to write variable '%.200s', which appears nowhere in a model without "
                "constraints; export to .lp or .mod", path, idle);
        return SV_EARG;
    }
    struct glpk_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        set_err(errbuf, errlen, "%s", sv_strerror(SV_ENOMEM));
        return SV_ENOMEM;
    }
    c->t0_ms = fm_clock_ms();
    struct export_args args = {.fmt = fmt, .path = path};
    run_guarded(c, p, export_work, &args);
    if (c->rc == SV_EBACKEND) {
        set_err(errbuf, errlen, "%s", c->fail);
    } else if (c->rc == SV_EIO) {
        char line[256];
        char *text = log_text(&c->log);
        last_line(text, line, sizeof line);
        free(text);
        /* GLPK's last line says why, e.g. "Unable to create 'x' - ...". */
        set_err(errbuf, errlen, "cannot write %s: %s", path,
                line[0] ? line : "GLPK's writer failed");
    } else if (c->rc == SV_ENAME) {
        char line[256];
        char *text = log_text(&c->log);
        last_line(text, line, sizeof line);
        free(text);
        remove(path);   /* a file that reads back as another model must not stay */
        set_err(errbuf, errlen, "cannot export to %s: variable or constraint names "
                "collide once written in the %s format (names differing only in "
                "control characters, characters the format does not allow, or "
                "beyond 255 bytes)%s%.*s; rename the elements, or export to .mod",
                path, fmt == SV_EXPORT_LP ? "CPLEX LP" : fmt == SV_EXPORT_MPS ? "free MPS" : "fixed MPS",
                line[0] ? "; GLPK's reader said: " : "", 120, line);
    } else if (c->rc != SV_OK) {
        set_err(errbuf, errlen, "%s", sv_strerror(c->rc));
    }
    sv_code rc = c->rc;
    ctx_free(c);
    return rc;
}
