# optagent — build, test, sanitizer, fuzz and bench targets.
#   make            build build/optagent (names missing packages; installs nothing)
#   make test       install missing packages, build and run every test;
#                   ends with "N passed, N failed"
#   make run        install missing packages, build and run the demo
#   make asan       the tests under address+undefined sanitizers (build-asan/);
#                   any target takes SAN=1 for the same build
#   make fuzz       libFuzzer on the JSON+expression front end (FUZZ_SECONDS)
#   make fuzz-minlp libFuzzer on the integer nonlinear search, with oracles
#   make bench      the benchmarks under bench/
#   make bench-check  checking time at 20k/40k/80k names (bench/check.sh)
#   make deps       install the Debian packages (or list them without root)
#   make install / make uninstall    PREFIX=/usr/local DESTDIR=

BUILD   ?= build
SAN     ?=
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
VERSION := 0.1.0

# Only the goals that are the README's set-up commands install packages;
# every other goal checks and names what is missing.
DEPS_MODE := $(if $(filter test run asan bench deps,$(MAKECMDGOALS)),--ensure,--check)

# pkg-config where a package ships a .pc file, with the Debian paths as the
# fallback (GLPK ships none: its header is probed by scripts/deps.sh).
PKG_CONFIG ?= pkg-config
pkg = $(shell $(PKG_CONFIG) $(1) 2>/dev/null)
CJSON_CFLAGS  := $(call pkg,--cflags libcjson)
CJSON_LIBS    := $(or $(call pkg,--libs libcjson),-lcjson)
CURL_CFLAGS   := $(call pkg,--cflags libcurl)
SQLITE_CFLAGS := $(call pkg,--cflags sqlite3)
# SQLite is linked statically when its archive is there (Debian's
# libsqlite3-dev ships it): its 1,600 symbol relocations are most of what the
# dynamic loader does at start-up, and `optagent solve` never opens a
# database. libcurl is not linked at all: agent/curl_dl.c loads it on first use.
SQLITE_LIBDIR := $(or $(call pkg,--variable=libdir sqlite3),/usr/lib/$(shell $(CC) -dumpmachine))
SQLITE_LIBS   := $(if $(wildcard $(SQLITE_LIBDIR)/libsqlite3.a),\
                   $(SQLITE_LIBDIR)/libsqlite3.a $(filter-out -lsqlite3,$(or $(call pkg,--static --libs sqlite3),-lm -lz)),\
                   $(or $(call pkg,--libs sqlite3),-lsqlite3))

WARN     = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
OPT     ?= -O2 -g
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -DOPTAGENT_VERSION='"$(VERSION)"' -I. -MMD -MP
CPPFLAGS += $(CJSON_CFLAGS) $(CURL_CFLAGS) $(SQLITE_CFLAGS)
ifeq ($(SAN),1)
  OPT     = -O1 -g -fno-omit-frame-pointer
  SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif
CFLAGS  += $(WARN) $(OPT) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS   = -lglpk $(CJSON_LIBS) $(SQLITE_LIBS) -lm -lpthread -ldl

