/* optagent mcp: a Model Context Protocol server over standard input and
 * output (JSON-RPC 2.0, one message per line, as MCP's stdio transport
 * says), so that any MCP client (an AI assistant, an IDE) can call optagent
 * as a tool by configuration alone.
 *
 * Design: one request at a time, in order, on the main thread — an MCP
 * client over stdio is one peer, and the tools are the same calls as the
 * commands (sv_run_text + ag_solve_report for solve_formulation, the
 * pipeline + ag_run_json for formulate_and_solve, lib_search for
 * search_insights), so their results are exactly those of `solve --json`,
 * `ask --json` and `library search --json`. stdout carries only protocol
 * messages; everything else (warnings) goes to stderr, which MCP clients
 * show as the server's log.
 *
 * Errors follow JSON-RPC: a line that is not JSON gets -32700 with id null,
 * a message that is not a request -32600, an unknown method -32601, bad
 * tool arguments or an unknown tool -32602. A tool that ran but failed (an
 * invalid formulation, no LLM configured) is a result with isError true, as
 * MCP wants, so that the model sees why. A line longer than MCP_MAX_LINE is
 * refused (-32600) and skipped without being held in memory.
 */
#define _GNU_SOURCE          /* getopt_long's struct option */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent/cli/cli.h"

#define MCP_MAX_LINE (16u << 20)        /* one message: 16 MiB */
#define MCP_MAX_TIME_LIMIT_S 1e6
#define MCP_MAX_PROBLEM (1u << 20)       /* bytes, as optagent ask */
#define MCP_PROTOCOL_LATEST "2025-06-18"

static const char *const protocol_versions[] = { "2025-06-18", "2025-03-26", "2024-11-05" };

static const char mcp_usage[] =
    "usage: optagent mcp [options]\n"
    "\n"
    "A Model Context Protocol server on standard input/output (JSON-RPC 2.0, one\n"
    "message per line). Tools: solve_formulation, formulate_and_solve,\n"
    "search_insights. Configure it in an MCP client as the command\n"
    "\"optagent\" with the argument \"mcp\" (see README, \"MCP server\").\n"
    "\n"
    "options:\n"
    "  --time-limit S       solver time limit of every solve (default 60)\n"
    "  --library PATH       the experience library searched by search_insights and\n"
    "                       used by formulate_and_solve (default: the user's)\n"
    "  --no-library         use no library\n"
    "  --base-url URL, --model NAME, --api-key-file FILE, ...  the LLM of\n"
    "                       formulate_and_solve, as for 'optagent ask'\n"
    "  -h, --help           show this help\n";

typedef struct {
    ag_llm_flags llm_flags;
    ag_library_flags lib_flags;
    double time_limit_s;
    lib *library;             /* may be NULL */
    char libpath[4096];
    ag_llm_config cfg;
    int cfg_ok;               /* cfg loaded */
    char cfg_err[512];
    ag_llm *llm;              /* created on the first formulate_and_solve */
} mcp_server;

/* ---- JSON-RPC replies -------------------------------------------------------- */

/* Set when a write to stdout failed (the client closed its end): the session
 * stops instead of answering into the void (SIGPIPE is ignored, so the write
 * fails with EPIPE rather than killing the server). */
static int stdout_broken;

/* Writes o as one line on stdout and frees it. */
static void send_message(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    /* names echoed from the request may hold invalid UTF-8: the client gets
     * valid JSON text, U+FFFD in their place */
    if (s && !ag_utf8_valid(s, strlen(s)) && ag_utf8_fix(&s) != 0) {
        free(s);
        s = NULL;
    }
    if (s) {
        if (fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
            stdout_broken = 1;
    } else {
        fprintf(stderr, "optagent mcp: out of memory writing a reply\n");
    }
    free(s);
    cJSON_Delete(o);
}

/* id: borrowed (copied); NULL means JSON null. */
static cJSON *envelope(const cJSON *id)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    return o;
}

