/* Internal to formulate/: shared helpers of its source files. */
#ifndef OPTAGENT_FORMULATE_INTERNAL_H
#define OPTAGENT_FORMULATE_INTERNAL_H

#include <stddef.h>

/* A growing buffer of NUL-terminated strings addressed by offset (offsets stay
 * valid when the buffer moves). */
typedef struct {
    char *data;
    size_t len, cap;
} fm_strbuf;

/* Appends s with its NUL; *off receives its offset. Returns 0 or -1 (ENOMEM). */
int fm_strbuf_add(fm_strbuf *b, const char *s, size_t *off);
void fm_strbuf_free(fm_strbuf *b);

/* A hash map from borrowed NUL-terminated keys to ints: name lookups of the
 * checker (declarations, duplicate keys, report names) stay O(1) so checking
 * grows linearly with the number of names. Keys must outlive the map. */
typedef struct {
    const char **keys;      /* NULL: empty slot */
    int *vals;
    size_t n, nslots;
} fm_strmap;

/* Adds key -> val unless key is present. Returns 1 added, 0 present (*old,
 * if not NULL, receives its value), -1 out of memory. */
int fm_strmap_put(fm_strmap *m, const char *key, int val, int *old);
/* The value of key, or -1. */
int fm_strmap_get(const fm_strmap *m, const char *key);
void fm_strmap_free(fm_strmap *m);
/* Key comparisons made by fm_strmap in this thread: tests count them to show
 * that checking does O(1) comparisons per name. */
unsigned long fm_strmap_compares(void);

#endif

/* ---- everything below is shared by the parser, checker and compiler ---- */
#ifndef OPTAGENT_FORMULATE_INTERNAL_MODEL
#define OPTAGENT_FORMULATE_INTERNAL_MODEL
#include <stdint.h>
#include "formulate/formulate.h"

/* Interned elements: an element is identified by its text, so "3" and 3 are
 * the same element (the contract's key-matching rule). A number is an element
 * exactly when its text is the canonical text of its value
 * (fm_format_number): numeric elements live in a table keyed by the double,
 * the others in one keyed by text, so an element made from a number
 * (fm_sym_from_number: range members, computed subscripts) costs a hash of 8
 * bytes, and its text is formatted only when someone asks for it. */
typedef int32_t fm_sym;

/* Components of one index or tuple, at most. */
#define FM_MAX_DIMEN 20

/* Texts in blocks that never move, so a text pointer stays valid until the
 * table is freed (fm_sym_text formats numbers lazily, while others hold
 * earlier texts). */
typedef struct fm_textblock fm_textblock;

typedef struct {
    const char **text;    /* NULL: a number whose text is not formatted yet */
    double *num;          /* numeric value when is_num */
    unsigned char *is_num;
    size_t n, cap;
    int32_t *slots;       /* hash of the non-numeric ids by text; -1 empty */
    size_t nslots;
    int32_t *num_slots;   /* hash of the numeric ids by value; -1 empty */
    size_t nnum, num_nslots;
    fm_textblock *blocks;
} fm_symtab;

int fm_sym_intern(fm_symtab *t, const char *text, fm_sym *out);
/* Returns the id of text if it is already interned, else -1. */
fm_sym fm_sym_find(const fm_symtab *t, const char *text);
int fm_sym_from_number(fm_symtab *t, double v, fm_sym *out);
/* The element's text; formats a number's text on first use (the table is
 * logically const). Valid until the table is freed; "" when out of memory. */
const char *fm_sym_text(const fm_symtab *t, fm_sym s);
void fm_symtab_free(fm_symtab *t);
/* Formats v the way element texts and diagnostics show numbers. */
void fm_format_number(char *buf, size_t len, double v);

/* A hash map from tuples of dimen symbols to a value slot (int64 or double).
 * Keys are copied into the map's own flat array in insertion order. */
typedef struct {
    int dimen;
    size_t n, cap;        /* entries */
    fm_sym *keys;         /* n * dimen */
    union fm_tval { int64_t i; double d; } *vals;
    int32_t *slots;       /* entry index or -1 */
    size_t nslots;
} fm_tmap;

void fm_tmap_init(fm_tmap *m, int dimen);
void fm_tmap_free(fm_tmap *m);
/* Returns entry index or -1. */
long fm_tmap_find(const fm_tmap *m, const fm_sym *key);
/* Inserts key (if absent); returns the entry index, *added says if new;
 * -1 when out of memory. */
long fm_tmap_insert(fm_tmap *m, const fm_sym *key, int *added);

/* ---- expression AST ---- */

