/*-------------------------------------------------------------------------
 *
 * vecmath_accuracy.c
 *	  Error of the engine's vectorised float32 kernels (eltwise.h unary
 *	  table: exp, log, tanh, sigmoid, erf, softplus, mish, gelu) against
 *	  double-precision libm, over every float32 or every STRIDE-th one,
 *	  special values always included (+-0, subnormals, +-inf, NaN), for
 *	  each instruction-set level this CPU runs (portable, avx2, avx512);
 *	  and the float16/bfloat16 conversions of each level against the
 *	  engine's scalar ones (bit for bit, every half, every STRIDE-th
 *	  float).
 *
 *	  usage: vecmath_accuracy [STRIDE [LEVEL [FUNCTION ...]]]
 *	  (STRIDE 1, the default: all 2^32 inputs; LEVEL 0 portable, 1 avx2,
 *	  2 avx512, -1 all; FUNCTION names from the table below, default all)
 *
 *	  Prints, per level and function, the largest error in ulps of the
 *	  reference (ulps of the subnormal grid below 2^-126; for gelu, ulps
 *	  of x, as its negative side is a tiny difference of large terms)
 *	  where |error| exceeds the function's absolute allowance, where it
 *	  occurs, and FAIL
 *	  when it is above the bound stated in the code (vecmath.h,
 *	  eltwise_kern.c) or a special value is wrong.  Exits 1 if anything
 *	  failed.  `make test` runs it with a stride.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eltwise.h"
#include "vecmath.h"

#define CHUNK 4096

typedef struct Check
{
	const char *name;
	OnnxEwUnOp	op;
	double		(*ref) (double);
	double		bound_ulp;		/* claimed maximum, in ulps */
	double		abs_allow;		/* errors this small are not counted in ulps */
	bool		x_ulps;			/* error in ulps of x, not of the result */
} Check;

static double
ref_sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

