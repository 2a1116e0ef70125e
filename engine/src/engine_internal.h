/*-------------------------------------------------------------------------
 *
 * engine_internal.h
 *	  Internal structures of the engine: converted graph, operator
 *	  definitions, kernel context and the helpers kernels use.
 *
 * Ownership, the one rule: memory has exactly one owner, named by where it
 * came from.
 *  - The model's arena (onnx_arena_alloc): everything reachable from an
 *    OnnxModel (graph, attributes, prepared kernel state, folded
 *    constants); freed with the model.
 *  - The running frame (onnx_out*, onnx_out_value): node outputs; the
 *    frame frees each after its last reader (graph outputs go to the
 *    caller), and everything on failure.  Kernels never free outputs.
 *    An output planned into a Concat's output (concat_plan.c) is a slice
 *    of that value's buffer: the frame frees the Concat's output, never
 *    the slice.
 *  - The node (onnx_kernel_scratch): working memory of one kernel call;
 *    the executor releases it after the node returns, on success and on
 *    failure.  Kernels never free scratch.
 *  - The kernel (onnx_kernel_alloc): memory whose lifetime is not one
 *    node call: what it hands to a value (string elements, sequence
 *    items), what it holds across subgraph runs, per-iteration buffers of
 *    an unbounded loop.  The kernel frees it (onnx_kernel_free) on every
 *    path unless a value took it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENGINE_INTERNAL_H
#define ENGINE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "onnx_engine.h"

/* ---- arena: many small allocations freed at once ---- */

typedef struct OnnxArenaBlock OnnxArenaBlock;
typedef struct OnnxArena
{
	const OnnxAllocator *alloc;
	OnnxArenaBlock *blocks;
	size_t		total;
} OnnxArena;

extern void onnx_arena_init(OnnxArena *arena, const OnnxAllocator *alloc);
extern void *onnx_arena_alloc(OnnxArena *arena, size_t size);	/* zeroed */
/* zeroed room for n + 1 elements of size bytes; NULL when that overflows */
extern void *onnx_arena_alloc_array(OnnxArena *arena, size_t n, size_t size);
extern char *onnx_arena_strdup(OnnxArena *arena, const char *s);
extern void onnx_arena_free_all(OnnxArena *arena);

/* ---- errors ---- */

extern OnnxStatus onnx_error_set(OnnxError *err, OnnxStatus status,
								 const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void onnx_error_clear(OnnxError *err);
/* The status of a failed allocation outside kernels (see ONNX_KERNEL_OOM). */
#define ONNX_ERROR_OOM(err) onnx_error_set((err), ONNX_ERR_OUT_OF_MEMORY, "out of memory")
/* Name node n (operator and node name) as where err happened; returns st. */
struct OnnxNode;
extern OnnxStatus onnx_error_at_node(OnnxError *err, const struct OnnxNode *n, OnnxStatus st);

/*
 * Advance a row-major multi-index idx over dims[0..rank): the last index
 * fastest, each wrapping to 0 into the one before (all 0 after the last).
 */
static inline void
onnx_index_next(int64_t *idx, const int64_t *dims, int rank)
{
	for (int d = rank - 1; d >= 0; d--)
	{
		if (++idx[d] < dims[d])
			return;
		idx[d] = 0;
	}
}

/* ---- overflow-checked arithmetic ---- */

static inline bool
onnx_mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}

static inline bool
onnx_mul_overflow_size(size_t a, size_t b, size_t *out)
{
	return __builtin_mul_overflow(a, b, out);
}

/* ---- tensors ---- */

/*
 * Fill shape fields (rank, dims, count, nbytes) with overflow checks;
 * does not allocate.  Negative dims are refused.
 */
extern OnnxStatus onnx_tensor_set_shape(OnnxTensor *t, OnnxDType dtype, int rank,
										const int64_t *dims, OnnxError *err);
/* Allocate data for a tensor whose shape is set (zeroed). */
extern OnnxStatus onnx_tensor_alloc_data(OnnxTensor *t, const OnnxAllocator *alloc,
										 OnnxError *err);
/* Free data of a tensor (and its strings). */
extern void onnx_tensor_free_data(OnnxTensor *t, const OnnxAllocator *alloc);
/* Deep copy src into dst (dst's data newly allocated). */
extern OnnxStatus onnx_tensor_copy(OnnxTensor *dst, const OnnxTensor *src,
								   const OnnxAllocator *alloc, OnnxError *err);
