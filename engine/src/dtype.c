/*-------------------------------------------------------------------------
 *
 * dtype.c
 *	  Element types: names, sizes, float16/bfloat16 conversion and generic
 *	  element access used by kernels that are not speed-critical.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "engine_internal.h"
#include "dtype_cast.h"

static const char *const dtype_names[ONNX_DTYPE_COUNT] = {
	[ONNX_DTYPE_UNDEFINED] = "undefined",
	[ONNX_DTYPE_FLOAT] = "float32",
	[ONNX_DTYPE_UINT8] = "uint8",
	[ONNX_DTYPE_INT8] = "int8",
	[ONNX_DTYPE_UINT16] = "uint16",
	[ONNX_DTYPE_INT16] = "int16",
	[ONNX_DTYPE_INT32] = "int32",
	[ONNX_DTYPE_INT64] = "int64",
	[ONNX_DTYPE_STRING] = "string",
	[ONNX_DTYPE_BOOL] = "bool",
	[ONNX_DTYPE_FLOAT16] = "float16",
	[ONNX_DTYPE_DOUBLE] = "float64",
	[ONNX_DTYPE_UINT32] = "uint32",
	[ONNX_DTYPE_UINT64] = "uint64",
	[ONNX_DTYPE_COMPLEX64] = "complex64",
	[ONNX_DTYPE_COMPLEX128] = "complex128",
	[ONNX_DTYPE_BFLOAT16] = "bfloat16",
	[ONNX_DTYPE_FLOAT8E4M3FN] = "float8e4m3fn",
	[ONNX_DTYPE_FLOAT8E4M3FNUZ] = "float8e4m3fnuz",
	[ONNX_DTYPE_FLOAT8E5M2] = "float8e5m2",
	[ONNX_DTYPE_FLOAT8E5M2FNUZ] = "float8e5m2fnuz",
	[ONNX_DTYPE_UINT4] = "uint4",
	[ONNX_DTYPE_INT4] = "int4",
	[ONNX_DTYPE_FLOAT4E2M1] = "float4e2m1",
	[ONNX_DTYPE_FLOAT8E8M0] = "float8e8m0",
	[ONNX_DTYPE_UINT2] = "uint2",
	[ONNX_DTYPE_INT2] = "int2",
};

/* Lower-case name of a dtype ("float32"); "undefined" if out of range. */
const char *
onnx_dtype_name(OnnxDType dtype)
{
	if ((int) dtype < 0 || dtype >= ONNX_DTYPE_COUNT)
		return "undefined";
	return dtype_names[dtype];
}

/* Inverse of onnx_dtype_name; also accepts "float" and "double". */
OnnxDType
onnx_dtype_from_name(const char *name)
{
	if (name == NULL)
		return ONNX_DTYPE_UNDEFINED;
	if (strcmp(name, "float") == 0)
		return ONNX_DTYPE_FLOAT;
	if (strcmp(name, "double") == 0)
		return ONNX_DTYPE_DOUBLE;
	for (int i = 1; i < ONNX_DTYPE_COUNT; i++)
		if (strcmp(name, dtype_names[i]) == 0)
			return (OnnxDType) i;
	return ONNX_DTYPE_UNDEFINED;
}

/* Bytes per element in memory (sub-byte types unpacked: 1); 0 if invalid. */
size_t
onnx_dtype_size(OnnxDType dtype)
{
	switch (dtype)
	{
		case ONNX_DTYPE_FLOAT:
		case ONNX_DTYPE_INT32:
		case ONNX_DTYPE_UINT32:
			return 4;
		case ONNX_DTYPE_DOUBLE:
		case ONNX_DTYPE_INT64:
		case ONNX_DTYPE_UINT64:
		case ONNX_DTYPE_COMPLEX64:
			return 8;
		case ONNX_DTYPE_COMPLEX128:
			return 16;
		case ONNX_DTYPE_FLOAT16:
		case ONNX_DTYPE_BFLOAT16:
		case ONNX_DTYPE_INT16:
		case ONNX_DTYPE_UINT16:
			return 2;
		case ONNX_DTYPE_STRING:
			return sizeof(char *);
		case ONNX_DTYPE_UINT8:
		case ONNX_DTYPE_INT8:
		case ONNX_DTYPE_BOOL:
		case ONNX_DTYPE_FLOAT8E4M3FN:
		case ONNX_DTYPE_FLOAT8E4M3FNUZ:
		case ONNX_DTYPE_FLOAT8E5M2:
		case ONNX_DTYPE_FLOAT8E5M2FNUZ:
		case ONNX_DTYPE_UINT4:
		case ONNX_DTYPE_INT4:
		case ONNX_DTYPE_FLOAT4E2M1:
		case ONNX_DTYPE_FLOAT8E8M0:
		case ONNX_DTYPE_UINT2:
		case ONNX_DTYPE_INT2:
			return 1;
		default:
			return 0;
	}
}