typedef enum {
    N_NUM, N_STR, N_NAME,      /* N_NAME: unresolved reference with subscripts */
    N_DUMMY, N_PARAM, N_VAR, N_SETNAME,   /* resolved references */
    N_NEG, N_ADD, N_SUB, N_MUL, N_DIV, N_IDIV, N_MOD, N_POW,
    N_CALL, N_ITER, N_IF,
    N_CMP, N_AND, N_OR, N_NOT, N_IN, N_TUPLE,
    S_RANGE, S_LIST, S_INDEXING,  /* set expressions besides N_SETNAME */
    N_FOLD      /* a left-associative chain of two or more operators */
} fm_node_kind;

typedef enum { F_ABS, F_MIN, F_MAX, F_SQRT, F_EXP, F_LOG, F_LOG10, F_FLOOR,
               F_CEIL, F_CARD } fm_func;
typedef enum { IT_SUM, IT_PROD, IT_MIN, IT_MAX } fm_iter_op;
typedef enum { C_LT, C_LE, C_EQ, C_NE, C_GE, C_GT } fm_cmp_op;

typedef struct fm_node fm_node;
typedef struct fm_indexing fm_indexing;

struct fm_node {
    fm_node_kind kind;
    int op;                 /* fm_func, fm_iter_op, fm_cmp_op; N_IN: 1 = not in */
    int pos;                /* byte offset in its source text, for messages */
    double num;
    char *str;              /* N_STR text; N_NAME name */
    int id;                 /* resolved: dummy slot, param/var/set index */
    fm_node **kids;
    int nkids;
    fm_indexing *idx;       /* N_ITER, S_INDEXING */
    /* N_FOLD: kids[0] ops[1] kids[1] ops[2] kids[2] ..., evaluated left to
     * right; ops[i] is N_ADD/N_SUB, N_MUL/N_DIV/N_IDIV/N_MOD, N_AND or N_OR
     * (one precedence level per chain; ops[0] unused). The parser builds it
     * instead of a left-nested tree so that no walker recurses once per term:
     * recursion is then bounded by real nesting, which max_depth caps. */
    unsigned char *ops;
};

/* One entry "(i,j) in S": ncomp components, each either a new dummy (slot
 * >= 0, name set) or a filter expression (expr set: an already-bound dummy or
 * any expression the tuple component must equal). */
typedef struct {
    int ncomp;
    char **names;           /* NULL entries for anonymous components */
    int *slots;             /* dummy slot, or -1 for a filter component */
    fm_node **filters;      /* expression for filter components, else NULL */
    fm_node *set;           /* set expression */
    int pos;
} fm_idx_entry;

struct fm_indexing {
    int n;
    fm_idx_entry *entries;
    fm_node *cond;          /* may be NULL */
    int ndummies;           /* number of new dummies (slots) it binds */
};

typedef struct {
    const char *src;
    size_t len;
    int max_depth;
    char err[256];          /* first syntax error */
    int err_pos;
    int limit_hit;          /* the error is a limit, not syntax */
} fm_parse_ctx;

/* Parsers. Each returns a new tree (free with fm_node_free) or NULL with
 * ctx->err set. */
fm_node *fm_parse_expr(fm_parse_ctx *ctx);        /* arithmetic expression */
fm_node *fm_parse_constraint(fm_parse_ctx *ctx);  /* e REL e [REL e] */
fm_indexing *fm_parse_indexing(fm_parse_ctx *ctx);/* "{...}" */
void fm_node_free(fm_node *n);
void fm_indexing_free(fm_indexing *x);

int fm_is_reserved(const char *name);
int fm_is_valid_name(const char *name);
#endif

#ifndef OPTAGENT_FORMULATE_INTERNAL_DECLS
#define OPTAGENT_FORMULATE_INTERNAL_DECLS
/* ---- declarations of a model ---- */

typedef enum { K_SET, K_PARAM, K_VAR, K_CON, K_OBJ, K_REPORT } fm_decl_kind;

/* A set's members in order, with a membership map and lazily built slice
 * indexes (for tuple components bound by an enclosing indexing). */
typedef struct fm_slice {
    unsigned mask;          /* bit c set: component c is bound */
    fm_tmap map;            /* key: bound components -> vals.i = head index */
    int32_t *next;          /* chain of member indices with the same key */
    struct fm_slice *link;
} fm_slice;

typedef struct {
    int dimen;
    fm_tmap members;        /* keys in order; vals unused */
    fm_slice *slices;
} fm_setval;

typedef enum { SF_ELEMENTS, SF_RANGE, SF_FROM } fm_set_form;

