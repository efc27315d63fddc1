# mlpipe — build, test, bench.  `make help` lists the targets.
#
#   make                      build ./mlpipe and the static library
#   make test                 every Check suite and end-to-end test
#   make SANITIZE=address,undefined test    the same under the sanitizers
#   make bench                benchmarks, printed as ratios to their anchors
#   make fuzz                 every file reader under libFuzzer, FUZZ_SECONDS (60) each
#   make deps                 install the Debian packages a fresh machine lacks,
#                             and the test tools (xmllint, Chromium, ONNX Runtime)
#   make demo                 install what is missing, build, run the demo pipeline
#   make install              the binary, its man page, the example pipelines and the
#                             docs under PREFIX (/usr/local), below DESTDIR if set
#   make uninstall            removes exactly what make install put there

SANITIZE ?=
comma := ,
PKGS := sqlite3 yaml-0.1 zlib libzstd nettle openblas libmicrohttpd jansson libcurl xgboost check
DEB_PKGS := build-essential pkg-config libsqlite3-dev sqlite3 libyaml-dev zlib1g-dev libzstd-dev \
	nettle-dev libopenblas-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev libxgboost-dev check jq \
	openmpi-bin libopenmpi-dev
# what only the tests use: xmllint and headless Chromium check the reports,
# clang's libFuzzer runs the fuzz targets
TEST_PKGS := libxml2-utils chromium clang libclang-rt-14-dev curl valgrind slurmctld slurmd slurm-client munge
# the real data, for the demo and the benchmarks (not for the tests)
DATA_PKGS := dataset-fashion-mnist
DEMO_PIPELINE := pipelines/fashion_mnist.yaml

NODEPS_GOALS := deps help clean demo test check uninstall bench
ifeq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
else
MISSING := $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done)
ifneq ($(strip $(MISSING)),)
$(error missing libraries: $(strip $(MISSING)); run 'make deps' to install them)
endif
endif

CC ?= cc
OPT ?= -O2
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wvla
# no errno from libm: lets sqrtf and friends vectorize (we never read it)
MATH := -fno-math-errno -ftree-vectorize
CPPFLAGS += -I. -D_XOPEN_SOURCE=700
LIB_CFLAGS := $(shell pkg-config --cflags $(filter-out check,$(PKGS)) 2>/dev/null)
LIB_LIBS := $(shell pkg-config --libs $(filter-out check,$(PKGS)) 2>/dev/null) -lpthread -lm
# MPI (OpenMPI's ompi-c) is optional: without it, a Trainer runs one rank
# and `ranks: N` above 1 is a load-time error
ifneq ($(shell pkg-config --exists ompi-c 2>/dev/null && echo yes),)
LIB_CFLAGS += $(shell pkg-config --cflags ompi-c) -DMP_HAVE_MPI
LIB_LIBS += $(shell pkg-config --libs ompi-c)
endif
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)
CFLAGS ?= -g
CFLAGS += -std=c11 $(OPT) $(MATH) $(WARN) $(LIB_CFLAGS) -MMD -MP

ifneq ($(SANITIZE),)
BUILD := build/san-$(subst $(comma),-,$(SANITIZE))
# no multiversioned loops under the sanitizers: their resolvers run before
# the sanitizer's runtime is up (ThreadSanitizer crashed in one)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all -DMP_NO_VECTOR_CLONES
LDFLAGS += -fsanitize=$(SANITIZE)
BIN := $(BUILD)/mlpipe
else
BUILD := build/rel
BIN := mlpipe
endif

