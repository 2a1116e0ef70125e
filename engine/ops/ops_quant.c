/*-------------------------------------------------------------------------
 *
 * ops_quant.c
 *	  Quantization: QuantizeLinear, DequantizeLinear (per tensor, per
 *	  axis, blocked; 8/16-bit, 4/2-bit, float8 and float4 types),
 *	  DynamicQuantizeLinear, MatMulInteger, QLinearMatMul.
 *
 * Integer matrix products run on the exact int8 kernels of qgemm.h
 * through qmatmul.c, constant weights packed at load.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"
#include "window_geom.h"
#include "qmatmul.h"
#include "qconv_kern.h"
#include "vecmath.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

/* ---- float8 / float4 codes ---- */

typedef struct MiniFloat
{
	int			ebits;
	int			mbits;
	int			bias;
	bool		fnuz;			/* 0x80 is NaN, no -0, no inf */
	bool		has_inf;		/* IEEE-like inf and NaN at the top exponent */
	bool		fn;				/* e4m3fn: only S.1111.111 is NaN */
	bool		has_nan;
} MiniFloat;

/* Format of a float8/float4 dtype, false for other dtypes. */
static bool
minifloat_format(OnnxDType dt, MiniFloat *f)
{
	memset(f, 0, sizeof(*f));
	f->has_nan = true;
	switch (dt)
	{
		case ONNX_DTYPE_FLOAT8E4M3FN:
			f->ebits = 4, f->mbits = 3, f->bias = 7, f->fn = true;
			return true;
		case ONNX_DTYPE_FLOAT8E4M3FNUZ:
			f->ebits = 4, f->mbits = 3, f->bias = 8, f->fnuz = true;
			return true;
		case ONNX_DTYPE_FLOAT8E5M2:
			f->ebits = 5, f->mbits = 2, f->bias = 15, f->has_inf = true;
			return true;
		case ONNX_DTYPE_FLOAT8E5M2FNUZ:
			f->ebits = 5, f->mbits = 2, f->bias = 16, f->fnuz = true;
			return true;
		case ONNX_DTYPE_FLOAT4E2M1:
			f->ebits = 2, f->mbits = 1, f->bias = 1, f->has_nan = false;
			return true;
		default:
			return false;
	}
}

/* Value of a minifloat code (sign bit at 1 << (ebits + mbits)). */
static double
minifloat_decode(const MiniFloat *f, unsigned code)
{
	int			nb = f->ebits + f->mbits;
	unsigned	sign = (code >> nb) & 1;
	unsigned	e = (code >> f->mbits) & ((1u << f->ebits) - 1);
	unsigned	m = code & ((1u << f->mbits) - 1);
	double		v;

	if (f->fnuz && code == (1u << nb))
		return NAN;
	if (f->fn && e == (1u << f->ebits) - 1 && m == (1u << f->mbits) - 1)
		return NAN;
	if (f->has_inf && e == (1u << f->ebits) - 1)
		return m ? NAN : (sign ? -INFINITY : INFINITY);
	if (e == 0)
		v = ldexp((double) m, 1 - f->bias - f->mbits);
	else
		v = ldexp(1.0 + (double) m / (1 << f->mbits), (int) e - f->bias);
	return sign ? -v : v;
}

/* Largest finite positive code. */
static unsigned
minifloat_max_code(const MiniFloat *f)
{
	unsigned	all = (1u << (f->ebits + f->mbits)) - 1;

	if (f->fn)
		return all - 1;
	if (f->has_inf)
		return all - (1u << f->mbits);	/* top exponent reserved */
	return all;
}

/*
 * Nearest code to v, ties to even; out-of-range values saturate to the
 * largest finite value or (saturate false) become inf / NaN.
 */