extern OnnxStatus onnx_value_copy(OnnxValue *dst, const OnnxValue *src,
								  const OnnxAllocator *alloc, OnnxError *err);
/* "[2, 3]" into buf */
extern const char *onnx_shape_text(const OnnxTensor *t, char *buf, size_t len);
extern void onnx_row_strides(const OnnxTensor *t, int64_t *stride);	/* tensor.c */
extern void onnx_tensor_relu_inplace(OnnxTensor *y);	/* tensor.c: y = max(y, 0) */
extern bool onnx_dtype_is_float(OnnxDType dt);	/* float16/bfloat16/float/double */
extern bool onnx_dtype_is_signed_int(OnnxDType dt);
extern bool onnx_dtype_is_unsigned_int(OnnxDType dt);

/* float16 / bfloat16 conversions */
extern float onnx_half_to_float(uint16_t h);
extern uint16_t onnx_float_to_half(float f);
extern float onnx_bf16_to_float(uint16_t h);
extern uint16_t onnx_float_to_bf16(float f);

/* Read element i of a numeric tensor as double / int64, and write it. */
extern double onnx_tensor_get_f64(const OnnxTensor *t, int64_t i);
extern int64_t onnx_tensor_get_i64(const OnnxTensor *t, int64_t i);
extern void onnx_tensor_set_f64(OnnxTensor *t, int64_t i, double v);
extern void onnx_tensor_set_i64(OnnxTensor *t, int64_t i, int64_t v);

/*
 * Row converters for kernels that compute in float32 or float64 whatever
 * the tensor's type: n elements of t from element off into dst (as
 * onnx_tensor_get_f64 reads them, then rounded to float for _f32), and n
 * values from src into t from element off (as onnx_tensor_set_f64).
 */
extern void onnx_tensor_read_f32(const OnnxTensor *t, int64_t off, int64_t n, float *dst);
extern void onnx_tensor_read_f64(const OnnxTensor *t, int64_t off, int64_t n, double *dst);
extern void onnx_tensor_write_f32(OnnxTensor *t, int64_t off, int64_t n, const float *src);
extern void onnx_tensor_write_f64(OnnxTensor *t, int64_t off, int64_t n, const double *src);

/* ---- graph ---- */

typedef struct OnnxGraph OnnxGraph;

/* AttributeProto.AttributeType numbers */
typedef enum OnnxAttrType
{
	ONNX_ATTR_UNDEFINED = 0,
	ONNX_ATTR_FLOAT = 1,
	ONNX_ATTR_INT = 2,
	ONNX_ATTR_STRING = 3,
	ONNX_ATTR_TENSOR = 4,
	ONNX_ATTR_GRAPH = 5,
	ONNX_ATTR_FLOATS = 6,
	ONNX_ATTR_INTS = 7,
	ONNX_ATTR_STRINGS = 8,
	ONNX_ATTR_TENSORS = 9,
	ONNX_ATTR_GRAPHS = 10,
	ONNX_ATTR_SPARSE_TENSOR = 11,
	ONNX_ATTR_SPARSE_TENSORS = 12,
	ONNX_ATTR_TYPE_PROTO = 13,
	ONNX_ATTR_TYPE_PROTOS = 14
} OnnxAttrType;

typedef struct OnnxAttr
{
	const char *name;
	OnnxAttrType type;
	float		f;
	int64_t		i;
	const char *s;				/* NUL-terminated copy */
	size_t		s_len;
	OnnxTensor *t;
	OnnxGraph  *g;
	int			n;				/* element count of the list forms */
	float	   *floats;
	int64_t    *ints;
	const char **strings;
	OnnxTensor *tensors;
	OnnxGraph **graphs;
	OnnxValueInfo *type_proto;	/* TYPE_PROTO */
} OnnxAttr;

struct OnnxOpDef;

/*
 * An activation the optimizer folded into the node that produces its
 * input (optimize.c); the producer applies it to output 0 while writing
 * it (fused_act.c).  alpha and beta per kind:
 *	 RELU			max(x, 0)
 *	 CLIP			min(max(x, alpha), beta)
 *	 LEAKY_RELU		x < 0 ? alpha * x : x
 *	 HARD_SIGMOID	max(0, min(1, alpha * x + beta))
 *	 HARD_SWISH		x * max(0, min(1, alpha * x + beta))  (HardSwish: 1/6, 1/2)
 *	 SIGMOID		1 / (1 + exp(-x))
 *	 SILU			x * sigmoid(x)
 *	 TANH			tanh(x)
 *	 GELU			0.5 x (1 + erf(x / sqrt 2))
 */
