/*-------------------------------------------------------------------------
 *
 * gemm_bench.c
 *	  SGEMM micro-benchmark: GFLOP/s of the engine's GEMM (per call
 *	  packing, and with B prepacked as MatMul weights are), of
 *	  onnx_blas_sgemm (what kernels call: ours or OpenBLAS, as chosen) and
 *	  of OpenBLAS as loaded, for square sizes, typical model shapes and
 *	  convolution-like shapes.  One thread unless --threads.
 *
 *	  usage: gemm_bench [--isa ref|avx2|avx512] [--threads N] [--quick]
 *						[--shape M N K [ta tb]]
 *
 *	  Prints the CPU model, OpenBLAS's core and our kernel, then a table.
 *	  Run with OPENBLAS_CORETYPE=SkylakeX (or Haswell) in the environment
 *	  to compare with OpenBLAS's best kernels for the CPU.
 *
 *-------------------------------------------------------------------------
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm.h"
#include "engine_internal.h"

extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

static int	threads = 1;
static double budget = 0.25;	/* seconds per measurement */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum
{
	RUN_OURS, RUN_PACKED, RUN_BLAS_ENTRY, RUN_OPENBLAS
};

typedef struct Shape
{
	int64_t		M,
				N,
				K;
	bool		ta,
				tb;
} Shape;

/* Best time of repeated calls of one implementation (seconds per call). */
static double
time_one(int which, const Shape *s, const float *A, const float *B, float *C,
		 const OnnxGemmPacked *pb)
{
	int64_t		lda = s->ta ? s->M : s->K,
				ldb = s->tb ? s->K : s->N;
	double		best = 1e30,
				t_end;
	int			reps = 0;

	t_end = now() + budget;
	do
	{
		double		t0 = now(),
					t;

		switch (which)
		{
			case RUN_OURS:
				onnx_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N, threads);
				break;
			case RUN_PACKED:
				onnx_sgemm_packed(s->M, s->N, s->K, 1.0f, s->ta, A, lda, NULL, false, NULL, 0, pb,
								  0.0f, C, s->N, threads);
				break;
			case RUN_BLAS_ENTRY:
				onnx_blas_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
				break;
			default:
				cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
							s->tb ? CblasTrans : CblasNoTrans, (int) s->M, (int) s->N, (int) s->K,
							1.0f, A, (int) lda, B, (int) ldb, 0.0f, C, (int) s->N);
				break;
		}
		t = now() - t0;
		if (t < best)
			best = t;
		reps++;
	} while (reps < 3 || (now() < t_end && reps < 100000));
	return best;
}

static void
bench(const Shape *s)
{
	size_t		na = (size_t) (s->M * s->K),
				nb = (size_t) (s->K * s->N),
				nc = (size_t) (s->M * s->N),
				bytes;
	float	   *A = malloc(sizeof(float) * na),
			   *B = malloc(sizeof(float) * nb),
			   *C = malloc(sizeof(float) * nc);
	void	   *buf;
	const OnnxGemmPacked *pb;
	double		flop = 2.0 * s->M * s->N * s->K,
				t[4];

	for (size_t i = 0; i < na; i++)
		A[i] = (float) ((i * 7919) % 1000) / 1000.0f - 0.5f;
	for (size_t i = 0; i < nb; i++)
		B[i] = (float) ((i * 104729) % 1000) / 1000.0f - 0.5f;
	onnx_sgemm_pack_size(ONNX_GEMM_PACK_B, s->K, s->N, &bytes);
	buf = malloc(bytes);
	pb = onnx_sgemm_pack_b(buf, bytes, s->tb, s->K, s->N, B, s->tb ? s->K : s->N);
	for (int w = 0; w < 4; w++)
		t[w] = time_one(w, s, A, B, C, pb);
	printf("| %5lld %5lld %5lld %s%s | %7.1f | %7.1f | %7.1f | %7.1f | %5.2f |\n",
		   (long long) s->M, (long long) s->N, (long long) s->K, s->ta ? "T" : "N", s->tb ? "T" : "N",
		   flop / t[RUN_OURS] * 1e-9, flop / t[RUN_PACKED] * 1e-9, flop / t[RUN_BLAS_ENTRY] * 1e-9,
		   flop / t[RUN_OPENBLAS] * 1e-9, t[RUN_OPENBLAS] / t[RUN_OURS]);
	fflush(stdout);
	free(A);
	free(B);
	free(C);
	free(buf);
}