/* Public: every floating-point format, the 8- and 4-bit ones included. */
int
onnx_dtype_is_floating(OnnxDType dtype)
{
	return scu_is_floating(dtype);
}

bool
onnx_dtype_is_float(OnnxDType dt)
{
	return dt == ONNX_DTYPE_FLOAT || dt == ONNX_DTYPE_DOUBLE ||
		dt == ONNX_DTYPE_FLOAT16 || dt == ONNX_DTYPE_BFLOAT16;
}

bool
onnx_dtype_is_signed_int(OnnxDType dt)
{
	return dt == ONNX_DTYPE_INT8 || dt == ONNX_DTYPE_INT16 ||
		dt == ONNX_DTYPE_INT32 || dt == ONNX_DTYPE_INT64;
}

bool
onnx_dtype_is_unsigned_int(OnnxDType dt)
{
	return dt == ONNX_DTYPE_UINT8 || dt == ONNX_DTYPE_UINT16 ||
		dt == ONNX_DTYPE_UINT32 || dt == ONNX_DTYPE_UINT64;
}

/* IEEE half bits to float (handles subnormals, inf, NaN). */
float
onnx_half_to_float(uint16_t h)
{
	uint32_t	sign = (uint32_t) (h & 0x8000) << 16;
	uint32_t	exp = (h >> 10) & 0x1f;
	uint32_t	man = h & 0x3ff;
	uint32_t	bits;
	float		f;

	if (exp == 0)
	{
		/* zero or subnormal: man * 2^-24 */
		f = (float) man * (1.0f / 16777216.0f);
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7f800000u | (man << 13);
	else
		bits = sign | ((exp + 112) << 23) | (man << 13);
	memcpy(&f, &bits, 4);
	return f;
}

/* Float to IEEE half bits, round to nearest even. */
uint16_t
onnx_float_to_half(float f)
{
	uint32_t	x;
	uint32_t	sign;
	int32_t		exp;
	uint32_t	man;

	memcpy(&x, &f, 4);
	sign = (x >> 16) & 0x8000;
	exp = (int32_t) ((x >> 23) & 0xff);
	man = x & 0x7fffff;
	if (exp == 255)
		return (uint16_t) (sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
	exp = exp - 127 + 15;
	if (exp >= 31)
		return (uint16_t) (sign | 0x7c00);
	if (exp <= 0)
	{
		uint32_t	shift;
		uint32_t	m;
		uint32_t	r;

		if (exp < -10)
			return (uint16_t) sign;
		m = man | 0x800000;
		shift = (uint32_t) (14 - exp);
		r = m >> shift;
		/* round to nearest even */
		if ((m >> (shift - 1)) & 1)
		{
			if ((m & ((1u << (shift - 1)) - 1)) || (r & 1))
				r++;
		}
		return (uint16_t) (sign | r);
	}
	{
		uint32_t	h = sign | ((uint32_t) exp << 10) | (man >> 13);
		uint32_t	rest = man & 0x1fff;

		if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
			h++;				/* may carry into the exponent: correct */
		return (uint16_t) h;
	}
}

float
onnx_bf16_to_float(uint16_t h)
{
	uint32_t	bits = (uint32_t) h << 16;
	float		f;

	memcpy(&f, &bits, 4);
	return f;
}

/* Float to bfloat16, round to nearest even, NaN kept quiet. */
uint16_t
onnx_float_to_bf16(float f)
{
	uint32_t	x;

	memcpy(&x, &f, 4);
	if ((x & 0x7fffffff) > 0x7f800000)
		return (uint16_t) ((x >> 16) | 0x40);
	x += 0x7fff + ((x >> 16) & 1);
	return (uint16_t) (x >> 16);
}

/* Element i as double (numeric and bool types; 0 otherwise). */
double
onnx_tensor_get_f64(const OnnxTensor *t, int64_t i)
{
	const void *d = t->data;

	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			return ((const float *) d)[i];
		case ONNX_DTYPE_DOUBLE:
			return ((const double *) d)[i];
		case ONNX_DTYPE_FLOAT16:
			return onnx_half_to_float(((const uint16_t *) d)[i]);
		case ONNX_DTYPE_BFLOAT16:
			return onnx_bf16_to_float(((const uint16_t *) d)[i]);
		case ONNX_DTYPE_INT8:
			return ((const int8_t *) d)[i];
		case ONNX_DTYPE_INT16:
			return ((const int16_t *) d)[i];
		case ONNX_DTYPE_INT32:
			return ((const int32_t *) d)[i];
		case ONNX_DTYPE_INT64:
			return (double) ((const int64_t *) d)[i];
		case ONNX_DTYPE_UINT8:
		case ONNX_DTYPE_BOOL:
			return ((const uint8_t *) d)[i];
		case ONNX_DTYPE_UINT16:
			return ((const uint16_t *) d)[i];
		case ONNX_DTYPE_UINT32:
			return ((const uint32_t *) d)[i];
		case ONNX_DTYPE_UINT64:
			return (double) ((const uint64_t *) d)[i];
		case ONNX_DTYPE_INT4:
		case ONNX_DTYPE_INT2:
			return ((const int8_t *) d)[i];
		case ONNX_DTYPE_UINT4:
		case ONNX_DTYPE_UINT2:
			return ((const uint8_t *) d)[i];
		default:
			if (scu_is_small_float(t->dtype))
				return scu_small_float_decode(t->dtype, ((const uint8_t *) d)[i]);
			return 0;
	}
}

/* Element i as int64 (floats truncated toward zero; NaN gives 0). */
int64_t
onnx_tensor_get_i64(const OnnxTensor *t, int64_t i)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_INT64:
			return ((const int64_t *) t->data)[i];
		case ONNX_DTYPE_UINT64:
			return (int64_t) ((const uint64_t *) t->data)[i];
		case ONNX_DTYPE_FLOAT:
		case ONNX_DTYPE_DOUBLE:
		case ONNX_DTYPE_FLOAT16:
		case ONNX_DTYPE_BFLOAT16:
			{
				double		v = onnx_tensor_get_f64(t, i);

				if (isnan(v))
					return 0;
				if (v >= 9.2233720368547758e18)
					return INT64_MAX;
				if (v <= -9.2233720368547758e18)
					return INT64_MIN;
				return (int64_t) v;
			}
		default:
			return (int64_t) onnx_tensor_get_f64(t, i);
	}
}