typedef enum OnnxActKind
{
	ONNX_ACT_NONE = 0,
	ONNX_ACT_RELU,
	ONNX_ACT_CLIP,
	ONNX_ACT_LEAKY_RELU,
	ONNX_ACT_HARD_SIGMOID,
	ONNX_ACT_HARD_SWISH,
	ONNX_ACT_SIGMOID,
	ONNX_ACT_SILU,
	ONNX_ACT_TANH,
	ONNX_ACT_GELU
} OnnxActKind;

typedef struct OnnxFusedAct
{
	OnnxActKind kind;
	float		alpha;
	float		beta;
} OnnxFusedAct;

typedef struct OnnxNode
{
	const char *name;
	const char *op_type;
	const char *domain;			/* "" for ai.onnx */
	int			n_inputs;
	int		   *inputs;			/* value ids; -1 for an empty (absent) input */
	int			n_outputs;
	int		   *outputs;		/* value ids; -1 for an empty output */
	int			n_attrs;
	OnnxAttr   *attrs;
	const struct OnnxOpDef *def;
	int			opset;			/* the model's opset for the node's domain */
	int			index;			/* position in execution order */
	bool		skip;			/* folded into another node by the optimizer, or
								 * computed at load by constant folding */
	OnnxFusedAct fused_act;		/* activation of output 0 (optimizer) */
	/*
	 * a float32 Conv whose residual Add the optimizer folded in: input 3
	 * (appended) is the addend, of the output's shape, and output 0 is
	 * act((conv + B) + addend)
	 */
	bool		fused_sum;
	/*
	 * float32 bias folded in by the optimizer: (N) added to MatMul rows,
	 * or (M) added to the output channels of a Conv that has no B
	 */
	const OnnxTensor *fused_bias;
	/* float32 (M) multiplier of a ConvIntegerToFloat's output channels (optimizer) */
	const OnnxTensor *fused_scale;
	/*
	 * a QLinearConv's output bytes looked up in this table (struct
	 * OnnxQTable, qlut.h) before they are stored: the QLinearTable that
	 * read it only, folded in by qdq_fuse.c
	 */
	const void *fused_table;
	void	   *prepared;		/* kernel state built once at load (OpDef.prepare) */
} OnnxNode;

/* Where a value comes from. */
typedef enum OnnxValueSource
{
	ONNX_SRC_NODE = 0,			/* produced by a node */
	ONNX_SRC_INPUT,				/* graph input */
	ONNX_SRC_INITIALIZER,		/* constant in the model */
	ONNX_SRC_OUTER				/* captured from an enclosing graph */
} OnnxValueSource;

typedef struct OnnxValueSlot
{
	const char *name;
	OnnxValueSource source;
	OnnxValueInfo info;			/* static type and shape (inferred) */
	OnnxValue  *init;			/* initializer value (SRC_INITIALIZER) */
	int			outer_depth;	/* SRC_OUTER: how many graphs up */
	int			outer_id;		/* SRC_OUTER: value id there */
	int			producer;		/* node index or -1 */
	int			last_use;		/* node index of the last consumer, -1 none */
	bool		is_output;		/* a graph output: never freed during a run */
	bool		overridable;	/* initializer a caller may replace (also an input) */
	bool		folded;			/* initializer made by constant folding (const_fold.c) */
} OnnxValueSlot;

struct OnnxGraph
{
	const char *name;
	const char *doc;
	OnnxGraph  *parent;
	int			n_values;
	OnnxValueSlot *values;
	int			n_nodes;
	OnnxNode   *nodes;			/* in execution (topological) order */
	int			n_inputs;
	int		   *inputs;			/* value ids of non-initializer graph inputs */
	int			n_outputs;
	int		   *outputs;		/* value ids */
	const struct OnnxModel *model;
	int			id;				/* 0 for the main graph, 1.. for subgraphs */
	/*
	 * Values written straight into a Concat's output (concat_plan.c):
	 * cat_dest[v] that output's value id or -1, cat_off[v] the element
	 * offset there; NULL when the graph has no Concat; cat_planned when
	 * some value has a place.
	 */
	int		   *cat_dest;
	int64_t    *cat_off;
	bool		cat_planned;
};

typedef struct OnnxOpsetEntry
{
	const char *domain;
	int64_t		version;
} OnnxOpsetEntry;

