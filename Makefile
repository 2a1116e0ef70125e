# Makefile - the onnx PostgreSQL extension (PGXS).
#
#   make                build engine/ (static library) and onnx.so
#   make install        install into the PostgreSQL found by pg_config
#   make installcheck   pg_regress suite in sql/ and expected/
#   make WITH_CUDA=1    also build the CUDA kernels (needs nvcc)

EXTENSION = onnx
MODULE_big = onnx
DATA = $(wildcard onnx--*.sql)
PGFILEDESC = "onnx - ONNX model scoring inside PostgreSQL"

OBJS = $(patsubst %.c,%.o,$(sort $(wildcard extension/*.c)))

REGRESS = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=onnx

ENGINE_BUILD = engine/build
ENGINE_LIB = $(ENGINE_BUILD)/libonnxengine.a
WITH_CUDA ?=
CUDA_HOME ?= /usr/local/cuda

PG_CPPFLAGS = -Iengine/include
SHLIB_LINK = $(ENGINE_LIB) -lprotobuf-c -lopenblas -lm
ifeq ($(WITH_CUDA),1)
SHLIB_LINK += -L$(CUDA_HOME)/lib64 -lcudart -lcublas -lstdc++
endif
EXTRA_CLEAN = engine/build engine/build-san

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(shlib): $(ENGINE_LIB)

$(ENGINE_LIB): engine-lib

engine-lib:
	$(MAKE) -C engine BUILD=build WITH_CUDA=$(WITH_CUDA)

.PHONY: engine-lib