static void send_result(const cJSON *id, cJSON *result)
{
    cJSON *o = envelope(id);
    if (!o) { cJSON_Delete(result); return; }
    cJSON_AddItemToObject(o, "result", result ? result : cJSON_CreateObject());
    send_message(o);
}

static void send_error(const cJSON *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void send_error(const cJSON *id, int code, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = envelope(id);
    if (!o) return;
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    send_message(o);
}

/* A tools/call result: one text block (the JSON printed, or a message), the
 * object itself as structuredContent when there is one. Takes data. */
static cJSON *tool_result(cJSON *data, const char *text, int is_error)
{
    cJSON *r = cJSON_CreateObject();
    if (!r) { cJSON_Delete(data); return NULL; }
    cJSON *content = cJSON_AddArrayToObject(r, "content");
    cJSON *block = cJSON_CreateObject();
    cJSON_AddItemToArray(content, block);
    cJSON_AddStringToObject(block, "type", "text");
    char *printed = data && !text ? cJSON_PrintUnformatted(data) : NULL;
    cJSON_AddStringToObject(block, "text", printed ? printed : text ? text : "");
    free(printed);
    if (data && cJSON_IsObject(data)) cJSON_AddItemToObject(r, "structuredContent", data);
    else cJSON_Delete(data);
    cJSON_AddBoolToObject(r, "isError", is_error);
    return r;
}

/* ---- the tools ----------------------------------------------------------------- */

static cJSON *schema_prop(cJSON *props, const char *name, const char *type, const char *desc)
{
    cJSON *p = cJSON_AddObjectToObject(props, name);
    if (type) cJSON_AddStringToObject(p, "type", type);
    cJSON_AddStringToObject(p, "description", desc);
    return p;
}

static cJSON *tool_entry(cJSON *tools, const char *name, const char *title, const char *desc,
                         cJSON **props)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddItemToArray(tools, t);
    cJSON_AddStringToObject(t, "name", name);
    cJSON_AddStringToObject(t, "title", title);
    cJSON_AddStringToObject(t, "description", desc);
    cJSON *schema = cJSON_AddObjectToObject(t, "inputSchema");
    cJSON_AddStringToObject(schema, "type", "object");
    *props = cJSON_AddObjectToObject(schema, "properties");
    cJSON_AddFalseToObject(schema, "additionalProperties");
    return schema;
}

static cJSON *list_tools(void)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *tools = cJSON_AddArrayToObject(r, "tools");
    cJSON *props, *schema, *p, *req;

    schema = tool_entry(tools, "solve_formulation", "Solve a formulation",
        "Check, compile and solve an optimization model written as optagent's five-element "
        "formulation (format 1: sets, parameters, variables, objective, constraints; see "
        "docs/FORMULATION.md). Returns the solve report: status (optimal, infeasible, "
        "unbounded, local_optimal, ...), objective, variable values, report quantities and "
        "diagnostics naming any error.", &props);
    p = schema_prop(props, "formulation", NULL,
                    "The formulation: a JSON object with \"format\": 1, or the same as a string");
    cJSON *any = cJSON_AddArrayToObject(p, "type");
    cJSON_AddItemToArray(any, cJSON_CreateString("object"));
    cJSON_AddItemToArray(any, cJSON_CreateString("string"));
    p = schema_prop(props, "time_limit", "number", "Solver time limit in seconds (default: the server's)");
    /* 0 would mean "no limit" to the solver: a solve the client cannot stop */
    cJSON_AddNumberToObject(p, "exclusiveMinimum", 0);
    cJSON_AddNumberToObject(p, "maximum", MCP_MAX_TIME_LIMIT_S);
    req = cJSON_AddArrayToObject(schema, "required");
    cJSON_AddItemToArray(req, cJSON_CreateString("formulation"));

    schema = tool_entry(tools, "formulate_and_solve", "Formulate and solve a problem",
        "Have the server's LLM write a formulation of an optimization problem given in plain "
        "language, then check, solve and correct it (up to max_corrections rounds). Returns "
        "the run record: outcome, objective, the final formulation and every attempt.", &props);
    schema_prop(props, "problem", "string", "The problem in plain language");
    p = schema_prop(props, "max_corrections", "integer", "Correction rounds after the first (default 3)");
    cJSON_AddNumberToObject(p, "minimum", 0);
    cJSON_AddNumberToObject(p, "maximum", 10);
    req = cJSON_AddArrayToObject(schema, "required");
    cJSON_AddItemToArray(req, cJSON_CreateString("problem"));

    schema = tool_entry(tools, "search_insights", "Search the experience library",
        "Search optagent's experience library for insights (solver-verified modelling lessons) "
        "that apply to a problem text, best first.", &props);
    schema_prop(props, "query", "string", "The problem text or keywords");
    p = schema_prop(props, "k", "integer", "At most this many insights (default 5)");
    cJSON_AddNumberToObject(p, "minimum", 1);
    cJSON_AddNumberToObject(p, "maximum", AG_LIBRARY_MAX_K);
    req = cJSON_AddArrayToObject(schema, "required");
    cJSON_AddItemToArray(req, cJSON_CreateString("query"));
    return r;
}