/* Store v at element i, converting (C casts; float types rounded). */
void
onnx_tensor_set_f64(OnnxTensor *t, int64_t i, double v)
{
	void	   *d = t->data;

	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			((float *) d)[i] = (float) v;
			break;
		case ONNX_DTYPE_DOUBLE:
			((double *) d)[i] = v;
			break;
		case ONNX_DTYPE_FLOAT16:
			((uint16_t *) d)[i] = onnx_float_to_half((float) v);
			break;
		case ONNX_DTYPE_BFLOAT16:
			((uint16_t *) d)[i] = onnx_float_to_bf16((float) v);
			break;
		case ONNX_DTYPE_BOOL:
			((uint8_t *) d)[i] = v != 0;
			break;
		default:
			if (scu_is_small_float(t->dtype))
			{
				/* nearest value; out of range gives NaN or +-Inf, as Cast without saturate */
				ScuCastOpts o = {false, SCU_ROUND_NEAREST};

				((uint8_t *) d)[i] = scu_small_float_encode(t->dtype, v, &o);
				break;
			}
			/* integers: NaN stores 0, out-of-range values saturate (the C cast would be undefined) */
			onnx_tensor_set_i64(t, i, isnan(v) ? 0 : v >= 9223372036854775807.0 ? INT64_MAX :
								v <= -9223372036854775808.0 ? INT64_MIN : (int64_t) v);
			break;
	}
}