# the library, bottom up: core, then the libraries on it, then what uses
# them; the command line (cli/) is not part of it
LIB_DIRS := core metadata data nn trees eval export serve components orchestrator report
LIB_SRC := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libmlpipe.a
CLI_SRC := $(filter-out cli/main.c,$(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
CLI_LIB := $(BUILD)/libmlpipe-cli.a
CHECK_SRC := $(wildcard tests/check_*.c)
CHECK_BIN := $(CHECK_SRC:tests/%.c=$(BUILD)/tests/%)
HELPER_SRC := tests/mkfixture.c tests/modeldiff.c
HELPER_BIN := $(HELPER_SRC:tests/%.c=$(BUILD)/tests/%)
E2E := $(sort $(filter-out tests/e2e/lib.sh,$(wildcard tests/e2e/*.sh)))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test check run-tests e2e bench run-bench deps demo clean help install uninstall
.DEFAULT_GOAL := all

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(CLI_LIB): $(CLI_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(BUILD)/cli/main.o $(CLI_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIB_LIBS)

# the suites may call the subcommands (mp_cmd_predict), so they link the
# command line's archive too
$(BUILD)/tests/%: tests/%.c $(CLI_LIB) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) -o $@ $< $(CLI_LIB) $(LIB) $(LDFLAGS) $(CHECK_LIBS) $(LIB_LIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LIB_LIBS)

# Each suite and script runs even when an earlier one failed; the summary
# line says which failed and the exit status is non-zero.
# make test on a fresh machine installs what it lacks first, as make demo
# does (make deps says "every package is installed" and returns at once
# when nothing is missing), then builds and runs every suite.
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory run-tests

# Under ThreadSanitizer, OpenMP (XGBoost's) runs one thread: libgomp is not
# instrumented, so its own synchronisation reads as races.
TEST_ENV := $(if $(findstring thread,$(SANITIZE)),OMP_NUM_THREADS=1,)
run-tests: $(BIN) $(CHECK_BIN) $(HELPER_BIN)
	@failed=""; \
	for t in $(CHECK_BIN); do \
		echo "== $$t"; $(TEST_ENV) CK_DEFAULT_TIMEOUT=60 $$t || failed="$$failed $$t"; \
	done; \
	for t in $(E2E); do \
		echo "== $$t"; $(TEST_ENV) MLPIPE=$(abspath $(BIN)) HELPERS=$(abspath $(BUILD)/tests) \
			bash $$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "all tests passed"

check: test

# make bench installs its anchors first (PyTorch, pandas, FastAPI, uvicorn,
# wrk, curl) and the real data, then runs every benchmark.
BENCH_PKGS := $(DATA_PKGS) python3-torch python3-pandas python3-fastapi python3-uvicorn python3-xgboost python3-sklearn python3-optuna wrk curl
bench:
	@$(MAKE) --no-print-directory deps EXTRA_PKGS="$(BENCH_PKGS)" TEST_TOOLS=0
	@$(MAKE) --no-print-directory run-bench

run-bench: $(BIN) $(BENCH_BIN)
	@mkdir -p bench/out
	@for b in $(BENCH_BIN); do echo "== $$b"; MLPIPE=$(abspath $(BIN)) $$b bench/out || exit 1; done

# make demo: everything from a fresh machine to a finished pipeline run.
demo:
	@$(MAKE) --no-print-directory deps EXTRA_PKGS="$(DATA_PKGS)" TEST_TOOLS=0
	@$(MAKE) --no-print-directory all
	./mlpipe run $(DEMO_PIPELINE)
	./mlpipe meta --db pipelines/runs/metadata.db run last
	@echo "validation accuracy after each epoch (10% of train, held out by hash):"
	@./mlpipe meta --db pipelines/runs/metadata.db metrics --name val_accuracy --component train --all-steps | awk 'NR > 1 && $$7 > 0' | tail -n 10
	@echo "accuracy per class (t10k), from the evaluation's slices:"
	@grep '^slice' "$$(./mlpipe meta --db pipelines/runs/metadata.db --json artifacts --pipeline fashion_mnist --type ModelEvaluation | jq -r '.[-1].uri')/evaluation.tsv" | \
		awk -F'\t' '{ printf "  class %s: %s (%s examples)\n", $$3, $$7, $$5 }'
	@echo "the blessing:"
	@cat "$$(./mlpipe meta --db pipelines/runs/metadata.db --json artifacts --pipeline fashion_mnist --type ModelBlessing | jq -r '.[-1].uri')/blessing.tsv"
	@echo "pushed:"
	@cat "$$(./mlpipe meta --db pipelines/runs/metadata.db --json artifacts --pipeline fashion_mnist --type PushedModel | jq -r '.[-1].uri')/pushed.tsv"
	@ls -l "$$(./mlpipe meta --db pipelines/runs/metadata.db --json artifacts --pipeline fashion_mnist --type PushedModel | jq -r '.[-1].properties.path // empty')" 2>/dev/null | tail -n +2 || true

# TEST_TOOLS=0 leaves out what only the tests use: xmllint, Chromium,
# Node.js and onnxruntime-node (the demo does not need them).  The npm
# package is pinned by tests/node/package-lock.json and installed without
# running its scripts: its CPU libraries ship inside it.
TEST_TOOLS ?= 1
deps:
	@test_pkgs=; [ "$(TEST_TOOLS)" = 1 ] && test_pkgs="$(TEST_PKGS)"; \
	missing=$$(for p in $(DEB_PKGS) $$test_pkgs $(EXTRA_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ "$(TEST_TOOLS)" = 1 ] && ! command -v npm >/dev/null; then missing="$$missing nodejs npm"; fi; \
	if [ -z "$$missing" ]; then echo "deps: every package is installed"; else \
		echo "deps: installing" $$missing; \
		if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get update && $$sudo apt-get install -y --no-install-recommends $$missing || exit 1; \
	fi
	@if [ "$(TEST_TOOLS)" = 1 ] && [ ! -d tests/node/node_modules/onnxruntime-node ]; then \
		echo "deps: installing onnxruntime-node (tests/node)"; \
		cd tests/node && npm ci --ignore-scripts --no-audit --no-fund; fi

clean:
	rm -rf build mlpipe bench/out

# make install: what a user runs, reads and starts from.  The man page is
# made from the binary's own help (tools/mkman.sh), so it never disagrees.
PREFIX ?= /usr/local
DESTDIR ?=
INSTALL_PIPELINES := $(wildcard pipelines/*.yaml)
INSTALL_DATA := $(wildcard pipelines/data/*)
INSTALL_DOCS := $(wildcard docs/*.md) README.md
INSTALLED := $(PREFIX)/bin/mlpipe $(PREFIX)/share/man/man1/mlpipe.1 \
	$(INSTALL_PIPELINES:%=$(PREFIX)/share/mlpipe/%) $(INSTALL_DATA:%=$(PREFIX)/share/mlpipe/%) \
	$(addprefix $(PREFIX)/share/doc/mlpipe/,$(notdir $(INSTALL_DOCS)))

$(BUILD)/mlpipe.1: $(BIN) tools/mkman.sh
	sh tools/mkman.sh $(abspath $(BIN)) >$@.tmp && mv $@.tmp $@

install: $(BIN) $(BUILD)/mlpipe.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/mlpipe/pipelines/data $(DESTDIR)$(PREFIX)/share/doc/mlpipe
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mlpipe
	install -m 644 $(BUILD)/mlpipe.1 $(DESTDIR)$(PREFIX)/share/man/man1/mlpipe.1
	install -m 644 $(INSTALL_PIPELINES) $(DESTDIR)$(PREFIX)/share/mlpipe/pipelines/
	install -m 644 $(INSTALL_DATA) $(DESTDIR)$(PREFIX)/share/mlpipe/pipelines/data/
	install -m 644 $(INSTALL_DOCS) $(DESTDIR)$(PREFIX)/share/doc/mlpipe/

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(PREFIX)/share/mlpipe/pipelines/data $(DESTDIR)$(PREFIX)/share/mlpipe/pipelines \
		$(DESTDIR)$(PREFIX)/share/mlpipe $(DESTDIR)$(PREFIX)/share/doc/mlpipe 2>/dev/null

help:
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(BUILD)/cli/main.d

# make fuzz: every reader under libFuzzer with ASan and UBSan, each for
# FUZZ_SECONDS, from the seeds in fuzz/corpus/<target>/ (kept small, in
# the repo); what it learns goes to build/fuzz/corpus/<target>/.  A crash,
# a leak, a sanitizer report or a blow-up past the memory limits fails it
# and names the reproducer.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_BUILD := build/fuzz
FUZZ_FLAGS := -g -O1 -std=c11 -I. -D_XOPEN_SOURCE=700 $(LIB_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
	-DMP_NO_VECTOR_CLONES
FUZZ_TARGETS := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)

# with their header dependencies, as the other builds: a changed struct
# must rebuild every object that lays it out
$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ $(LIB_LIBS)

-include $(FUZZ_OBJ:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%.d)

.PHONY: fuzz
.SECONDARY: $(FUZZ_OBJ)
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
	@failed=""; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes; \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		if ASAN_OPTIONS=detect_leaks=1 $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
			-malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- \
			$(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t >$(FUZZ_BUILD)/$$t.log 2>&1; then \
			grep -E '^stat::number_of_executed_units' $(FUZZ_BUILD)/$$t.log | sed "s/^stat::number_of_executed_units: */  $$t: executions /"; \
		else \
			failed="$$failed $$t"; tail -20 $(FUZZ_BUILD)/$$t.log; \
			echo "reproducer: $$(ls -t $(FUZZ_BUILD)/crashes/$$t-* 2>/dev/null | head -1) (run: $(FUZZ_BUILD)/fuzz_$$t FILE)"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "FUZZ FAILED:$$failed"; exit 1; fi; echo "fuzz: every target ran clean"