/* Checks that args has only the keys in allowed (NULL-terminated). NULL, or
 * the name of the first unknown key (borrowed from args). */
static const char *unknown_key(const cJSON *args, const char *const *allowed)
{
    for (const cJSON *a = args ? args->child : NULL; a; a = a->next) {
        int ok = 0;
        for (const char *const *k = allowed; *k; k++)
            if (a->string && !strcmp(a->string, *k)) ok = 1;
        if (!ok) return a->string ? a->string : "";
    }
    return NULL;
}

/* Reads an optional number argument into *out. 0, or -1 after the error
 * reply. */
static int number_arg(const cJSON *id, const cJSON *args, const char *name, double lo, double hi,
                      int whole, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi
        || (whole && v->valuedouble != floor(v->valuedouble))) {
        send_error(id, -32602, "invalid params: '%s' must be %s between %g and %g", name,
                   whole ? "an integer" : "a number", lo, hi);
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

static void call_solve(mcp_server *s, const cJSON *id, const cJSON *args)
{
    static const char *const allowed[] = { "formulation", "time_limit", NULL };
    const char *bad = unknown_key(args, allowed);
    if (bad) { send_error(id, -32602, "invalid params: unknown argument '%s'", bad); return; }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(args, "formulation");
    if (!f || !(cJSON_IsObject(f) || cJSON_IsString(f))) {
        send_error(id, -32602, "invalid params: 'formulation' (an object or a string) is required");
        return;
    }
    double tl = s->time_limit_s;
    if (number_arg(id, args, "time_limit", 0, MCP_MAX_TIME_LIMIT_S, 0, &tl) != 0) return;
    if (tl == 0 && cJSON_GetObjectItemCaseSensitive(args, "time_limit")) {
        send_error(id, -32602, "invalid params: 'time_limit' must be greater than 0 (seconds)");
        return;
    }
    char *owned = cJSON_IsString(f) ? NULL : cJSON_PrintUnformatted(f);
    const char *text = owned ? owned : f->valuestring;
    if (!text) { send_error(id, -32603, "out of memory"); return; }
    sv_run_options ro;
    sv_run_options_default(&ro);
    ro.solve.time_limit_s = tl;
    sv_code code;
    sv_run *run = sv_run_text(text, strlen(text), &ro, &code);
    free(owned);
    cJSON *report = run ? ag_solve_report(run, 1) : NULL;
    if (!report) {
        sv_run_free(run);
        send_error(id, -32603, "out of memory");
        return;
    }
    sv_status st = sv_run_status(run);
    sv_run_free(run);
    send_result(id, tool_result(report, NULL, st == SV_STATUS_INVALID || st == SV_STATUS_UNSUPPORTED));
}

/* The LLM client, made on first use. NULL after the tool-error reply. */
static ag_llm *llm_for(mcp_server *s, const cJSON *id)
{
    if (s->llm) return s->llm;
    const char *why = NULL;
    char buf[600];
    if (!s->cfg_ok) why = s->cfg_err;
    else if (!s->cfg.base_url || !*s->cfg.base_url)
        why = "no LLM endpoint configured: start the server with --base-url and --model, or set "
              "OPTAGENT_BASE_URL and OPTAGENT_MODEL in its environment";
    else if (!s->cfg.model || !*s->cfg.model)
        why = "no model configured: start the server with --model or set OPTAGENT_MODEL";
    else if (!(s->llm = ag_llm_new(&s->cfg))) {
        const char *e = ag_curl_load_error();
        snprintf(buf, sizeof buf, "cannot start the LLM client%s%s", e ? ": " : "", e ? e : "");
        why = buf;
    }
    if (why) send_result(id, tool_result(NULL, why, 1));
    return s->llm;
}

static void call_formulate(mcp_server *s, const cJSON *id, const cJSON *args)
{
    static const char *const allowed[] = { "problem", "max_corrections", NULL };
    const char *bad = unknown_key(args, allowed);
    if (bad) { send_error(id, -32602, "invalid params: unknown argument '%s'", bad); return; }
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(args, "problem");
    if (!cJSON_IsString(p) || strspn(p->valuestring, " \t\r\n") == strlen(p->valuestring)) {
        send_error(id, -32602, "invalid params: 'problem' must be a non-empty string");
        return;
    }
    size_t plen = strlen(p->valuestring);
    if (plen > MCP_MAX_PROBLEM) {   /* as optagent ask: a problem is text, not a data dump */
        send_error(id, -32602, "invalid params: 'problem' is %zu bytes, more than the limit of %u",
                   plen, MCP_MAX_PROBLEM);
        return;
    }
    double mc = 3;
    if (number_arg(id, args, "max_corrections", 0, 10, 1, &mc) != 0) return;
    ag_llm *llm = llm_for(s, id);
    if (!llm) return;
    ag_pipeline_options po;
    ag_pipeline_options_default(&po);
    char err[256];
    if (ag_pipeline_options_env(&po, err, sizeof err) != 0) fprintf(stderr, "optagent mcp: %s\n", err);
    po.max_corrections = (int)mc;
    if (s->time_limit_s > 0) po.solve.time_limit_s = s->time_limit_s;
    ag_library_apply(&s->lib_flags, s->library, &po);
    ag_chat chat = ag_chat_direct(llm);
    ag_run *run = ag_pipeline_run(&chat, &po, NULL, p->valuestring, NULL);
    /* the record refers to the run's strings: it is sent before the run is freed */
    cJSON *rec = run ? ag_ask_record_json(run, s->library, s->libpath) : NULL;
    int failed = !run || run->outcome != AG_OUTCOME_OK;
    if (rec) send_result(id, tool_result(rec, NULL, failed));
    else send_error(id, -32603, "out of memory");
    ag_run_free(run);
}

static void call_search(mcp_server *s, const cJSON *id, const cJSON *args)
{
    static const char *const allowed[] = { "query", "k", NULL };
    const char *bad = unknown_key(args, allowed);
    if (bad) { send_error(id, -32602, "invalid params: unknown argument '%s'", bad); return; }
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(args, "query");
    if (!cJSON_IsString(q)) {
        send_error(id, -32602, "invalid params: 'query' must be a string");
        return;
    }
    double k = LIB_DEFAULT_K;
    if (number_arg(id, args, "k", 1, AG_LIBRARY_MAX_K, 1, &k) != 0) return;
    if (!s->library) {
        send_result(id, tool_result(NULL, "no experience library is open (start the server with "
                                    "--library PATH; 'optagent learn' creates one)", 1));
        return;
    }
    lib_hit *hits = NULL;
    size_t n = 0;
    lib_code c = lib_search(s->library, q->valuestring, (size_t)k, &hits, &n);
    if (c != LIB_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "library search failed: %s", lib_strerror(c));
        send_result(id, tool_result(NULL, msg, 1));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "insights", lib_hits_json(hits, n));
    lib_hits_free(hits, n);
    send_result(id, tool_result(o, NULL, 0));
}

