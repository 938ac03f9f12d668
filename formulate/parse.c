/* Lexer and recursive-descent parser of the expression language.
 *
 * Precedence follows MathProg, lowest first: if-then-else; or; and; not;
 * relations and "in"; + -; iterated sum/prod/min/max (operand: a product);
 * * / div mod; unary + -; ^ (right associative). Every recursion counts
 * toward ctx->max_depth so hostile nesting fails cleanly instead of
 * overflowing the stack.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "formulate/internal.h"

typedef enum {
    T_END, T_NUM, T_STR, T_NAME, T_PLUS, T_MINUS, T_STAR, T_SLASH, T_POW,
    T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_LBRACE, T_RBRACE, T_COMMA,
    T_COLON, T_DOTDOT, T_LT, T_LE, T_EQ, T_NE, T_GE, T_GT, T_AND, T_OR,
    T_NOT, T_ERROR
} tok_kind;

typedef struct {
    tok_kind kind;
    int pos, len;
    double num;
    char *str;      /* T_STR (unquoted) and T_NAME, malloc'd */
} token;

typedef struct {
    fm_parse_ctx *ctx;
    token *toks;
    int ntoks, cur;
    int depth;
    int failed;
} parser;

static const char *const reserved_words[] = {
    "and", "by", "cross", "diff", "div", "else", "if", "in", "inter", "less",
    "mod", "not", "or", "symdiff", "then", "union", "within",
    "sum", "prod", "min", "max", "forall", "exists", "setof", "Infinity",
    "abs", "sqrt", "exp", "log", "log10", "floor", "ceil", "card", NULL
};

int fm_is_reserved(const char *name)
{
    for (int i = 0; reserved_words[i]; i++)
        if (strcmp(name, reserved_words[i]) == 0) return 1;
    return 0;
}

int fm_is_valid_name(const char *name)
{
    if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_')) return 0;
    for (const char *p = name + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_')) return 0;
    return 1;
}

static void fail(parser *p, int pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(parser *p, int pos, const char *fmt, ...)
{
    if (p->failed) return;
    p->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->ctx->err, sizeof p->ctx->err, fmt, ap);
    va_end(ap);
    p->ctx->err_pos = pos;
}

/* ---- lexer ---- */

/* The token scanners below read the token at ctx->src[i] into k and return
 * the position after it, or LEX_BAD (ctx->err set) or LEX_NOMEM. */
#define LEX_BAD ((size_t)-1)
#define LEX_NOMEM ((size_t)-2)

static size_t lex_error(fm_parse_ctx *ctx, size_t i)
{
    ctx->err_pos = (int)i;
    return LEX_BAD;
}

static size_t lex_number(fm_parse_ctx *ctx, size_t i, token *k)
{
    const char *s = ctx->src;
    size_t n = ctx->len, j = i;
    while (j < n && isdigit((unsigned char)s[j])) j++;
    if (j < n && s[j] == '.' && !(j + 1 < n && s[j + 1] == '.')) {
        j++;
        while (j < n && isdigit((unsigned char)s[j])) j++;
    }
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        size_t e = j + 1;
        if (e < n && (s[e] == '+' || s[e] == '-')) e++;
        if (e < n && isdigit((unsigned char)s[e])) {
            while (e < n && isdigit((unsigned char)s[e])) e++;
            j = e;
        }
    }
    char buf[64];
    size_t l = j - i;
    if (l >= sizeof buf) {
        snprintf(ctx->err, sizeof ctx->err, "syntax error: number too long");
        return lex_error(ctx, i);
    }
    memcpy(buf, s + i, l); buf[l] = 0;
    k->kind = T_NUM; k->num = strtod(buf, NULL);
    if (!isfinite(k->num)) {
        snprintf(ctx->err, sizeof ctx->err, "number %s is out of range", buf);
        return lex_error(ctx, i);
    }
    k->len = (int)l;
    return j;
}

static size_t lex_word(fm_parse_ctx *ctx, size_t i, token *k)
{
    const char *s = ctx->src;
    size_t n = ctx->len, j = i;
    while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_')) j++;
    k->str = strndup(s + i, j - i);
    if (!k->str) return LEX_NOMEM;
    k->len = (int)(j - i);
    if (!strcmp(k->str, "and")) k->kind = T_AND;
    else if (!strcmp(k->str, "or")) k->kind = T_OR;
    else if (!strcmp(k->str, "not")) k->kind = T_NOT;
    else k->kind = T_NAME;
    if (k->kind != T_NAME) { free(k->str); k->str = NULL; }
    return j;
}