typedef struct {
    fm_decl_kind kind;
    int pos;                /* its index in fm_model.decls */
    char *name;
    char *label;            /* "constraints[1] 'cap'" */
    int json_index;
    char *description;
    int done;               /* evaluated (sets, params) */
    int visiting;           /* cycle detection */

    /* index of params, vars, constraints: an indexing (list-of-sets index is
     * turned into one with anonymous dummies). NULL: scalar. */
    fm_indexing *index;
    int dimen;              /* subscripts it takes */
    int nslots;             /* dummy slots its expressions use */

    /* sets */
    fm_set_form form;
    int set_dimen;
    const void *elements_json;   /* cJSON*, borrowed from the document */
    fm_node *range_lo, *range_hi, *range_by;
    fm_indexing *from;
    fm_setval setval;

    /* params */
    const void *values_json;     /* cJSON* "values" or "rows" */
    int values_are_rows;
    int has_default;
    double default_value;
    fm_node *expr;          /* params: computed; objective/report: body;
                               constraints: N_CMP */
    fm_tmap pvals;          /* params: key -> vals.d */

    /* vars */
    int var_type;           /* 0 continuous, 1 integer, 2 binary */
    fm_node *lower, *upper; /* NULL: the default (0 for lower, none upper) */
    int lower_free, upper_set;
    double lower_num, upper_num;
    int lower_is_num, upper_is_num;
    fm_tmap cols;           /* vars: key -> vals.i = column */

    /* objective */
    int maximize;
} fm_decl;

struct fm_model {
    void *doc;              /* cJSON document */
    char *name;
    fm_limits lim;
    fm_symtab syms;
    fm_decl **decls;        /* every declaration, in document order by kind */
    size_t ndecls, decls_cap;
    fm_strmap names;        /* name -> decls index (not reports; borrowed) */
    fm_strmap report_names; /* report name -> reports index */
    fm_decl *objective;
    fm_decl **reports;
    size_t nreports, reports_cap;
    fm_program *program;
    fm_nlp *nlp;            /* nonlinear models: their program (or NULL) */
    int nlp_lost;           /* a nonlinear term was used where no tree goes */
    fm_class cls;
    int nonlinear;
    int limit_hit;
    size_t *order;          /* sets and parameters in dependency order */
    size_t norder;
    size_t steps;
};

/* Integer bounds within this of an integer count as that integer
 * (docs/FORMULATION.md, "Integer bounds"). */
#define FM_INT_BOUND_TOL 1e-6

/* Numeric elements (JSON numbers, range members) must be below this in
 * magnitude: from 2^53 on a double no longer holds every integer. */
#define FM_MAX_EXACT_ELEMENT 9007199254740992.0

/* What cJSON may allocate while reading a document, per input byte (plus
 * 1 MiB): a cJSON node is 64 bytes and the densest JSON ("0,") spends 2 input
 * bytes on one, so a valid document never reaches it; a failed allocation
 * is reported as out of memory (docs/FORMULATION.md, "Limits"). */
#define FM_JSON_BYTES_PER_INPUT_BYTE 40

/* model.c: frees the cJSON document once sets and parameters have been read
 * from it (their *_json pointers are cleared). */
void fm_model_drop_json(fm_model *m);

/* Tests: a cJSON budget in bytes for this thread's next parses (0: the
 * default rule) to inject an out-of-memory failure. */
void fm_test_json_budget(size_t bytes);

/* compile.c: evaluates sets and parameters in the given order, then builds
 * the columns, objective and rows into m->program. */
fm_code fm_compile(fm_model *m, const size_t *order, size_t norder, fm_diags *d);

/* nlp.c: the nonlinear program. Nodes live in one array and are addressed
 * by index while compile.c builds them (children as a linked list, so that
 * appending to a sum is O(1)); fm_nlp_finish turns the lists into arrays of
 * pointers once nothing moves any more. */
struct fm_expr {
    fm_expr_kind kind;
    int col;
    double value;
    int32_t nkids, first, last, next;   /* building: children list */
    int32_t depth;
    const fm_expr **kids;               /* after fm_nlp_finish */
};

struct fm_nlp {
    fm_program *program;
    fm_expr *nodes;
    size_t nnodes, nodes_cap;
    const fm_expr **kidptrs;
    int32_t *row_tree;                  /* per row, -1: linear */
    size_t nrow_tree;
    int32_t obj_tree;
};

fm_nlp *fm_nlp_new(void);
void fm_nlp_free(fm_nlp *p);
/* A new node without children; its index, or -1 when out of memory. */
int32_t fm_nlp_node(fm_nlp *p, fm_expr_kind kind, double value, int col);
void fm_nlp_add_kid(fm_nlp *p, int32_t parent, int32_t kid);
/* a OP b for ADD and MUL (appending to a when it is already that operation,
 * so chains stay flat), or any binary kind. -1 when out of memory. */
int32_t fm_nlp_binary(fm_nlp *p, fm_expr_kind kind, int32_t a, int32_t b);
/* Records the tree of row i (rows without one are linear). 0 or -1. */
int fm_nlp_set_row(fm_nlp *p, size_t i, int32_t tree);
/* Takes prog (ownership) and makes the trees readable. 0 or -1. */
int fm_nlp_finish(fm_nlp *p, fm_program *prog);

/* mathprog.c */
fm_code fm_write_mathprog(const fm_model *m, FILE *out);
#endif
