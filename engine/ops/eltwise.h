/*-------------------------------------------------------------------------
 *
 * eltwise.h
 *	  Typed loops for the elementwise operators and the driver that runs
 *	  them over broadcast shapes.
 *
 * A kernel works on one contiguous run of n output elements; each input
 * of the run is either a vector (stride 1) or a scalar (stride 0), told
 * by the bits of mode (bit k set: input k is a vector).  The driver
 * (eltwise.c) collapses the broadcast shape into the fewest dimensions
 * (onnx_bcast_plan) and hands the kernel the longest runs the layout
 * allows: the whole tensor for equal shapes, a scalar per run for channel
 * broadcasts (NCHW op (C,1,1)), a row per run for row broadcasts.
 *
 * The kernels live in eltwise_kern.c, compiled three times: portable C,
 * AVX2+FMA+F16C and AVX-512 (F/BW/DQ/VL); onnx_ew_table() picks the one
 * of vecmath.h's run-time level (onnx_vec_isa, which tests cap with
 * onnx_vec_set_max_isa to take the portable path).  Output y may be the same buffer as a vector input
 * (in-place reuse): every kernel reads element i of its inputs before it
 * writes element i of y, and never reads an earlier element again.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ONNX_ELTWISE_H
#define ONNX_ELTWISE_H

#include "engine_internal.h"

/* Element types with typed loops (float16/bfloat16 compute as float). */
typedef enum OnnxEwType
{
	EW_F32 = 0,
	EW_F64,
	EW_I8,
	EW_I16,
	EW_I32,
	EW_I64,
	EW_U8,
	EW_U16,
	EW_U32,
	EW_U64,
	EW_NTYPES
} OnnxEwType;

/* Binary operators with the inputs' type as output type. */
typedef enum OnnxEwBinOp
{
	EW_ADD = 0,
	EW_SUB,
	EW_MUL,
	EW_DIV,						/* integers: x / 0 = 0, MIN / -1 wraps */
	EW_MAX,						/* floats: NaN if either is NaN */
	EW_MIN,
	EW_PRELU,					/* x < 0 ? x * slope : x */
	EW_POW,						/* floats only (libm pow per element) */
	EW_NBIN
} OnnxEwBinOp;

/* Binary operators with a bool (uint8 0/1) output. */
typedef enum OnnxEwCmpOp
{
	EW_EQ = 0,
	EW_LT,
	EW_GT,
	EW_LE,
	EW_GE,
	EW_AND,						/* logic ops: on EW_U8 (bool) only */
	EW_OR,
	EW_XOR,
	EW_NCMP
} OnnxEwCmpOp;

/* float32 unary operators; p[0], p[1] are the parameters named. */
typedef enum OnnxEwUnOp
{
	EW_RELU = 0,
	EW_SIGMOID,
	EW_TANH,
	EW_EXP,
	EW_LOG,
	EW_SQRT,
	EW_ABS,
	EW_NEG,
	EW_RECIPROCAL,
	EW_FLOOR,
	EW_CEIL,
	EW_ROUND,					/* half to even */
	EW_SIGN,
	EW_ERF,
	EW_SOFTPLUS,
	EW_SOFTSIGN,
	EW_MISH,
	EW_HARDSWISH,
	EW_GELU,					/* erf form */
	EW_GELU_TANH,				/* tanh approximation */
	EW_LEAKY_RELU,				/* p[0] alpha */
	EW_ELU,						/* p[0] alpha */
	EW_CELU,					/* p[0] alpha */
	EW_SELU,					/* p[0] alpha, p[1] gamma */
	EW_HARDSIGMOID,				/* p[0] alpha, p[1] beta */
	EW_THRESHOLDED_RELU,		/* p[0] alpha */
	EW_SHRINK,					/* p[0] lambd, p[1] bias */
	EW_CLIP,					/* p[0] min, p[1] max (NaN bound: none) */
	EW_SQUARE,					/* x * x */
	EW_POWI,					/* x ^ p[0], p[0] an integer in [-64, 64] */
	EW_POW_HALF,				/* x ^ 0.5 (p[0] = 1) or x ^ -0.5 (p[0] = -1) */
	EW_SWISH,					/* x * sigmoid(p[0] x) */
	EW_NUNARY
} OnnxEwUnOp;

typedef void (*OnnxEwBinFn) (void *y, const void *a, const void *b, int64_t n,
							 unsigned mode);
typedef void (*OnnxEwWhereFn) (void *y, const uint8_t *c, const void *a,
							   const void *b, int64_t n, unsigned mode);
typedef void (*OnnxEwUnFn) (float *y, const float *x, int64_t n, const float *p);
typedef void (*OnnxEwCvtFn) (void *dst, const void *src, int64_t n);