static unsigned
minifloat_encode(const MiniFloat *f, double v, bool saturate)
{
	int			nb = f->ebits + f->mbits;
	unsigned	sbit = 1u << nb;
	unsigned	maxc = minifloat_max_code(f);
	unsigned	nan_code = f->fnuz ? sbit : f->fn ? (sbit - 1) : f->has_inf ? (sbit - 1) : maxc;
	unsigned	sign = (signbit(v) ? sbit : 0);
	double		a = fabs(v);
	unsigned	lo = 0,
				hi = maxc,
				c;

	if (isnan(v))
		return f->has_nan ? nan_code : maxc;
	if (a > minifloat_decode(f, maxc))
	{
		double		mx = minifloat_decode(f, maxc);
		double		ulp = mx - minifloat_decode(f, maxc - 1);

		if (saturate || !f->has_nan)
			c = maxc;
		else if (!isinf(a) && (a < mx + ulp / 2 || (a == mx + ulp / 2 && (maxc & 1) == 0)))
			c = maxc;
		else if (f->has_inf)
			c = sbit - (1u << f->mbits);	/* inf */
		else
			return nan_code;
		return c | sign;
	}
	/* binary search: largest code with value <= a */
	while (lo < hi)
	{
		unsigned	mid = (lo + hi + 1) / 2;

		if (minifloat_decode(f, mid) <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	c = lo;
	if (c < maxc)
	{
		double		dlo = a - minifloat_decode(f, c),
					dhi = minifloat_decode(f, c + 1) - a;

		if (dhi < dlo || (dhi == dlo && (c & 1)))
			c++;
	}
	if (c == 0 && f->fnuz)
		return 0;				/* no negative zero */
	return c | sign;
}

/* ---- helpers ---- */

/* Integer range of a quantized integer dtype; false if not one. */
static bool
quant_int_range(OnnxDType dt, int64_t *lo, int64_t *hi)
{
	switch (dt)
	{
		case ONNX_DTYPE_UINT8:
			*lo = 0, *hi = 255;
			return true;
		case ONNX_DTYPE_INT8:
			*lo = -128, *hi = 127;
			return true;
		case ONNX_DTYPE_UINT16:
			*lo = 0, *hi = 65535;
			return true;
		case ONNX_DTYPE_INT16:
			*lo = -32768, *hi = 32767;
			return true;
		case ONNX_DTYPE_UINT4:
			*lo = 0, *hi = 15;
			return true;
		case ONNX_DTYPE_INT4:
			*lo = -8, *hi = 7;
			return true;
		case ONNX_DTYPE_UINT2:
			*lo = 0, *hi = 3;
			return true;
		case ONNX_DTYPE_INT2:
			*lo = -2, *hi = 1;
			return true;
		case ONNX_DTYPE_INT32:
			*lo = INT32_MIN, *hi = INT32_MAX;
			return true;
		default:
			return false;
	}
}

/* Round v to the precision of a float dtype (float64 unchanged). */
static double
round_to(OnnxDType dt, double v)
{
	switch (dt)
	{
		case ONNX_DTYPE_FLOAT:
			return (float) v;
		case ONNX_DTYPE_FLOAT16:
			return onnx_half_to_float(onnx_float_to_half((float) v));
		case ONNX_DTYPE_BFLOAT16:
			return onnx_bf16_to_float(onnx_float_to_bf16((float) v));
		default:
			return v;
	}
}

/* The float type numpy would compute a op b in (for a and b float dtypes). */
static OnnxDType
float_promote(OnnxDType a, OnnxDType b)
{
	if (a == ONNX_DTYPE_DOUBLE || b == ONNX_DTYPE_DOUBLE)
		return ONNX_DTYPE_DOUBLE;
	if (a == b)
		return a;
	if (!onnx_dtype_is_float(a))
		return b;
	if (!onnx_dtype_is_float(b))
		return a;
	return ONNX_DTYPE_FLOAT;
}

/* Element i of t as double, decoding float8/float4 codes. */
static double
quant_get(const OnnxTensor *t, int64_t i)
{
	MiniFloat	f;

	if (minifloat_format(t->dtype, &f))
		return minifloat_decode(&f, ((const uint8_t *) t->data)[i]);
	return onnx_tensor_get_f64(t, i);
}

/*
 * How a scale / zero point maps to elements of x: per tensor (one
 * value), per axis (1-D of x.dims[axis]) or blocked (x's shape with
 * dims[axis] divided by block_size, rounded up).
 */
typedef struct QuantMap
{
	int			kind;			/* 0 tensor, 1 axis, 2 blocked */
	int64_t		dim;			/* x.dims[axis] */
	int64_t		inner;			/* prod(x.dims[axis+1:]) */
	int64_t		sdim;			/* scale.dims[axis] */
	int64_t		block;
} QuantMap;

static OnnxStatus
quant_map_init(OnnxKernelCtx *ctx, const OnnxTensor *x, const OnnxTensor *scale, QuantMap *qm)
{
	int64_t		axis = onnx_attr_int(ctx->node, "axis", 1);
	int64_t		block = ctx->opset >= 21 ? onnx_attr_int(ctx->node, "block_size", 0) : 0;
	int			ax;

	memset(qm, 0, sizeof(*qm));
	if (scale->count == 1 && scale->rank <= 1 && block == 0)
		return ONNX_OK;
	if (block < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "block_size must not be negative");
	if (!onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
								(long long) axis, x->rank);
	qm->dim = x->dims[ax];
	qm->inner = 1;
	for (int i = ax + 1; i < x->rank; i++)
		qm->inner *= x->dims[i];
	if (block == 0)
	{
		if (scale->rank != 1 || scale->dims[0] != qm->dim)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"per-axis scale must be 1-D of size %lld (axis %d)",
									(long long) qm->dim, ax);
		qm->kind = 1;
		return ONNX_OK;
	}
	if (scale->rank != x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "blocked scale must have x's rank %d", x->rank);
	for (int i = 0; i < x->rank; i++)
	{
		int64_t		want = i == ax ? (x->dims[i] + block - 1) / block : x->dims[i];

		if (block > x->dims[ax] && i == ax)
			want = x->dims[i] ? 1 : 0;
		if (scale->dims[i] != want)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"blocked scale dimension %d is %lld, expected %lld",
									i, (long long) scale->dims[i], (long long) want);
	}
	qm->kind = 2;
	qm->sdim = scale->dims[ax];
	qm->block = block;
	return ONNX_OK;
}