/* MathProg style: the quote doubled stands for itself. */
static size_t lex_string(fm_parse_ctx *ctx, size_t i, token *k)
{
    const char *s = ctx->src;
    size_t n = ctx->len, j = i + 1, w = 0;
    char c = s[i];
    char *buf = malloc(n - i + 1);
    if (!buf) return LEX_NOMEM;
    for (;;) {
        if (j >= n) {
            free(buf);
            snprintf(ctx->err, sizeof ctx->err, "syntax error: unterminated string literal");
            return lex_error(ctx, i);
        }
        if (s[j] == c) {
            if (j + 1 < n && s[j + 1] == c) { buf[w++] = c; j += 2; continue; }
            j++;
            break;
        }
        buf[w++] = s[j++];
    }
    buf[w] = 0;
    k->kind = T_STR; k->str = buf; k->len = (int)(j - i);
    return j;
}

/* Operators and punctuation: one switch on the character. */
static size_t lex_punct(fm_parse_ctx *ctx, size_t i, token *k)
{
    const char *s = ctx->src;
    char c = s[i];
    char d = i + 1 < ctx->len ? s[i + 1] : 0;
    k->len = 1;
    switch (c) {
    case '+': k->kind = T_PLUS; break;
    case '-': k->kind = T_MINUS; break;
    case '*': if (d == '*') { k->kind = T_POW; k->len = 2; } else k->kind = T_STAR; break;
    case '/': k->kind = T_SLASH; break;
    case '^': k->kind = T_POW; break;
    case '(': k->kind = T_LPAREN; break;
    case ')': k->kind = T_RPAREN; break;
    case '[': k->kind = T_LBRACK; break;
    case ']': k->kind = T_RBRACK; break;
    case '{': k->kind = T_LBRACE; break;
    case '}': k->kind = T_RBRACE; break;
    case ',': k->kind = T_COMMA; break;
    case ':': k->kind = T_COLON; break;
    case '.': if (d == '.') { k->kind = T_DOTDOT; k->len = 2; } else k->kind = T_ERROR; break;
    case '<':
        if (d == '=') { k->kind = T_LE; k->len = 2; }
        else if (d == '>') { k->kind = T_NE; k->len = 2; }
        else k->kind = T_LT;
        break;
    case '>': if (d == '=') { k->kind = T_GE; k->len = 2; } else k->kind = T_GT; break;
    case '=': if (d == '=') { k->kind = T_EQ; k->len = 2; } else k->kind = T_EQ; break;
    case '!': if (d == '=') { k->kind = T_NE; k->len = 2; } else k->kind = T_NOT; break;
    case '&': if (d == '&') { k->kind = T_AND; k->len = 2; } else k->kind = T_ERROR; break;
    case '|': if (d == '|') { k->kind = T_OR; k->len = 2; } else k->kind = T_ERROR; break;
    default: k->kind = T_ERROR;
    }
    if (k->kind != T_ERROR) return i + k->len;
    if ((unsigned char)c >= 0x80)
        snprintf(ctx->err, sizeof ctx->err, "syntax error: unexpected non-ASCII character");
    else if ((unsigned char)c < 0x20 || c == 0x7f)
        snprintf(ctx->err, sizeof ctx->err, "syntax error: unexpected control character 0x%02x", (unsigned char)c);
    else
        snprintf(ctx->err, sizeof ctx->err, "syntax error: unexpected character '%c'", c);
    return lex_error(ctx, i);
}

static int lex(fm_parse_ctx *ctx, token **out, int *nout)
{
    const char *s = ctx->src;
    size_t n = ctx->len, i = 0;
    int cap = 16, cnt = 0;
    token *t = malloc(cap * sizeof *t);
    if (!t) return -1;
    for (;;) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        if (cnt + 1 >= cap) {
            cap *= 2;
            token *nt = realloc(t, cap * sizeof *t);
            if (!nt) goto nomem;
            t = nt;
        }
        token *k = &t[cnt];
        memset(k, 0, sizeof *k);
        k->pos = (int)i;
        if (i >= n) { k->kind = T_END; cnt++; break; }
        char c = s[i];
        if (isdigit((unsigned char)c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1])))
            i = lex_number(ctx, i, k);
        else if (isalpha((unsigned char)c) || c == '_')
            i = lex_word(ctx, i, k);
        else if (c == '\'' || c == '"')
            i = lex_string(ctx, i, k);
        else
            i = lex_punct(ctx, i, k);
        if (i == LEX_NOMEM) goto nomem;
        if (i == LEX_BAD) goto bad;
        cnt++;
    }
    *out = t; *nout = cnt;
    return 0;
nomem:
    snprintf(ctx->err, sizeof ctx->err, "out of memory");
bad:
    for (int q = 0; q < cnt; q++) free(t[q].str);
    free(t);
    return -1;
}

/* ---- nodes ---- */

