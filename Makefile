# Makefile — builds libcnn.a, the ./cnn command and the test runner;
# `make run` and `make test` also install dependencies and fetch MNIST.
#
# MPI=auto (the default) builds with Open MPI when pkg-config's ompi-c (or
# else mpicc) finds it, so that `mpirun -np N ./cnn ...` runs N ranks;
# MPI=1 requires it; MPI=0 builds without.  `cnn info` says which.

# A plain `make` builds everything (the MPI rules below come before `all`).
.DEFAULT_GOAL := all

CC      ?= gcc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
# What the build needs; CFLAGS and CPPFLAGS from the command line (say,
# sanitizers) are added to it, not put in its place.  -fno-math-errno: sqrtf
# and friends set no errno (nothing reads it after them), which lets the
# optimizers' element-wise loops vectorise; -ffp-contract=off (gcc's default
# under -std=c11, not clang's): no multiply and add fused into an FMA that
# the reference does not make, so the portable kernels keep its bits.
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -fopenmp -fno-math-errno -ffp-contract=off \
               -Iinclude -Ikernels -Isrc
COMPILE = $(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LDLIBS  += -fopenmp -lhwloc -ljansson -lz -lm
BUILD   := build

# Open MPI: its flags from pkg-config (ompi-c), else from mpicc.  Only
# src/comm.c includes mpi.h; every program links the library.  A stamp
# file holding the MPI flags rebuilds comm.o when MPI= changes.
MPI     ?= auto
ifeq ($(filter $(MPI),auto 1 0),)
$(error MPI=$(MPI): expected auto, 1 or 0)
endif
ifneq ($(MPI),0)
ifeq ($(shell pkg-config --exists ompi-c 2>/dev/null && echo 1),1)
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c)
MPI_LIBS   := $(shell pkg-config --libs ompi-c)
else
MPI_CFLAGS := $(shell mpicc --showme:compile 2>/dev/null)
MPI_LIBS   := $(shell mpicc --showme:link 2>/dev/null)
endif
ifeq ($(MPI_LIBS),)
ifeq ($(MPI),1)
$(error MPI=1: Open MPI not found by pkg-config (ompi-c) nor mpicc; install libopenmpi-dev)
endif
else
MPI_DEFS := -DCNN_HAVE_MPI $(MPI_CFLAGS)
LDLIBS   += $(MPI_LIBS)
endif
endif
MPI_STAMP := $(BUILD)/mpi-flags
$(shell mkdir -p $(BUILD) && (echo '$(MPI_DEFS)' | cmp -s - $(MPI_STAMP) || \
        echo '$(MPI_DEFS)' > $(MPI_STAMP)))
$(BUILD)/src/comm.o $(BUILD)/pic/src/comm.o: BASE_CFLAGS += $(MPI_DEFS)
$(BUILD)/src/comm.o $(BUILD)/pic/src/comm.o: $(MPI_STAMP)