/* Index into the scale / zero point for element e of x. */
static inline int64_t
quant_map_index(const QuantMap *qm, int64_t e)
{
	int64_t		a,
				outer,
				in;

	if (qm->kind == 0)
		return 0;
	a = (e / qm->inner) % qm->dim;
	if (qm->kind == 1)
		return a;
	outer = e / (qm->inner * qm->dim);
	in = e % qm->inner;
	return (outer * qm->sdim + a / qm->block) * qm->inner + in;
}

/* A zero point must have the scale's shape. */
static bool
same_shape(const OnnxTensor *a, const OnnxTensor *b)
{
	if (a->count == 1 && b->count == 1 && a->rank <= 1 && b->rank <= 1)
		return true;
	return a->rank == b->rank && memcmp(a->dims, b->dims, sizeof(int64_t) * a->rank) == 0;
}

/* ---- float32 <-> 8-bit per tensor, vectorized ---- */

/*
 * y = saturate(round_half_even(x / scale) + zp) into [lo, hi] (int8 when
 * lo < 0), NaN giving saturate(0) as the general path.
 */
ONNX_VEC_INLINE void
quantize_8bit_body(const float *x, int64_t n, float scale, int32_t zp, int32_t lo, int32_t hi, void *y)
{
	int32_t		qnan = 0 < lo ? lo : 0 > hi ? hi : 0;

	if (lo < 0)
		for (int64_t i = 0; i < n; i++)
		{
			float		v = x[i] / scale;

			((int8_t *) y)[i] = (int8_t) (v != v ? qnan : qmm_quant(v, zp, lo, hi));
		}
	else
		for (int64_t i = 0; i < n; i++)
		{
			float		v = x[i] / scale;

			((uint8_t *) y)[i] = (uint8_t) (v != v ? qnan : qmm_quant(v, zp, lo, hi));
		}
}

ONNX_VEC_DISPATCH(static, quantize_8bit_loop, quantize_8bit_body,
				  (const float *x, int64_t n, float scale, int32_t zp, int32_t lo, int32_t hi, void *y),
				  (x, n, scale, zp, lo, hi, y))

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/*
 * quantize_8bit_body in AVX-512, the same operations in the same order
 * (divide, clamp, round by the 1.5 * 2^23 constant, add zp; NaN to qnan),
 * so bit-identical; tails masked.  The quotient x / scale without a
 * division where 1e-30 <= |scale| <= 1e30 (1 / scale then normal):
 * vecmath.h's onnx_div_rn_x512, the correctly rounded quotient below 1e6
 * in magnitude (clamped either way past it; an infinite x gives the
 * division's infinity, NaN stays NaN).  A division costs about as much as
 * the rest of the loop.
 */
__attribute__((target("avx512f,avx512bw,avx512vl,fma")))
static void
quantize_8bit_x512(const float *x, int64_t n, float scale, int32_t zp, int32_t lo, int32_t hi, void *y)
{
	bool		recip = fabsf(scale) >= 1e-30f && fabsf(scale) <= 1e30f;
	const __m512 vs = _mm512_set1_ps(scale),
				vr = _mm512_set1_ps(1.0f / scale),
				vl = _mm512_set1_ps((float) (lo - zp)),
				vh = _mm512_set1_ps((float) (hi - zp)),
				magic = _mm512_set1_ps(12582912.0f);
	const __m512i vz = _mm512_set1_epi32(zp),
				vnan = _mm512_set1_epi32(0 < lo ? lo : 0 > hi ? hi : 0);

	for (int64_t i = 0; i < n; i += 16)
	{
		__mmask16	m = n - i >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (n - i)) - 1);
		__m512		xv = _mm512_maskz_loadu_ps(m, x + i),
					v,
					c;
		__m512i		q;

		if (recip)
			v = onnx_div_rn_x512(xv, vs, vr);
		else
			v = _mm512_div_ps(xv, vs);
		c = _mm512_min_ps(_mm512_max_ps(v, vl), vh);

		c = _mm512_sub_ps(_mm512_add_ps(c, magic), magic);
		q = _mm512_add_epi32(_mm512_cvttps_epi32(c), vz);
		q = _mm512_mask_blend_epi32(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), q, vnan);
		_mm_mask_storeu_epi8((uint8_t *) y + i, m, _mm512_cvtepi32_epi8(q));
	}
}