static fm_node *mk(parser *p, fm_node_kind kind, int pos, int nkids)
{
    fm_node *n = calloc(1, sizeof *n);
    if (!n) { fail(p, pos, "out of memory"); return NULL; }
    n->kind = kind; n->pos = pos; n->id = -1;
    if (nkids) {
        n->kids = calloc(nkids, sizeof *n->kids);
        if (!n->kids) { free(n); fail(p, pos, "out of memory"); return NULL; }
        n->nkids = nkids;
    }
    return n;
}

void fm_indexing_free(fm_indexing *x)
{
    if (!x) return;
    for (int i = 0; i < x->n; i++) {
        fm_idx_entry *e = &x->entries[i];
        for (int c = 0; c < e->ncomp; c++) {
            if (e->names) free(e->names[c]);
            if (e->filters) fm_node_free(e->filters[c]);
        }
        free(e->names); free(e->slots); free(e->filters);
        fm_node_free(e->set);
    }
    free(x->entries);
    fm_node_free(x->cond);
    free(x);
}

void fm_node_free(fm_node *n)
{
    if (!n) return;
    for (int i = 0; i < n->nkids; i++) fm_node_free(n->kids[i]);
    free(n->kids);
    free(n->ops);
    free(n->str);
    fm_indexing_free(n->idx);
    free(n);
}

static int push_kid(parser *p, fm_node *n, fm_node *kid)
{
    fm_node **k = realloc(n->kids, (n->nkids + 1) * sizeof *k);
    if (!k) { fail(p, n->pos, "out of memory"); fm_node_free(kid); return -1; }
    n->kids = k;
    n->kids[n->nkids++] = kid;
    return 0;
}

/* ---- parser ---- */

static token *peek(parser *p) { return &p->toks[p->cur]; }
static token *peek_at(parser *p, int k)
{
    int i = p->cur + k;
    return &p->toks[i < p->ntoks ? i : p->ntoks - 1];
}
static token *next(parser *p)
{
    token *t = &p->toks[p->cur];
    if (t->kind != T_END) p->cur++;
    return t;
}
static int is_name(token *t, const char *s) { return t->kind == T_NAME && !strcmp(t->str, s); }

static const char *tok_desc(token *t, char *buf, size_t len)
{
    switch (t->kind) {
    case T_END: return "end of expression";
    case T_NUM: snprintf(buf, len, "number"); return buf;
    case T_STR: snprintf(buf, len, "string '%.40s'", t->str); return buf;
    case T_NAME: snprintf(buf, len, "'%.40s'", t->str); return buf;
    default: break;
    }
    snprintf(buf, len, "'%.*s'", t->len > 3 ? 3 : t->len, "");
    return buf;
}

static void expected(parser *p, const char *what)
{
    token *t = peek(p);
    char buf[64];
    const char *d;
    if (t->kind == T_END || t->kind == T_NUM || t->kind == T_STR || t->kind == T_NAME)
        d = tok_desc(t, buf, sizeof buf);
    else {
        snprintf(buf, sizeof buf, "'%.*s'", t->len, p->ctx->src + t->pos);
        d = buf;
    }
    fail(p, t->pos, "syntax error: expected %s but found %s", what, d);
}

static int accept(parser *p, tok_kind k)
{
    if (peek(p)->kind == k) { next(p); return 1; }
    return 0;
}

static int expect(parser *p, tok_kind k, const char *what)
{
    if (accept(p, k)) return 1;
    expected(p, what);
    return 0;
}

static int enter(parser *p)
{
    if (++p->depth > p->ctx->max_depth) {
        if (!p->failed) p->ctx->limit_hit = 1;
        fail(p, peek(p)->pos, "expression nested deeper than the limit of %d",
             p->ctx->max_depth);
        return 0;
    }
    return 1;
}
#define LEAVE(p, v) do { (p)->depth--; return (v); } while (0)

static fm_node *parse_or(parser *p);
static fm_node *parse_arith(parser *p);
static fm_node *parse_term(parser *p);
static fm_node *parse_unary(parser *p);
static fm_node *parse_setexpr(parser *p);
static fm_indexing *parse_indexing_braced(parser *p);

static const char *const func_names[] = {
    "abs", "min", "max", "sqrt", "exp", "log", "log10", "floor", "ceil", "card", NULL
};

static int func_of(const char *s)
{
    for (int i = 0; func_names[i]; i++) if (!strcmp(s, func_names[i])) return i;
    return -1;
}

/* The parts of parse_primary: each parses the construct starting at token t
 * (not yet consumed unless said) inside parse_primary's depth count. */