/* Store v at element i, wrapping like a C cast for integer types. */
void
onnx_tensor_set_i64(OnnxTensor *t, int64_t i, int64_t v)
{
	void	   *d = t->data;

	switch (t->dtype)
	{
		case ONNX_DTYPE_INT8:
		case ONNX_DTYPE_INT4:
		case ONNX_DTYPE_INT2:
			((int8_t *) d)[i] = (int8_t) v;
			break;
		case ONNX_DTYPE_INT16:
			((int16_t *) d)[i] = (int16_t) v;
			break;
		case ONNX_DTYPE_INT32:
			((int32_t *) d)[i] = (int32_t) v;
			break;
		case ONNX_DTYPE_INT64:
			((int64_t *) d)[i] = v;
			break;
		case ONNX_DTYPE_UINT8:
		case ONNX_DTYPE_UINT4:
		case ONNX_DTYPE_UINT2:
			((uint8_t *) d)[i] = (uint8_t) v;
			break;
		case ONNX_DTYPE_BOOL:
			((uint8_t *) d)[i] = v != 0;
			break;
		case ONNX_DTYPE_UINT16:
			((uint16_t *) d)[i] = (uint16_t) v;
			break;
		case ONNX_DTYPE_UINT32:
			((uint32_t *) d)[i] = (uint32_t) v;
			break;
		case ONNX_DTYPE_UINT64:
			((uint64_t *) d)[i] = (uint64_t) v;
			break;
		default:
			/* float types; strings and other non-numeric types are left as they are */
			if (onnx_dtype_is_float(t->dtype))
				onnx_tensor_set_f64(t, i, (double) v);
			break;
	}
}

/* n elements of t from off as float32 (see engine_internal.h). */
void
onnx_tensor_read_f32(const OnnxTensor *t, int64_t off, int64_t n, float *dst)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			if (n > 0)
				memcpy(dst, (const float *) t->data + off, sizeof(float) * (size_t) n);
			break;
		case ONNX_DTYPE_FLOAT16:
			for (int64_t i = 0; i < n; i++)
				dst[i] = onnx_half_to_float(((const uint16_t *) t->data)[off + i]);
			break;
		case ONNX_DTYPE_BFLOAT16:
			for (int64_t i = 0; i < n; i++)
				dst[i] = onnx_bf16_to_float(((const uint16_t *) t->data)[off + i]);
			break;
		default:
			for (int64_t i = 0; i < n; i++)
				dst[i] = (float) onnx_tensor_get_f64(t, off + i);
			break;
	}
}

/* n elements of t from off as float64 (see engine_internal.h). */
void
onnx_tensor_read_f64(const OnnxTensor *t, int64_t off, int64_t n, double *dst)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_DOUBLE:
			if (n > 0)
				memcpy(dst, (const double *) t->data + off, sizeof(double) * (size_t) n);
			break;
		case ONNX_DTYPE_FLOAT:
			for (int64_t i = 0; i < n; i++)
				dst[i] = ((const float *) t->data)[off + i];
			break;
		default:
			for (int64_t i = 0; i < n; i++)
				dst[i] = onnx_tensor_get_f64(t, off + i);
			break;
	}
}

/* n float32 values into t from off (see engine_internal.h). */
void
onnx_tensor_write_f32(OnnxTensor *t, int64_t off, int64_t n, const float *src)
{
	switch (t->dtype)
	{
		case ONNX_DTYPE_FLOAT:
			if (n > 0)
				memcpy((float *) t->data + off, src, sizeof(float) * (size_t) n);
			break;
		case ONNX_DTYPE_FLOAT16:
			for (int64_t i = 0; i < n; i++)
				((uint16_t *) t->data)[off + i] = onnx_float_to_half(src[i]);
			break;
		case ONNX_DTYPE_BFLOAT16:
			for (int64_t i = 0; i < n; i++)
				((uint16_t *) t->data)[off + i] = onnx_float_to_bf16(src[i]);
			break;
		default:
			for (int64_t i = 0; i < n; i++)
				onnx_tensor_set_f64(t, off + i, src[i]);
			break;
	}
}

/* n float64 values into t from off (see engine_internal.h). */
void
onnx_tensor_write_f64(OnnxTensor *t, int64_t off, int64_t n, const double *src)
{
	if (t->dtype == ONNX_DTYPE_DOUBLE)
	{
		if (n > 0)
			memcpy((double *) t->data + off, src, sizeof(double) * (size_t) n);
		return;
	}
	for (int64_t i = 0; i < n; i++)
		onnx_tensor_set_f64(t, off + i, src[i]);
}