/* ---- the raw line ---------------------------------------------------------------- */

/* Index just past the JSON string starting at s[i] == '"' (the text is valid
 * JSON: cJSON parsed it). */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
    return i < n ? i + 1 : n;
}

static size_t skip_space(const char *s, size_t n, size_t i)
{
    while (i < n && strchr(" \t\r\n", s[i]) && s[i]) i++;
    return i;
}

/* Index just past the JSON value starting at s[i]. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
    if (i < n && s[i] == '"') return skip_string(s, n, i);
    size_t depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') { i = skip_string(s, n, i); continue; }
        if (c == '{' || c == '[') depth++;
        else if (c == '}' || c == ']') { if (depth == 0) break; depth--; }
        else if (depth == 0 && (c == ',' || strchr(" \t\r\n", c))) break;
        i++;
        if (depth == 0 && (c == '}' || c == ']')) break;
    }
    return i;
}

/* The text of the top-level member "id" of the JSON object in line, as the
 * client wrote it: a number id is echoed digit for digit (a double would turn
 * 12345678901234567 into ...568, and cJSON prints 15 significant digits).
 * Returns the length (0 when not found or longer than cap - 1) and copies it
 * into out. */
static size_t raw_id_text(const char *line, size_t n, char *out, size_t cap)
{
    size_t i = skip_space(line, n, 0);
    if (i >= n || line[i] != '{') return 0;
    for (i++; ; ) {
        i = skip_space(line, n, i);
        if (i >= n || line[i] != '"') return 0;
        size_t key = i;
        i = skip_space(line, n, skip_string(line, n, i));
        if (i >= n || line[i] != ':') return 0;
        size_t v = skip_space(line, n, i + 1);
        size_t end = skip_value(line, n, v);
        if (i - key >= 4 && !memcmp(line + key, "\"id\"", 4) && skip_space(line, n, key + 4) == i) {
            if (end - v >= cap || end == v) return 0;
            memcpy(out, line + v, end - v);
            out[end - v] = '\0';
            return end - v;
        }
        i = skip_space(line, n, end);
        if (i >= n || line[i] != ',') return 0;
        i++;
    }
}