/* "(" e ")" or a tuple "(" e, e, ... ")"; t is the '(' (consumed). */
static fm_node *parse_paren(parser *p, token *t)
{
    fm_node *first = parse_or(p), *n;
    if (!first) return NULL;
    if (peek(p)->kind == T_COMMA) {
        n = mk(p, N_TUPLE, t->pos, 0);
        if (!n || push_kid(p, n, first)) { fm_node_free(first); fm_node_free(n); return NULL; }
        while (accept(p, T_COMMA)) {
            fm_node *c = parse_arith(p);
            if (!c || push_kid(p, n, c)) { fm_node_free(n); return NULL; }
        }
    } else n = first;
    if (!expect(p, T_RPAREN, "')'")) { fm_node_free(n); return NULL; }
    return n;
}

static fm_node *parse_if(parser *p, token *t)
{
    next(p);
    fm_node *n = mk(p, N_IF, t->pos, 3);
    if (!n) return NULL;
    if (!(n->kids[0] = parse_or(p))) goto bad;
    if (!is_name(peek(p), "then")) { expected(p, "'then'"); goto bad; }
    next(p);
    if (!(n->kids[1] = parse_arith(p))) goto bad;
    if (is_name(peek(p), "else")) {
        next(p);
        if (!(n->kids[2] = parse_arith(p))) goto bad;
    } else {
        /* MathProg: a missing else branch is zero. */
        if (!(n->kids[2] = mk(p, N_NUM, peek(p)->pos, 0))) goto bad;
    }
    return n;
bad:
    fm_node_free(n);
    return NULL;
}

/* sum/prod/min/max "{...}" operand */
static fm_node *parse_iter(parser *p, token *t, int it)
{
    next(p);
    fm_node *n = mk(p, N_ITER, t->pos, 1);
    if (!n) return NULL;
    n->op = it;
    if (!(n->idx = parse_indexing_braced(p)) || !(n->kids[0] = parse_term(p))) {
        fm_node_free(n);
        return NULL;
    }
    return n;
}

/* name "(" arguments ")" */
static fm_node *parse_call(parser *p, token *t)
{
    int f = func_of(t->str);
    if (f < 0) {
        fail(p, t->pos, "syntax error: unknown function '%s' (format 1 has abs, min, max, sqrt, exp, log, log10, floor, ceil, card)", t->str);
        return NULL;
    }
    next(p); next(p);
    fm_node *n = mk(p, N_CALL, t->pos, 0);
    if (!n) return NULL;
    n->op = f;
    if (f == F_CARD) {
        fm_node *s = parse_setexpr(p);
        if (!s || push_kid(p, n, s)) goto bad;
    } else {
        do {
            fm_node *a = parse_arith(p);
            if (!a || push_kid(p, n, a)) goto bad;
        } while (accept(p, T_COMMA));
    }
    if (!expect(p, T_RPAREN, "')'")) goto bad;
    if (f != F_MIN && f != F_MAX && n->nkids != 1) {
        fail(p, t->pos, "syntax error: %s takes 1 argument, got %d", t->str, n->nkids);
        goto bad;
    }
    return n;
bad:
    fm_node_free(n);
    return NULL;
}

/* name or name "[" subscripts "]" */
static fm_node *parse_reference(parser *p, token *t)
{
    if (fm_is_reserved(t->str) && !is_name(t, "Infinity")) {
        fail(p, t->pos, "syntax error: unexpected keyword '%s'", t->str);
        return NULL;
    }
    next(p);
    fm_node *n = mk(p, N_NAME, t->pos, 0);
    if (!n) return NULL;
    n->str = t->str; t->str = NULL;
    if (accept(p, T_LBRACK)) {
        do {
            fm_node *s = parse_arith(p);
            if (!s || push_kid(p, n, s)) goto bad;
        } while (accept(p, T_COMMA));
        if (!expect(p, T_RBRACK, "']' or ','")) goto bad;
    }
    return n;
bad:
    fm_node_free(n);
    return NULL;
}

/* A name: if, an iterated operator, a function call or a reference. */
static fm_node *parse_name(parser *p, token *t)
{
    if (is_name(t, "if")) return parse_if(p, t);
    int it = is_name(t, "sum") ? IT_SUM : is_name(t, "prod") ? IT_PROD
           : is_name(t, "min") ? IT_MIN : is_name(t, "max") ? IT_MAX : -1;
    if (it >= 0 && peek_at(p, 1)->kind == T_LBRACE) return parse_iter(p, t, it);
    if (it >= 0 && peek_at(p, 1)->kind != T_LPAREN) {
        next(p);
        fail(p, t->pos, "syntax error: '%s' must be followed by an indexing {...}%s",
             t->str, it >= IT_MIN ? " or by (arguments)" : "");
        return NULL;
    }
    if (is_name(t, "forall") || is_name(t, "exists") || is_name(t, "setof")) {
        fail(p, t->pos, "syntax error: '%s' is not part of format 1", t->str);
        return NULL;
    }
    if (peek_at(p, 1)->kind == T_LPAREN) return parse_call(p, t);
    return parse_reference(p, t);
}

