/*-------------------------------------------------------------------------
 *
 * dtype_cast.c
 *	  Element conversion for Cast and friends.
 *
 * Conversions follow the ONNX reference (numpy + ml_dtypes):
 *	- float -> integer truncates toward zero; NaN or out of range gives the
 *	  x86 "integer indefinite" value (INT32_MIN / INT64_MIN) which narrower
 *	  types then wrap, as numpy does.
 *	- integer -> integer wraps (two's complement), 4- and 2-bit types too.
 *	- float8: round to nearest even; out of range saturates to +-max when
 *	  saturate is set, else gives NaN (e4m3fn, the fnuz types) or +-Inf
 *	  (e5m2).  fnuz types have no negative zero.
 *	- float4e2m1 always saturates; NaN becomes 0x8 (-0), as ml_dtypes does.
 *	- float8e8m0 follows onnx.numpy_helper.to_float8e8m0 (round up,
 *	  nearest or down; saturate keeps the max exponent).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "dtype_cast.h"

/* ---- small float formats ---- */

typedef enum MfKind
{
	MF_IEEE,					/* Inf and NaN at the top exponent */
	MF_FN,						/* no Inf; NaN is S.1111.111 */
	MF_FNUZ,					/* no Inf, no -0; NaN is 0x80 */
	MF_FINITE					/* no Inf, no NaN (float4e2m1) */
} MfKind;

typedef struct MiniFmt
{
	int			ebits;
	int			mbits;
	int			bias;
	MfKind		kind;
} MiniFmt;

static const MiniFmt fmt_e4m3fn = {4, 3, 7, MF_FN};
static const MiniFmt fmt_e4m3fnuz = {4, 3, 8, MF_FNUZ};
static const MiniFmt fmt_e5m2 = {5, 2, 15, MF_IEEE};
static const MiniFmt fmt_e5m2fnuz = {5, 2, 16, MF_FNUZ};
static const MiniFmt fmt_e2m1 = {2, 1, 1, MF_FINITE};
static const MiniFmt fmt_half = {5, 10, 15, MF_IEEE};
static const MiniFmt fmt_bf16 = {8, 7, 127, MF_IEEE};

static const MiniFmt *
mini_fmt(OnnxDType dt)
{
	switch (dt)
	{
		case ONNX_DTYPE_FLOAT8E4M3FN:
			return &fmt_e4m3fn;
		case ONNX_DTYPE_FLOAT8E4M3FNUZ:
			return &fmt_e4m3fnuz;
		case ONNX_DTYPE_FLOAT8E5M2:
			return &fmt_e5m2;
		case ONNX_DTYPE_FLOAT8E5M2FNUZ:
			return &fmt_e5m2fnuz;
		case ONNX_DTYPE_FLOAT4E2M1:
			return &fmt_e2m1;
		default:
			return NULL;
	}
}

/* Positive largest finite value, as bits. */
static uint32_t
mf_max_bits(const MiniFmt *f)
{
	uint32_t	emax = (1u << f->ebits) - 1;
	uint32_t	mfull = (1u << f->mbits) - 1;

	switch (f->kind)
	{
		case MF_IEEE:
			return ((emax - 1) << f->mbits) | mfull;
		case MF_FN:
			return (emax << f->mbits) | (mfull - 1);
		default:
			return (emax << f->mbits) | mfull;
	}
}

/* Value of bits in format f. */
static double
mf_decode(const MiniFmt *f, uint32_t bits)
{
	int			sp = f->ebits + f->mbits;
	uint32_t	emax = (1u << f->ebits) - 1;
	uint32_t	mfull = (1u << f->mbits) - 1;
	bool		neg = (bits >> sp) & 1;
	uint32_t	e = (bits >> f->mbits) & emax;
	uint32_t	m = bits & mfull;
	double		v;

	switch (f->kind)
	{
		case MF_IEEE:
			if (e == emax)
				return m ? NAN : (neg ? -INFINITY : INFINITY);
			break;
		case MF_FN:
			if (e == emax && m == mfull)
				return NAN;
			break;
		case MF_FNUZ:
			if ((bits & ((1u << (sp + 1)) - 1)) == (1u << sp))
				return NAN;
			break;
		case MF_FINITE:
			break;
	}
	if (e == 0)
		v = ldexp((double) m, 1 - f->bias - f->mbits);
	else
		v = ldexp((double) (m | (1u << f->mbits)), (int) e - f->bias - f->mbits);
	return neg ? -v : v;
}

/* Bits of the NaN of format f with sign neg. */
static uint32_t
mf_nan(const MiniFmt *f, bool neg)
{
	int			sp = f->ebits + f->mbits;
	uint32_t	emax = (1u << f->ebits) - 1;
	uint32_t	s = neg ? (1u << sp) : 0;

	switch (f->kind)
	{
		case MF_IEEE:
			return s | (emax << f->mbits) | (1u << (f->mbits - 1));
		case MF_FN:
			return s | (emax << f->mbits) | ((1u << f->mbits) - 1);
		default:
			return 1u << sp;	/* fnuz NaN; float4e2m1: -0 like ml_dtypes */
	}
}

/* Nearest value of format f to v (ties to even); see file header. */
static uint32_t
mf_encode(const MiniFmt *f, double v, bool saturate)
{
	int			sp = f->ebits + f->mbits;
	bool		neg = signbit(v) != 0;
	uint32_t	s = neg ? (1u << sp) : 0;
	uint32_t	maxb = mf_max_bits(f);
	double		maxv = mf_decode(f, maxb);
	int			emin = 1 - f->bias;
	double		a = fabs(v);
	double		r;
	int			e;
	int			E;

	if (f->kind == MF_FINITE)
		saturate = true;
	if (isnan(v))
		return mf_nan(f, neg);
	if (a > maxv * 2)			/* certainly out of range (Inf included) */
		r = a;
	else
	{
		frexp(a, &e);
		E = e - 1;
		if (E < emin)
			E = emin;
		r = ldexp(rint(ldexp(a, f->mbits - E)), E - f->mbits);
	}
	if (r > maxv)
	{
		if (saturate)
			return s | maxb;
		if (f->kind == MF_IEEE)
			return s | (((1u << f->ebits) - 1) << f->mbits);
		return mf_nan(f, neg);
	}
	if (r == 0)
		return f->kind == MF_FNUZ ? 0 : s;
	frexp(r, &e);
	E = e - 1;
	if (E < emin)
		return s | (uint32_t) ldexp(r, f->mbits - emin);
	return s | ((uint32_t) (E + f->bias) << f->mbits) |
		((uint32_t) ldexp(r, f->mbits - E) - (1u << f->mbits));
}

/* float8e8m0 from a value, per onnx.numpy_helper.to_float8e8m0. */
static uint8_t
e8m0_encode(double v, const ScuCastOpts *o)
{
	float		f = (float) v;
	uint32_t	bits;
	uint32_t	exponent;
	bool		round_up = false;

	memcpy(&bits, &f, 4);
	exponent = (bits >> 23) & 0xff;
	if (exponent == 0xff)
		return 0xff;
	if (o->round_mode == SCU_ROUND_NEAREST)
	{
		bool		g = (bits & 0x400000) != 0;
		bool		rr = (bits & 0x200000) != 0;
		bool		st = (bits & 0x1fffff) != 0;
		bool		lsb = exponent > 0;

		round_up = g && (rr || st || lsb);
	}
	else if (o->round_mode == SCU_ROUND_UP)
		round_up = (bits & 0x7fffff) != 0;
	if (round_up && !(o->saturate && exponent == 0xfe))
		exponent++;
	return (uint8_t) exponent;
}

static double
e8m0_decode(uint8_t b)
{
	if (b == 0xff)
		return NAN;
	return ldexp(1.0, (int) b - 127);
}

bool
scu_is_small_float(OnnxDType dt)
{
	return mini_fmt(dt) != NULL || dt == ONNX_DTYPE_FLOAT8E8M0;
}

bool
scu_is_floating(OnnxDType dt)
{
	return onnx_dtype_is_float(dt) || scu_is_small_float(dt);
}

bool
scu_is_unsigned(OnnxDType dt)
{
	return onnx_dtype_is_unsigned_int(dt) || dt == ONNX_DTYPE_BOOL ||
		dt == ONNX_DTYPE_UINT4 || dt == ONNX_DTYPE_UINT2;
}

bool
scu_cast_supported(OnnxDType dt)
{
	return dt > ONNX_DTYPE_UNDEFINED && dt < ONNX_DTYPE_COUNT &&
		dt != ONNX_DTYPE_COMPLEX64 && dt != ONNX_DTYPE_COMPLEX128;
}

uint8_t
scu_small_float_encode(OnnxDType dt, double v, const ScuCastOpts *o)
{
	const MiniFmt *f = mini_fmt(dt);

	if (dt == ONNX_DTYPE_FLOAT8E8M0)
		return e8m0_encode(v, o);
	return f ? (uint8_t) mf_encode(f, v, o->saturate) : 0;
}

double
scu_small_float_decode(OnnxDType dt, uint8_t bits)
{
	const MiniFmt *f = mini_fmt(dt);

	if (dt == ONNX_DTYPE_FLOAT8E8M0)
		return e8m0_decode(bits);
	return f ? mf_decode(f, bits) : 0;
}

/* ---- element access ---- */

double
scu_get_f64(const OnnxTensor *t, int64_t i)
{
	if (scu_is_small_float(t->dtype))
		return scu_small_float_decode(t->dtype, ((const uint8_t *) t->data)[i]);
	return onnx_tensor_get_f64(t, i);
}

int64_t
scu_get_bits64(const OnnxTensor *t, int64_t i)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_INT64:
		case ONNX_DTYPE_UINT64:
			return ((const int64_t *) t->data)[i];
		case ONNX_DTYPE_UINT32:
			return ((const uint32_t *) t->data)[i];
		default:
			return (int64_t) onnx_tensor_get_f64(t, i);
	}
}

/* numpy float -> int64: NaN and out of range give INT64_MIN. */
static int64_t
f2i64(double v)
{
	if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
		return INT64_MIN;
	return (int64_t) v;
}

/* numpy float -> int32: NaN and out of range give INT32_MIN. */
static int32_t
f2i32(double v)
{
	if (!(v > -2147483649.0 && v < 2147483648.0))
		return INT32_MIN;
	return (int32_t) v;
}

/* Wrap v into a 4- or 2-bit type (sign-extended when signed). */
static uint8_t
wrap_subbyte(OnnxDType dt, int64_t v)
{
	switch (dt)
	{
		case ONNX_DTYPE_INT4:
			return (uint8_t) (int8_t) ((int) ((v & 0xf) ^ 0x8) - 0x8);
		case ONNX_DTYPE_UINT4:
			return (uint8_t) (v & 0xf);
		case ONNX_DTYPE_INT2:
			return (uint8_t) (int8_t) ((int) ((v & 0x3) ^ 0x2) - 0x2);
		default:
			return (uint8_t) (v & 0x3);
	}
}

/* Half bits nearest to v (exact rounding from double). */
static uint16_t
double_to_half(double v)
{
	if ((double) (float) v == v || isnan(v))
		return onnx_float_to_half((float) v);
	return (uint16_t) mf_encode(&fmt_half, v, false);
}

static uint16_t
double_to_bf16(double v)
{
	if ((double) (float) v == v || isnan(v))
		return onnx_float_to_bf16((float) v);
	return (uint16_t) mf_encode(&fmt_bf16, v, false);
}

/*
 * Store v at element i when t has a floating type (nearest value; small
 * floats per o); false, storing nothing, for any other type.
 */
static inline bool
set_floating(OnnxTensor *t, int64_t i, double v, const ScuCastOpts *o)
{
	void	   *d = t->data;

	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			((float *) d)[i] = (float) v;
			return true;
		case ONNX_DTYPE_DOUBLE:
			((double *) d)[i] = v;
			return true;
		case ONNX_DTYPE_FLOAT16:
			((uint16_t *) d)[i] = double_to_half(v);
			return true;
		case ONNX_DTYPE_BFLOAT16:
			((uint16_t *) d)[i] = double_to_bf16(v);
			return true;
		case ONNX_DTYPE_FLOAT8E4M3FN:
		case ONNX_DTYPE_FLOAT8E4M3FNUZ:
		case ONNX_DTYPE_FLOAT8E5M2:
		case ONNX_DTYPE_FLOAT8E5M2FNUZ:
		case ONNX_DTYPE_FLOAT4E2M1:
		case ONNX_DTYPE_FLOAT8E8M0:
			((uint8_t *) d)[i] = scu_small_float_encode(t->dtype, v, o);
			return true;
		default:
			return false;
	}
}

/* True for the 4- and 2-bit integer types (one element a byte here). */
static bool
is_subbyte_int(OnnxDType dt)
{
	return dt == ONNX_DTYPE_INT4 || dt == ONNX_DTYPE_UINT4 ||
		dt == ONNX_DTYPE_INT2 || dt == ONNX_DTYPE_UINT2;
}

void
scu_set_from_f64(OnnxTensor *t, int64_t i, double v, const ScuCastOpts *o)
{
	if (set_floating(t, i, v, o))
		return;
	switch (t->dtype)
	{
		case ONNX_DTYPE_BOOL:
			((uint8_t *) t->data)[i] = v != 0;
			break;
		case ONNX_DTYPE_INT8:
		case ONNX_DTYPE_UINT8:
		case ONNX_DTYPE_INT16:
		case ONNX_DTYPE_UINT16:
		case ONNX_DTYPE_INT32:
			/* through int32 as numpy: out of range wraps INT32_MIN */
			onnx_tensor_set_i64(t, i, f2i32(v));
			break;
		case ONNX_DTYPE_UINT64:
			if (v >= 9223372036854775808.0 && v < 18446744073709551616.0)
				((uint64_t *) t->data)[i] = (uint64_t) v;
			else
				onnx_tensor_set_i64(t, i, f2i64(v));
			break;
		default:
			if (is_subbyte_int(t->dtype))
				((uint8_t *) t->data)[i] = wrap_subbyte(t->dtype, f2i64(v));
			else
				onnx_tensor_set_i64(t, i, f2i64(v));	/* wraps; others untouched */
			break;
	}
}

void
scu_set_from_int(OnnxTensor *t, int64_t i, int64_t v, bool src_unsigned,
				 const ScuCastOpts *o)
{
	if (t->dtype == ONNX_DTYPE_FLOAT)	/* one rounding, not two via double */
		((float *) t->data)[i] = src_unsigned ? (float) (uint64_t) v : (float) v;
	else if (set_floating(t, i, src_unsigned ? (double) (uint64_t) v : (double) v, o))
		return;
	else if (is_subbyte_int(t->dtype))
		((uint8_t *) t->data)[i] = wrap_subbyte(t->dtype, v);
	else
		onnx_tensor_set_i64(t, i, v);	/* C casts; bool is v != 0 */
}

void
scu_convert_elem(const OnnxTensor *src, int64_t i, OnnxTensor *dst, int64_t j,
				 const ScuCastOpts *o)
{
	if (scu_is_floating(src->dtype))
		scu_set_from_f64(dst, j, scu_get_f64(src, i), o);
	else
		scu_set_from_int(dst, j, scu_get_bits64(src, i), scu_is_unsigned(src->dtype), o);
}

/* ---- strings ---- */

/* v rounded to the precision of dt (v finite). */
static double
round_to_type(OnnxDType dt, double v)
{
	static const ScuCastOpts sat = {true, SCU_ROUND_NEAREST};

	switch (dt)
	{
		case ONNX_DTYPE_FLOAT:
			return (float) v;
		case ONNX_DTYPE_DOUBLE:
			return v;
		case ONNX_DTYPE_FLOAT16:
			return onnx_half_to_float(double_to_half(v));
		case ONNX_DTYPE_BFLOAT16:
			return onnx_bf16_to_float(double_to_bf16(v));
		default:
			return scu_small_float_decode(dt, scu_small_float_encode(dt, v, &sat));
	}
}

/*
 * numpy's str() of a float of type dt: the shortest digits that read back
 * to the same value; positional when 1e-4 <= |v| < cutoff, else
 * scientific ("1e-05", "1.2345679e+08").
 */
static void
format_float(OnnxDType dt, double v, char *buf, size_t len)
{
	char		tmp[64];
	char		digits[32];
	int			nd = 0;
	int			exp10;
	double		a = fabs(v);
	double		cutoff;
	const char *sign = signbit(v) ? "-" : "";
	char	   *p;
	size_t		o;

	if (isnan(v))
	{
		snprintf(buf, len, "nan");
		return;
	}
	if (isinf(v))
	{
		snprintf(buf, len, "%sinf", sign);
		return;
	}
	for (int prec = 1; prec <= 17; prec++)
	{
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, a);
		if (prec == 17 || round_to_type(dt, strtod(tmp, NULL)) == a)
			break;
	}
	/* tmp is "d.ddde[+-]xx" */
	for (p = tmp; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < (int) sizeof(digits) - 1)
			digits[nd++] = *p;
	exp10 = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';

	cutoff = dt == ONNX_DTYPE_DOUBLE ? 1e16 : dt == ONNX_DTYPE_FLOAT16 ? 1e3 : 1e6;
	o = (size_t) snprintf(buf, len, "%s", sign);
	if (a == 0 || (a >= 1e-4 && a < cutoff))
	{
		char		out[64];
		int			k = 0;

		if (exp10 >= 0)
		{
			for (int i = 0; i <= exp10; i++)
				out[k++] = i < nd ? digits[i] : '0';
			out[k++] = '.';
			if (nd > exp10 + 1)
				for (int i = exp10 + 1; i < nd; i++)
					out[k++] = digits[i];
			else
				out[k++] = '0';
		}
		else
		{
			out[k++] = '0';
			out[k++] = '.';
			for (int i = 0; i < -exp10 - 1; i++)
				out[k++] = '0';
			for (int i = 0; i < nd; i++)
				out[k++] = digits[i];
		}
		out[k] = '\0';
		if (o < len)
			snprintf(buf + o, len - o, "%s", out);
	}
	else if (o < len)
		snprintf(buf + o, len - o, "%c%s%se%c%02d", digits[0], nd > 1 ? "." : "",
				 digits + 1, exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
}

void
scu_format_elem(const OnnxTensor *t, int64_t i, char *buf, size_t len)
{
	if (t->dtype == ONNX_DTYPE_BOOL)
		snprintf(buf, len, "%s", ((const uint8_t *) t->data)[i] ? "True" : "False");
	else if (scu_is_floating(t->dtype))
		format_float(t->dtype, scu_get_f64(t, i), buf, len);
	else if (scu_is_unsigned(t->dtype))
		snprintf(buf, len, "%llu", (unsigned long long) (uint64_t) scu_get_bits64(t, i));
	else
		snprintf(buf, len, "%lld", (long long) scu_get_bits64(t, i));
}

/* True if only blanks follow end. */
static bool
only_blanks(const char *end)
{
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	return *end == '\0';
}

bool
scu_parse_elem(const char *s, OnnxTensor *t, int64_t i, const ScuCastOpts *o)
{
	char	   *end;
	double		dv;

	if (s == NULL)
		s = "";
	if (t->dtype == ONNX_DTYPE_BOOL)
	{
		if (strcasecmp(s, "true") == 0)
		{
			((uint8_t *) t->data)[i] = 1;
			return true;
		}
		if (strcasecmp(s, "false") == 0 || s[0] == '\0')
		{
			((uint8_t *) t->data)[i] = 0;
			return true;
		}
	}
	else if (!scu_is_floating(t->dtype))
	{
		errno = 0;
		if (scu_is_unsigned(t->dtype) && strchr(s, '-') == NULL)
		{
			unsigned long long u = strtoull(s, &end, 10);

			if (end != s && errno == 0 && only_blanks(end))
			{
				scu_set_from_int(t, i, (int64_t) u, true, o);
				return true;
			}
		}
		else
		{
			long long	v = strtoll(s, &end, 10);

			if (end != s && errno == 0 && only_blanks(end))
			{
				scu_set_from_int(t, i, v, false, o);
				return true;
			}
		}
	}
	dv = strtod(s, &end);
	if (end == s || !only_blanks(end))
		return false;
	scu_set_from_f64(t, i, dv, o);
	return true;
}
