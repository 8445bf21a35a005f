# Hardening (issue 7; docs/security.md, tests/fuzz/README.md).
# Included by the Makefile after its own rules: BUILD, STATIC, LIBS,
# TOOL_OBJ_FOR_TESTS and the switches of the current invocation are known.
#
#   make fuzz [FUZZ_SECONDS=N] [FUZZ_ONLY="iqsw pb"]
#                        builds the libFuzzer harnesses tests/fuzz/fuzz_*.c
#                        (clang, -fsanitize=fuzzer,address,undefined) into
#                        build/fuzz/ and runs each for N seconds (default 60)
#                        on its seed corpus plus tests/bad/; new inputs go
#                        to build/fuzz/corpus/<name>, crashes to
#                        build/fuzz/artifacts/
#   make fuzz-smoke      CI: replays every saved seed and tests/bad/ file
#                        through every harness, then fuzzes each 30 s
#   make fuzz-replay     only the replay part of fuzz-smoke
#   make tsan            tests/test_concurrency and tests/test_parallel
#                        under ThreadSanitizer
#                        (build/tsan/; OPENBLAS_NUM_THREADS=1)
#   make valgrind-check  one classify and one assess under valgrind memcheck
#                        (errors and definite/indirect leaks fail)
#
# Debian packages: clang, libclang-rt-14-dev (libFuzzer, sanitizer
# runtimes), valgrind.

FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 30
FUZZ_ARGS    ?=
# Harness names (tests/fuzz/fuzz_<name>.c); FUZZ_ONLY narrows a run.
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_ONLY    ?= $(FUZZ_ALL)
FUZZ_RUNENV  := OPENBLAS_NUM_THREADS=1 IQS_FUZZ_MODEL=$(or $(IQS_FUZZ_MODEL),build/models/irv2_any_tf2_c3.iqsw)
# Per-input time and memory caps: a hang or a 1 GiB allocation is a finding.
FUZZ_REPLAY_LIMITS := -timeout=20 -rss_limit_mb=2560 -malloc_limit_mb=1100
# (-max_len also truncates replayed files, so only fuzzing runs get it.)
FUZZ_LIMITS  := $(FUZZ_REPLAY_LIMITS) -max_len=524288

.PHONY: fuzz fuzz-build fuzz-bins fuzz-smoke fuzz-replay tsan valgrind-check

# The library and tool objects are compiled by a nested make with clang and
# coverage instrumentation (fuzzer-no-link) in their own build directory;
# the harness binaries are linked in the same nested make.
fuzz-build:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) SAN=fuzzer-no-link,address,undefined \
	  BUILD=$(FUZZ_BUILD) CFLAGS="-O1 -g" fuzz-bins

fuzz-bins: $(FUZZ_ALL:%=$(BUILD)/fuzz/fuzz_%)

# Keep the tool objects of the fuzz build (make would delete them as
# intermediates of the pattern rule below and rebuild them every time).
ifeq ($(BUILD),$(FUZZ_BUILD))
.SECONDARY: $(TOOL_OBJ_FOR_TESTS)
endif

FUZZ_HFLAGS := -Itools -std=c11 -Wall -Wextra -Werror -O1 -g \
  -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

# tools/iqs/xmp.c calls qsort(NULL, 0, ...) when a merge has no edit (UB
# that UBSan reports on every unchanged document, see docs/security.md);
# until it is guarded, fuzz_xmp links its own xmp.o built without the
# nonnull-attribute check so the rest of the parser can be fuzzed.
# Set FUZZ_XMP_NONNULL= (empty) to use the common object.
FUZZ_XMP_NONNULL ?=
FUZZ_XMP_OBJ := $(BUILD)/fuzz/xmp_fuzz.o
$(FUZZ_XMP_OBJ): tools/iqs/xmp.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(FUZZ_XMP_NONNULL) -c $< -o $@