static fm_node *parse_primary(parser *p)
{
    if (!enter(p)) return NULL;
    token *t = peek(p);
    fm_node *n = NULL;
    switch (t->kind) {
    case T_NUM:
        next(p);
        n = mk(p, N_NUM, t->pos, 0);
        if (n) n->num = t->num;
        LEAVE(p, n);
    case T_STR:
        next(p);
        n = mk(p, N_STR, t->pos, 0);
        if (n) { n->str = t->str; t->str = NULL; }
        LEAVE(p, n);
    case T_LPAREN:
        next(p);
        LEAVE(p, parse_paren(p, t));
    case T_NAME:
        LEAVE(p, parse_name(p, t));
    default:
        expected(p, "a number, a name or '('");
        LEAVE(p, NULL);
    }
}

static fm_node *binary(parser *p, fm_node_kind k, int pos, fm_node *a, fm_node *b)
{
    if (!a || !b) { fm_node_free(a); fm_node_free(b); return NULL; }
    fm_node *n = mk(p, k, pos, 2);
    if (!n) { fm_node_free(a); fm_node_free(b); return NULL; }
    n->kids[0] = a; n->kids[1] = b;
    return n;
}

/* A left-associative chain being built: "a op b op c ...". */
typedef struct {
    fm_node *n;     /* the first operand, then the N_FOLD holding them all */
    int cap;        /* 0 until n is this chain's own N_FOLD */
} chain;

/* Appends "op b" to the chain (consumes b). Returns 0, or -1 with the chain
 * freed. Doubling capacity keeps a chain of n terms O(n). */
static int chain_push(parser *p, chain *ch, fm_node_kind op, int pos, fm_node *b)
{
    if (!ch->n || !b) { fm_node_free(ch->n); fm_node_free(b); ch->n = NULL; return -1; }
    if (ch->cap == 0) {   /* (the first operand may be a parenthesized fold) */
        fm_node *f = mk(p, N_FOLD, pos, 0);
        if (!f) { fm_node_free(ch->n); fm_node_free(b); ch->n = NULL; return -1; }
        f->kids = malloc(4 * sizeof *f->kids);
        f->ops = malloc(4);
        if (!f->kids || !f->ops) {
            fail(p, pos, "out of memory");
            fm_node_free(f); fm_node_free(ch->n); fm_node_free(b); ch->n = NULL;
            return -1;
        }
        f->kids[0] = ch->n; f->ops[0] = 0; f->nkids = 1;
        ch->n = f; ch->cap = 4;
    }
    fm_node *f = ch->n;
    if (f->nkids == ch->cap) {
        int cap = ch->cap * 2;
        fm_node **k = realloc(f->kids, cap * sizeof *k);
        if (k) f->kids = k;
        unsigned char *o = k ? realloc(f->ops, cap) : NULL;
        if (o) f->ops = o;
        if (!k || !o) { fail(p, pos, "out of memory"); fm_node_free(f); fm_node_free(b); ch->n = NULL; return -1; }
        ch->cap = cap;
    }
    f->ops[f->nkids] = (unsigned char)op;
    f->kids[f->nkids++] = b;
    return 0;
}

/* The finished chain: one operator is an ordinary binary node. */
static fm_node *chain_end(chain *ch)
{
    fm_node *f = ch->n;
    if (f && ch->cap && f->nkids == 2) {
        f->kind = (fm_node_kind)f->ops[1];
        free(f->ops);
        f->ops = NULL;
    }
    return f;
}

static fm_node *parse_unary(parser *p)
{
    if (!enter(p)) return NULL;
    token *t = peek(p);
    if (t->kind == T_MINUS || t->kind == T_PLUS) {
        next(p);
        fm_node *a = parse_unary(p);
        if (!a) LEAVE(p, NULL);
        if (t->kind == T_PLUS) LEAVE(p, a);
        fm_node *n = mk(p, N_NEG, t->pos, 1);
        if (!n) { fm_node_free(a); LEAVE(p, NULL); }
        n->kids[0] = a;
        LEAVE(p, n);
    }
    fm_node *base = parse_primary(p);
    if (base && peek(p)->kind == T_POW) {
        token *op = next(p);
        base = binary(p, N_POW, op->pos, base, parse_unary(p));
    }
    LEAVE(p, base);
}