static double
ref_softplus(double x)
{
	return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static double
ref_mish(double x)
{
	return x * tanh(ref_softplus(x));
}

static double
ref_gelu(double x)
{
	return 0.5 * x * erfc(-x * 0.7071067811865476);
}

static double
ref_gelu_tanh(double x)
{
	double		u = 0.7978845608028654 * (x + 0.044715 * x * x * x);

	return x / (1.0 + exp(-2.0 * u));
}

/* Size of one ulp at the double value r, for float32. */
static double
ulp_of(double r)
{
	int			e;

	r = fabs(r);
	if (r < 0x1p-126)
		return 0x1p-149;
	frexp(r, &e);				/* r = m 2^e, m in [0.5, 1) */
	return ldexp(1.0, e - 24);
}

static int
run_check(const OnnxEwTable *t, const Check *c, uint64_t stride)
{
	static float x[CHUNK],
				y[CHUNK];
	static const float none[2] = {0, 0};
	double		worst = 0;
	float		worst_x = 0;
	int			bad_special = 0;
	uint64_t	u = 0;

	while (u < 0x100000000ull)
	{
		int			m = 0;

		for (; m < CHUNK && u < 0x100000000ull; u += stride)
			x[m++] = bits_f32((uint32_t) u);
		t->unary[c->op] (y, x, m, none);
		for (int i = 0; i < m; i++)
		{
			double		r = c->ref(x[i]);
			float		rf = (float) r;
			double		err;

			if (isnan(rf) || isinf(rf) || isnan(y[i]) || isinf(y[i]))
			{
				if (!(isnan(rf) && isnan(y[i])) && y[i] != rf && bad_special++ < 3)
					printf("  %s(%a) = %a, expected %a\n", c->name, (double) x[i], (double) y[i],
						   (double) rf);
				continue;
			}
			err = fabs((double) y[i] - r);
			if (err <= c->abs_allow)
				continue;
			err /= ulp_of(c->x_ulps ? x[i] : r);
			if (err > worst)
			{
				worst = err;
				worst_x = x[i];
			}
		}
	}
	printf("%s %-8s %-10s max %5.2f ulp at %a (bound %.1f ulp", worst > c->bound_ulp || bad_special ? "FAIL" : "ok  ",
		   t->name, c->name, worst, (double) worst_x, c->bound_ulp);
	if (c->abs_allow > 0)
		printf(" beyond %.1e absolute", c->abs_allow);
	if (c->x_ulps)
		printf(" of x");
	printf(")%s\n", bad_special ? ", wrong special values" : "");
	return worst > c->bound_ulp || bad_special;
}

/* float16 and bfloat16 conversions: bit-exact with dtype.c's */
static int
run_conversions(const OnnxEwTable *t, uint64_t stride)
{
	static uint16_t h[CHUNK],
				h2[CHUNK];
	static float f[CHUNK];
	int			bad = 0;

	for (uint32_t v = 0; v < 0x10000; v += CHUNK)
	{
		for (int i = 0; i < CHUNK; i++)
			h[i] = (uint16_t) (v + i);
		t->half_to_f32(f, h, CHUNK);
		for (int i = 0; i < CHUNK; i++)
		{
			float		e = onnx_half_to_float(h[i]);

			if (memcmp(&e, &f[i], 4) != 0 && !(isnan(e) && isnan(f[i])) && bad++ < 3)
				printf("  half %04x -> %a, expected %a\n", h[i], (double) f[i], (double) e);
		}
		t->bf16_to_f32(f, h, CHUNK);
		for (int i = 0; i < CHUNK; i++)
			if (f32_bits(f[i]) != (uint32_t) h[i] << 16 && bad++ < 3)
				printf("  bf16 %04x -> %a\n", h[i], (double) f[i]);
	}
	for (uint64_t u = 0; u < 0x100000000ull;)
	{
		int			m = 0;

		for (; m < CHUNK && u < 0x100000000ull; u += stride)
			f[m++] = bits_f32((uint32_t) u);
		t->f32_to_half(h, f, m);
		t->f32_to_bf16(h2, f, m);
		for (int i = 0; i < m; i++)
		{
			uint16_t	e = onnx_float_to_half(f[i]),
						eb = onnx_float_to_bf16(f[i]);

			/* NaN payloads may differ; NaN must stay NaN */
			if (isnan(f[i]) ? (h[i] & 0x7C00) != 0x7C00 || !(h[i] & 0x3FF) : h[i] != e)
			{
				if (bad++ < 3)
					printf("  %a -> half %04x, expected %04x\n", (double) f[i], h[i], e);
			}
			if (isnan(f[i]) ? (h2[i] & 0x7F80) != 0x7F80 || !(h2[i] & 0x7F) : h2[i] != eb)
			{
				if (bad++ < 3)
					printf("  %a -> bf16 %04x, expected %04x\n", (double) f[i], h2[i], eb);
			}
		}
	}
	printf("%s %-8s conversions float16/bfloat16%s\n", bad ? "FAIL" : "ok  ", t->name,
		   bad ? " differ from the scalar ones" : " bit-exact");
	return bad != 0;
}

int
main(int argc, char **argv)
{
	uint64_t	stride = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	const Check checks[] = {
		{"exp", EW_EXP, exp, 1.5, 0, false},
		{"log", EW_LOG, log, 1.0, 0, false},
		{"tanh", EW_TANH, tanh, 2.0, 0, false},
		{"sigmoid", EW_SIGMOID, ref_sigmoid, 2.5, 0x1p-126, false},
		{"erf", EW_ERF, erf, 3.0, 0, false},
		{"softplus", EW_SOFTPLUS, ref_softplus, 3.0, 0x1p-126, false},
		{"mish", EW_MISH, ref_mish, 5.0, 0x1p-119, false},
		{"gelu", EW_GELU, ref_gelu, 4.0, 0, true},
		{"gelu_tanh", EW_GELU_TANH, ref_gelu_tanh, 4.0, 0, true},
	};
	int			failed = 0;
	int			only_level = argc > 2 ? atoi(argv[2]) : -1;

	if (stride == 0)
		stride = 1;
	for (int l = ONNX_VEC_PORTABLE; l <= ONNX_VEC_AVX512; l++)
	{
		const OnnxEwTable *t;

		if (only_level >= 0 && l != only_level)
			continue;
		onnx_vec_set_max_isa(l);
		if ((int) onnx_vec_isa() != l)
		{
			printf("skip level %d (this CPU runs up to level %d)\n", l, (int) onnx_vec_isa());
			continue;
		}
		t = onnx_ew_table();
		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		{
			bool		wanted = argc <= 3;

			for (int a = 3; a < argc; a++)
				wanted |= strcmp(argv[a], checks[i].name) == 0;
			if (wanted)
				failed += run_check(t, &checks[i], stride);
		}
		if (argc <= 3)
			failed += run_conversions(t, stride);
	}
	onnx_vec_set_max_isa(ONNX_VEC_AVX512);
	printf("%d failed\n", failed);
	return failed ? 1 : 0;
}
