/* formulate — the five-element formulation (format 1): parse, check, compile.
 *
 * Ownership, once for the whole API: every object returned by an fm_*_new or
 * fm_model_parse call is owned by the caller and freed with its fm_*_free.
 * Pointers returned by accessors (names, rows, diagnostics) are borrowed: they
 * stay valid until the object they came from is freed. Nothing here prints;
 * problems are returned as diagnostics and result codes.
 */
#ifndef OPTAGENT_FORMULATE_H
#define OPTAGENT_FORMULATE_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    FM_OK = 0,
    FM_EJSON,       /* not JSON, or not a JSON object */
    FM_EINVALID,    /* the formulation failed a check; see the diagnostics */
    FM_ELIMIT,      /* an input limit was exceeded; see the diagnostics */
    FM_ENOMEM,
    FM_EIO          /* a file could not be read or written */
} fm_code;

const char *fm_strerror(fm_code code);

/* Milliseconds on the monotonic clock: the project's one clock for measuring
 * durations (solve times, LLM latency, progress). Not a date. */
double fm_clock_ms(void);

/* ---- diagnostics ------------------------------------------------------- */

typedef enum { FM_SEV_ERROR, FM_SEV_WARNING, FM_SEV_INFO } fm_severity;

typedef struct {
    fm_severity severity;
    const char *element;  /* e.g. "constraints[1] 'cap'", "model", "json" */
    const char *index;    /* e.g. "[wood]", "[s,a]"; "" when not indexed */
    const char *message;
    const char *hint;     /* "" when there is none */
} fm_diag;

typedef struct fm_diags fm_diags;

fm_diags *fm_diags_new(void);
void fm_diags_free(fm_diags *d);
/* Copies every string; returns 0, or -1 when out of memory or when the cap of
 * FM_MAX_DIAGS is reached (the last kept diagnostic then says so). */