/* dequantize_8bit_body in AVX-512: (float) (x - zp) * scale, exact as the loop */
__attribute__((target("avx512f,avx512bw,avx512vl")))
static void
dequantize_8bit_x512(const void *x, bool is_signed, int64_t n, float scale, int32_t zp, float *y)
{
	const __m512 vs = _mm512_set1_ps(scale);
	const __m512i vz = _mm512_set1_epi32(zp);

	for (int64_t i = 0; i < n; i += 16)
	{
		__mmask16	m = n - i >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (n - i)) - 1);
		__m128i		b = _mm_maskz_loadu_epi8(m, (const uint8_t *) x + i);
		__m512i		w = is_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);

		_mm512_mask_storeu_ps(y + i, m,
							  _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(w, vz)), vs));
	}
}
#endif

/* quantize_8bit_body for the best instruction set */
static void
quantize_8bit(const float *x, int64_t n, float scale, int32_t zp, int32_t lo, int32_t hi, void *y)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (onnx_vec_isa() == ONNX_VEC_AVX512)
	{
		quantize_8bit_x512(x, n, scale, zp, lo, hi, y);
		return;
	}
#endif
	quantize_8bit_loop(x, n, scale, zp, lo, hi, y);
}

/* y = (x - zp) * scale in float32 */
ONNX_VEC_INLINE void
dequantize_8bit_body(const void *x, bool is_signed, int64_t n, float scale, int32_t zp, float *y)
{
	if (is_signed)
		for (int64_t i = 0; i < n; i++)
			y[i] = (float) (((const int8_t *) x)[i] - zp) * scale;
	else
		for (int64_t i = 0; i < n; i++)
			y[i] = (float) (((const uint8_t *) x)[i] - zp) * scale;
}

ONNX_VEC_DISPATCH(static, dequantize_8bit_loop, dequantize_8bit_body,
				  (const void *x, bool is_signed, int64_t n, float scale, int32_t zp, float *y),
				  (x, is_signed, n, scale, zp, y))

/* dequantize_8bit_body for the best instruction set */
static void
dequantize_8bit(const void *x, bool is_signed, int64_t n, float scale, int32_t zp, float *y)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (onnx_vec_isa() == ONNX_VEC_AVX512)
	{
		dequantize_8bit_x512(x, is_signed, n, scale, zp, y);
		return;
	}
#endif
	dequantize_8bit_loop(x, is_signed, n, scale, zp, y);
}

/* The per-tensor loops above for other kernels (qmatmul.h). */
void
onnx_dequantize_8bit(const void *x, bool is_signed, int64_t n, float scale, int32_t zp, float *y)
{
	dequantize_8bit(x, is_signed, n, scale, zp, y);
}

void
onnx_quantize_8bit(const float *x, int64_t n, float scale, int32_t zp, int32_t lo, int32_t hi, void *y)
{
	quantize_8bit(x, n, scale, zp, lo, hi, y);
}

/* ---- QuantizeLinear ---- */

/* Output dtype: the zero point's, else output_dtype, else uint8. */
static OnnxDType
quantize_out_dtype(const OnnxNode *node, OnnxDType zp_dtype)
{
	int64_t		od = onnx_attr_int(node, "output_dtype", 0);

	if (zp_dtype != ONNX_DTYPE_UNDEFINED)
		return zp_dtype;
	if (od > 0 && od < ONNX_DTYPE_COUNT)
		return (OnnxDType) od;
	return ONNX_DTYPE_UINT8;
}

/*
 * QuantizeLinear: x, y_scale, y_zero_point (optional)
 *	 -> y = saturate(round_half_even(x / y_scale) + y_zero_point), or for
 *	 float8/float4 outputs the nearest code of x / y_scale.
 */