struct OnnxModel
{
	OnnxArena	arena;
	const OnnxAllocator *alloc;
	OnnxGraph  *graph;
	OnnxModelMeta meta;
	OnnxOpsetInfo *opsets;
	OnnxValueInfo *input_infos; /* copies for the public API */
	OnnxValueInfo *output_infos;
	int			n_graphs;		/* main graph and subgraphs (OnnxGraph.id) */
	struct OnnxFoldedValue *folded; /* values made by constant folding */
	size_t		folded_bytes;	/* what they hold */
};

/* A value constant folding made (const_fold.c), owned by the model. */
typedef struct OnnxFoldedValue
{
	OnnxValue	value;
	struct OnnxFoldedValue *next;
} OnnxFoldedValue;

/* Opset version of a domain in the model, 0 if not imported. */
extern int	onnx_model_opset(const OnnxModel *model, const char *domain);
extern int	onnx_graph_find_value(const OnnxGraph *g, const char *name);

/* ---- operator definitions ---- */

typedef struct OnnxKernelCtx OnnxKernelCtx;
typedef struct OnnxInferCtx OnnxInferCtx;

/* How a node's output element types follow from its inputs. */
typedef enum OnnxOutType
{
	ONNX_OUT_UNKNOWN = 0,		/* not inferred statically */
	ONNX_OUT_SAME,				/* all outputs: dtype of input 0 */
	ONNX_OUT_BOOL,				/* all outputs: bool tensors */
	ONNX_OUT_INT32,				/* all outputs: int32 tensors */
	ONNX_OUT_INT64,				/* all outputs: int64 tensors */
	ONNX_OUT_FLOAT,				/* all outputs: float32 tensors */
	ONNX_OUT_INPUT,				/* all outputs: tensors of the dtype of input
								 * out_input, when it is present and known */
	ONNX_OUT_ATTR_TO,			/* from attribute "to" */
	ONNX_OUT_CUSTOM				/* the infer callback sets them */
} OnnxOutType;

/* Bitmasks of dtypes, for type constraints. */
#define ONNX_T(d) (UINT64_C(1) << (d))
#define ONNX_TS_FLOAT (ONNX_T(ONNX_DTYPE_FLOAT) | ONNX_T(ONNX_DTYPE_DOUBLE) | \
		ONNX_T(ONNX_DTYPE_FLOAT16) | ONNX_T(ONNX_DTYPE_BFLOAT16))
#define ONNX_TS_SINT (ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_INT16) | \
		ONNX_T(ONNX_DTYPE_INT32) | ONNX_T(ONNX_DTYPE_INT64))
#define ONNX_TS_UINT (ONNX_T(ONNX_DTYPE_UINT8) | ONNX_T(ONNX_DTYPE_UINT16) | \
		ONNX_T(ONNX_DTYPE_UINT32) | ONNX_T(ONNX_DTYPE_UINT64))
#define ONNX_TS_INT (ONNX_TS_SINT | ONNX_TS_UINT)
#define ONNX_TS_NUMERIC (ONNX_TS_FLOAT | ONNX_TS_INT)
#define ONNX_TS_ALL (ONNX_TS_NUMERIC | ONNX_T(ONNX_DTYPE_BOOL) | \
		ONNX_T(ONNX_DTYPE_STRING))
#define ONNX_TS_ANY 0			/* no constraint checked */

/* Declared type of an attribute, checked at load (list ends with {0}). */
typedef struct OnnxAttrSpec
{
	const char *name;
	OnnxAttrType type;
} OnnxAttrSpec;

/*
 * One operator version.  Resolution picks, for a node, the definition with
 * the same domain and name whose since_version is the highest not above
 * the model's opset for that domain.
 */
typedef struct OnnxOpDef
{
	const char *domain;			/* "" for ai.onnx, "ai.onnx.ml" */
	const char *name;
	int			since_version;
	int			min_inputs;
	int			max_inputs;		/* -1: variadic */
	int			min_outputs;
	int			max_outputs;	/* -1: variadic */
	uint64_t	input0_types;	/* allowed dtypes of input 0; 0 = any */
	OnnxOutType out_type;
	int			out_input;		/* the input ONNX_OUT_INPUT follows */
	/* optional: validate attributes at load, fill err on failure */
	OnnxStatus	(*check) (const OnnxNode *node, OnnxError *err);
	/* optional: output types/shapes from input types/shapes */
	OnnxStatus	(*infer) (OnnxInferCtx *ctx);
	/* compute outputs from inputs (allocates outputs through the ctx) */
	OnnxStatus	(*run) (OnnxKernelCtx *ctx);
	/* optional: attribute types, refused at load when they disagree */
	const OnnxAttrSpec *attrs;
	/*
	 * optional: build kernel state from the attributes once, at load, into
	 * node->prepared; memory from onnx_arena_alloc(arena) (freed with the
	 * model).  Errors refuse the model.
	 */
	OnnxStatus	(*prepare) (OnnxNode *node, OnnxArena *arena, OnnxError *err);
	/*
	 * optional: called once at load after inference and the optimizer,
	 * with the graph, to build state from constant inputs (packed
	 * weights, transposed matrices) into node->prepared, memory from the
	 * model's arena.  Inputs are constant only as onnx_const_input says;
	 * a node without usable constants keeps node->prepared NULL and the
	 * run takes its general path.  Errors refuse the model.
	 */
	OnnxStatus	(*pack) (OnnxNode *node, const OnnxGraph *g, OnnxArena *arena,
						 OnnxError *err);
} OnnxOpDef;