# Each architecture's SIMD kernels; files named *-avx2.c and *-avx512.c get
# their ISA's flags, so one x86-64 binary runs on any x86-64 CPU (dispatch
# checks the CPU at run time).
ARCH       := $(shell $(CC) -dumpmachine)
LIB_SRC    := $(wildcard src/*.c src/layers/*.c src/optim/*.c)
KERNEL_SRC := $(wildcard kernels/*.c kernels/ref/*.c kernels/portable/*.c)
ifneq (,$(findstring x86_64,$(ARCH)))
KERNEL_SRC += $(wildcard kernels/x86/*.c)
endif
ifneq (,$(findstring aarch64,$(ARCH)))
KERNEL_SRC += $(wildcard kernels/arm/*.c)
endif
AVX2_FLAGS   := -mavx2 -mfma
AVX512_FLAGS := -mavx512f -mavx512vl -mavx2 -mfma
CLI_SRC    := $(wildcard src/cli/*.c)
TEST_SRC   := $(wildcard tests/*.c)

LIB_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC) $(KERNEL_SRC))
# The shared library's objects: the same sources compiled position-
# independent into their own tree, so libcnn.a and ./cnn keep theirs.
PIC_OBJ    := $(patsubst %.c,$(BUILD)/pic/%.o,$(LIB_SRC) $(KERNEL_SRC))
# CNN_SHARED_LIB: no .preinit_array (src/omp_env.c), which a DSO cannot have.
PIC_FLAGS  := -fPIC -fno-semantic-interposition -DCNN_SHARED_LIB
CLI_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))
TEST_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(TEST_SRC))

# bench/kernels: the kernel benchmark.  Files named peak-<isa>.c are the
# per-ISA FMA-peak loops (only the current architecture's are built);
# bench/onednn.c is compiled in only where oneDNN's headers are installed.
BENCH_SRC  := $(wildcard bench/kernels*.c)
ifneq (,$(findstring x86_64,$(ARCH)))
BENCH_SRC  += $(wildcard bench/peak-avx2.c bench/peak-avx512.c bench/peak-scalar.c)
endif
ifneq (,$(findstring aarch64,$(ARCH)))
BENCH_SRC  += $(wildcard bench/peak-neon.c bench/peak-scalar.c)
endif
HAVE_DNNL  := $(shell printf '\043include <dnnl.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo 1)
ifeq ($(HAVE_DNNL),1)
BENCH_SRC  += $(wildcard bench/onednn.c)
BENCH_LIBS := -ldnnl
$(BUILD)/bench/%.o: CPPFLAGS += -DCNN_HAVE_DNNL
endif
BENCH_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(BENCH_SRC))
BENCH_KERNELS := bench/kernels
# bench/train: end-to-end training speed, thread sweep.
BENCH_TRAIN := bench/train
# bench/augment: the time to augment one image.
BENCH_AUGMENT := bench/augment

LIB     := $(BUILD)/libcnn.a
# The version (include/cnn.h's CNN_VERSION) names the shared library's
# file; its major number is the soname.  The version script made from
# the header (scripts/lib-map.sh) exports the header's functions only.
VERSION := $(shell sed -n 's/^\#define CNN_VERSION "\(.*\)"$$/\1/p' include/cnn.h)
SONAME  := libcnn.so.$(firstword $(subst ., ,$(VERSION)))
SHLIB   := $(BUILD)/libcnn.so.$(VERSION)
LIB_MAP := $(BUILD)/libcnn.map
PC      := $(BUILD)/cnn.pc
PC_STATIC := $(BUILD)/cnn-static.pc
# The command; a sanitizer build puts its own elsewhere (CLI=build-asan/cnn)
# and the tests run the one named by $CNN_BIN.
CLI     ?= cnn
CLI_LIBS := -lpng
RUNNER  := $(BUILD)/test-runner
DATA    := data/mnist
FASHION := data/fashion
CIFAR   := data/cifar10
SEED_WEIGHTS := seed.safetensors
SEED_LOG     := seed-log.csv

.PHONY: all deps data data-fashion data-cifar run bn-run test bench bench-deps bench-compare figures compare clean \
        install uninstall shared

all: $(LIB) $(CLI) $(RUNNER)

# The shared library and pkg-config's files (what `make install` adds to
# `all`'s; the sanitizer and fuzzing builds, which make `all`, skip them).
shared: $(SHLIB) $(PC) $(PC_STATIC)

# tests/mpi.sh's helper: comm.c's collectives and faults over two ranks
# (built when MPI is).
MPI_PROBE := $(BUILD)/mpi-probe
ifneq ($(MPI_DEFS),)
all: $(MPI_PROBE)
endif

# Made afresh, so that an object whose source is gone leaves it too.
$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# Only the header's functions leave it ($(LIB_MAP)); every dependency is a
# DT_NEEDED entry, so a program links with -lcnn alone.
$(LIB_MAP): include/cnn.h scripts/lib-map.sh
	@mkdir -p $(dir $@)
	scripts/lib-map.sh '$(CC)' include/cnn.h $@

$(SHLIB): $(PIC_OBJ) $(LIB_MAP)
	$(CC) -shared -o $@ -Wl,-soname,$(SONAME) -Wl,--version-script=$(LIB_MAP) \
	    -Wl,--no-undefined $(PIC_OBJ) $(LDFLAGS) $(LDLIBS)

# pkg-config's files, for PREFIX (the build stamp rewrites them when
# PREFIX or the MPI flags change).
$(PC) $(PC_STATIC) &: scripts/cnn-pc.sh include/cnn.h $(MPI_STAMP) $(BUILD)/prefix
	scripts/cnn-pc.sh '$(PREFIX)' '$(VERSION)' '$(MPI_LIBS)' $(BUILD)

$(CLI): $(CLI_OBJ) $(LIB)
	$(CC) -o $@ $(CLI_OBJ) $(LIB) $(LDFLAGS) $(CLI_LIBS) $(LDLIBS)

$(RUNNER): $(TEST_OBJ) $(LIB)
	$(CC) -o $@ $(TEST_OBJ) $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(COMPILE) -MMD -MP -c -o $@ $<

$(BUILD)/%-avx2.o: %-avx2.c
	@mkdir -p $(dir $@)
	$(COMPILE) $(AVX2_FLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%-avx512.o: %-avx512.c
	@mkdir -p $(dir $@)
	$(COMPILE) $(AVX512_FLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(COMPILE) $(PIC_FLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/pic/%-avx2.o: %-avx2.c
	@mkdir -p $(dir $@)
	$(COMPILE) $(PIC_FLAGS) $(AVX2_FLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/pic/%-avx512.o: %-avx512.c
	@mkdir -p $(dir $@)
	$(COMPILE) $(PIC_FLAGS) $(AVX512_FLAGS) -MMD -MP -c -o $@ $<

$(MPI_PROBE): $(BUILD)/tests/mpi/probe.o $(LIB)
	$(CC) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BENCH_KERNELS): $(BENCH_OBJ) $(LIB)
	$(CC) -o $@ $(BENCH_OBJ) $(LIB) $(LDFLAGS) $(BENCH_LIBS) $(LDLIBS)

$(BENCH_TRAIN): $(BUILD)/bench/train.o $(LIB)
	$(CC) -o $@ $(BUILD)/bench/train.o $(LIB) $(LDFLAGS) $(LDLIBS)

$(BENCH_AUGMENT): $(BUILD)/bench/augment.o $(LIB)
	$(CC) -o $@ $(BUILD)/bench/augment.o $(LIB) $(LDFLAGS) $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BENCH_OBJ:.o=.d) $(BUILD)/bench/train.d \
	$(BUILD)/bench/augment.d $(BUILD)/tests/mpi/probe.d

# Build dependencies: installed with apt-get when root, else the command is
# printed and make stops.
deps:
	@scripts/deps.sh

data: $(DATA)/.verified

$(DATA)/.verified: data/fetch-mnist.sh data/idx-verify.sh
	data/fetch-mnist.sh $(DATA)

# Fashion-MNIST from Debian's dataset-fashion-mnist (installed when
# missing); CIFAR-10 from a downloaded tarball (CIFAR_TAR=FILE), which
# these machines cannot fetch: the script says where to get it.
data-fashion: $(FASHION)/.verified

$(FASHION)/.verified: data/fetch-fashion-mnist.sh data/idx-verify.sh
	data/fetch-fashion-mnist.sh $(FASHION)

data-cifar:
	data/fetch-cifar10.sh $(CIFAR) $(CIFAR_TAR)

# Everything a new user needs: dependencies, build, data, train, evaluate.
run: deps
	$(MAKE) all
	$(MAKE) data
	./$(CLI) train --data $(DATA) --model seed --epochs 3 --validate --log $(SEED_LOG) \
	    --save $(SEED_WEIGHTS)

# The README's pictures, from `make run`'s weights and log: the confusion
# matrix, the training curves and the model diagram (Graphviz).
figures: $(CLI)
	./$(CLI) eval --data $(DATA) --load $(SEED_WEIGHTS) --confusion docs/confusion.svg --quiet >/dev/null
	./$(CLI) plot $(SEED_LOG) -o docs/curves.svg
	./$(CLI) summary --model seed --dot | dot -Tsvg -o docs/seed.svg

# The bn preset with its recipe (99.5% on MNIST), validated every epoch,
# and its curves for the README.
bn-run: $(CLI)
	$(MAKE) data
	./$(CLI) train --data $(DATA) --model bn --validate --log bn-log.csv --save bn.safetensors
	./$(CLI) plot bn-log.csv -o docs/bn-curves.svg

# The notebook's comparison: logreg, seed and seed-dense, 3 epochs each.
compare: $(CLI)
	$(MAKE) data
	./$(CLI) compare --data $(DATA)

test: deps
	$(MAKE) all
	$(MAKE) data
	./$(RUNNER)
	tests/conventions.sh
	tests/mpi.sh
	tests/binding.sh
	tests/pty-resize.sh
	tests/install.sh
	DATA=$(DATA) tests/torch-interop.sh

# Kernel benchmark (one thread, every ISA the CPU has, each seed layer),
# then the training benchmark's thread sweep, then augmentation's cost.
bench: $(BENCH_KERNELS) $(BENCH_TRAIN) $(BENCH_AUGMENT)
	$(MAKE) data
	./$(BENCH_KERNELS)
	./$(BENCH_TRAIN) --sweep
	./$(BENCH_AUGMENT)

# The benchmarks' dependencies (PyTorch with OpenBLAS, oneDNN's headers):
# installed with apt-get when root, else the command is printed and make
# stops.
bench-deps:
	@scripts/bench-deps.sh

# cnn against PyTorch (Debian's python3-torch with OpenBLAS), interleaved,
# per model and thread count (bench/compare.py --help for the options).
BENCH_MODELS ?= seed,seed-dense,logreg
bench-compare: bench-deps $(BENCH_TRAIN) $(CLI)
	$(MAKE) data
	/usr/bin/python3 bench/compare.py --model $(BENCH_MODELS)

# make install [PREFIX=/usr/local] [DESTDIR=...]: the header, both
# libraries (the shared one as libcnn.so.VERSION with its soname and
# development links), pkg-config's files, the command, and the man page
# and bash completion when docs/ has them.  make uninstall removes them.
PREFIX     ?= /usr/local
# Make splits words on spaces, and pkg-config's variables too: refused.
ifneq ($(words $(PREFIX))$(filter-out 0 1,$(words $(DESTDIR))),1)
ifneq ($(filter install uninstall,$(MAKECMDGOALS)),)
$(error PREFIX and DESTDIR must not contain spaces)
endif
endif
INCLUDEDIR := $(DESTDIR)$(PREFIX)/include
LIBDIR     := $(DESTDIR)$(PREFIX)/lib
BINDIR     := $(DESTDIR)$(PREFIX)/bin
PCDIR      := $(LIBDIR)/pkgconfig
MAN1DIR    := $(DESTDIR)$(PREFIX)/share/man/man1
COMPDIR    := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
$(shell mkdir -p $(BUILD) && (echo '$(PREFIX)' | cmp -s - $(BUILD)/prefix || \
        echo '$(PREFIX)' > $(BUILD)/prefix))

install: $(LIB) $(SHLIB) $(PC) $(PC_STATIC) $(CLI)
	install -d $(INCLUDEDIR) $(LIBDIR) $(BINDIR) $(PCDIR)
	install -m 644 include/cnn.h $(INCLUDEDIR)/cnn.h
	install -m 644 $(LIB) $(LIBDIR)/libcnn.a
	install -m 755 $(SHLIB) $(LIBDIR)/libcnn.so.$(VERSION)
	ln -sf libcnn.so.$(VERSION) $(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR)/libcnn.so
	install -m 644 $(PC) $(PC_STATIC) $(PCDIR)/
	install -m 755 $(CLI) $(BINDIR)/cnn
	if [ -f docs/cnn.1 ]; then install -d $(MAN1DIR) && \
	    install -m 644 docs/cnn.1 $(MAN1DIR)/cnn.1; fi
	if [ -f docs/cnn.bash-completion ]; then install -d $(COMPDIR) && \
	    install -m 644 docs/cnn.bash-completion $(COMPDIR)/cnn; fi
	@# Into the system's directories as root: the loader's cache learns the
	@# new library (without it, a program linked to libcnn.so.0 in
	@# /usr/local/lib would not find it until the next ldconfig).
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	    ldconfig; fi

uninstall:
	rm -f $(INCLUDEDIR)/cnn.h $(LIBDIR)/libcnn.a $(LIBDIR)/libcnn.so.$(VERSION) \
	    $(LIBDIR)/$(SONAME) $(LIBDIR)/libcnn.so $(PCDIR)/cnn.pc $(PCDIR)/cnn-static.pc \
	    $(BINDIR)/cnn $(MAN1DIR)/cnn.1 $(COMPDIR)/cnn

clean:
	rm -rf $(BUILD) $(CLI) $(BENCH_KERNELS) $(BENCH_TRAIN) $(BENCH_AUGMENT)