OnnxStatus
onnx_run_quantize_linear(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *scale = onnx_in(ctx, 1);
	const OnnxTensor *zp = onnx_in(ctx, 2);
	int64_t		od = onnx_attr_int(ctx->node, "output_dtype", 0);
	int64_t		prec = onnx_attr_int(ctx->node, "precision", 0);
	bool		saturate = onnx_attr_int(ctx->node, "saturate", 1) != 0;
	OnnxDType	ydt,
				cdt;
	int64_t		lo = 0,
				hi = 0;
	bool		is_int;
	MiniFloat	mf;
	QuantMap	qm;
	OnnxStatus	st;
	OnnxTensor *y;

	if (x == NULL || scale == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "x and y_scale are required");
	if (!onnx_dtype_is_float(scale->dtype) && scale->dtype != ONNX_DTYPE_INT32)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "y_scale must be a float tensor");
	if (zp && od > 0 && od != zp->dtype)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"output_dtype %lld differs from the zero point's type %s",
								(long long) od, onnx_dtype_name(zp->dtype));
	ydt = quantize_out_dtype(ctx->node, zp ? zp->dtype : ONNX_DTYPE_UNDEFINED);
	is_int = quant_int_range(ydt, &lo, &hi) && ydt != ONNX_DTYPE_INT32;
	if (!is_int && !minifloat_format(ydt, &mf))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "QuantizeLinear cannot produce %s",
								onnx_dtype_name(ydt));
	if ((st = quant_map_init(ctx, x, scale, &qm)) != ONNX_OK)
		return st;
	if (zp && !same_shape(zp, scale))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "y_zero_point must have y_scale's shape");
	if (prec > 0 && prec < ONNX_DTYPE_COUNT && onnx_dtype_is_float((OnnxDType) prec))
		cdt = (OnnxDType) prec;
	else
		cdt = float_promote(x->dtype, scale->dtype);
	/* whole-byte types are written element by element: no zeroing first */
	if ((y = (ydt == ONNX_DTYPE_UINT8 || ydt == ONNX_DTYPE_INT8 || ydt == ONNX_DTYPE_UINT16 ||
			  ydt == ONNX_DTYPE_INT16 ? onnx_out_raw(ctx, 0, ydt, x->rank, x->dims) :
			  onnx_out_like(ctx, 0, ydt, x))) == NULL)
		return ctx->err->status;
	if (qm.kind == 0 && x->dtype == ONNX_DTYPE_FLOAT && scale->dtype == ONNX_DTYPE_FLOAT &&
		cdt == ONNX_DTYPE_FLOAT && (ydt == ONNX_DTYPE_UINT8 || ydt == ONNX_DTYPE_INT8))
	{
		quantize_8bit(x->data, x->count, *(const float *) scale->data,
					  zp ? (int32_t) onnx_tensor_get_i64(zp, 0) : 0, (int32_t) lo, (int32_t) hi, y->data);
		return ONNX_OK;
	}
	for (int64_t e = 0; e < x->count; e++)
	{
		int64_t		si = quant_map_index(&qm, e);
		double		s = round_to(cdt, onnx_tensor_get_f64(scale, si));
		double		q = round_to(cdt, round_to(cdt, onnx_tensor_get_f64(x, e)) / s);

		if (is_int)
		{
			double		v = cpq_round_even(q) + (zp ? onnx_tensor_get_f64(zp, si) : 0);

			if (isnan(v))
				v = 0;
			v = v < (double) lo ? (double) lo : v > (double) hi ? (double) hi : v;
			onnx_tensor_set_i64(y, e, (int64_t) v);
		}
		else
		{
			if (ydt == ONNX_DTYPE_FLOAT4E2M1 && zp)
				q += quant_get(zp, si);
			((uint8_t *) y->data)[e] = (uint8_t) minifloat_encode(&mf, q, saturate);
		}
	}
	return ONNX_OK;
}

/* ---- DequantizeLinear ---- */

/*
 * DequantizeLinear: x, x_scale, x_zero_point (optional)
 *	 -> y = (x - x_zero_point) * x_scale in x_scale's type (or output_dtype).
 */
OnnxStatus
onnx_run_dequantize_linear(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *scale = onnx_in(ctx, 1);
	const OnnxTensor *zp = onnx_in(ctx, 2);
	int64_t		od = onnx_attr_int(ctx->node, "output_dtype", 0);
	OnnxDType	ydt;
	MiniFloat	mf;
	bool		mini;
	int64_t		lo,
				hi;
	QuantMap	qm;
	OnnxStatus	st;
	OnnxTensor *y;

	if (x == NULL || scale == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "x and x_scale are required");
	if (!onnx_dtype_is_float(scale->dtype))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "x_scale must be a float tensor");
	mini = minifloat_format(x->dtype, &mf);
	if (!mini && !quant_int_range(x->dtype, &lo, &hi))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "DequantizeLinear does not support %s",
								onnx_dtype_name(x->dtype));
	ydt = scale->dtype;
	if (od > 0)
	{
		if (od >= ONNX_DTYPE_COUNT || !onnx_dtype_is_float((OnnxDType) od))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "output_dtype %lld is not a float type",
									(long long) od);
		ydt = (OnnxDType) od;
	}
	if ((st = quant_map_init(ctx, x, scale, &qm)) != ONNX_OK)
		return st;
	if (zp && (!same_shape(zp, scale) || (!mini && zp->dtype != x->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"x_zero_point must have x's type and x_scale's shape");
	if ((y = onnx_out_raw(ctx, 0, ydt, x->rank, x->dims)) == NULL)
		return ctx->err->status;
	if (qm.kind == 0 && scale->dtype == ONNX_DTYPE_FLOAT && ydt == ONNX_DTYPE_FLOAT &&
		(x->dtype == ONNX_DTYPE_UINT8 || x->dtype == ONNX_DTYPE_INT8))
	{
		dequantize_8bit(x->data, x->dtype == ONNX_DTYPE_INT8, x->count, *(const float *) scale->data,
						zp ? (int32_t) onnx_tensor_get_i64(zp, 0) : 0, y->data);
		return ONNX_OK;
	}
	for (int64_t e = 0; e < x->count; e++)
	{
		int64_t		si = quant_map_index(&qm, e);
		double		v = quant_get(x, e);

		if (zp && x->dtype != ONNX_DTYPE_FLOAT4E2M1 && !mini)
			v -= onnx_tensor_get_f64(zp, si);
		v = (float) v;
		v = v * onnx_tensor_get_f64(scale, si);
		if (ydt != ONNX_DTYPE_DOUBLE && scale->dtype != ONNX_DTYPE_DOUBLE)
			v = (float) v;
		onnx_tensor_set_f64(y, e, v);
	}
	return ONNX_OK;
}

/* ---- DynamicQuantizeLinear ---- */

/*
 * DynamicQuantizeLinear: x (float) -> y (uint8), y_scale (float scalar),
 * y_zero_point (uint8 scalar), with the range [min(0, x), max(0, x)]
 * mapped onto [0, 255].
 */
static OnnxStatus
run_dynamic_quantize_linear(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	float		mx,
				mn,
				scale,
				zpf,
				zp;
	OnnxTensor *y,
			   *ys,
			   *yz;

	if (x == NULL || x->dtype != ONNX_DTYPE_FLOAT)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "x must be a float32 tensor");
	onnx_qmm_range(x->data, x->count, &mn, &mx);
	scale = (mx == mn ? 1.0f : (mx - mn)) / 255.0f;
	zpf = 0.0f - mn / scale;
	zpf = zpf < 0 ? 0 : zpf > 255 ? 255 : zpf;
	zp = (float) cpq_round_even(zpf);
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_UINT8, x->rank, x->dims)) == NULL ||
		(ys = onnx_out(ctx, 1, ONNX_DTYPE_FLOAT, 0, NULL)) == NULL ||
		(yz = onnx_out(ctx, 2, ONNX_DTYPE_UINT8, 0, NULL)) == NULL)
		return ctx->err->status;
	*(float *) ys->data = scale;
	*(uint8_t *) yz->data = (uint8_t) zp;
	onnx_qmm_quantize_u8(x->data, x->count, scale, zp, y->data);
	return ONNX_OK;
}