static void
cpu_model(char *out, size_t len)
{
	FILE	   *f = fopen("/proc/cpuinfo", "r");
	char		line[512];

	snprintf(out, len, "unknown CPU");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0 && strchr(line, ':'))
		{
			snprintf(out, len, "%s", strchr(line, ':') + 2);
			out[strcspn(out, "\n")] = 0;
			break;
		}
	fclose(f);
}

int
main(int argc, char **argv)
{
	static const int64_t square[] = {64, 128, 256, 512, 1024};
	static const int64_t model_m[] = {1, 64, 1024};
	static const int64_t model_kn[][2] = {{256, 256}, {768, 768}, {768, 3072}, {3072, 768}, {4096, 4096}};
	static const int64_t conv[][3] = {	/* M (out channels), K (in x kernel), N (pixels) */
		{64, 27, 12544}, {64, 576, 3136}, {128, 1152, 3136}, {256, 2304, 784}, {512, 4608, 3136}
	};
	bool		quick = false;
	char		cpu[256];
	Shape		one = {0};

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
		{
			const char *n = argv[++i];
			OnnxGemmIsa isa = strcmp(n, "ref") == 0 ? ONNX_GEMM_ISA_REF :
			strcmp(n, "avx2") == 0 ? ONNX_GEMM_ISA_AVX2 :
			strcmp(n, "avx512") == 0 ? ONNX_GEMM_ISA_AVX512 : ONNX_GEMM_ISA_AUTO;

			if (!onnx_gemm_force_isa(isa))
			{
				fprintf(stderr, "this CPU cannot run %s\n", n);
				return 2;
			}
		}
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--quick") == 0)
		{
			quick = true;
			budget = 0.1;
		}
		else if (strcmp(argv[i], "--shape") == 0 && i + 3 < argc)
		{
			one.M = atoll(argv[++i]);
			one.N = atoll(argv[++i]);
			one.K = atoll(argv[++i]);
			if (i + 2 < argc && argv[i + 1][0] != '-')
			{
				one.ta = atoi(argv[++i]) != 0;
				one.tb = atoi(argv[++i]) != 0;
			}
		}
		else
		{
			fprintf(stderr, "usage: gemm_bench [--isa ref|avx2|avx512] [--threads N] [--quick] [--shape M N K [ta tb]]\n");
			return 2;
		}
	}
	openblas_set_num_threads(threads);
	onnx_blas_set_threads(threads);
	cpu_model(cpu, sizeof(cpu));
	printf("CPU: %s; threads %d\nOpenBLAS core: %s; our kernel: %s\nonnx_blas_sgemm uses: %s\n\n",
		   cpu, threads, openblas_get_corename(), onnx_gemm_kernel()->name, onnx_gemm_kernel_name());
	printf("GFLOP/s (best of repeated calls); ratio = OpenBLAS time / ours (above 1: ours faster)\n\n");
	printf("|     M     N     K op | ours    | packed  | entry   | OpenBLAS | ratio |\n");
	printf("|---|---|---|---|---|---|\n");
	if (one.M > 0)
	{
		bench(&one);
		return 0;
	}
	for (int i = 0; i < 5; i++)
	{
		Shape		s = {square[i], square[i], square[i], false, false};

		bench(&s);
	}
	for (int m = 0; m < 3; m++)
		for (int i = 0; i < 5; i++)
		{
			Shape		s = {model_m[m], model_kn[i][1], model_kn[i][0], false, false};

			if (quick && model_m[m] == 1024 && model_kn[i][0] * model_kn[i][1] > 1000000)
				continue;
			bench(&s);
		}
	for (int m = 1; m <= 4; m++)
	{
		Shape		s = {m, 1024, 1024, false, false},
					t = {m, 1024, 1024, false, true};

		if (m > 1)
			bench(&s);
		bench(&t);
	}
	{
		Shape		s = {64, 768, 768, false, true},
					t = {128, 128, 64, false, true},
					u = {128, 64, 128, true, false};

		bench(&s);
		bench(&t);
		bench(&u);
	}
	for (int i = 0; i < 5; i++)
	{
		Shape		s = {conv[i][0], conv[i][2], conv[i][1], false, false};

		if (quick && i == 4)
			continue;
		bench(&s);
	}
	return 0;
}