$(BUILD)/fuzz/fuzz_xmp: tests/fuzz/fuzz_xmp.c tests/fuzz/fuzz.h $(TOOL_OBJ_FOR_TESTS) $(FUZZ_XMP_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(FUZZ_HFLAGS) -o $@ $< \
	  $(if $(FUZZ_XMP_NONNULL),$(filter-out %/xmp.o,$(TOOL_OBJ_FOR_TESTS)) $(FUZZ_XMP_OBJ),$(TOOL_OBJ_FOR_TESTS)) \
	  $(STATIC) $(LIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(TOOL_OBJ_FOR_TESTS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(FUZZ_HFLAGS) -o $@ $< $(TOOL_OBJ_FOR_TESTS) $(STATIC) $(LIBS)

# fuzz_run(name, seconds): fuzz one harness from its seeds and tests/bad.
define fuzz_run
	@mkdir -p $(FUZZ_BUILD)/corpus/$(1) $(FUZZ_BUILD)/artifacts
	@echo "== fuzz_$(1): $(2) s"
	$(FUZZ_RUNENV) $(FUZZ_BUILD)/fuzz/fuzz_$(1) $(FUZZ_LIMITS) -max_total_time=$(2) \
	  -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/artifacts/$(1)- $(FUZZ_ARGS) \
	  $(FUZZ_BUILD)/corpus/$(1) tests/fuzz/corpus/$(1) tests/bad \
	  2>&1 | tee $(FUZZ_BUILD)/fuzz_$(1).log | grep -E '^(==|#[0-9]+ +DONE|stat::number_of_executed_units|SUMMARY|.*ERROR)' ; \
	  exit $${PIPESTATUS[0]}

endef

fuzz: SHELL := /bin/bash
fuzz: fuzz-build
	$(foreach h,$(FUZZ_ONLY),$(call fuzz_run,$(h),$(FUZZ_SECONDS)))

# Replay: each saved input once (files, not directories, so libFuzzer only
# executes them). tests/bad/ goes through every harness: none may crash.
# Generated regression inputs too large to commit join the pb replay.
FUZZ_GEN := $(FUZZ_BUILD)/regress/deep_pool_chain.pb
$(FUZZ_BUILD)/regress/deep_pool_chain.pb: tests/fuzz/deep_chain.py
	@mkdir -p $(dir $@)
	$(PYTHON) $< $@

fuzz-replay: fuzz-build $(FUZZ_GEN)
	@set -e; for h in $(FUZZ_ONLY); do \
	  files="$$(find tests/fuzz/corpus/$$h tests/bad -type f ! -name '*.md' ! -name MANIFEST ! -name '*.py' | sort)"; \
	  if [ $$h = pb ]; then files="$$files $(FUZZ_GEN)"; fi; \
	  echo "== replay fuzz_$$h: $$(echo "$$files" | wc -l) inputs"; \
	  $(FUZZ_RUNENV) $(FUZZ_BUILD)/fuzz/fuzz_$$h $(FUZZ_REPLAY_LIMITS) $$files \
	    > $(FUZZ_BUILD)/replay_$$h.log 2>&1 || { tail -n 40 $(FUZZ_BUILD)/replay_$$h.log; exit 1; }; \
	done; echo "PASS fuzz-replay"

fuzz-smoke: SHELL := /bin/bash
fuzz-smoke: fuzz-replay
	$(foreach h,$(FUZZ_ONLY),$(call fuzz_run,$(h),$(FUZZ_SMOKE_SECONDS)))
	@echo "PASS fuzz-smoke"

# ThreadSanitizer: a separate build of the library and the concurrency
# suite. OpenBLAS is not instrumented; with one OpenBLAS thread it runs
# inside the calling thread, which TSan sees (docs/security.md). TSan slows
# the library's own loops ~10x, so the run is smaller than the default
# suite's (4 calls per thread on 10 photos, 256 px assess previews); the
# IQS_CONC_* variables override it.
TSAN_BUILD := build/tsan
tsan:
	@$(MAKE) --no-print-directory SAN=thread BUILD=$(TSAN_BUILD) CFLAGS="-O1 -g" \
	  $(TSAN_BUILD)/tests/test_concurrency $(TSAN_BUILD)/tests/test_parallel
	OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  IQS_ROOT=$(CURDIR) IQS_SHARED=$(or $(IQS_SHARED),$(CURDIR)/../shared) \
	  IQS_MODELS=$(or $(IQS_MODELS),$(CURDIR)/build/models) \
	  IQS_CONC_CALLS=$(or $(IQS_CONC_CALLS),4) IQS_CONC_BIG=$(or $(IQS_CONC_BIG),1) \
	  IQS_CONC_IMAGES=$(or $(IQS_CONC_IMAGES),10) IQS_CONC_PREVIEW=$(or $(IQS_CONC_PREVIEW),256) \
	  $(TSAN_BUILD)/tests/test_concurrency
	OPENBLAS_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  IQS_ROOT=$(CURDIR) IQS_MODELS=$(or $(IQS_MODELS),$(CURDIR)/build/models) \
	  IQS_PAR_REPS=1 $(TSAN_BUILD)/tests/test_parallel
	@echo "PASS tsan"

# valgrind memcheck on the CLI: one classify (the any-size model at 96 px
# keeps it short) and one assess. OpenBLAS is pinned to one thread and a
# Haswell kernel (valgrind has no AVX-512).
VG_MODEL ?= build/models/irv2_any_tf2_c3.iqsw
VG_PHOTO ?= $(or $(IQS_SHARED),../shared)/testdata/photos/jxl_coast.jpg
VG := valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
      --errors-for-leak-kinds=definite,indirect --track-origins=yes -q
VG_ENV := OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell
valgrind-check: tools
	$(VG_ENV) $(VG) $(BUILD)/bin/iqs classify -m $(VG_MODEL) --input-size 96 -j 1 $(VG_PHOTO)
	$(VG_ENV) $(VG) $(BUILD)/bin/iqs assess --no-model -j 1 $(VG_PHOTO)
	@echo "PASS valgrind-check"