static fm_node *parse_term(parser *p)
{
    if (!enter(p)) return NULL;
    chain ch = { parse_unary(p), 0 };
    for (;;) {
        if (!ch.n) LEAVE(p, NULL);
        token *t = peek(p);
        fm_node_kind k;
        if (t->kind == T_STAR) k = N_MUL;
        else if (t->kind == T_SLASH) k = N_DIV;
        else if (is_name(t, "div")) k = N_IDIV;
        else if (is_name(t, "mod")) k = N_MOD;
        else break;
        next(p);
        chain_push(p, &ch, k, t->pos, parse_unary(p));
    }
    LEAVE(p, chain_end(&ch));
}

static fm_node *parse_arith(parser *p)
{
    if (!enter(p)) return NULL;
    chain ch = { parse_term(p), 0 };
    for (;;) {
        if (!ch.n) LEAVE(p, NULL);
        token *t = peek(p);
        if (t->kind != T_PLUS && t->kind != T_MINUS) break;
        next(p);
        chain_push(p, &ch, t->kind == T_PLUS ? N_ADD : N_SUB, t->pos, parse_term(p));
    }
    fm_node *a = chain_end(&ch);
    if (a && is_name(peek(p), "less")) {
        fail(p, peek(p)->pos, "syntax error: 'less' is not part of format 1");
        fm_node_free(a);
        LEAVE(p, NULL);
    }
    LEAVE(p, a);
}

static int rel_op(tok_kind k)
{
    switch (k) {
    case T_LT: return C_LT;
    case T_LE: return C_LE;
    case T_EQ: return C_EQ;
    case T_NE: return C_NE;
    case T_GE: return C_GE;
    case T_GT: return C_GT;
    default: return -1;
    }
}

static fm_node *parse_rel(parser *p)
{
    if (!enter(p)) return NULL;
    fm_node *a = parse_arith(p);
    if (!a) LEAVE(p, NULL);
    token *t = peek(p);
    int op = rel_op(t->kind);
    if (op >= 0) {
        next(p);
        fm_node *n = binary(p, N_CMP, t->pos, a, parse_arith(p));
        if (n) n->op = op;
        LEAVE(p, n);
    }
    int neg = 0;
    if (t->kind == T_NOT && is_name(peek_at(p, 1), "in")) { next(p); neg = 1; t = peek(p); }
    if (is_name(t, "in")) {
        next(p);
        fm_node *n = binary(p, N_IN, t->pos, a, parse_setexpr(p));
        if (n) n->op = neg;
        LEAVE(p, n);
    }
    if (is_name(t, "within")) {
        fail(p, t->pos, "syntax error: 'within' is not part of format 1");
        fm_node_free(a);
        LEAVE(p, NULL);
    }
    LEAVE(p, a);
}

static fm_node *parse_not(parser *p)
{
    if (!enter(p)) return NULL;
    token *t = peek(p);
    if (t->kind == T_NOT) {
        next(p);
        fm_node *a = parse_not(p);
        if (!a) LEAVE(p, NULL);
        fm_node *n = mk(p, N_NOT, t->pos, 1);
        if (!n) { fm_node_free(a); LEAVE(p, NULL); }
        n->kids[0] = a;
        LEAVE(p, n);
    }
    LEAVE(p, parse_rel(p));
}

static fm_node *parse_and(parser *p)
{
    if (!enter(p)) return NULL;
    chain ch = { parse_not(p), 0 };
    while (ch.n && peek(p)->kind == T_AND) {
        token *t = next(p);
        chain_push(p, &ch, N_AND, t->pos, parse_not(p));
    }
    LEAVE(p, chain_end(&ch));
}

static fm_node *parse_or(parser *p)
{
    if (!enter(p)) return NULL;
    chain ch = { parse_and(p), 0 };
    while (ch.n && peek(p)->kind == T_OR) {
        token *t = next(p);
        chain_push(p, &ch, N_OR, t->pos, parse_and(p));
    }
    LEAVE(p, chain_end(&ch));
}

