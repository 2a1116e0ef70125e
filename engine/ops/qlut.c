/*-------------------------------------------------------------------------
 *
 * qlut.c
 *	  The 8-bit table lookup y = table[x] (256 entries): its vectorized
 *	  row kernel, and the engine's internal operator QLinearTable that
 *	  qdq_fuse.c makes of Dequantize -> float elementwise chain -> Quantize
 *	  (the tables built at load, one per channel or one for the tensor).
 *
 * The row kernel: AVX-512 VBMI (two vpermi2b over the four 64-byte
 * quarters of the table, the index's top bit picking the half), portable
 * C otherwise.  The choice follows onnx_vec_isa(), so tests capping the
 * instruction set take the portable loop.  Exact: no arithmetic.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"
#include "qlut.h"
#include "vecmath.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static void
lut8_row_vbmi(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n)
{
	__m512i		t0 = _mm512_loadu_si512(table),
				t1 = _mm512_loadu_si512(table + 64),
				t2 = _mm512_loadu_si512(table + 128),
				t3 = _mm512_loadu_si512(table + 192);
	int64_t		i = 0;

	for (; i + 64 <= n; i += 64)
	{
		__m512i		v = _mm512_loadu_si512(x + i),
					lo = _mm512_permutex2var_epi8(t0, v, t1),
					hi = _mm512_permutex2var_epi8(t2, v, t3);

		_mm512_storeu_si512(y + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
	}
	if (i < n)
	{
		__mmask64	m = ~(__mmask64) 0 >> (64 - (n - i));
		__m512i		v = _mm512_maskz_loadu_epi8(m, x + i),
					lo = _mm512_permutex2var_epi8(t0, v, t1),
					hi = _mm512_permutex2var_epi8(t2, v, t3);

		_mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi));
	}
}

static bool
has_vbmi(void)
{
	static int	vbmi = -1;

	if (vbmi < 0)
	{
		__builtin_cpu_init();
		vbmi = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
	}
	return vbmi;
}
#endif

void
onnx_lut8_row(const uint8_t *table, const uint8_t *x, uint8_t *y, int64_t n)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (onnx_vec_isa() == ONNX_VEC_AVX512 && has_vbmi())
	{
		lut8_row_vbmi(table, x, y, n);
		return;
	}
#endif
	for (int64_t i = 0; i < n; i++)
		y[i] = table[x[i]];
}

/*
 * X (N, C, inner...) 8-bit -> Y same shape and type:
 * Y[n, c, i] = tab[c or 0][byte of X[n, c, i]]; the table is the node's
 * prepared state (no table: the node was not made by the engine).
 */
static OnnxStatus
run_qlinear_table(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxQTable *t = ctx->node->prepared;
	int64_t		ch,
				inner,
				outer;
	OnnxTensor *y;

	if (t == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"QLinearTable is internal to the engine");
	if (x == NULL || (x->dtype != ONNX_DTYPE_INT8 && x->dtype != ONNX_DTYPE_UINT8))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X must be int8 or uint8");
	ch = t->channels;
	if (ch > 1 && (x->rank < 2 || x->dims[1] != ch))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"X has not the %lld channels of its tables", (long long) ch);
	if ((y = onnx_out_raw(ctx, 0, x->dtype, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	if (x->count == 0)
		return ONNX_OK;
	outer = ch == 1 ? 1 : x->dims[0];
	inner = x->count / outer / ch;
	onnx_qtable_apply(t, x->data, y->data, outer, ch, inner);
	return ONNX_OK;
}

void
onnx_qtable_apply(const OnnxQTable *t, const uint8_t *x, uint8_t *y, int64_t outer, int64_t ch,
				  int64_t inner)
{
	if (t->channels == 1)
	{
		onnx_lut8_row(t->tab, x, y, outer * ch * inner);
		return;
	}
	for (int64_t n = 0; n < outer; n++)
		for (int64_t c = 0; c < ch; c++)
		{
			size_t		off = (size_t) ((n * ch + c) * inner);

			onnx_lut8_row(t->tab + c * 256, x + off, y + off, inner);
		}
}

const OnnxOpDef onnx_ops_qlut[] = {
	ONNX_OP(ONNX_ENGINE_DOMAIN, "QLinearTable", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8),
		.out_type = ONNX_OUT_SAME, .run = run_qlinear_table),
	{0}
};