/* Whether a string of line holds the escape \u0000: cJSON would cut the
 * string there, so a formulation "x\u0000 * 1000" would be solved as "x" and
 * an id "a\u0000b" answered as "a". Such a message is refused. */
static int has_nul_escape(const char *line, size_t n)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '"') in_string = !in_string;
        else if (in_string && line[i] == '\\') {
            if (i + 5 < n && line[i + 1] == 'u' && !memcmp(line + i + 2, "0000", 4)) return 1;
            i++;
        }
    }
    return 0;
}

/* ---- the session ------------------------------------------------------------------ */

static void handle_initialize(const cJSON *id, const cJSON *params)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
    const char *version = MCP_PROTOCOL_LATEST;
    for (size_t i = 0; cJSON_IsString(v) && i < sizeof protocol_versions / sizeof *protocol_versions; i++)
        if (!strcmp(v->valuestring, protocol_versions[i])) version = protocol_versions[i];
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "protocolVersion", version);
    cJSON *caps = cJSON_AddObjectToObject(r, "capabilities");
    cJSON *tools = cJSON_AddObjectToObject(caps, "tools");
    cJSON_AddFalseToObject(tools, "listChanged");
    cJSON *info = cJSON_AddObjectToObject(r, "serverInfo");
    cJSON_AddStringToObject(info, "name", "optagent");
    cJSON_AddStringToObject(info, "version", OPTAGENT_VERSION);
    cJSON_AddStringToObject(r, "instructions",
        "optagent solves optimization models. Use solve_formulation for a model written in "
        "optagent's format 1, formulate_and_solve for a problem in plain language, and "
        "search_insights for modelling lessons from the experience library.");
    send_result(id, r);
}