/* A set expression: a set name, a..b [by c], {e1, e2, ...}, or {indexing}. */
static fm_node *parse_setexpr(parser *p)
{
    if (!enter(p)) return NULL;
    token *t = peek(p);
    if (t->kind == T_LBRACE) {
        /* An indexing if a top-level "in" appears before the closing brace. */
        int depth = 0, is_idx = 0;
        for (int i = p->cur; i < p->ntoks; i++) {
            tok_kind k = p->toks[i].kind;
            if (k == T_LBRACE || k == T_LPAREN || k == T_LBRACK) depth++;
            else if (k == T_RBRACE || k == T_RPAREN || k == T_RBRACK) { if (--depth == 0) break; }
            else if (depth == 1 && k == T_NAME && !strcmp(p->toks[i].str, "in")) { is_idx = 1; break; }
            else if (depth == 2 && k == T_NAME && !strcmp(p->toks[i].str, "in")
                     && i + 1 < p->ntoks && p->toks[i - 1].kind == T_RPAREN) { is_idx = 1; break; }
        }
        if (is_idx) {
            fm_node *n = mk(p, S_INDEXING, t->pos, 0);
            if (!n) LEAVE(p, NULL);
            if (!(n->idx = parse_indexing_braced(p))) { fm_node_free(n); LEAVE(p, NULL); }
            LEAVE(p, n);
        }
        next(p);
        fm_node *n = mk(p, S_LIST, t->pos, 0);
        if (!n) LEAVE(p, NULL);
        if (peek(p)->kind != T_RBRACE) {
            do {
                fm_node *e = parse_arith(p);   /* element or (tuple) */
                if (!e || push_kid(p, n, e)) { fm_node_free(n); LEAVE(p, NULL); }
            } while (accept(p, T_COMMA));
        }
        if (!expect(p, T_RBRACE, "'}' or ','")) { fm_node_free(n); LEAVE(p, NULL); }
        LEAVE(p, n);
    }
    fm_node *a = parse_arith(p);
    if (!a) LEAVE(p, NULL);
    if (peek(p)->kind == T_DOTDOT) {
        token *d = next(p);
        fm_node *b = parse_arith(p);
        if (!b) { fm_node_free(a); LEAVE(p, NULL); }
        fm_node *n = mk(p, S_RANGE, d->pos, 3);
        if (!n) { fm_node_free(a); fm_node_free(b); LEAVE(p, NULL); }
        n->kids[0] = a; n->kids[1] = b;
        if (is_name(peek(p), "by")) {
            next(p);
            if (!(n->kids[2] = parse_arith(p))) { fm_node_free(n); LEAVE(p, NULL); }
        } else if (!(n->kids[2] = mk(p, N_NUM, d->pos, 0))) {
            fm_node_free(n); LEAVE(p, NULL);
        } else n->kids[2]->num = 1;
        LEAVE(p, n);
    }
    if (a->kind == N_NAME && a->nkids == 0) {
        token *u = peek(p);
        if (is_name(u, "union") || is_name(u, "inter") || is_name(u, "diff")
            || is_name(u, "symdiff") || is_name(u, "cross")) {
            fail(p, u->pos, "syntax error: set operator '%s' is not part of format 1; use a derived set (\"from\")", u->str);
            fm_node_free(a);
            LEAVE(p, NULL);
        }
        a->kind = N_SETNAME;   /* resolved (and checked to be a set) later */
        LEAVE(p, a);
    }
    fail(p, a->pos, "syntax error: expected a set (a set name, a..b, or {...})");
    fm_node_free(a);
    LEAVE(p, NULL);
}

static int parse_entry(parser *p, fm_idx_entry *e)
{
    token *t = peek(p);
    e->pos = t->pos;
    fm_node **comps = NULL;
    int n = 0;
    if (t->kind == T_NAME && is_name(peek_at(p, 1), "in")) {
        next(p);
        comps = calloc(1, sizeof *comps);
        if (!comps || !(comps[0] = mk(p, N_NAME, t->pos, 0))) { free(comps); return -1; }
        comps[0]->str = t->str; t->str = NULL;
        n = 1;
    } else if (t->kind == T_LPAREN) {
        next(p);
        do {
            fm_node **c = realloc(comps, (n + 1) * sizeof *c);
            if (!c) { fail(p, t->pos, "out of memory"); goto bad; }
            comps = c;
            if (!(comps[n] = parse_arith(p))) goto bad;
            n++;
        } while (accept(p, T_COMMA));
        if (!expect(p, T_RPAREN, "')'")) goto bad;
        if (!is_name(peek(p), "in")) { expected(p, "'in'"); goto bad; }
    } else {
        /* "{S}": iterate a set without naming its dummies. */
        e->set = parse_setexpr(p);
        return e->set ? 0 : -1;
    }
    next(p);   /* in */
    e->ncomp = n;
    e->names = calloc(n, sizeof *e->names);
    e->slots = malloc(n * sizeof *e->slots);
    e->filters = calloc(n, sizeof *e->filters);
    if (!e->names || !e->slots || !e->filters) { fail(p, t->pos, "out of memory"); goto bad; }
    for (int i = 0; i < n; i++) {
        e->slots[i] = -1;
        if (comps[i]->kind == N_NAME && comps[i]->nkids == 0) {
            /* A bare name: a new dummy, or (resolved later) a bound one. */
            e->names[i] = comps[i]->str; comps[i]->str = NULL;
            e->filters[i] = comps[i];
        } else {
            e->filters[i] = comps[i];
        }
        comps[i] = NULL;
    }
    free(comps);
    if (!(e->set = parse_setexpr(p))) return -1;
    return 0;
bad:
    for (int i = 0; i < n; i++) fm_node_free(comps[i]);
    free(comps);
    return -1;
}