/*
 * The one way to declare an operator version in a family's table
 * (engine/ops/), with the fields named, so that any field left out is zero:
 *
 *	ONNX_OP("", "Relu", 14, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
 *			.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_SAME,
 *			.infer = onnx_infer_same_shape, .run = run_relu),
 *
 * A table ends with {0}.  Versions with the same definition are one
 * ONNX_OP_VERSIONS entry; a file may wrap ONNX_OP in a shorthand for a run
 * of versions that differ only in a few fields (#define UN(name, since, ...)).
 */
#define ONNX_OP(DOMAIN, NAME, SINCE, ...) \
	{.domain = (DOMAIN), .name = (NAME), .since_version = (SINCE), __VA_ARGS__}

/*
 * The same definition at two to five since_versions, one table entry
 * each: ONNX_OP_VERSIONS("", "Squeeze", (1, 11), ONNX_INPUTS(1, 1), ...).
 */
#define ONNX_OP_VERSIONS(DOMAIN, NAME, SINCES, ...) \
	ONNX_OP_CALL_(ONNX_OP_CAT_(ONNX_OP_AT_, ONNX_OP_NARG_ SINCES), \
				  (DOMAIN, NAME, __VA_ARGS__), ONNX_OP_UNPAREN_ SINCES)
#define ONNX_OP_CALL_(M, ...) M(__VA_ARGS__)
#define ONNX_OP_CAT_(A, B) ONNX_OP_CAT2_(A, B)
#define ONNX_OP_CAT2_(A, B) A##B
#define ONNX_OP_UNPAREN_(...) __VA_ARGS__
#define ONNX_OP_NARG_(...) ONNX_OP_NARG2_(__VA_ARGS__, 5, 4, 3, 2, 1, 0)
#define ONNX_OP_NARG2_(A, B, C, D, E, N, ...) N
#define ONNX_OP_ONE_(DEF, S) ONNX_OP_CALL2_(ONNX_OP_AT1_, S, ONNX_OP_UNPAREN_ DEF)
#define ONNX_OP_CALL2_(M, ...) M(__VA_ARGS__)
#define ONNX_OP_AT1_(S, DOMAIN, NAME, ...) ONNX_OP(DOMAIN, NAME, S, __VA_ARGS__)
#define ONNX_OP_AT_2(DEF, A, B) ONNX_OP_ONE_(DEF, A), ONNX_OP_ONE_(DEF, B)
#define ONNX_OP_AT_3(DEF, A, B, C) ONNX_OP_AT_2(DEF, A, B), ONNX_OP_ONE_(DEF, C)
#define ONNX_OP_AT_4(DEF, A, B, C, D) ONNX_OP_AT_3(DEF, A, B, C), ONNX_OP_ONE_(DEF, D)
#define ONNX_OP_AT_5(DEF, A, B, C, D, E) ONNX_OP_AT_4(DEF, A, B, C, D), ONNX_OP_ONE_(DEF, E)
/* number of inputs / outputs, maximum -1 for variadic */
#define ONNX_INPUTS(MIN, MAX) .min_inputs = (MIN), .max_inputs = (MAX)
#define ONNX_OUTPUTS(MIN, MAX) .min_outputs = (MIN), .max_outputs = (MAX)

/*
 * The constant tensor feeding input k of node in graph g: an initializer
 * the caller cannot override, or NULL (absent input, computed value,
 * overridable initializer, captured outer value, not a tensor).
 */
extern const OnnxTensor *onnx_const_input(const OnnxGraph *g, const OnnxNode *node, int k);

/*
 * The constant value id of g stands for, following captures to the graph
 * that defines it: an initializer the caller cannot override, or NULL.
 */