LIB_SRC   := $(wildcard db/*.c library/*.c formulate/*.c solver/*.c)
# agent/ and one level of job folders below it (agent/eval/, ...): every
# source but agent/main.c goes into libagent.a; objects mirror the sources
# under $(BUILD).
AGENT_SRC := $(wildcard agent/*.c agent/*/*.c)
TEST_SRC  := $(wildcard tests/test_*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/%.o) $(BUILD)/agent/prompts_embedded.o
AGENT_LIB_OBJ := $(filter-out $(BUILD)/agent/cli/main.o,$(AGENT_OBJ))
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/support*.c))
FAKE_LLM  := $(BUILD)/tests/fake_llm
FAKE_SRC  := $(wildcard tests/fake_llm/*.c)
FAKE_OBJ  := $(patsubst tests/fake_llm/%.c,$(BUILD)/tests/fake_llm-obj/%.o,$(FAKE_SRC))
LIBA      := $(BUILD)/liboptagent.a
AGENTA    := $(BUILD)/libagent.a
BIN       := $(BUILD)/optagent
PROMPTS   := $(sort $(wildcard prompts/*.txt))
DEPS_OK   := $(BUILD)/.deps-ok

.PHONY: all test asan fuzz fuzz-minlp bench bench-check deps install uninstall clean run report-png FORCE
all: $(BIN)

$(DEPS_OK): scripts/deps.sh
	@mkdir -p $(BUILD)
	@scripts/deps.sh $(DEPS_MODE)
	@# the stamp only when nothing is missing, so a later `make test` still installs
	@# the test-only packages a plain `make` merely named
	@if scripts/deps.sh --list | grep -q "all packages present"; then touch $@; fi

deps:
	@scripts/deps.sh --ensure

$(BUILD)/%.o: %.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Prompt templates are embedded as C strings (overridable with --prompts-dir).
$(BUILD)/agent/prompts_embedded.c: $(PROMPTS) scripts/embed_prompts.sh | $(DEPS_OK)
	@mkdir -p $(dir $@)
	scripts/embed_prompts.sh $(PROMPTS) > $@

$(BUILD)/agent/prompts_embedded.o: $(BUILD)/agent/prompts_embedded.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(AGENTA): $(AGENT_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/agent/cli/main.o $(AGENTA) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/agent/cli/main.o $(AGENTA) $(LIBA) $(LDLIBS) -ledit

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT_OBJ) $(AGENTA) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(AGENTA) $(LIBA) $(LDLIBS) -lcmocka

# The server's objects get their own directory: $(FAKE_LLM) is the binary.
$(FAKE_OBJ): $(BUILD)/tests/fake_llm-obj/%.o: tests/fake_llm/%.c | $(DEPS_OK)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# (an old build tree has a directory there: replace it)
$(FAKE_LLM): $(FAKE_OBJ) $(if $(wildcard $(FAKE_LLM)/.),FORCE)
	@if [ -d $@ ]; then rm -rf $@; fi
	$(CC) $(LDFLAGS) -o $@ $(FAKE_OBJ) -lcjson -lpthread

test: $(BIN) $(TEST_BIN) $(if $(FAKE_SRC),$(FAKE_LLM))
	@scripts/check_layers.sh
	@OPTAGENT_BUILD=$(BUILD) tests/run.sh $(TEST_BIN)

asan:
	$(MAKE) BUILD=build-asan SAN=1 test

run: $(BIN)
	@scripts/demo.sh $(BIN)

# The HTML report rendered by headless Chromium, to look at (build/report.png).
report-png: $(BIN)
	@scripts/report_png.sh $(BIN)

# libFuzzer needs clang; the fuzz build has its own directory.
FUZZ_SECONDS ?= 600
FUZZ_BUILD   := build-fuzz
fuzz: $(DEPS_OK)
	@mkdir -p $(FUZZ_BUILD)/corpus
	clang -std=c11 -g -O1 -I. -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
	  -o $(FUZZ_BUILD)/fuzz_formulation tests/fuzz/fuzz_formulation.c $(wildcard formulate/*.c) $(LDLIBS)
	cp tests/corpus/valid/*.json tests/corpus/invalid/*.json tests/fuzz/seeds/*.json $(FUZZ_BUILD)/corpus/ 2>/dev/null || true
	$(FUZZ_BUILD)/fuzz_formulation -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -rss_limit_mb=2048 -print_final_stats=1 $(FUZZ_BUILD)/corpus

# The integer nonlinear search with its oracles (tests/fuzz/fuzz_minlp.c).
fuzz-minlp: $(DEPS_OK)
	@mkdir -p $(FUZZ_BUILD)/corpus-minlp
	clang -std=c11 -g -O1 -I. -D_POSIX_C_SOURCE=200809L -fsanitize=fuzzer,address,undefined \
	  -o $(FUZZ_BUILD)/fuzz_minlp tests/fuzz/fuzz_minlp.c $(wildcard formulate/*.c solver/*.c) $(LDLIBS)
	cp tests/corpus/valid/*.json tests/fuzz/seeds/*.json $(FUZZ_BUILD)/corpus-minlp/ 2>/dev/null || true
	$(FUZZ_BUILD)/fuzz_minlp -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	  -rss_limit_mb=2048 -print_final_stats=1 $(FUZZ_BUILD)/corpus-minlp

# Retrieval time of the experience library at 10,000 insights.
$(BUILD)/bench/bench_library: bench/bench_library.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

# The load client of bench/serve_load.sh (optagent serve under 64 clients).
$(BUILD)/bench/serve_load: bench/serve_load.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpthread

# Where the time of a nonlinear solve goes (bench/nlp_quadratic.sh).
$(BUILD)/bench/bench_nlp: bench/bench_nlp.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBA) $(LDLIBS)

bench: $(BIN) $(FAKE_LLM) $(BUILD)/bench/bench_library $(BUILD)/bench/serve_load $(BUILD)/bench/bench_nlp
	@$(BUILD)/bench/bench_library
	@bench/nlp_quadratic.sh $(BIN) $(BUILD)/bench/bench_nlp
	@bench/startup.sh $(BIN)
	@bench/run.sh $(BIN)
	@bench/batch.sh $(BIN)
	@bench/reply_rss.sh $(BIN)
	@bench/check.sh $(BIN)
	@bench/memory.sh $(BIN)
	@bench/learn.sh $(BIN)
	@bench/serve_load.sh $(BIN) $(BUILD)/bench/serve_load

# Checking time at 20k/40k/80k names (linear: ratios about 2).
bench-check: $(BIN)
	@bench/check.sh $(BIN)

# The binary, its manual page optagent(1), the bash and zsh completion and
# the documentation.
MANDIR   ?= $(PREFIX)/share/man/man1
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/optagent $(DESTDIR)$(MANDIR) \
	  $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/optagent
	install -m 0644 README.md docs/FORMULATION.md $(DESTDIR)$(PREFIX)/share/doc/optagent/
	install -m 0644 docs/optagent.1 $(DESTDIR)$(MANDIR)/optagent.1
	install -m 0644 scripts/completion/optagent.bash $(DESTDIR)$(BASHCOMPDIR)/optagent
	install -m 0644 scripts/completion/_optagent $(DESTDIR)$(ZSHCOMPDIR)/_optagent

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/optagent $(DESTDIR)$(MANDIR)/optagent.1 \
	  $(DESTDIR)$(BASHCOMPDIR)/optagent $(DESTDIR)$(ZSHCOMPDIR)/_optagent
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/optagent

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(AGENT_OBJ:.o=.d) $(TEST_BIN:=.d) $(TEST_SUPPORT_OBJ:.o=.d) $(FAKE_OBJ:.o=.d)
.SECONDARY:
