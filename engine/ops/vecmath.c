/*-------------------------------------------------------------------------
 *
 * vecmath.c
 *	  The run-time choice of instruction set for vecmath.h's row kernels,
 *	  and the row forms of sigmoid and tanh.
 *
 * Every row kernel is one plain C loop compiled for AVX-512, AVX2+FMA and
 * portable C (ONNX_VEC_DISPATCH); onnx_vec_isa() picks the copy once per
 * call from the CPU's features, read once.  The cap exists for tests and
 * is process-wide; it is never set by the engine itself.
 *
 *-------------------------------------------------------------------------
 */
#include "vecmath.h"

static int	vec_best = -1;		/* best supported level, -1 until read */
static int	vec_cap = ONNX_VEC_AVX512;

/* The best level this CPU (and its OS) supports. */
static OnnxVecIsa
vec_detect(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		__builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
		return ONNX_VEC_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return ONNX_VEC_AVX2;
#endif
	return ONNX_VEC_PORTABLE;
}

OnnxVecIsa
onnx_vec_isa(void)
{
	int			best = vec_best;

	if (best < 0)				/* racing first calls store the same value */
		vec_best = best = (int) vec_detect();
	return (OnnxVecIsa) (best < vec_cap ? best : vec_cap);
}

void
onnx_vec_set_max_isa(int isa)
{
	vec_cap = isa;
}

ONNX_VEC_INLINE void
sigmoid_row(const float *x, float *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		y[i] = sigmoid_f32_fast(x[i]);
}

ONNX_VEC_INLINE void
tanh_row(const float *x, float *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		y[i] = tanh_f32_fast(x[i]);
}

ONNX_VEC_DISPATCH(, onnx_vec_sigmoid_f32, sigmoid_row,
				  (const float *x, float *y, int64_t n), (x, y, n))
ONNX_VEC_DISPATCH(, onnx_vec_tanh_f32, tanh_row,
				  (const float *x, float *y, int64_t n), (x, y, n))