/* ---- integer matrix products (qmatmul.c) ---- */

/* MatMulInteger: A, B (int8/uint8), a_zero_point, b_zero_point -> int32 */
static OnnxStatus
run_matmul_integer(OnnxKernelCtx *ctx)
{
	const OnnxTensor *a = onnx_in(ctx, 0),
			   *b = onnx_in(ctx, 1);
	int			orank;
	int64_t		odims[ONNX_MAX_RANK],
				count;
	OnnxStatus	st;
	OnnxTensor *y;

	if ((st = onnx_qmm_shape(ctx, a, b, &orank, odims, &count)) != ONNX_OK)
		return st;
	if ((y = onnx_out_raw(ctx, 0, ONNX_DTYPE_INT32, orank, odims)) == NULL)
		return ctx->err->status;
	return onnx_qmm_run(ctx, a, onnx_in(ctx, 2), b, onnx_in(ctx, 3), ctx->node->prepared, y->data);
}

/*
 * QLinearMatMul: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
 *	 -> y = saturate(round((a - a_zp) @ (b - b_zp) * (a_scale * b_scale
 *	 / y_scale)) + y_zp), the multiplier in float32 as onnxruntime.
 *	 Scales are scalars or per row of a / column of b.
 * Here with a in place of input 0; yf: the 8-bit result dequantized
 * (y_scale, y_zp) into a float32 output.
 */