extern const OnnxValue *onnx_const_value(const OnnxGraph *g, int id);

/* Each operator family file exports a table ending with a {0} entry. */
extern const OnnxOpDef *onnx_registry_lookup(const char *domain, const char *name,
											 int opset);
extern bool onnx_registry_has_name(const char *domain, const char *name);

/* ---- static inference ---- */

struct OnnxInferCtx
{
	const OnnxNode *node;
	int			n_inputs;
	const OnnxValueInfo **inputs;	/* NULL for absent inputs */
	const OnnxValue **const_inputs; /* initializer/constant values or NULL */
	int			n_outputs;
	OnnxValueInfo **outputs;	/* NULL for absent outputs */
	OnnxError  *err;
};

/* Shape-inference helpers for infer callbacks. */
extern void onnx_info_copy_shape(OnnxValueInfo *dst, const OnnxValueInfo *src);
extern void onnx_info_broadcast(OnnxValueInfo *dst, const OnnxValueInfo *a,
								const OnnxValueInfo *b);
extern OnnxStatus onnx_infer_same_shape(OnnxInferCtx *ctx);
extern OnnxStatus onnx_infer_broadcast(OnnxInferCtx *ctx);

/* ---- kernels ---- */

typedef struct OnnxSessionState OnnxSessionState;

struct OnnxKernelCtx
{
	OnnxSession *session;
	const OnnxNode *node;
	int			opset;
	int			n_inputs;
	const OnnxValue **inputs;	/* NULL for absent */
	int			n_outputs;
	OnnxValue **outputs;		/* NULL for an output nobody asked for */
	void	   *frame;			/* the executing frame (for subgraphs) */
	OnnxError  *err;
	uint64_t	stolen;			/* inputs whose buffer an output took (onnx_out_alias) */
	uint64_t	viewed;			/* outputs that view an input's buffer (onnx_out_alias) */
	uint64_t	parted;			/* outputs placed inside a Concat's output (concat_plan.c) */
	OnnxValue	held;			/* a Concat's reservation set aside until the node ends */
	bool		held_owned;		/* held is the frame's to free */
};

/* Tensor input i, or NULL if absent or not a tensor. */
extern const OnnxTensor *onnx_in(OnnxKernelCtx *ctx, int i);

/*
 * Allocate output tensor i with the given dtype and shape (data zeroed,
 * strings NULL).  Returns NULL with err set (overflow, memory limit,
 * out of memory).  For an output nobody consumes, a scratch tensor is
 * still returned and discarded after the node.
 */
extern OnnxTensor *onnx_out(OnnxKernelCtx *ctx, int i, OnnxDType dtype,
							int rank, const int64_t *dims);
/*
 * onnx_out without zeroing the data (strings are still NULL), for a
 * kernel that writes every element itself before returning.
 */
extern OnnxTensor *onnx_out_raw(OnnxKernelCtx *ctx, int i, OnnxDType dtype,
								int rank, const int64_t *dims);
/*
 * Output i made of input k's buffer, dtype and shape, without allocating
 * or copying, when the executor allows it: input k is a non-string tensor
 * owned by the running frame (produced by an earlier node of the same
 * graph: not a graph input, initializer, captured outer value or graph
 * output), this node is its last consumer, and output i is consumed.
 * NULL otherwise, with no error set (allocate as usual).  The kernel then
 * reads input k's data while it writes the output: it must read element j
 * of every input aliasing the buffer before writing element j, and never
 * after (elementwise ops).
 */
extern OnnxTensor *onnx_out_reuse(OnnxKernelCtx *ctx, int i, int k);

/*
 * For a Concat whose parts were written into its output in place
 * (concat_plan.c): output i as the buffer reserved for it, when it has
 * one of exactly this dtype and shape (the parts in place already, the
 * rest of it to be written by the kernel); NULL otherwise, the kernel
 * then allocates its output as usual (a reservation of another shape
 * stays alive until the node ends, its parts readable).
 */
extern OnnxTensor *onnx_out_concat_reserved(OnnxKernelCtx *ctx, int i, OnnxDType dtype, int rank,
											const int64_t *dims);
/* Same as onnx_out with the shape of t. */
extern OnnxTensor *onnx_out_like(OnnxKernelCtx *ctx, int i, OnnxDType dtype,
								 const OnnxTensor *t);
/*
 * Output i as tensor input k under a new shape (same dtype and element
 * count), without copying, when the executor can prove it safe: input k
 * dies at this node (its buffer moves to the output), or input k lives
 * for the whole run of the graph (a graph input, an initializer, a
 * capture, or itself such a view: the output borrows it).  Returns NULL
 * when neither holds (the kernel copies) or for a string tensor.  Output
 * i must not have been written before; the kernel never writes into it.
 */
