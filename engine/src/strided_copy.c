/*-------------------------------------------------------------------------
 *
 * strided_copy.c
 *	  Block copies between strided layouts (see strided_copy.h): dims
 *	  collapsed, then an odometer over the outer dims around one inner
 *	  kernel (memcpy run, fill, blocked 2-D transpose, strided loop).
 *
 *	  No allocation; the only failure is cancellation.
 *
 *-------------------------------------------------------------------------
 */
#include "strided_copy.h"

/* Elements copied between two looks at the abort flag. */
#define COPY_CHUNK ((int64_t) 1 << 20)
/* Side of the square tiles of the 2-D transpose. */
#define TILE 16

/* n copies of the element at val, as type T. */
#define FILL_LOOP(T) \
	do { \
		T			v, \
				   *dp = dst; \
		memcpy(&v, val, sizeof(T)); \
		for (int64_t i = 0; i < n; i++) \
			dp[i] = v; \
	} while (0)

void
onnx_fill_elems(void *dst, const void *val, size_t es, int64_t n)
{
	switch (es)
	{
		case 1:
			memset(dst, *(const uint8_t *) val, (size_t) n);
			break;
		case 2:
			FILL_LOOP(uint16_t);
			break;
		case 4:
			FILL_LOOP(uint32_t);
			break;
		case 8:
			FILL_LOOP(uint64_t);
			break;
		default:
			for (int64_t i = 0; i < n; i++)
				memcpy((char *) dst + (size_t) i * es, val, es);
	}
}

/* n elements: d[i * ds] = s[i * ss] (element strides). */
#define STRIDED_LOOP(T) \
	do { \
		T		   *dp = (T *) d; \
		const T    *sp = (const T *) s; \
		if (ds == 1) \
			for (int64_t i = 0; i < n; i++) \
				dp[i] = sp[i * ss]; \
		else \
			for (int64_t i = 0; i < n; i++) \
				dp[i * ds] = sp[i * ss]; \
	} while (0)

static void
copy_run(char *d, int64_t ds, const char *s, int64_t ss, int64_t n, size_t es)
{
	if (ds == 1 && ss == 1)
	{
		memcpy(d, s, (size_t) n * es);
		return;
	}
	if (ds == 1 && ss == 0)
	{
		onnx_fill_elems(d, s, es, n);
		return;
	}
	switch (es)
	{
		case 1:
			STRIDED_LOOP(uint8_t);
			break;
		case 2:
			STRIDED_LOOP(uint16_t);
			break;
		case 4:
			STRIDED_LOOP(uint32_t);
			break;
		case 8:
			STRIDED_LOOP(uint64_t);
			break;
		default:
			for (int64_t i = 0; i < n; i++)
				memcpy(d + i * ds * (int64_t) es, s + i * ss * (int64_t) es, es);
	}
}

/*
 * 2-D transpose in TILE x TILE tiles: for j < nj, i < ni
 *	 d[j * dsj + i] = s[j + i * ssi]
 * (dst contiguous along i, src contiguous along j).
 */
#define TRANSPOSE_TILES(T) \
	do { \
		T		   *dp = (T *) d; \
		const T    *sp = (const T *) s; \
		for (int64_t jb = 0; jb < nj; jb += TILE) \
		{ \
			int64_t		je = jb + TILE < nj ? jb + TILE : nj; \
			for (int64_t ib = 0; ib < ni; ib += TILE) \
			{ \
				int64_t		ie = ib + TILE < ni ? ib + TILE : ni; \
				for (int64_t j = jb; j < je; j++) \
					for (int64_t i = ib; i < ie; i++) \
						dp[j * dsj + i] = sp[j + i * ssi]; \
			} \
		} \
	} while (0)

static void
transpose_2d(char *d, int64_t dsj, const char *s, int64_t ssi, int64_t nj, int64_t ni, size_t es)
{
	switch (es)
	{
		case 1:
			TRANSPOSE_TILES(uint8_t);
			break;
		case 2:
			TRANSPOSE_TILES(uint16_t);
			break;
		case 4:
			TRANSPOSE_TILES(uint32_t);
			break;
		case 8:
			TRANSPOSE_TILES(uint64_t);
			break;
		default:
			for (int64_t j = 0; j < nj; j++)
				copy_run(d + j * dsj * (int64_t) es, 1, s + j * (int64_t) es, ssi, ni, es);
	}
}

OnnxStatus
onnx_copy_strided(OnnxKernelCtx *ctx, size_t es, int rank, const int64_t *dims,
				  void *dst, const int64_t *dst_stride,
				  const void *src, const int64_t *src_stride)
{
	int64_t		n[ONNX_MAX_RANK],
				ds[ONNX_MAX_RANK],
				ss[ONNX_MAX_RANK],
				idx[ONNX_MAX_RANK] = {0};
	int			r = 0,
				tj = -1;
	int64_t		outer = 1,
				per,
				since = 0,
				doff = 0,
				soff = 0;
	char	   *d = dst;
	const char *s = src;

	/* collapse, innermost first: n[0] is the innermost dim */
	for (int k = rank - 1; k >= 0; k--)
	{
		if (dims[k] == 0)
			return ONNX_OK;
		if (dims[k] == 1)
			continue;
		if (r > 0 && dst_stride[k] == ds[r - 1] * n[r - 1] && src_stride[k] == ss[r - 1] * n[r - 1])
		{
			n[r - 1] *= dims[k];
			continue;
		}
		n[r] = dims[k];
		ds[r] = dst_stride[k];
		ss[r] = src_stride[k];
		r++;
	}
	if (r == 0)
	{
		memcpy(d, s, es);
		return ONNX_OK;
	}
	/* a dst-contiguous inner dim read across a src-contiguous outer one */
	if (ds[0] == 1 && ss[0] != 1 && ss[0] != 0 && n[0] >= 4)
		for (int k = 1; k < r; k++)
			if (ss[k] == 1 && n[k] >= 4)
			{
				tj = k;
				break;
			}
	per = n[0] * (tj > 0 ? n[tj] : 1);
	for (int k = 1; k < r; k++)
		if (k != tj)
			outer *= n[k];
	for (int64_t it = 0; it < outer; it++)
	{
		if (tj > 0)
			transpose_2d(d + doff * (int64_t) es, ds[tj], s + soff * (int64_t) es, ss[0], n[tj], n[0], es);
		else
			copy_run(d + doff * (int64_t) es, ds[0], s + soff * (int64_t) es, ss[0], n[0], es);
		since += per;
		if (since >= COPY_CHUNK)
		{
			since = 0;
			if (onnx_kernel_should_abort(ctx))
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		}
		/* odometer over the outer dims, innermost (k = 1) fastest */
		for (int k = 1; k < r; k++)
		{
			if (k == tj)
				continue;
			doff += ds[k];
			soff += ss[k];
			if (++idx[k] < n[k])
				break;
			doff -= ds[k] * n[k];
			soff -= ss[k] * n[k];
			idx[k] = 0;
		}
	}
	return ONNX_OK;
}
