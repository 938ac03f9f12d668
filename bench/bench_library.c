/* bench_library — retrieval time of the experience library at 10,000
 * generated insights (target: median < 5 ms per search).
 *
 *   build/bench/bench_library [N_INSIGHTS] [N_QUERIES]
 *
 * Insights are built from an optimization vocabulary with a fixed seed
 * (Zipf-distributed words, see words(); taxonomy from the shipped stages,
 * 25-45 word conditions with a "Does NOT
 * apply" part, 20-40 word explanations, one in ten with a verified problem
 * text), imported in one transaction into a fresh library under $TMPDIR;
 * queries are 40-80 word problem texts from the same vocabulary plus words
 * no insight has. Prints the import time and the median, 90th percentile
 * and maximum search time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "library/library.h"

static const char *const vocab[] = {
    "flow", "network", "node", "arc", "capacity", "supply", "demand", "warehouse", "truck",
    "worker", "shift", "schedule", "machine", "hours", "minutes", "percent", "ratio", "budget",
    "profit", "cost", "revenue", "inventory", "period", "month", "week", "integer", "binary",
    "fixed", "setup", "charge", "assignment", "task", "job", "knapsack", "weight", "volume",
    "blend", "octane", "protein", "diet", "nutrient", "farm", "crop", "acre", "water", "pipe",
    "loss", "route", "vehicle", "depot", "customer", "facility", "site", "open", "cover",
    "district", "investment", "bond", "stock", "interest", "loan", "cash", "emission", "cap",
    "nurse", "patient", "staff", "overtime", "backorder", "penalty", "batch", "lot", "dozen",
    "unit", "conversion", "scaling", "million", "precedence", "makespan", "deviation", "fair",
    "minimum", "maximum", "share", "portion", "fraction", "product", "mix", "resource", "labor",
    "material", "plant", "factory", "store", "ship", "transport", "bus", "seat", "van",
    "package", "bin", "cutting", "roll", "pattern", "alloy", "copper", "tin", "carbon",
    "electricity", "generator", "megawatt", "advertising", "media", "reach", "radio", "tv",
};
#define NV (sizeof vocab / sizeof vocab[0])
static const char *const stages[] = {"Domain Modeling", "General Formulation", "Solver and Format"};

static unsigned long long rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Words follow Zipf's law over the optimization vocabulary followed by 3,000
 * generated ones (rank r drawn with probability ~ 1/r), as in real text: a
 * few words are in most insights, most words in few. */
#define NWORDS 3000
static double zipf_cdf[NV + NWORDS];

static void zipf_init(void)
{
    double sum = 0;
    for (size_t r = 0; r < NV + NWORDS; r++) sum += 1.0 / (double)(r + 1);
    double acc = 0;
    for (size_t r = 0; r < NV + NWORDS; r++) {
        acc += 1.0 / (double)(r + 1) / sum;
        zipf_cdf[r] = acc;
    }
}

static void words(char *buf, size_t cap, int n)
{
    size_t len = strlen(buf);
    for (int i = 0; i < n && len + 20 < cap; i++) {
        double u = (double)rnd(1000000) / 1e6;
        size_t lo = 0, hi = NV + NWORDS - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (zipf_cdf[mid] < u) lo = mid + 1;
            else hi = mid;
        }
        /* the generated words: letters only, so the tokenizer keeps them whole */
        if (lo < NV) {
            len += (size_t)snprintf(buf + len, cap - len, "%s ", vocab[lo]);
        } else {
            unsigned k = (unsigned)(lo - NV);
            len += (size_t)snprintf(buf + len, cap - len, "w%c%c%c ", 'a' + k % 26,
                                    'a' + (k / 26) % 26, 'a' + (k / 676) % 26);
        }
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int nq = argc > 2 ? atoi(argv[2]) : 200;
    if (n < 1 || nq < 1) {
        fprintf(stderr, "usage: bench_library [N_INSIGHTS] [N_QUERIES]\n");
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/optagent-bench-library-%d.db", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    zipf_init();
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        char cond[1024] = "Applies when ", expl[1024] = "When ", prob[1024] = "";
        words(cond, sizeof cond, 20 + (int)rnd(15));
        strcat(cond, ". Does NOT apply when ");
        words(cond, sizeof cond, 5 + (int)rnd(10));
        words(expl, sizeof expl, 20 + (int)rnd(20));
        cJSON *o = cJSON_CreateObject();
        cJSON *t = cJSON_AddArrayToObject(o, "taxonomy");
        cJSON_AddItemToArray(t, cJSON_CreateString(stages[rnd(3)]));
        char label[64];
        snprintf(label, sizeof label, "%s %s", vocab[rnd(NV)], vocab[rnd(NV)]);
        cJSON_AddItemToArray(t, cJSON_CreateString(label));
        cJSON_AddStringToObject(o, "condition", cond);
        cJSON_AddStringToObject(o, "explanation", expl);
        cJSON_AddStringToObject(o, "example", "Wrong: ...  Right: ...");
        if (i % 10 == 0) {
            words(prob, sizeof prob, 40);
            cJSON *ps = cJSON_AddArrayToObject(o, "problems");
            cJSON *p = cJSON_CreateObject();
            char id[32];
            snprintf(id, sizeof id, "p%d", i);
            cJSON_AddStringToObject(p, "id", id);
            cJSON_AddStringToObject(p, "text", prob);
            cJSON_AddItemToArray(ps, p);
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    lib_code c;
    char err[1024];
    lib *l = lib_open(path, 0, &c, err, sizeof err);
    if (!l || !text) {
        fprintf(stderr, "bench_library: %s\n", l ? "out of memory" : err);
        return 1;
    }
    double t0 = now_ms();
    c = lib_import_text(l, text, strlen(text), "generated", NULL, err, sizeof err);
    double t_import = now_ms() - t0;
    free(text);
    if (c) {
        fprintf(stderr, "bench_library: %s\n", err);
        return 1;
    }
    double *ms = calloc((size_t)nq, sizeof *ms);
    size_t total_hits = 0;
    for (int q = 0; q < nq; q++) {
        char qt[2048] = "A company wants to plan ";
        words(qt, sizeof qt, 40 + (int)rnd(40));
        strcat(qt, " quarterly zebra saxophone");
        lib_hit *h;
        size_t nh;
        double s = now_ms();
        c = lib_search(l, qt, 5, &h, &nh);
        ms[q] = now_ms() - s;
        if (c) {
            lib_errmsg(l, err, sizeof err);
            fprintf(stderr, "bench_library: search: %s\n", err);
            return 1;
        }
        total_hits += nh;
        lib_hits_free(h, nh);
    }
    qsort(ms, (size_t)nq, sizeof *ms, cmp_d);
    printf("library: %d insights imported in %.0f ms; %d searches (40-80 words): median %.2f ms,"
           " p90 %.2f ms, max %.2f ms, %.1f hits each (target: median < 5 ms)\n", n, t_import,
           nq, ms[nq / 2], ms[nq * 9 / 10], ms[nq - 1], (double)total_hits / nq);
    free(ms);
    lib_close(l);
    if (getenv("BENCH_KEEP")) {
        printf("kept %s\n", path);
        return 0;
    }
    unlink(path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return 0;
}
