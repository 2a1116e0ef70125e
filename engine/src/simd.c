/*-------------------------------------------------------------------------
 *
 * simd.c
 *	  Which instruction sets the engine's vectorised kernels may use: the
 *	  best the CPU has (CPUID through __builtin_cpu_supports), capped by
 *	  onnx_simd_limit so tests and benchmarks can take the portable path.
 *
 *	  The level is read at every kernel call (one load); the CPUID probe
 *	  runs once.  A race between two first calls stores the same value.
 *
 *-------------------------------------------------------------------------
 */
#include "engine_internal.h"

static int	simd_cap = ONNX_SIMD_AVX512;	/* onnx_simd_limit */
static int	simd_cpu = -1;		/* what the CPU has, -1 until probed */

/* The best level this CPU runs. */
static int
simd_probe(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		__builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
		__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return ONNX_SIMD_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return ONNX_SIMD_AVX2;
#endif
	return ONNX_SIMD_PORTABLE;
}

int
onnx_simd_level(void)
{
	int			cpu = __atomic_load_n(&simd_cpu, __ATOMIC_RELAXED);
	int			cap = __atomic_load_n(&simd_cap, __ATOMIC_RELAXED);

	if (cpu < 0)
	{
		cpu = simd_probe();
		__atomic_store_n(&simd_cpu, cpu, __ATOMIC_RELAXED);
	}
	return cpu < cap ? cpu : cap;
}

const char *
onnx_simd_limit(int level)
{
	static const char *const names[] = {"portable", "avx2", "avx512"};

	if (level < 0 || level > ONNX_SIMD_AVX512)
		level = ONNX_SIMD_AVX512;
	__atomic_store_n(&simd_cap, level, __ATOMIC_RELAXED);
	return names[onnx_simd_level()];
}