static void handle_call(mcp_server *s, const cJSON *id, const cJSON *params)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    if (!cJSON_IsString(name)) {
        send_error(id, -32602, "invalid params: 'name' (the tool) is required");
        return;
    }
    if (args && !cJSON_IsObject(args)) {
        send_error(id, -32602, "invalid params: 'arguments' must be an object");
        return;
    }
    if (!strcmp(name->valuestring, "solve_formulation")) call_solve(s, id, args);
    else if (!strcmp(name->valuestring, "formulate_and_solve")) call_formulate(s, id, args);
    else if (!strcmp(name->valuestring, "search_insights")) call_search(s, id, args);
    else send_error(id, -32602, "unknown tool: %.200s", name->valuestring);
}

/* One message (a parsed line; line and len its text). */
static void handle_message(mcp_server *s, const cJSON *msg, const char *line, size_t len)
{
    if (!cJSON_IsObject(msg)) {
        send_error(NULL, -32600, "invalid request: expected a JSON-RPC 2.0 object%s",
                   cJSON_IsArray(msg) ? " (batches are not supported)" : "");
        return;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    if (id && !cJSON_IsString(id) && !(cJSON_IsNumber(id) && isfinite(id->valuedouble))) {
        send_error(NULL, -32600, "invalid request: 'id' must be a string or a number");
        return;
    }
    if (cJSON_IsString(id) && !ag_utf8_valid(id->valuestring, strlen(id->valuestring))) {
        /* echoed with U+FFFD in place of the bad bytes, it would match no request */
        send_error(NULL, -32600, "invalid request: 'id' is not valid UTF-8");
        return;
    }
    char raw[64];
    cJSON *raw_id = NULL;
    if (cJSON_IsNumber(id) && raw_id_text(line, len, raw, sizeof raw) > 0) {
        raw_id = cJSON_CreateRaw(raw);
        if (raw_id) id = raw_id;
    }
    if (has_nul_escape(line, len)) {
        send_error(cJSON_IsString(id) ? NULL : id, -32600,
                   "invalid request: the escape \\u0000 (NUL) is not allowed in a string");
        goto out;
    }
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0") || !cJSON_IsString(method)) {
        if (id || !cJSON_GetObjectItemCaseSensitive(msg, "result"))   /* replies to us are ignored */
            send_error(id, -32600, "invalid request: needs \"jsonrpc\": \"2.0\" and a method");
        goto out;
    }
    if (params && !cJSON_IsObject(params)) {
        if (id) send_error(id, -32602, "invalid params: 'params' must be an object");
        goto out;
    }
    const char *m = method->valuestring;
    if (!id) goto out;   /* a notification (notifications/initialized, cancelled, ...): no reply */
    if (!strcmp(m, "initialize")) handle_initialize(id, params);
    else if (!strcmp(m, "ping")) send_result(id, cJSON_CreateObject());
    else if (!strcmp(m, "tools/list")) send_result(id, list_tools());
    else if (!strcmp(m, "tools/call")) handle_call(s, id, params);
    else send_error(id, -32601, "method not found: %.200s", m);
out:
    cJSON_Delete(raw_id);
}

/* Reads a line of at most MCP_MAX_LINE bytes into *buf (grown). 1 with the
 * line (no newline), 0 at the end of input, -1 for a line too long (then
 * skipped to its end). */
