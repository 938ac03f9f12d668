/* The compiled linear program: columns, rows in compressed form, objective. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "formulate/formulate.h"
#include "formulate/internal.h"

struct fm_program {
    fm_sense sense;
    char *obj_name;
    double obj_const;
    int *obj_cols; double *obj_coefs; size_t obj_n;

    size_t ncols, cols_cap;
    size_t *col_name;          /* offsets into names */
    fm_col_kind *col_kind;
    double *col_lo, *col_hi;

    size_t nrows, rows_cap;
    size_t *row_name, *row_elem;
    double *row_lo, *row_hi;
    size_t *row_start;         /* nrows + 1 offsets into nz_cols/nz_coefs */

    size_t nnz, nz_cap;
    int *nz_cols; double *nz_coefs;

    fm_strbuf names;
};

fm_program *fm_program_new(void)
{
    fm_program *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->row_start = malloc(sizeof(size_t));
    p->obj_name = strdup("objective");
    if (!p->row_start || !p->obj_name) { fm_program_free(p); return NULL; }
    p->row_start[0] = 0;
    return p;
}

void fm_program_free(fm_program *p)
{
    if (!p) return;
    free(p->obj_name); free(p->obj_cols); free(p->obj_coefs);
    free(p->col_name); free(p->col_kind); free(p->col_lo); free(p->col_hi);
    free(p->row_name); free(p->row_elem); free(p->row_lo); free(p->row_hi);
    free(p->row_start); free(p->nz_cols); free(p->nz_coefs);
    fm_strbuf_free(&p->names);
    free(p);
}

#define GROW(ptr, n)                                       \
    do {                                                   \
        void *t_ = realloc((ptr), (n) * sizeof *(ptr));    \
        if (!t_)                                           \
            return -1;                                     \
        (ptr) = t_;                                        \
    } while (0)

int fm_program_add_col(fm_program *p, const char *name, fm_col_kind kind,
                       double lo, double hi)
{
    if (p->ncols == p->cols_cap) {
        size_t cap = p->cols_cap ? p->cols_cap * 2 : 64;
        GROW(p->col_name, cap); GROW(p->col_kind, cap);
        GROW(p->col_lo, cap); GROW(p->col_hi, cap);
        p->cols_cap = cap;
    }
    size_t off;
    if (fm_strbuf_add(&p->names, name, &off) != 0) return -1;
    size_t j = p->ncols++;
    p->col_name[j] = off; p->col_kind[j] = kind;
    p->col_lo[j] = lo; p->col_hi[j] = hi;
    return (int)j;
}

int fm_program_add_row(fm_program *p, const char *name, const char *element,
                       double lo, double hi, size_t n, const int *cols,
                       const double *coefs)
{
    for (size_t k = 0; k < n; k++)
        if (cols[k] < 0 || (size_t)cols[k] >= p->ncols) return -1;
    if (p->nrows == p->rows_cap) {
        size_t cap = p->rows_cap ? p->rows_cap * 2 : 64;
        GROW(p->row_name, cap); GROW(p->row_elem, cap);
        GROW(p->row_lo, cap); GROW(p->row_hi, cap);
        GROW(p->row_start, cap + 1);
        p->rows_cap = cap;
    }
    if (p->nnz + n > p->nz_cap) {
        size_t cap = p->nz_cap ? p->nz_cap : 256;
        while (cap < p->nnz + n) cap *= 2;
        GROW(p->nz_cols, cap); GROW(p->nz_coefs, cap);
        p->nz_cap = cap;
    }
    size_t off_name, off_elem;
    if (fm_strbuf_add(&p->names, name, &off_name) != 0) return -1;
    if (fm_strbuf_add(&p->names, element ? element : "", &off_elem) != 0) return -1;
    if (n) {
        memcpy(p->nz_cols + p->nnz, cols, n * sizeof *cols);
        memcpy(p->nz_coefs + p->nnz, coefs, n * sizeof *coefs);
    }
    size_t i = p->nrows++;
    p->nnz += n;
    p->row_name[i] = off_name; p->row_elem[i] = off_elem;
    p->row_lo[i] = lo; p->row_hi[i] = hi;
    p->row_start[i + 1] = p->nnz;
    return (int)i;
}

int fm_program_set_objective(fm_program *p, fm_sense sense, const char *name,
                             double constant, size_t n, const int *cols,
                             const double *coefs)
{
    for (size_t k = 0; k < n; k++)
        if (cols[k] < 0 || (size_t)cols[k] >= p->ncols) return -1;
    char *nm = strdup(name ? name : "objective");
    int *c = n ? malloc(n * sizeof *c) : NULL;
    double *v = n ? malloc(n * sizeof *v) : NULL;
    if (!nm || (n && (!c || !v))) { free(nm); free(c); free(v); return -1; }
    if (n) { memcpy(c, cols, n * sizeof *c); memcpy(v, coefs, n * sizeof *v); }
    free(p->obj_name); free(p->obj_cols); free(p->obj_coefs);
    p->obj_name = nm; p->obj_cols = c; p->obj_coefs = v; p->obj_n = n;
    p->sense = sense; p->obj_const = constant;
    return 0;
}

size_t fm_program_ncols(const fm_program *p) { return p->ncols; }
size_t fm_program_nrows(const fm_program *p) { return p->nrows; }
size_t fm_program_nonzeros(const fm_program *p) { return p->nnz; }
const char *fm_program_col_name(const fm_program *p, size_t j)
{ return p->names.data + p->col_name[j]; }
fm_col_kind fm_program_col_kind(const fm_program *p, size_t j) { return p->col_kind[j]; }
void fm_program_col_bounds(const fm_program *p, size_t j, double *lo, double *hi)
{ *lo = p->col_lo[j]; *hi = p->col_hi[j]; }
const char *fm_program_row_name(const fm_program *p, size_t i)
{ return p->names.data + p->row_name[i]; }
const char *fm_program_row_element(const fm_program *p, size_t i)
{ return p->names.data + p->row_elem[i]; }
void fm_program_row_bounds(const fm_program *p, size_t i, double *lo, double *hi)
{ *lo = p->row_lo[i]; *hi = p->row_hi[i]; }
size_t fm_program_row(const fm_program *p, size_t i, const int **cols,
                      const double **coefs)
{
    size_t a = p->row_start[i], b = p->row_start[i + 1];
    *cols = p->nz_cols ? p->nz_cols + a : NULL;
    *coefs = p->nz_coefs ? p->nz_coefs + a : NULL;
    return b - a;
}
fm_sense fm_program_sense(const fm_program *p) { return p->sense; }
const char *fm_program_objective_name(const fm_program *p) { return p->obj_name; }
double fm_program_objective_constant(const fm_program *p) { return p->obj_const; }
size_t fm_program_objective(const fm_program *p, const int **cols,
                            const double **coefs)
{
    *cols = p->obj_cols; *coefs = p->obj_coefs;
    return p->obj_n;
}