/* One instruction-set level's kernels. */
typedef struct OnnxEwTable
{
	const char *name;
	OnnxEwBinFn bin[EW_NBIN][EW_NTYPES];	/* NULL: not for that type */
	OnnxEwBinFn cmp[EW_NCMP][EW_NTYPES];
	OnnxEwWhereFn where[4];		/* by element size 1, 2, 4, 8; mode bits c, a, b */
	OnnxEwUnFn	unary[EW_NUNARY];
	OnnxEwCvtFn half_to_f32;	/* uint16 IEEE half -> float */
	OnnxEwCvtFn f32_to_half;	/* round to nearest even */
	OnnxEwCvtFn bf16_to_f32;
	OnnxEwCvtFn f32_to_bf16;	/* round to nearest even, NaN kept quiet */
} OnnxEwTable;

extern const OnnxEwTable onnx_ew_table_portable;
extern const OnnxEwTable onnx_ew_table_avx2;
extern const OnnxEwTable onnx_ew_table_avx512;

/* The kernels of the instruction-set level in use (onnx_vec_isa). */
extern const OnnxEwTable *onnx_ew_table(void);

/* Typed-loop element type of dt: -1 when it has none. */
extern int	onnx_ew_type(OnnxDType dt);

/*
 * The kernel of a binary or comparison operator for inputs of dtype dt
 * (the float32 one for float16/bfloat16, which onnx_ew_binary converts),
 * or NULL when there is none.
 */
extern OnnxEwBinFn onnx_ew_bin_fn(OnnxEwBinOp op, OnnxDType dt);
extern OnnxEwBinFn onnx_ew_cmp_fn(OnnxEwCmpOp op, OnnxDType dt);

/*
 * Called per run by onnx_ew_broadcast: y and x[k] point at the run's
 * first element (x[k] stays on one element when bit k of mode is clear).
 */
typedef void (*OnnxEwRunFn) (const void *arg, void *y, const void *const *x,
							 int64_t n, unsigned mode);

/*
 * Run fn over y = op(x[0], ..., x[n_in - 1]) with numpy broadcasting, y
 * already shaped as the broadcast of the inputs (n_in <= 4).  Checks the
 * abort callback every million elements or so.
 */
extern OnnxStatus onnx_ew_broadcast(OnnxKernelCtx *ctx, OnnxTensor *y, int n_in,
									const OnnxTensor *const *x, OnnxEwRunFn fn,
									const void *arg);

/*
 * y = op(a, b) with broadcasting, through table kernel fn (bin or cmp of
 * type t); float16/bfloat16 inputs (fn then a float32 kernel) are
 * converted in blocks, and so is y unless it is bool.
 */
extern OnnxStatus onnx_ew_binary(OnnxKernelCtx *ctx, OnnxTensor *y, const OnnxTensor *a,
								 const OnnxTensor *b, OnnxEwBinFn fn);

/*
 * y = op(x) elementwise over float32, float16 or bfloat16 x and y of
 * x's shape (y may be x's buffer), through unary kernel op.
 */
extern OnnxStatus onnx_ew_unary(OnnxKernelCtx *ctx, OnnxTensor *y, const OnnxTensor *x,
								OnnxEwUnOp op, const float *p);

/*
 * Output i of dtype, shaped as the broadcast of ins[0..n) (node inputs 0..n;
 * NULLs skipped), not zeroed.  It takes the buffer of input k instead of a
 * new one when bit k of reuse is set, input k has the output's shape and
 * dtype, and the executor allows it (onnx_out_reuse).  NULL with the
 * error set when the shapes do not broadcast or allocation fails.
 */
extern OnnxTensor *onnx_ew_out(OnnxKernelCtx *ctx, int i, OnnxDType dtype, int n,
							   const OnnxTensor *const *ins, unsigned reuse);

/* Element i of an integer tensor as uint64 (two's complement), and back. */
static inline uint64_t
onnx_ew_get_u64(const OnnxTensor *t, int64_t i)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_UINT64:
			return ((const uint64_t *) t->data)[i];
		case ONNX_DTYPE_UINT32:
			return ((const uint32_t *) t->data)[i];
		case ONNX_DTYPE_UINT16:
			return ((const uint16_t *) t->data)[i];
		default:
			return (uint64_t) onnx_tensor_get_i64(t, i);
	}
}

static inline void
onnx_ew_set_u64(OnnxTensor *t, int64_t i, uint64_t v)
{
	if (t->dtype == ONNX_DTYPE_UINT64)
		((uint64_t *) t->data)[i] = v;
	else
		onnx_tensor_set_i64(t, i, (int64_t) v);
}

#endif							/* ONNX_ELTWISE_H */