static int read_line(char **buf, size_t *cap, size_t *len)
{
    size_t n = 0;
    int c, too_long = 0;
    while ((c = getchar()) != EOF && c != '\n') {
        if (too_long) continue;
        if (n + 2 > *cap) {
            size_t ncap = *cap ? *cap * 2 : 4096;
            if (ncap > MCP_MAX_LINE + 2) ncap = MCP_MAX_LINE + 2;
            if (n + 2 > ncap) { too_long = 1; continue; }
            char *nb = realloc(*buf, ncap);
            if (!nb) { too_long = 1; continue; }
            *buf = nb;
            *cap = ncap;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0 && !too_long) return 0;
    if (too_long) return -1;
    (*buf)[n] = '\0';
    *len = n;
    return 1;
}

static int mcp_args(int argc, char **argv, mcp_server *s)
{
    enum { OPT_TIME_LIMIT = 0x500 };
    struct option longopts[40] = {
        { "help", no_argument, NULL, 'h' },
        { "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
    };
    size_t n = 2;
    n += ag_args_library_options(longopts + n, 10);
    n += ag_args_llm_options(longopts + n, sizeof longopts / sizeof *longopts - n - 1);
    memset(&longopts[n], 0, sizeof longopts[n]);
    ag_args a = { "mcp", argc, argv, "h" AG_LIBRARY_SHORTOPTS, longopts, 0, 0, 0, 0 };
    const char *v;
    for (int c; (c = ag_args_next(&a, &v)) != -1; ) {
        int lr = ag_arg_library("mcp", &s->lib_flags, c, v);
        if (lr < 0) return EXIT_USAGE;
        if (lr > 0) continue;
        switch (c) {
        case 'h': fputs(mcp_usage, stdout); return EXIT_SOLVED;
        case OPT_TIME_LIMIT:
            if (ag_arg_double("mcp", "--time-limit", v, 0, INFINITY, &s->time_limit_s) != 0) return EXIT_USAGE;
            break;
        case AG_ARG_POSITIONAL: return ag_usage_error("mcp", "unexpected argument '%s'", v);
        case AG_ARG_ERROR: return EXIT_USAGE;
        default:
            if (ag_arg_llm("mcp", &s->llm_flags, c, v) != 0) return EXIT_USAGE;
        }
    }
    return -1;
}

int ag_cmd_mcp(int argc, char **argv)
{
    mcp_server s;
    memset(&s, 0, sizeof s);
    s.time_limit_s = AG_DEFAULT_TIME_LIMIT_S;
    int rc = mcp_args(argc, argv, &s);
    if (rc >= 0) return rc;
    int missing = 0;
    if (ag_library_open("mcp", &s.lib_flags, &s.library, s.libpath, sizeof s.libpath, &missing) != 0)
        return EXIT_FAILED;
    if (missing)
        fprintf(stderr, "optagent mcp: no experience library at %s: search_insights will say so\n",
                s.libpath);
    s.cfg_ok = ag_llm_config_load(&s.llm_flags, &s.cfg, s.cfg_err, sizeof s.cfg_err) == 0;
    fprintf(stderr, "optagent mcp: ready (MCP over stdio; tools: solve_formulation, "
                    "formulate_and_solve, search_insights)\n");
    /* a client that closes its end makes writes fail with EPIPE: a clean stop,
     * not death by SIGPIPE */
    signal(SIGPIPE, SIG_IGN);
    rc = EXIT_SOLVED;
    char *line = NULL;
    size_t cap = 0, len = 0;
    for (int got; (got = read_line(&line, &cap, &len)) != 0; ) {
        if (got < 0) {
            send_error(NULL, -32600, "invalid request: message longer than %u bytes", MCP_MAX_LINE);
            if (stdout_broken) { rc = EXIT_FAILED; break; }
            continue;
        }
        if (strspn(line, " \t\r") == len) continue;      /* blank line */
        const char *end = NULL;
        cJSON *msg = cJSON_ParseWithLengthOpts(line, len, &end, 0);
        /* cJSON stops at the end of the first value: "{...} junk" is not one message */
        if (msg && end && skip_space(line, len, (size_t)(end - line)) != len) {
            cJSON_Delete(msg);
            msg = NULL;
        }
        if (!msg) {
            send_error(NULL, -32700, "parse error: the line is not one JSON value (or nests "
                       "deeper than %d levels)", CJSON_NESTING_LIMIT);
        } else {
            handle_message(&s, msg, line, len);
            cJSON_Delete(msg);
        }
        if (stdout_broken) {
            fprintf(stderr, "optagent mcp: standard output is closed: stopping\n");
            rc = EXIT_FAILED;
            break;
        }
    }
    free(line);
    ag_llm_free(s.llm);
    if (s.cfg_ok) ag_llm_config_free(&s.cfg);
    lib_close(s.library);
    return rc;
}