static OnnxStatus
qlinear_matmul(OnnxKernelCtx *ctx, const OnnxTensor *a, bool yf)
{
	const OnnxTensor *as = onnx_in(ctx, 1);
	const OnnxTensor *b = onnx_in(ctx, 3);
	const OnnxTensor *bs = onnx_in(ctx, 4);
	const OnnxTensor *ys = onnx_in(ctx, 6);
	const OnnxTensor *yzp = onnx_in(ctx, 7);
	int			orank;
	int64_t		odims[ONNX_MAX_RANK],
				count,
				M,
				N,
				lo,
				hi;
	int32_t    *c;
	float		zpf,
			   *mult;
	uint8_t    *yq;
	OnnxDType	ydt;
	OnnxStatus	st;
	OnnxTensor *y;

	if (a == NULL || b == NULL || as == NULL || bs == NULL || ys == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "a, a_scale, b, b_scale and y_scale are required");
	if (!onnx_dtype_is_float(as->dtype) || !onnx_dtype_is_float(bs->dtype) ||
		!onnx_dtype_is_float(ys->dtype) || ys->count != 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "scales must be float; y_scale a scalar");
	ydt = yzp ? yzp->dtype : a->dtype;
	if ((ydt != ONNX_DTYPE_INT8 && ydt != ONNX_DTYPE_UINT8) || (yzp && yzp->count != 1) ||
		!quant_int_range(ydt, &lo, &hi))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "y_zero_point must be an int8 or uint8 scalar");
	if ((st = onnx_qmm_shape(ctx, a, b, &orank, odims, &count)) != ONNX_OK)
		return st;
	M = a->rank == 1 ? 1 : a->dims[a->rank - 2];
	N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
	if ((as->count != 1 && as->count != M) || (bs->count != 1 && bs->count != N))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"a_scale must be a scalar or [M], b_scale a scalar or [N]");
	if ((y = onnx_out_raw(ctx, 0, yf ? ONNX_DTYPE_FLOAT : ydt, orank, odims)) == NULL)
		return ctx->err->status;
	if ((c = onnx_kernel_scratch(ctx, (size_t) (count + N), sizeof(int32_t))) == NULL ||
		(yf && (yq = onnx_kernel_scratch(ctx, (size_t) count, 1)) == NULL))
		return ctx->err->status;
	if (!yf)
		yq = y->data;
	mult = (float *) (c + count);
	if ((st = onnx_qmm_run(ctx, a, onnx_in(ctx, 2), b, onnx_in(ctx, 5), ctx->node->prepared, c)) == ONNX_OK)
	{
		float		ysf = (float) onnx_tensor_get_f64(ys, 0);

		zpf = yzp ? (float) onnx_tensor_get_f64(yzp, 0) : 0;
		/*
		 * multipliers per (row, column), float32 as onnxruntime; the rows
		 * requantized by qconv_kern.c's vectorized loop, all at once when
		 * a_scale is a scalar
		 */
		for (int64_t i0 = 0; i0 < count; i0 += N)
		{
			int64_t		m = (i0 / N) % M;
			float		fa = (float) onnx_tensor_get_f64(as, as->count == 1 ? 0 : m);

			if (i0 == 0 || as->count != 1)
				for (int64_t n = 0; n < N; n++)
					mult[n] = fa * (float) onnx_tensor_get_f64(bs, bs->count == 1 ? 0 : n) / ysf;
			onnx_qconv_kern()->requant_rows(c + i0, as->count == 1 ? count / N : 1, N, N, NULL, mult,
											(int32_t) zpf, (int32_t) lo, (int32_t) hi, yq + i0);
			if (as->count == 1)
				break;
		}
		if (yf)
			dequantize_8bit(yq, ydt == ONNX_DTYPE_INT8, count, ysf, (int32_t) zpf, y->data);
	}
	return st;
}

static OnnxStatus
run_qlinear_matmul(OnnxKernelCtx *ctx)
{
	return qlinear_matmul(ctx, onnx_in(ctx, 0), false);
}

/*
 * QLinearMatMulFloat (the engine's, made by optimize.c from QuantizeLinear
 * -> QLinearMatMul -> DequantizeLinear whose parameters are the
 * QLinearMatMul's): QLinearMatMul's inputs with a float32 ->
 *	 Y = DequantizeLinear(QLinearMatMul(QuantizeLinear(a, a_scale, a_zp)),
 *						  y_scale, y_zp)
 * the unfused chain's values exactly, in one node.
 */
static OnnxStatus
run_qlinear_matmul_float(OnnxKernelCtx *ctx)
{
	const OnnxTensor *a = onnx_in(ctx, 0),
			   *as = onnx_in(ctx, 1),
			   *az = onnx_in(ctx, 2);
	OnnxTensor	aq;
	int64_t		lo,
				hi;

	if (a == NULL || as == NULL || az == NULL || a->dtype != ONNX_DTYPE_FLOAT ||
		as->dtype != ONNX_DTYPE_FLOAT || as->count != 1 || az->count != 1 ||
		!quant_int_range(az->dtype, &lo, &hi) || (az->dtype != ONNX_DTYPE_INT8 && az->dtype != ONNX_DTYPE_UINT8))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"a must be float32 with scalar float32 a_scale and 8-bit a_zero_point");
	aq = *a;
	aq.dtype = az->dtype;
	aq.nbytes = (size_t) a->count;
	if ((aq.data = onnx_kernel_scratch(ctx, (size_t) a->count + 1, 1)) == NULL)
		return ctx->err->status;
	quantize_8bit(a->data, a->count, *(const float *) as->data, (int32_t) onnx_tensor_get_i64(az, 0),
				  (int32_t) lo, (int32_t) hi, aq.data);
	return qlinear_matmul(ctx, &aq, true);
}

/* Pack hooks: the constant B with its zero point. */
static OnnxStatus
pack_matmul_integer(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	return onnx_qmm_pack(node, g, arena, err, 1, 3, false);
}

static OnnxStatus
pack_qlinear_matmul(OnnxNode *node, const OnnxGraph *g, OnnxArena *arena, OnnxError *err)
{
	return onnx_qmm_pack(node, g, arena, err, 3, 5, false);
}

/* ---- static types ---- */

OnnxStatus
onnx_infer_quantize_linear(OnnxInferCtx *ctx)
{
	OnnxDType	zdt = ONNX_DTYPE_UNDEFINED;

	if (ctx->outputs[0] == NULL)
		return ONNX_OK;
	if (ctx->n_inputs > 2 && ctx->inputs[2])
	{
		zdt = ctx->inputs[2]->dtype;
		if (zdt == ONNX_DTYPE_UNDEFINED)
			return ONNX_OK;
	}
	ctx->outputs[0]->dtype = quantize_out_dtype(ctx->node, zdt);
	ctx->outputs[0]->kind = ONNX_VALUE_TENSOR;
	onnx_info_copy_shape(ctx->outputs[0], ctx->inputs[0]);
	return ONNX_OK;
}