int fm_diags_add(fm_diags *d, fm_severity sev, const char *element,
                 const char *index, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
size_t fm_diags_count(const fm_diags *d);
size_t fm_diags_errors(const fm_diags *d);
const fm_diag *fm_diags_get(const fm_diags *d, size_t i);
const char *fm_severity_name(fm_severity s);

/* ---- limits ------------------------------------------------------------- */

/* Hard caps on everything that grows from input. fm_limits_default() fills
 * the documented defaults (docs/FORMULATION.md, "Limits"). */
typedef struct {
    size_t max_json_bytes;      /* size of the JSON text */
    size_t max_expr_bytes;      /* one expression string */
    int    max_depth;           /* expression nesting depth */
    size_t max_set_size;        /* members of one set, incl. ranges */
    size_t max_rows;
    size_t max_cols;
    size_t max_nonzeros;
    size_t max_steps;           /* total iterations over indexings */
} fm_limits;

void fm_limits_default(fm_limits *lim);

#define FM_MAX_DIAGS 200

/* ---- the model ----------------------------------------------------------- */

typedef struct fm_model fm_model;

/* Parses and checks a format-1 formulation, then instantiates it into a
 * linear program. Returns the model (caller frees with fm_model_free) or NULL
 * when even the JSON could not be read; in every case the reasons are added to
 * diags. When *code is not FM_OK the model (if any) holds no program.
 * lim may be NULL for the defaults. */
fm_model *fm_model_parse(const char *json, size_t len, const fm_limits *lim,
                         fm_diags *diags, fm_code *code);
void fm_model_free(fm_model *m);

const char *fm_model_name(const fm_model *m);  /* "" when unnamed */

typedef enum { FM_CLASS_LP, FM_CLASS_MILP, FM_CLASS_NLP, FM_CLASS_MINLP } fm_class;
const char *fm_class_name(fm_class c);
/* The class of the instantiated model: NLP/MINLP when a nonlinear term was
 * found (each one is an information diagnostic; there is then no
 * fm_program, but a nonlinear program, fm_model_nlp). */
fm_class fm_model_class(const fm_model *m);

/* ---- the compiled linear program ---------------------------------------- */

typedef struct fm_program fm_program;  /* owned by its model */

typedef enum { FM_COL_CONTINUOUS, FM_COL_INTEGER, FM_COL_BINARY } fm_col_kind;
typedef enum { FM_MINIMIZE, FM_MAXIMIZE } fm_sense;

/* The program of a successfully compiled linear model, or NULL. */
const fm_program *fm_model_program(const fm_model *m);

/* Columns and rows are numbered from 0. Bounds use -HUGE_VAL / HUGE_VAL for
 * "none". A row i means  lo <= sum_k coefs[k] * x[cols[k]] <= hi. */
size_t fm_program_ncols(const fm_program *p);
size_t fm_program_nrows(const fm_program *p);
size_t fm_program_nonzeros(const fm_program *p);
const char *fm_program_col_name(const fm_program *p, size_t j); /* "x[chair]" */
fm_col_kind fm_program_col_kind(const fm_program *p, size_t j);
void fm_program_col_bounds(const fm_program *p, size_t j, double *lo, double *hi);
const char *fm_program_row_name(const fm_program *p, size_t i); /* "cap[labor]" */
/* The element a row came from, as in diagnostics: "constraints[0] 'cap'". */
const char *fm_program_row_element(const fm_program *p, size_t i);
void fm_program_row_bounds(const fm_program *p, size_t i, double *lo, double *hi);
size_t fm_program_row(const fm_program *p, size_t i, const int **cols,
                      const double **coefs);
fm_sense fm_program_sense(const fm_program *p);
const char *fm_program_objective_name(const fm_program *p);
double fm_program_objective_constant(const fm_program *p);
size_t fm_program_objective(const fm_program *p, const int **cols,
                            const double **coefs);

/* Building a program directly (the compiler uses this; so do solver tests).
 * fm_program_new returns an empty minimizing program the caller owns and frees
 * with fm_program_free (never free one that belongs to a model). The add
 * functions copy their arguments and return the new index, or -1 when out of
 * memory or when an index is out of range. */
fm_program *fm_program_new(void);
void fm_program_free(fm_program *p);
int fm_program_add_col(fm_program *p, const char *name, fm_col_kind kind,
                       double lo, double hi);
int fm_program_add_row(fm_program *p, const char *name, const char *element,
                       double lo, double hi, size_t n, const int *cols,
                       const double *coefs);
int fm_program_set_objective(fm_program *p, fm_sense sense, const char *name,
                             double constant, size_t n, const int *cols,
                             const double *coefs);

/* ---- the nonlinear program ----------------------------------------------- */

/* A nonlinear model (class NLP/MINLP) has no fm_program (fm_model_program is
 * NULL; the solve path hands it to the nonlinear backends) but a nonlinear
 * program: the same columns, and rows and an objective that are each a linear
 * part (in the fm_program of fm_nlp_program, bounds and constants included)
 * plus an optional expression tree over the columns:
 *     row i:      lo <= sum_k coefs[k] * x[cols[k]] + tree_i(x) <= hi
 *     objective:  constant + sum_k coefs[k] * x[cols[k]] + tree(x)
 * Sums over indexes are expanded: trees hold only constants and columns.
 * Subtraction is written a + (-b), so sums stay flat (n-ary ADD). Everything
 * is owned by the model; nodes are read-only. */
typedef struct fm_nlp fm_nlp;
typedef struct fm_expr fm_expr;

typedef enum {
    FM_EX_CONST,  /* value */
    FM_EX_COL,    /* column */
    FM_EX_ADD,    /* sum of the children (two or more) */
    FM_EX_MUL,    /* product of the children (two or more) */
    FM_EX_DIV,    /* kid 0 / kid 1 */
    FM_EX_NEG,    /* -kid 0 */
    FM_EX_POW,    /* kid 0 ^ kid 1 */
    FM_EX_ABS, FM_EX_SQRT, FM_EX_EXP, FM_EX_LOG, FM_EX_LOG10,
    FM_EX_FLOOR, FM_EX_CEIL,   /* of kid 0 */
    FM_EX_MIN, FM_EX_MAX,      /* of the children (one or more) */
    FM_EX_IDIV, FM_EX_MOD      /* kid 0 div kid 1, kid 0 mod kid 1 (MathProg) */
} fm_expr_kind;

/* The nonlinear program of a nonlinear model that compiled, or NULL (a
 * linear model, or an invalid one). */
const fm_nlp *fm_model_nlp(const fm_model *m);
/* Columns, row names and bounds, the linear parts and the objective's sense,
 * name and constant. */
const fm_program *fm_nlp_program(const fm_nlp *p);
/* The tree of row i, or NULL when the row is linear. */
const fm_expr *fm_nlp_row_tree(const fm_nlp *p, size_t i);
const fm_expr *fm_nlp_objective_tree(const fm_nlp *p);   /* NULL: linear */
/* Nodes of all trees (at most fm_limits.max_nonzeros; a tree is at most
 * FM_MAX_TREE_DEPTH deep). */
size_t fm_nlp_nodes(const fm_nlp *p);
#define FM_MAX_TREE_DEPTH 1000

fm_expr_kind fm_expr_kind_of(const fm_expr *e);
double fm_expr_value(const fm_expr *e);       /* FM_EX_CONST */
int fm_expr_col(const fm_expr *e);            /* FM_EX_COL */
size_t fm_expr_nkids(const fm_expr *e);
const fm_expr *fm_expr_kid(const fm_expr *e, size_t k);
/* The value of e at the column values x (IEEE results: log(-1) is NaN). */
double fm_expr_eval(const fm_expr *e, const double *x);
/* Row i's body (linear part + tree) at x; the objective with its constant. */
double fm_nlp_eval_row(const fm_nlp *p, size_t i, const double *x);
double fm_nlp_eval_objective(const fm_nlp *p, const double *x);

/* ---- derivatives of the nonlinear program (deriv.c) ---------------------
 *
 * Exact first and second derivatives by automatic differentiation over the
 * trees: the objective's value and gradient, the rows' values and sparse
 * Jacobian, and the Hessian of the Lagrangian
 *     sigma * objective(x) + sum_i lambda[i] * row_i(x)
 * as its lower triangle (row >= col) with a structure fixed at creation (the
 * union over every x; a slot may hold 0), the layout Ipopt takes.
 * abs has the subgradient sign(u) (0 at 0); min/max the derivative of the
 * active argument (the first reaching the value); floor, ceil, div and mod
 * the derivative that holds almost everywhere (0 for the first three): see
 * fm_nlp_diff_discontinuous.
 *
 * fm_nlp_diff_new returns an object the caller frees with fm_nlp_diff_free
 * (it borrows p, which must outlive it), or NULL with *code (may be NULL)
 * FM_ENOMEM, or FM_ELIMIT when the Hessian would have more than 5 million
 * entries. The evaluators take the column values x (ncols), write into the
 * caller's arrays and return 0, or -1 when a value is not finite (log of a
 * negative, division by zero, overflow: the point is outside the domain).
 * An object is not shared between threads (it holds the scratch). */
typedef struct fm_nlp_diff fm_nlp_diff;
fm_nlp_diff *fm_nlp_diff_new(const fm_nlp *p, fm_code *code);
void fm_nlp_diff_free(fm_nlp_diff *d);
/* "floor", "ceil", "div" or "mod" when a tree applies one to a column
 * (a step function: a smooth solver should refuse), else NULL. */
const char *fm_nlp_diff_discontinuous(const fm_nlp_diff *d);
size_t fm_nlp_diff_jac_nnz(const fm_nlp_diff *d);
void fm_nlp_diff_jac_structure(const fm_nlp_diff *d, int *rows, int *cols);
size_t fm_nlp_diff_hess_nnz(const fm_nlp_diff *d);
void fm_nlp_diff_hess_structure(const fm_nlp_diff *d, int *rows, int *cols);
int fm_nlp_diff_objective(fm_nlp_diff *d, const double *x, double *f);
int fm_nlp_diff_gradient(fm_nlp_diff *d, const double *x, double *grad); /* ncols */
int fm_nlp_diff_rows(fm_nlp_diff *d, const double *x, double *g);        /* nrows */
int fm_nlp_diff_jacobian(fm_nlp_diff *d, const double *x, double *values);
int fm_nlp_diff_hessian(fm_nlp_diff *d, const double *x, double sigma,
                        const double *lambda, double *values);

/* ---- after solving ------------------------------------------------------- */

/* Number of report quantities ("report" in the formulation). */
size_t fm_model_report_count(const fm_model *m);
/* Evaluates report quantity k on the column values x (ncols of them).
 * Returns FM_OK and sets *name and *value, or an error with a diagnostic. */
fm_code fm_model_report_eval(const fm_model *m, size_t k, const double *x,
                             const char **name, double *value, fm_diags *diags);

/* Writes a GNU MathProg model with its data section that `glpsol -m`
 * solves to the same optimum. Returns FM_OK or FM_EIO / FM_EINVALID. */
fm_code fm_model_write_mathprog(const fm_model *m, FILE *out);
/* The same, with the reason of a failure in err (may be NULL): FM_EINVALID
 * also when a text cannot be written safely in MathProg (an element with a
 * control character or over 100 bytes), naming it. Nothing is written to
 * out then. */
fm_code fm_model_export_mathprog(const fm_model *m, FILE *out, char *err, size_t errlen);

#endif
