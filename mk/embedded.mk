# Embedded and cross-architecture builds (issue 8; docs/embedding.md).
# Included by the Makefile after its own rules, so BUILD, STATIC, LIBS and
# the switches of the current invocation are known here.
#
#   make firmware-check        BLAS=none STDIO=0 MALLOC=0: no heap, stdio,
#                              exit or BLAS symbol may be undefined in
#                              libiqs.a; prints text/data/bss sizes
#   make [SWITCHES] embedded-test
#                              tests/embedded on this host, in the current
#                              configuration (e.g. make STDIO=0 embedded-test)
#   make [SWITCHES] embedded-symcheck
#                              the symbols the current switches remove are
#                              not referenced (e.g. MALLOC=0: no heap)
#   make embedded-variants     embedded-symcheck + embedded-test in each
#                              switch alone and all off
#   make cross-aarch64         BLAS=none STDIO=0 MALLOC=0 for aarch64, then
#   make cross-s390x           tests/embedded under qemu-user (s390x is the
#   make cross-test            big-endian target), its detector scores
#                              compared with this host's; cross-test runs both
#
# Model-dependent checks use EMB_MODEL and its OpenCV references (made by
# `make models`); without them only the model-free checks run.

EMB_MODEL ?= build/models/irv2_224_tf2_c3.iqsw
EMB_REF   ?= build/models/ref/irv2_224_tf2_c3/jpg
EMB_PHOTOS ?= $(or $(IQS_SHARED),../shared)/testdata/photos
EMB_MAX   ?= 1000
# Reference images per qemu run: a 224 px forward pass is slow under TCG.
CROSS_MAX ?= 2
EMB_LDFLAGS ?=

FW_SWITCHES := BLAS=none STDIO=0 MALLOC=0
FW_BUILD    := build/none-stdio0-malloc0
# Symbols a firmware build must not need: heap, stdio (including what gcc
# turns printf into) and file descriptors, process exit, any BLAS. Each
# switch alone is checked against its own group (plus exit, never allowed).
FW_HEAP  := malloc calloc realloc free aligned_alloc posix_memalign memalign
FW_STDIO := fopen fopen64 fread fwrite fclose fprintf printf puts putchar fputs \
            perror __printf_chk __fprintf_chk open open64 read mmap mmap64 munmap
FW_EXIT  := abort exit _exit
emb_empty :=
emb_space := $(emb_empty) $(emb_empty)
fw_re = ^($(subst $(emb_space),|,$(strip $(1))))$$
FW_FORBIDDEN_RE := $(call fw_re,$(FW_HEAP) $(FW_STDIO) $(FW_EXIT) cblas_.*)