OnnxStatus
onnx_infer_dequantize_linear(OnnxInferCtx *ctx)
{
	int64_t		od = onnx_attr_int(ctx->node, "output_dtype", 0);

	if (ctx->outputs[0] == NULL || ctx->inputs[1] == NULL)
		return ONNX_OK;
	ctx->outputs[0]->dtype = od > 0 && od < ONNX_DTYPE_COUNT ? (OnnxDType) od : ctx->inputs[1]->dtype;
	ctx->outputs[0]->kind = ONNX_VALUE_TENSOR;
	onnx_info_copy_shape(ctx->outputs[0], ctx->inputs[0]);
	return ONNX_OK;
}

static OnnxStatus
infer_dynamic_quantize(OnnxInferCtx *ctx)
{
	static const OnnxDType dts[3] = {ONNX_DTYPE_UINT8, ONNX_DTYPE_FLOAT, ONNX_DTYPE_UINT8};

	for (int i = 0; i < ctx->n_outputs && i < 3; i++)
		if (ctx->outputs[i])
		{
			ctx->outputs[i]->dtype = dts[i];
			ctx->outputs[i]->kind = ONNX_VALUE_TENSOR;
			/* y has x's shape; y_scale and y_zero_point are scalars */
			if (i > 0)
				ctx->outputs[i]->rank = 0;
			else if (ctx->n_inputs > 0 && ctx->inputs[0])
				onnx_info_copy_shape(ctx->outputs[i], ctx->inputs[0]);
		}
	return ONNX_OK;
}

#define Q_IN (ONNX_TS_FLOAT | ONNX_T(ONNX_DTYPE_INT32))
#define DQ_IN (ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8) | ONNX_T(ONNX_DTYPE_INT32) | \
	ONNX_T(ONNX_DTYPE_INT16) | ONNX_T(ONNX_DTYPE_UINT16) | ONNX_T(ONNX_DTYPE_INT4) | \
	ONNX_T(ONNX_DTYPE_UINT4) | ONNX_T(ONNX_DTYPE_INT2) | ONNX_T(ONNX_DTYPE_UINT2) | \
	ONNX_T(ONNX_DTYPE_FLOAT8E4M3FN) | ONNX_T(ONNX_DTYPE_FLOAT8E4M3FNUZ) | \
	ONNX_T(ONNX_DTYPE_FLOAT8E5M2) | ONNX_T(ONNX_DTYPE_FLOAT8E5M2FNUZ) | \
	ONNX_T(ONNX_DTYPE_FLOAT4E2M1))
#define I8 (ONNX_T(ONNX_DTYPE_INT8) | ONNX_T(ONNX_DTYPE_UINT8))
#define QL(since) \
	ONNX_OP("", "QuantizeLinear", since, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1), \
		.input0_types = Q_IN, .out_type = ONNX_OUT_CUSTOM, .infer = onnx_infer_quantize_linear, \
		.run = onnx_run_quantize_linear)
#define DQL(since) \
	ONNX_OP("", "DequantizeLinear", since, ONNX_INPUTS(2, 3), ONNX_OUTPUTS(1, 1), \
		.input0_types = DQ_IN, .out_type = ONNX_OUT_CUSTOM, \
		.infer = onnx_infer_dequantize_linear, .run = onnx_run_dequantize_linear)

const OnnxOpDef onnx_ops_quant[] = {
	QL(10), QL(13), QL(19), QL(21), QL(23), QL(24), QL(25),
	DQL(10), DQL(13), DQL(19), DQL(21), DQL(23), DQL(24), DQL(25),
	ONNX_OP("", "DynamicQuantizeLinear", 11, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(3, 3),
		.input0_types = ONNX_T(ONNX_DTYPE_FLOAT), .out_type = ONNX_OUT_CUSTOM,
		.infer = infer_dynamic_quantize, .run = run_dynamic_quantize_linear),
	ONNX_OP("", "MatMulInteger", 10, ONNX_INPUTS(2, 4), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_INT32, .run = run_matmul_integer,
		.pack = pack_matmul_integer),
	ONNX_OP_VERSIONS("", "QLinearMatMul", (10, 21), ONNX_INPUTS(8, 8), ONNX_OUTPUTS(1, 1), .input0_types = I8,
		.out_type = ONNX_OUT_INPUT, .out_input = 7, .run = run_qlinear_matmul,
		.pack = pack_qlinear_matmul),
	ONNX_OP(ONNX_ENGINE_DOMAIN, "QLinearMatMulFloat", 1, ONNX_INPUTS(8, 8), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_T(ONNX_DTYPE_FLOAT), .out_type = ONNX_OUT_FLOAT,
		.run = run_qlinear_matmul_float, .pack = pack_qlinear_matmul),
	{0}
};
