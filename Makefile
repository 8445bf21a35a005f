# iqs - plain Makefile. See docs/architecture.md.
# Switches: BLAS=openblas|none  STDIO=1|0  MALLOC=1|0  SAN=address,undefined
# Every lib/*/*.c is part of the library (files excluded by switches below);
# every tests/test_*.c is one cmocka suite; every tools/<name>/ is one program.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BLAS    ?= openblas
STDIO   ?= 1
MALLOC  ?= 1
SAN     ?=
PYTHON  ?= /usr/bin/python3

VERSION_MAJOR := 0
VERSION       := 0.1.0

CONFIG := $(BLAS)-stdio$(STDIO)-malloc$(MALLOC)$(if $(SAN),-san)
ifeq ($(CONFIG),openblas-stdio1-malloc1)
BUILD ?= build
else
BUILD ?= build/$(CONFIG)
endif

BASE_CFLAGS := -std=c11 -Wall -Wextra -Werror -fvisibility=hidden -fPIC -MMD -MP \
               -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
CFLAGS   ?= -O2 -g
CPPFLAGS ?=
LDFLAGS  ?=
ALL_CPPFLAGS := -Iinclude -Ilib -DIQS_BUILDING_LIBRARY $(CPPFLAGS)
LIBS := -lm -lpthread

ifeq ($(BLAS),openblas)
ALL_CPPFLAGS += -DIQS_BLAS_OPENBLAS=1 -I/usr/include/x86_64-linux-gnu
LIBS += -lopenblas
else
ALL_CPPFLAGS += -DIQS_BLAS_OPENBLAS=0
endif
ALL_CPPFLAGS += -DIQS_STDIO=$(STDIO) -DIQS_MALLOC=$(MALLOC)
ifneq ($(SAN),)
BASE_CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif

ALL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)

LIB_SRC := $(wildcard lib/*/*.c)
ifeq ($(BLAS),none)
LIB_SRC := $(filter-out lib/ops/gemm_blas.c,$(LIB_SRC))
endif
ifeq ($(STDIO),0)
LIB_SRC := $(filter-out lib/io/%.c,$(LIB_SRC))
endif
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

# A tool is a tools/<name>/ folder with a main.c (others hold scripts).
TOOLS    := $(patsubst tools/%/main.c,%,$(wildcard tools/*/main.c))
TOOL_BIN := $(TOOLS:%=$(BUILD)/bin/%)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

STATIC := $(BUILD)/lib/libiqs.a
SHARED := $(BUILD)/lib/libiqs.so.$(VERSION_MAJOR)

.PHONY: all lib tools test bench install clean models
# The tools need files and the heap: STDIO=0 / MALLOC=0 builds are library-only
# (their tests are `make embedded-test` and `make firmware-check`, mk/embedded.mk).
ifeq ($(STDIO)$(MALLOC),11)
all: lib tools
else
all: lib
endif

lib: $(STATIC) $(SHARED) $(BUILD)/lib/iqs.pc
tools: $(TOOL_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,libiqs.so.$(VERSION_MAJOR) $(LDFLAGS) -o $@ $^ $(LIBS)
	ln -sf libiqs.so.$(VERSION_MAJOR) $(BUILD)/lib/libiqs.so

# iqs.pc for the current PREFIX (rewritten on every build, so an install with
# another PREFIX never ships a stale one).
PC_TEXT = 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: iqs\nDescription: image quality sorting library\nVersion: %s\nLibs: -L$${libdir} -liqs\nLibs.private: %s\nCflags: -I$${includedir}\n'
.PHONY: $(BUILD)/lib/iqs.pc
$(BUILD)/lib/iqs.pc:
	@mkdir -p $(dir $@)
	@printf $(PC_TEXT) '$(PREFIX)' '$(VERSION)' '$(LIBS)' > $@

# Each tools/<name>/ builds build/bin/<name> from all its .c files.
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(addprefix $(BUILD)/obj/,$$(subst .c,.o,$$(wildcard tools/$$*/*.c))) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(STATIC) $(LIBS)

# A suite may pull in tools' objects (for example the converter's decoder).
TOOL_OBJ_FOR_TESTS := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out %/main.c,$(foreach t,$(TOOLS),$(wildcard tools/$(t)/*.c))))
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/obj/tests/testutil.o $(TOOL_OBJ_FOR_TESTS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(STATIC) $(LIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(STATIC) $(LIBS)

test: all $(TEST_BIN)
	+BUILD=$(BUILD) PYTHON=$(PYTHON) bash tests/run.sh

models: tools
	BUILD=$(BUILD) PYTHON=$(PYTHON) bash tests/models.sh

bench: all $(BENCH_BIN)

install: lib tools
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/iqs $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/iqs/iqs.h $(DESTDIR)$(PREFIX)/include/iqs/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libiqs.so.$(VERSION_MAJOR) $(DESTDIR)$(PREFIX)/lib/libiqs.so
	install -m 644 $(BUILD)/lib/iqs.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	for t in $(TOOL_BIN); do install -m 755 $$t $(DESTDIR)$(PREFIX)/bin/; done

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# The README's main job: build, make the (untrained) demo network, run iqs on samples/.
.PHONY: demo
demo: all
	BUILD=$(BUILD) PYTHON=$(PYTHON) bash tools/demo.sh

# Optional fragments (fuzzing, firmware checks, cross builds, benchmarks) live in mk/.
-include $(wildcard mk/*.mk)