static fm_indexing *parse_indexing_braced(parser *p)
{
    if (!enter(p)) return NULL;
    if (!expect(p, T_LBRACE, "'{'")) LEAVE(p, NULL);
    fm_indexing *x = calloc(1, sizeof *x);
    if (!x) { fail(p, 0, "out of memory"); LEAVE(p, NULL); }
    do {
        fm_idx_entry *ne = realloc(x->entries, (x->n + 1) * sizeof *ne);
        if (!ne) { fail(p, 0, "out of memory"); goto bad; }
        x->entries = ne;
        memset(&x->entries[x->n], 0, sizeof *ne);
        x->n++;
        if (parse_entry(p, &x->entries[x->n - 1]) != 0) goto bad;
    } while (accept(p, T_COMMA));
    if (accept(p, T_COLON)) {
        if (!(x->cond = parse_or(p))) goto bad;
    }
    if (!expect(p, T_RBRACE, "'}'")) goto bad;
    LEAVE(p, x);
bad:
    fm_indexing_free(x);
    LEAVE(p, NULL);
}

/* ---- entry points ---- */

typedef enum { WANT_EXPR, WANT_CONSTRAINT, WANT_INDEXING } want;

static void *run(fm_parse_ctx *ctx, want w)
{
    ctx->err[0] = 0; ctx->err_pos = 0; ctx->limit_hit = 0;
    parser p = { .ctx = ctx };
    if (lex(ctx, &p.toks, &p.ntoks) != 0) return NULL;
    void *result = NULL;
    if (w == WANT_INDEXING) {
        result = parse_indexing_braced(&p);
    } else if (w == WANT_EXPR) {
        fm_node *n = parse_arith(&p);
        if (n && rel_op(peek(&p)->kind) >= 0) {
            fail(&p, peek(&p)->pos, "syntax error: a relation is not allowed here (this is an expression, not a constraint)");
            fm_node_free(n); n = NULL;
        }
        result = n;
    } else {
        fm_node *a = parse_arith(&p), *n = NULL;
        if (a) {
            token *t = peek(&p);
            int op = rel_op(t->kind);
            if (op < 0) {
                if (t->kind == T_END)
                    fail(&p, t->pos, "syntax error: a constraint needs a relation (<=, >= or =)");
                else
                    expected(&p, "a relation (<=, >= or =)");
                fm_node_free(a);
            } else {
                next(&p);
                fm_node *b = parse_arith(&p);
                n = binary(&p, N_CMP, t->pos, a, b);
                if (n && op == C_NE) {
                    fail(&p, t->pos, "syntax error: a constraint's relation is <=, >= or =; != cannot be a constraint");
                    fm_node_free(n); n = NULL;
                }
                if (n) {
                    n->op = op;
                    token *u = peek(&p);
                    int op2 = rel_op(u->kind);
                    if (op2 >= 0) {
                        next(&p);
                        if (op2 == C_LT || op2 == C_GT) n->num = 1;   /* strict: warned */
                        int up = (op == C_LE || op == C_LT) && (op2 == C_LE || op2 == C_LT);
                        int down = (op == C_GE || op == C_GT) && (op2 == C_GE || op2 == C_GT);
                        if (!up && !down) {
                            fail(&p, u->pos, "syntax error: a ranged constraint is lo <= e <= hi (or hi >= e >= lo)");
                            fm_node_free(n); n = NULL;
                        } else {
                            fm_node *c = parse_arith(&p);
                            if (!c || push_kid(&p, n, c)) { fm_node_free(n); n = NULL; }
                        }
                    }
                }
            }
        }
        if (n && rel_op(peek(&p)->kind) >= 0) {
            fail(&p, peek(&p)->pos, "syntax error: too many relations in one constraint");
            fm_node_free(n); n = NULL;
        }
        result = n;
    }
    if (result && peek(&p)->kind != T_END) {
        expected(&p, "end of expression");
        if (w == WANT_INDEXING) fm_indexing_free(result); else fm_node_free(result);
        result = NULL;
    }
    if (!result && !p.failed) fail(&p, 0, "syntax error");
    for (int i = 0; i < p.ntoks; i++) free(p.toks[i].str);
    free(p.toks);
    return result;
}

fm_node *fm_parse_expr(fm_parse_ctx *ctx) { return run(ctx, WANT_EXPR); }
fm_node *fm_parse_constraint(fm_parse_ctx *ctx) { return run(ctx, WANT_CONSTRAINT); }
fm_indexing *fm_parse_indexing(fm_parse_ctx *ctx) { return run(ctx, WANT_INDEXING); }