EMB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/embedded/*.c))
EMB_BIN := $(BUILD)/embedded/test_embedded

$(EMB_BIN): $(EMB_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(EMB_LDFLAGS) -o $@ $(EMB_OBJ) $(STATIC) $(LIBS)

# fw_symcheck(archive, cc, nm, objdump[, regex]): links every member into
# one relocatable object (so symbols defined inside the library do not
# count), fails on an undefined symbol matching regex (default: all of the
# above), and on writable static data
# (.data, .bss, common symbols: the library keeps no global state; the
# relocated constant tables of .data.rel.ro are allowed).
define fw_symcheck
	@rm -f $(1).all.o
	@$(2) -r -nostdlib -o $(1).all.o -Wl,--whole-archive $(1) -Wl,--no-whole-archive
	@$(3) -u $(1).all.o | awk '{print $$NF}' | sort -u > $(1).undefined
	@echo "undefined symbols of $(1): $$(tr '\n' ' ' < $(1).undefined)"
	@bad=$$(grep -E '$(or $(5),$(FW_FORBIDDEN_RE))' $(1).undefined | tr '\n' ' '); \
	 if [ -n "$$bad" ]; then echo "FAIL firmware symbols: $$bad"; exit 1; fi
	@rw=$$($(4) -h $(1).all.o | awk '$$2 ~ /^\.(data|bss)(\.|$$)/ && $$2 !~ /^\.data\.rel\.ro/ && $$3 != "00000000" && $$3 !~ /^0+$$/ {printf "%s ", $$2}'); \
	 com=$$($(3) $(1).all.o | awk '$$2 == "C" {printf "%s ", $$3}'); \
	 if [ -n "$$rw$$com" ]; then echo "FAIL writable static data: $$rw$$com"; exit 1; fi
endef

.PHONY: firmware-check embedded-test embedded-variants embedded-symcheck cross-aarch64 cross-s390x cross-test

firmware-check:
	@$(MAKE) --no-print-directory $(FW_SWITCHES) BUILD=$(FW_BUILD) $(FW_BUILD)/lib/libiqs.a
	$(call fw_symcheck,$(FW_BUILD)/lib/libiqs.a,$(CC),nm,objdump)
	@size -t $(FW_BUILD)/lib/libiqs.a | tail -n 1 | \
	 awk '{printf "libiqs.a ($(FW_SWITCHES)): text %d  data %d  bss %d bytes\n", $$1, $$2, $$3}'
	@echo "PASS firmware-check"

# The host-side data (reference list, raw RGB pixels) is prepared by Python,
# so the C test needs neither a directory API nor an image decoder.
EMB_DATA := $(BUILD)/embedded/data
emb_args = --img tests/img $(if $(wildcard $(EMB_MODEL)),--model $(EMB_MODEL) \
           $$($(PYTHON) tests/embedded/prep_data.py $(EMB_REF) $(EMB_PHOTOS) $(1)))

embedded-test: $(EMB_BIN)
	$(EMB_RUN) $(EMB_BIN) $(call emb_args,$(EMB_DATA)) --max $(EMB_MAX)

embedded-variants:
	@bad=; for sw in "BLAS=none" "STDIO=0" "MALLOC=0" "$(FW_SWITCHES)"; do \
	  echo "== $$sw"; env -u BUILD $(MAKE) --no-print-directory $$sw embedded-symcheck || bad="$$bad [$$sw symbols]"; \
	  env -u BUILD $(MAKE) --no-print-directory $$sw embedded-test || bad="$$bad [$$sw tests]"; done; \
	 if [ -n "$$bad" ]; then echo "FAIL embedded-variants:$$bad"; exit 1; fi; echo "PASS embedded-variants"

# The symbol groups the current switches remove (make MALLOC=0
# embedded-symcheck: no heap symbol; STDIO=0: no stdio or file symbol;
# BLAS=none: no cblas_ symbol); exit and writable static data never.
EMB_SWITCH_RE = $(call fw_re,$(FW_EXIT) $(if $(filter 0,$(MALLOC)),$(FW_HEAP)) \
                $(if $(filter 0,$(STDIO)),$(FW_STDIO)) $(if $(filter none,$(BLAS)),cblas_.*))
embedded-symcheck: $(STATIC)
	$(call fw_symcheck,$(STATIC),$(CC),nm,objdump,$(EMB_SWITCH_RE))
	@echo "PASS embedded-symcheck ($(CONFIG))"

# Cross builds: Debian's gcc-<triplet> and qemu-user (or qemu-user-static).
# Binaries are static so qemu needs no target sysroot.
CROSS_aarch64 := aarch64-linux-gnu-
CROSS_s390x   := s390x-linux-gnu-
# s390x: gcc's -std=c11 evaluates float in double (FLT_EVAL_METHOD 1) and
# then rejects scalar-float x vector-float in the portable GEMM; the
# hardware has float arithmetic, so use it as the other targets do (drop
# this once the GEMM builds its scalar operands as vector splats).
CROSS_CFLAGS_s390x := -fexcess-precision=fast
qemu_for = $(or $(shell command -v qemu-$(1) 2>/dev/null),$(shell command -v qemu-$(1)-static 2>/dev/null),qemu-$(1)-not-installed)

cross-aarch64 cross-s390x: cross-%:
	@command -v $(CROSS_$*)gcc >/dev/null || { echo "FAIL cross-$*: $(CROSS_$*)gcc not installed"; exit 1; }
	@$(MAKE) --no-print-directory $(FW_SWITCHES) CC=$(CROSS_$*)gcc BUILD=build/cross-$* \
	  CFLAGS="$(CFLAGS) $(CROSS_CFLAGS_$*)" EMB_LDFLAGS=-static build/cross-$*/embedded/test_embedded
	$(call fw_symcheck,build/cross-$*/lib/libiqs.a,$(CROSS_$*)gcc,$(CROSS_$*)nm,$(CROSS_$*)objdump)
	@$(CROSS_$*)size -t build/cross-$*/lib/libiqs.a | tail -n 1 | \
	 awk '{printf "libiqs.a ($*, $(FW_SWITCHES)): text %d  data %d  bss %d bytes\n", $$1, $$2, $$3}'
	@$(MAKE) --no-print-directory $(FW_SWITCHES) BUILD=$(FW_BUILD) $(FW_BUILD)/embedded/test_embedded
	@$(FW_BUILD)/embedded/test_embedded --assess-out build/cross-$*/assess_host.txt \
	  > build/cross-$*/host.log || { cat build/cross-$*/host.log; exit 1; }
	$(call qemu_for,$*) build/cross-$*/embedded/test_embedded \
	  $(call emb_args,build/cross-$*/embedded/data) --max $(CROSS_MAX) \
	  --assess-ref build/cross-$*/assess_host.txt

cross-test: cross-aarch64 cross-s390x