extern OnnxTensor *onnx_out_alias(OnnxKernelCtx *ctx, int i, int k, int rank,
								  const int64_t *dims);

/*
 * Set output i to a value of any kind (ownership moves to the frame; on
 * failure, the memory limit included, *v is released).
 */
extern OnnxStatus onnx_out_value(OnnxKernelCtx *ctx, int i, OnnxValue *v);

/*
 * Count a value the kernel holds between subgraph runs (loop state,
 * accumulated outputs) against the session's memory limit, and give the
 * bytes back before releasing it or moving it out with onnx_out_value.
 */
extern OnnxStatus onnx_kernel_charge(OnnxKernelCtx *ctx, const OnnxValue *v);
extern void onnx_kernel_uncharge(OnnxKernelCtx *ctx, const OnnxValue *v);
/*
 * Free a value the kernel owns (from a subgraph run, or built by the
 * kernel through its allocator), tensor buffers going back to the
 * session's pool for the next outputs; the memory-limit accounting is
 * left as it is (uncharge first what was charged).
 */
extern void onnx_kernel_release(OnnxKernelCtx *ctx, OnnxValue *v);
/* What the memory limit counts for a value (items and their descriptors too). */
extern size_t onnx_value_bytes(const OnnxValue *v);
/* ONNX_ERR_LIMIT unless bytes more fit the memory limit (check before building). */
extern OnnxStatus onnx_kernel_check_memory(OnnxKernelCtx *ctx, size_t bytes);

/*
 * The status a kernel returns when an allocation through ctx came back
 * NULL: the error the allocator set (memory limit), else out of memory.
 */
#define ONNX_KERNEL_OOM(ctx) \
	((ctx)->err->status != ONNX_OK ? (ctx)->err->status : ONNX_ERR_OUT_OF_MEMORY)

/*
 * Scratch for this node call: n elements of size bytes (product checked;
 * 0 gives a valid pointer), ONNX_SCRATCH_ALIGN (64)-aligned, uninitialised
 * (_zero: zeroed), counted against the session's memory limit while the
 * node runs.  NULL with ctx->err set on overflow, memory limit or out of
 * memory.  The executor releases it when the node returns, whatever the
 * status (scratch.c): never free it, never hand it to a value, take it on
 * the kernel's own thread only (not in onnx_parallel_for tasks), and not
 * per iteration of a loop whose count the model chooses.  A node that
 * runs subgraphs keeps its scratch while the bodies run.
 */
extern void *onnx_kernel_scratch(OnnxKernelCtx *ctx, size_t n, size_t size);
extern void *onnx_kernel_scratch_zero(OnnxKernelCtx *ctx, size_t n, size_t size);
/* Bytes of scratch taken and not yet released (0 between nodes; for tests). */
extern size_t onnx_session_scratch_used(const OnnxSession *s);

/*
 * Memory from the session's allocator that outlives the node call or is
 * handed to a value, NULL with ctx->err set when it fails.  The kernel
 * that takes it frees it (onnx_kernel_free) on every path, unless it
 * hands it to a value (string elements, sequence items), which then owns
 * it and frees it with the value.  Per-call working memory is scratch.
 */
extern void *onnx_kernel_alloc(OnnxKernelCtx *ctx, size_t size);
extern void onnx_kernel_free(OnnxKernelCtx *ctx, void *p);
/* Copy of the first n bytes of s, NUL-terminated, from onnx_kernel_alloc. */
extern char *onnx_kernel_strndup(OnnxKernelCtx *ctx, const char *s, size_t n);
extern char *onnx_kernel_strdup(OnnxKernelCtx *ctx, const char *s);
extern const OnnxAllocator *onnx_kernel_allocator(OnnxKernelCtx *ctx);

