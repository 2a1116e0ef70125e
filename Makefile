# Makefile - the onnx PostgreSQL extension (PGXS).
#
#   make                build engine/ (static library) and onnx.so
#   make install        install into the PostgreSQL found by pg_config
#   make installcheck   pg_regress suite in sql/ and expected/
#   make WITH_CUDA=1    also build the CUDA kernels (needs nvcc)
#   make engine-check   the engine with -Wall -Wextra -Werror, and its unit tests
#   make COPT=-Werror   the extension with warnings as errors

EXTENSION = onnx
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\\([^']*\\)'/\\1/p" onnx.control)
MODULE_big = onnx
# the current version's install script is made from sql/onnx.sql; released
# install scripts and the upgrade scripts between versions are kept as they are
DATA_built = onnx--$(EXTVERSION).sql
DATA = $(filter-out $(DATA_built),$(wildcard onnx--*.sql))
PGFILEDESC = "onnx - ONNX model scoring inside PostgreSQL"

OBJS = $(patsubst %.c,%.o,$(sort $(wildcard extension/*.c)))

# sql/, expected/: fixtures.sql (written by test/fixtures/make_fixtures.py)
# loads the fixture models into the database first; sql/onnx.sql is the
# install script, not a test
REGRESS = fixtures $(filter-out fixtures onnx,$(basename $(notdir $(sort $(wildcard sql/*.sql)))))
REGRESS_OPTS = --inputdir=. --load-extension=onnx

ENGINE_BUILD = engine/build
ENGINE_LIB = $(ENGINE_BUILD)/libonnxengine.a
WITH_CUDA ?=
CUDA_HOME ?= /usr/local/cuda

PG_CPPFLAGS = -Iengine/include
# -Wextra as in the engine, less what PostgreSQL's own headers, macros and
# callback signatures set off (unused parameters, array.h's signed/unsigned
# ?:, PG_FINALLY's _do_rethrow that -Wclobbered cannot see is safe)
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-clobbered
SHLIB_LINK = $(ENGINE_LIB) -lprotobuf-c -lopenblas -lm
ifeq ($(WITH_CUDA),1)
SHLIB_LINK += -L$(CUDA_HOME)/lib64 -lcudart -lcublas -lstdc++
endif
EXTRA_CLEAN = engine/build engine/build-san

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(shlib): $(ENGINE_LIB)

# the extension's objects follow the engine's public header and their own
# (PGXS tracks no header dependencies unless PostgreSQL was built with them)
$(OBJS): engine/include/onnx_engine.h $(wildcard extension/*.h)

$(DATA_built): sql/onnx.sql
	cp $< $@

$(ENGINE_LIB): engine-lib

engine-lib:
	$(MAKE) -C engine BUILD=build WITH_CUDA=$(WITH_CUDA)

engine-check:
	$(MAKE) -C engine check

# TAP tests (PostgreSQL::Test::Cluster) for what needs more than one
# server or a restart: test/t/*.pl.  Run as a user initdb accepts.
PROVE_TESTS ?= test/t/*.pl
prove_installcheck:
	$(prove_installcheck)

.PHONY: engine-lib engine-check prove_installcheck