/* Fail the kernel with a message naming the node. */
extern OnnxStatus onnx_kernel_fail(OnnxKernelCtx *ctx, OnnxStatus status,
								   const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
/* Nonzero when the abort callback asks to stop (call in long loops). */
extern bool onnx_kernel_should_abort(OnnxKernelCtx *ctx);
/* Intra-op thread cap. */
extern int	onnx_kernel_threads(OnnxKernelCtx *ctx);

/*
 * Run a subgraph (If/Loop/Scan body) with inputs bound in order to its
 * inputs; outputs (n = graph's output count) receive values the caller
 * owns (release with onnx_value_release on the kernel allocator).
 */
extern OnnxStatus onnx_kernel_run_subgraph(OnnxKernelCtx *ctx, const OnnxGraph *g,
										   int n_inputs, const OnnxValue *inputs,
										   OnnxValue *outputs);

/*
 * Run node n once outside any graph run (constant folding at load):
 * inputs[k] borrowed (NULL for absent), outputs[k] (n->n_outputs of them,
 * n_outputs <= 64) receive values the caller owns (release with
 * onnx_value_release on the session's allocator).  The session's memory
 * limit bounds the outputs.  Nodes with subgraphs cannot run this way.
 * On failure no output is left allocated.
 */
extern OnnxStatus onnx_session_run_node(OnnxSession *s, const OnnxNode *n,
										const OnnxValue *const *inputs,
										OnnxValue *outputs, OnnxError *err);

/* ---- attributes ---- */

extern const OnnxAttr *onnx_attr(const OnnxNode *node, const char *name);
extern int64_t onnx_attr_int(const OnnxNode *node, const char *name, int64_t dflt);
extern float onnx_attr_float(const OnnxNode *node, const char *name, float dflt);
extern const char *onnx_attr_string(const OnnxNode *node, const char *name,
									const char *dflt);
/* The i-th subgraph of node (its graph and graphs attributes in order), or NULL. */
extern OnnxGraph *onnx_node_subgraph(const OnnxNode *node, int i);
/* counts[id] += captures of value id of g by the subgraphs of g's nodes, any depth. */
extern void onnx_graph_count_captures(const OnnxGraph *g, int *counts);

/* list forms: return count (0 if absent) and point *out at the data */
extern int	onnx_attr_ints(const OnnxNode *node, const char *name, const int64_t **out);
extern int	onnx_attr_floats(const OnnxNode *node, const char *name, const float **out);

/* ---- broadcasting ---- */

/* Numpy-style broadcast of shapes a and b into out; false if incompatible. */
extern bool onnx_broadcast_shape(int ra, const int64_t *da, int rb, const int64_t *db,
								 int *rout, int64_t *dout);

/*
 * Element offsets of an input broadcast to an output shape: for every
 * output element (in row-major order) the offset of the input element.
 * Iterate with onnx_bcast_iter.
 */
typedef struct OnnxBcastIter
{
	int			rank;
	int64_t		dims[ONNX_MAX_RANK];
	int64_t		idx[ONNX_MAX_RANK];
	int			n_in;
	int64_t		strides[4][ONNX_MAX_RANK];	/* per input, 0 where broadcast */
	int64_t		off[4];
} OnnxBcastIter;

extern void onnx_bcast_init(OnnxBcastIter *it, const OnnxTensor *out, int n_in,
							const OnnxTensor *const *ins);
extern void onnx_bcast_next(OnnxBcastIter *it);

/*
 * The broadcast of up to 4 inputs to an output shape, collapsed: output
 * dims of size 1 dropped, and adjacent dims merged where every input
 * steps through both alike (contiguously, or broadcast in both).  Element
 * strides per input, 0 where it is broadcast; the last dim's strides are
 * 1 or 0, so runs along it are contiguous or a repeated scalar: X (N,C,H,W)
 * op B (C,1,1) becomes dims (N, C, H*W) with B's strides (0, 1, 0).  At
 * least one dim (of size 1 for a one-element output).
 */
typedef struct OnnxBcastPlan
{
	int			rank;
	int			n_in;
	int64_t		dims[ONNX_MAX_RANK];
	int64_t		strides[4][ONNX_MAX_RANK];
} OnnxBcastPlan;

extern void onnx_bcast_plan(OnnxBcastPlan *p, int rank, const int64_t *dims, int n_in,
							const OnnxTensor *const *ins);

/* Normalise a possibly negative axis; false if out of range. */
extern bool onnx_norm_axis(int64_t axis, int rank, int *out);

/* ---- BLAS (one file) ---- */

/* C (M,N) = alpha * op(A) (M,K) @ op(B) (K,N) + beta * C, row-major */
extern void onnx_blas_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
							float alpha, const float *A, int64_t lda,
							const float *B, int64_t ldb,
							float beta, float *C, int64_t ldc);
extern void onnx_blas_dgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
							double alpha, const double *A, int64_t lda,
							const double *B, int64_t ldb,
							double beta, double *C, int64_t ldc);
extern void onnx_blas_set_threads(int threads);

#endif							/* ENGINE_INTERNAL_H */
