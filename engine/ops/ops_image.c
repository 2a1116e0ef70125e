/*-------------------------------------------------------------------------
 *
 * ops_image.c
 *	  Operator family "image": Resize, Upsample and AffineGrid.  (GridSample
 *	  and RoiAlign are in ops_pool.c, Col2Im in ops_conv.c.)
 *
 * Resize is separable.  For every resized axis a table maps each output
 * position to a few source indices (clamped into the input, which is edge
 * padding) and their weights; it is built once per run from the
 * coordinate transformation mode, the scale and the interpolation kernel.
 * The output is then computed by one of three paths:
 *
 *	 nearest	one source index per axis: the output is a gather of input
 *				elements, exact for every fixed-size dtype;
 *	 plane		linear or cubic over the last one or two axes of a float
 *				tensor: each output sums taps_h x taps_w inputs directly;
 *	 separable	anything else, axis by axis through double buffers with the
 *				downsampling axes first, so that no intermediate holds more
 *				elements than max(input, output).
 *
 * Scratch (tables and intermediates) comes from the kernel allocator and
 * is bounded by the sizes of the input and of the output, the latter
 * allocated through onnx_out under the session's memory ceiling.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

/* Largest output length of one axis accepted from scales or sizes. */
#define RZ_MAX_DIM ((int64_t) 1 << 40)

typedef enum RzMode
{
	RZ_NEAREST,
	RZ_LINEAR,
	RZ_CUBIC
} RzMode;

typedef enum RzCoord
{
	RZ_HALF_PIXEL,
	RZ_HALF_PIXEL_SYMMETRIC,
	RZ_PYTORCH_HALF_PIXEL,
	RZ_ALIGN_CORNERS,
	RZ_ASYMMETRIC,
	RZ_TF_HALF_PIXEL_FOR_NN,
	RZ_TF_CROP_AND_RESIZE
} RzCoord;

typedef enum RzNearest
{
	RZ_ROUND_PREFER_FLOOR,
	RZ_ROUND_PREFER_CEIL,
	RZ_FLOOR,
	RZ_CEIL,
	RZ_SIMPLE					/* opset < 11: ceil when downsampling, else floor */
} RzNearest;

typedef enum RzAspect
{
	RZ_STRETCH,
	RZ_NOT_LARGER,
	RZ_NOT_SMALLER
} RzAspect;

/* Attributes of one Resize/Upsample node. */
typedef struct RzParams
{
	RzMode		mode;
	RzCoord		coord;
	RzNearest	nearest;
	RzAspect	aspect;
	double		cubic_a;
	double		extrapolation;
	bool		exclude_outside;
	bool		antialias;
} RzParams;

/* Geometry and interpolation table of one axis. */
typedef struct RzAxis
{
	int64_t		in;
	int64_t		out;
	double		scale;
	double		len;			/* length_resized as a real (scale * in) */
	double		roi_lo;
	double		roi_hi;
	bool		roi_f32;		/* roi was float: roi_lo * (in - 1) rounds to float */
	bool		resized;		/* false: identity, no table */
	int			taps;
	int64_t    *idx;			/* (out, taps) source indices in [0, in) */
	double	   *w;				/* (out, taps) weights */
	float	   *wf;				/* (out, taps) the same as float */
	uint8_t    *extrap;			/* (out) 1 where outside the crop */
	void	   *mem;			/* one allocation holding the arrays */
} RzAxis;

/* ---- attributes ---- */

/* Map name to its position in names (NULL-terminated), -1 if absent. */
static int
rz_lookup(const char *name, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

/*
 * Read the attributes of a Resize (opset >= 11) node into p; opset 10
 * Resize and Upsample use asymmetric coordinates and "simple" nearest
 * rounding.  Returns NULL or a message naming the bad attribute.
 */
static const char *
rz_parse(const OnnxNode *node, bool legacy, RzParams *p)
{
	static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear", NULL};
	static const char *const coords[] = {"half_pixel", "half_pixel_symmetric",
		"pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
	"tf_crop_and_resize", NULL};
	static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil",
	"floor", "ceil", NULL};
	static const char *const aspects[] = {"stretch", "not_larger", "not_smaller", NULL};
	int			m,
				c,
				n,
				a;

	memset(p, 0, sizeof(*p));
	m = rz_lookup(onnx_attr_string(node, "mode", "nearest"), modes);
	if (m < 0 || (legacy && m == RZ_CUBIC))
		return "mode must be \"nearest\", \"linear\" or \"cubic\" (\"nearest\" or \"linear\" before opset 11)";
	p->mode = m == 3 ? RZ_LINEAR : (RzMode) m;
	if (legacy)
	{
		p->coord = RZ_ASYMMETRIC;
		p->nearest = RZ_SIMPLE;
		return NULL;
	}
	c = rz_lookup(onnx_attr_string(node, "coordinate_transformation_mode", "half_pixel"), coords);
	if (c < 0)
		return "unknown coordinate_transformation_mode";
	n = rz_lookup(onnx_attr_string(node, "nearest_mode", "round_prefer_floor"), nearests);
	if (n < 0)
		return "unknown nearest_mode";
	a = rz_lookup(onnx_attr_string(node, "keep_aspect_ratio_policy", "stretch"), aspects);
	if (a < 0)
		return "keep_aspect_ratio_policy must be \"stretch\", \"not_larger\" or \"not_smaller\"";
	p->coord = (RzCoord) c;
	p->nearest = (RzNearest) n;
	p->aspect = (RzAspect) a;
	p->cubic_a = onnx_attr_float(node, "cubic_coeff_a", -0.75f);
	p->extrapolation = onnx_attr_float(node, "extrapolation_value", 0.0f);
	p->exclude_outside = onnx_attr_int(node, "exclude_outside", 0) != 0;
	p->antialias = onnx_attr_int(node, "antialias", 0) != 0;
	if (p->antialias && p->mode == RZ_NEAREST)
		return "antialias applies to the linear and cubic modes only";
	return NULL;
}

/* Load-time check of the attributes of Resize / Upsample. */
static OnnxStatus
check_resize(const OnnxNode *node, OnnxError *err)
{
	RzParams	p;
	bool		legacy = strcmp(node->op_type, "Upsample") == 0 || node->opset < 11;
	const char *msg = rz_parse(node, legacy, &p);

	if (msg)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "%s: %s", node->op_type, msg);
	return ONNX_OK;
}

/* ---- per-axis tables ---- */

/* Source coordinate of output position y along axis a. */
static double
rz_source_coord(const RzParams *p, const RzAxis *a, int64_t y)
{
	double		yd = (double) y,
				in = (double) a->in;

	switch (p->coord)
	{
		case RZ_HALF_PIXEL:
			return (yd + 0.5) / a->scale - 0.5;
		case RZ_HALF_PIXEL_SYMMETRIC:
			{
				double		adjustment = (double) a->out / a->len;
				double		offset = in / 2.0 * (1.0 - adjustment);

				return offset + (yd + 0.5) / a->scale - 0.5;
			}
		case RZ_PYTORCH_HALF_PIXEL:
			return a->len > 1 ? (yd + 0.5) / a->scale - 0.5 : 0.0;
		case RZ_ALIGN_CORNERS:
			return a->len == 1 ? 0.0 : yd * (in - 1) / (a->len - 1);
		case RZ_ASYMMETRIC:
			return yd / a->scale;
		case RZ_TF_HALF_PIXEL_FOR_NN:
			return (yd + 0.5) / a->scale;
		case RZ_TF_CROP_AND_RESIZE:
			{
				/* the start offset in the roi's precision, as the reference does */
				double		start = a->roi_f32 ? (double) (float) (a->roi_lo * (in - 1))
				: a->roi_lo * (in - 1);

				if (a->len == 1)
					return (a->roi_hi - a->roi_lo) * (in - 1) / 2 + start;
				return yd * (a->roi_hi - a->roi_lo) * (in - 1) / (a->len - 1) + start;
			}
	}
	return 0.0;
}

/* Nearest source index of coordinate x (finite, in a sane range). */
static int64_t
rz_nearest_index(const RzParams *p, const RzAxis *a, double x)
{
	double		f = floor(x),
				r = x - f;

	if (r == 0)
		return (int64_t) f;
	switch (p->nearest)
	{
		case RZ_ROUND_PREFER_FLOOR:
			return (int64_t) f + (r > 0.5);
		case RZ_ROUND_PREFER_CEIL:
			return (int64_t) f + (r >= 0.5);
		case RZ_FLOOR:
			return (int64_t) f;
		case RZ_CEIL:
			return (int64_t) f + 1;
		case RZ_SIMPLE:
			return a->scale < 1 ? (int64_t) ceil(x) : (int64_t) trunc(x);
	}
	return (int64_t) f;
}

/* Interpolation kernel at distance t >= 0: triangle or Keys cubic. */
static double
rz_kernel(const RzParams *p, double t)
{
	double		A = p->cubic_a;

	if (p->mode == RZ_LINEAR)
		return t < 1 ? 1 - t : 0;
	if (t <= 1)
		return ((A + 2) * t - (A + 3)) * t * t + 1;
	if (t < 2)
		return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
	return 0;
}

static int64_t
rz_clamp(int64_t i, int64_t n)
{
	return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/*
 * Build a's table: for output position y the taps source indices
 * idx[y*taps + k], clamped into [0, in), with weights w; taps start at
 * floor(x) + lo.  Antialiasing widens the kernel by 1/scale when
 * downsampling (and normalises the weights).
 */
static OnnxStatus
rz_build_axis(OnnxKernelCtx *ctx, const RzParams *p, RzAxis *a)
{
	double		s = p->antialias && a->scale < 1 ? a->scale : 1.0;
	double		radius = p->mode == RZ_CUBIC ? 2.0 : 1.0;
	int64_t		lo = 0,
				taps = 1;
	size_t		n,
				bytes;
	char	   *m;

	if (p->mode != RZ_NEAREST)
	{
		double		flo = floor(-radius / s) + 1;

		/* out >= 1 implies scale * in >= 1/2, so the window stays below 8*in */
		if (!(flo >= -8.0 * (double) a->in - 8))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Resize scale %g is too small for an axis of length %lld",
									a->scale, (long long) a->in);
		lo = (int64_t) flo;
		taps = 2 - 2 * lo;
	}
	if (onnx_mul_overflow_size((size_t) a->out, (size_t) taps, &n) ||
		onnx_mul_overflow_size(n, sizeof(int64_t) + sizeof(double) + sizeof(float), &bytes) ||
		bytes > SIZE_MAX - (size_t) a->out - 64)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Resize table size overflows");
	if ((a->mem = onnx_kernel_scratch(ctx, bytes + (size_t) a->out + 64, 1)) == NULL)
		return ctx->err->status;
	m = a->mem;
	a->idx = (int64_t *) m;
	a->w = (double *) (m + n * sizeof(int64_t));
	a->wf = (float *) (m + n * (sizeof(int64_t) + sizeof(double)));
	a->extrap = (uint8_t *) (m + bytes);
	a->taps = (int) taps;
	for (int64_t y = 0; y < a->out; y++)
	{
		double		x = rz_source_coord(p, a, y);
		int64_t    *idx = a->idx + y * taps;
		double	   *w = a->w + y * taps;
		double		sum = 0;

		a->extrap[y] = p->coord == RZ_TF_CROP_AND_RESIZE &&
			!(x >= 0 && x <= (double) (a->in - 1));
		if (!(x >= -1e15 && x <= 1e15))
			x = x > 0 ? 1e15 : -1e15;	/* NaN too: far outside, clamped */
		if (p->mode == RZ_NEAREST)
		{
			idx[0] = rz_clamp(rz_nearest_index(p, a, x), a->in);
			w[0] = 1;
		}
		else
		{
			double		base = floor(x),
						r = x - base;

			for (int64_t k = 0; k < taps; k++)
			{
				int64_t		src = (int64_t) base + lo + k;
				double		wk = rz_kernel(p, fabs(((double) (lo + k) - r) * s));

				if (p->exclude_outside && (src < 0 || src >= a->in))
					wk = 0;
				idx[k] = rz_clamp(src, a->in);
				w[k] = wk;
				sum += wk;
			}
			if ((p->antialias || p->exclude_outside) && sum != 0)
				for (int64_t k = 0; k < taps; k++)
					w[k] /= sum;
		}
		for (int64_t k = 0; k < taps; k++)
			a->wf[y * taps + k] = (float) w[k];
	}
	return ONNX_OK;
}

/* Identity table (one tap, weight 1) for an axis that is not resized. */
static OnnxStatus
rz_identity_axis(OnnxKernelCtx *ctx, RzAxis *a)
{
	RzParams	p;

	memset(&p, 0, sizeof(p));
	p.mode = RZ_NEAREST;
	p.coord = RZ_ASYMMETRIC;
	a->scale = 1;
	a->len = (double) a->in;
	return rz_build_axis(ctx, &p, a);
}

/* ---- element stores ---- */

/* Store v at element i, rounding and saturating for integer dtypes. */
static void
rz_store(OnnxTensor *t, int64_t i, double v)
{
	double		lo,
				hi;

	switch (t->dtype)
	{
		case ONNX_DTYPE_INT8:
			lo = INT8_MIN, hi = INT8_MAX;
			break;
		case ONNX_DTYPE_UINT8:
			lo = 0, hi = UINT8_MAX;
			break;
		case ONNX_DTYPE_INT16:
			lo = INT16_MIN, hi = INT16_MAX;
			break;
		case ONNX_DTYPE_UINT16:
			lo = 0, hi = UINT16_MAX;
			break;
		case ONNX_DTYPE_INT32:
			lo = INT32_MIN, hi = INT32_MAX;
			break;
		case ONNX_DTYPE_UINT32:
			lo = 0, hi = UINT32_MAX;
			break;
		case ONNX_DTYPE_INT64:
		case ONNX_DTYPE_UINT64:
			lo = t->dtype == ONNX_DTYPE_INT64 ? -9223372036854775808.0 : 0;
			hi = 9223372036854774784.0;
			break;
		default:
			onnx_tensor_set_f64(t, i, v);
			return;
	}
	v = isnan(v) ? 0 : nearbyint(v);
	onnx_tensor_set_i64(t, i, (int64_t) (v < lo ? lo : v > hi ? hi : v));
}

/* ---- nearest: gather ---- */

/* Gather one output row: d[k] = s[idx[k]] for elements of type T. */
#define RZ_GATHER_ROW(T, d, s, idx, n) \
	do { \
		T		   *d_ = (T *) (d); \
		const T    *s_ = (const T *) (s); \
		for (int64_t k_ = 0; k_ < (n); k_++) \
			d_[k_] = s_[(idx)[k_]]; \
	} while (0)

/*
 * Integer upsampling of one row: d[k * f + j] = s[k] for k < n, j < f
 * (each element repeated f times), elements of type T.
 */
#define RZ_REPEAT_ROW(T, d, s, n, f) \
	do { \
		T		   *d_ = (T *) (d); \
		const T    *s_ = (const T *) (s); \
		if ((f) == 2) \
			for (int64_t k_ = 0; k_ < (n); k_++) \
			{ \
				d_[2 * k_] = s_[k_]; \
				d_[2 * k_ + 1] = s_[k_]; \
			} \
		else \
			for (int64_t k_ = 0; k_ < (n); k_++) \
				for (int64_t j_ = 0; j_ < (f); j_++) \
					d_[k_ * (f) + j_] = s_[k_]; \
	} while (0)

/*
 * The factor f when the last axis's table repeats each input element f
 * times in order (idx[k] = k / f, out = in * f: nearest upsampling by an
 * integer), else 0.
 */
static int64_t
rz_repeat_factor(const RzAxis *a)
{
	int64_t		f;

	if (a->in <= 0 || a->out % a->in != 0 || a->taps != 1)
		return 0;
	f = a->out / a->in;
	for (int64_t k = 0; k < a->out; k++)
		if (a->idx[k] != k / f)
			return 0;
	return f;
}

/*
 * X (d0..dr-1) -> Y (o0..or-1), Y[o] = X[idx0[o0], ..., idx_r-1[o_r-1]];
 * elements outside a tf_crop_and_resize crop take the extrapolation value.
 * A row whose source row equals the previous one is copied from it.
 */
static OnnxStatus
rz_run_nearest(OnnxKernelCtx *ctx, const RzParams *p, RzAxis *ax,
			   const OnnxTensor *x, OnnxTensor *y)
{
	int			r = x->rank;
	size_t		esz = onnx_dtype_size(x->dtype);
	int64_t		stride[ONNX_MAX_RANK],
				o[ONNX_MAX_RANK] = {0},
				last_out = ax[r - 1].out,
				rows = y->count / last_out,
				prev_base = -1;
	bool		crop = p->coord == RZ_TF_CROP_AND_RESIZE;
	const char *src = x->data;
	char	   *dst = y->data;
	const int64_t *li = ax[r - 1].idx;
	const uint8_t *le = ax[r - 1].extrap;
	int64_t		rep = crop ? 0 : rz_repeat_factor(&ax[r - 1]);

	stride[r - 1] = 1;
	for (int i = r - 2; i >= 0; i--)
		stride[i] = stride[i + 1] * x->dims[i + 1];
	for (int64_t row = 0; row < rows; row++)
	{
		int64_t		base = 0,
					pos = row * last_out;
		bool		outside = false;
		char	   *d = dst + (size_t) pos * esz;

		if ((row & 1023) == 1023 && onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		for (int i = 0; i < r - 1; i++)
		{
			base += ax[i].idx[o[i]] * stride[i];
			outside |= ax[i].extrap[o[i]] != 0;
		}
		if (crop)
		{
			for (int64_t k = 0; k < last_out; k++)
			{
				if (outside || le[k])
					rz_store(y, pos + k, p->extrapolation);
				else
					memcpy(d + (size_t) k * esz, src + (size_t) (base + li[k]) * esz, esz);
			}
		}
		else if (base == prev_base)
			memcpy(d, d - (size_t) last_out * esz, (size_t) last_out * esz);
		else if (rep > 0 && (esz == 1 || esz == 2 || esz == 4 || esz == 8))
		{
			const char *s = src + (size_t) base * esz;
			int64_t		n = ax[r - 1].in;

			if (esz == 4)
				RZ_REPEAT_ROW(uint32_t, d, s, n, rep);
			else if (esz == 8)
				RZ_REPEAT_ROW(uint64_t, d, s, n, rep);
			else if (esz == 2)
				RZ_REPEAT_ROW(uint16_t, d, s, n, rep);
			else
				RZ_REPEAT_ROW(uint8_t, d, s, n, rep);
		}
		else
		{
			const char *s = src + (size_t) base * esz;

			switch (esz)
			{
				case 1:
					RZ_GATHER_ROW(uint8_t, d, s, li, last_out);
					break;
				case 2:
					RZ_GATHER_ROW(uint16_t, d, s, li, last_out);
					break;
				case 4:
					RZ_GATHER_ROW(uint32_t, d, s, li, last_out);
					break;
				case 8:
					RZ_GATHER_ROW(uint64_t, d, s, li, last_out);
					break;
				default:
					for (int64_t k = 0; k < last_out; k++)
						memcpy(d + (size_t) k * esz, s + (size_t) li[k] * esz, esz);
					break;
			}
		}
		prev_base = base;
		for (int i = r - 2; i >= 0; i--)
		{
			if (++o[i] < ax[i].out)
				break;
			o[i] = 0;
		}
	}
	return ONNX_OK;
}

/* ---- plane: float linear/cubic over the last two axes ---- */

/*
 * Along rows: src (R, W) -> dst (R, oW), dst[r][ox] = sum_k w[ox][k] *
 * src[r][idx[ox][k]].
 */
static void
rz_plane_rows(const RzAxis *aw, const float *src, float *dst, int64_t R)
{
	int			tw = aw->taps;
	int64_t		W = aw->in,
				oW = aw->out;

	for (int64_t r = 0; r < R; r++)
	{
		const float *s = src + r * W;
		float	   *d = dst + r * oW;

		if (tw == 2)
			for (int64_t ox = 0; ox < oW; ox++)
			{
				const int64_t *iw = aw->idx + ox * 2;
				const float *ww = aw->wf + ox * 2;

				d[ox] = ww[0] * s[iw[0]] + ww[1] * s[iw[1]];
			}
		else
			for (int64_t ox = 0; ox < oW; ox++)
			{
				const int64_t *iw = aw->idx + ox * tw;
				const float *ww = aw->wf + ox * tw;
				float		acc = 0;

				for (int k = 0; k < tw; k++)
					acc += ww[k] * s[iw[k]];
				d[ox] = acc;
			}
	}
}

/*
 * Along columns: src (H, L) -> dst (oH, L), dst[oy] = sum_k w[oy][k] *
 * src[idx[oy][k]] (whole rows, contiguous).
 */
static void
rz_plane_cols(const RzAxis *ah, const float *src, float *dst, int64_t L)
{
	int			th = ah->taps;

	for (int64_t oy = 0; oy < ah->out; oy++)
	{
		const int64_t *ih = ah->idx + oy * th;
		const float *wh = ah->wf + oy * th;
		float	   *d = dst + oy * L;

		if (th == 1)
			memcpy(d, src + ih[0] * L, sizeof(float) * L);
		else if (th == 2)
		{
			const float *s0 = src + ih[0] * L,
					   *s1 = src + ih[1] * L;
			float		w0 = wh[0],
						w1 = wh[1];

			for (int64_t i = 0; i < L; i++)
				d[i] = w0 * s0[i] + w1 * s1[i];
		}
		else
		{
			for (int64_t i = 0; i < L; i++)
				d[i] = 0;
			for (int k = 0; k < th; k++)
			{
				const float *sk = src + ih[k] * L;
				float		wk = wh[k];

				for (int64_t i = 0; i < L; i++)
					d[i] += wk * sk[i];
			}
		}
	}
}

/*
 * X (P, H, W) float -> Y (P, oH, oW), per plane in two passes through a
 * scratch plane: rows then columns when H * oW <= oH * W, else columns
 * then rows (the scratch is at most max(H * W, oH * oW) floats).  Either
 * axis may be the identity; outputs outside the crop take the
 * extrapolation value.
 */
static OnnxStatus
rz_run_plane(OnnxKernelCtx *ctx, const RzParams *p, const RzAxis *ah,
			 const RzAxis *aw, const float *x, float *y, int64_t planes)
{
	int64_t		H = ah->in,
				W = aw->in,
				oH = ah->out,
				oW = aw->out;
	int64_t		n_rows_first,
				n_cols_first;
	bool		ovf_rows = onnx_mul_overflow_i64(H, oW, &n_rows_first),
				ovf_cols = onnx_mul_overflow_i64(oH, W, &n_cols_first);
	bool		rows_first = !ovf_rows && (ovf_cols || n_rows_first <= n_cols_first);
	float		ev = (float) p->extrapolation;
	float	   *tmp;

	/* the smaller of the two fits: it is at most max(H * W, oH * oW) */
	if ((tmp = onnx_kernel_scratch(ctx, (size_t) (rows_first ? n_rows_first : n_cols_first),
								   sizeof(float))) == NULL)
		return ctx->err->status;
	for (int64_t pl = 0; pl < planes; pl++)
	{
		const float *xp = x + pl * H * W;
		float	   *yp = y + pl * oH * oW;

		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		if (rows_first)
		{
			rz_plane_rows(aw, xp, tmp, H);
			rz_plane_cols(ah, tmp, yp, oW);
		}
		else
		{
			rz_plane_cols(ah, xp, tmp, W);
			rz_plane_rows(aw, tmp, yp, oH);
		}
		if (p->coord == RZ_TF_CROP_AND_RESIZE)
			for (int64_t oy = 0; oy < oH; oy++)
				for (int64_t ox = 0; ox < oW; ox++)
					if (ah->extrap[oy] || aw->extrap[ox])
						yp[oy * oW + ox] = ev;
	}
	return ONNX_OK;
}

/* ---- separable: axis by axis in double ---- */

/*
 * src (outer, in, inner) -> dst (outer, out, inner) along one axis with
 * its table; rows outside the crop take the extrapolation value.
 */
static void
rz_pass(const RzParams *p, const RzAxis *a, const double *src, double *dst,
		int64_t outer, int64_t inner)
{
	int			taps = a->taps;

	for (int64_t o = 0; o < outer; o++)
	{
		const double *s = src + o * a->in * inner;

		for (int64_t j = 0; j < a->out; j++)
		{
			double	   *d = dst + (o * a->out + j) * inner;
			const int64_t *idx = a->idx + j * taps;
			const double *w = a->w + j * taps;

			if (a->extrap[j])
			{
				for (int64_t i = 0; i < inner; i++)
					d[i] = p->extrapolation;
				continue;
			}
			for (int64_t i = 0; i < inner; i++)
				d[i] = 0;
			for (int k = 0; k < taps; k++)
			{
				const double *sk = s + idx[k] * inner;
				double		wk = w[k];

				if (wk == 0)
					continue;
				for (int64_t i = 0; i < inner; i++)
					d[i] += wk * sk[i];
			}
		}
	}
}

/*
 * X -> Y through double buffers, one pass per resized axis, downsampling
 * axes first (every intermediate is at most max(|X|, |Y|) elements).
 */
static OnnxStatus
rz_run_separable(OnnxKernelCtx *ctx, const RzParams *p, const RzAxis *ax,
				 const OnnxTensor *x, OnnxTensor *y)
{
	int			r = x->rank;
	int64_t		cur[ONNX_MAX_RANK],
				count = x->count;
	double	   *buf;

	if ((buf = onnx_kernel_alloc(ctx, (size_t) count * sizeof(double))) == NULL)
		return ctx->err->status;
	if (x->dtype == ONNX_DTYPE_FLOAT)
		for (int64_t i = 0; i < count; i++)
			buf[i] = ((const float *) x->data)[i];
	else
		for (int64_t i = 0; i < count; i++)
			buf[i] = onnx_tensor_get_f64(x, i);
	memcpy(cur, x->dims, sizeof(int64_t) * r);
	for (int phase = 0; phase < 2; phase++)
	{
		for (int i = 0; i < r; i++)
		{
			const RzAxis *a = &ax[i];
			int64_t		outer = 1,
						inner = 1,
						ncount;
			double	   *nb;

			if (!a->resized || (phase == 0) != (a->out < a->in))
				continue;
			if (onnx_kernel_should_abort(ctx))
			{
				onnx_kernel_free(ctx, buf);
				return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
			}
			for (int j = 0; j < i; j++)
				outer *= cur[j];
			for (int j = i + 1; j < r; j++)
				inner *= cur[j];
			ncount = outer * a->out * inner;	/* <= max(|X|, |Y|) */
			if ((nb = onnx_kernel_alloc(ctx, (size_t) ncount * sizeof(double))) == NULL)
			{
				onnx_kernel_free(ctx, buf);
				return ctx->err->status;
			}
			rz_pass(p, a, buf, nb, outer, inner);
			onnx_kernel_free(ctx, buf);
			buf = nb;
			cur[i] = a->out;
		}
	}
	if (y->dtype == ONNX_DTYPE_FLOAT)
		for (int64_t i = 0; i < y->count; i++)
			((float *) y->data)[i] = (float) buf[i];
	else
		for (int64_t i = 0; i < y->count; i++)
			rz_store(y, i, buf[i]);
	onnx_kernel_free(ctx, buf);
	return ONNX_OK;
}

/* ---- Resize driver ---- */

/* Inputs of one Resize call, already located (NULL: absent or empty). */
typedef struct RzInputs
{
	const OnnxTensor *x;
	const OnnxTensor *roi;
	const OnnxTensor *scales;
	const OnnxTensor *sizes;
	const float *scale_attr;	/* Upsample-7 */
	int			n_scale_attr;
} RzInputs;

/*
 * Fill ax[].in/out/scale/len/roi from scales or sizes over the given
 * axes (the others keep their length), with keep_aspect_ratio_policy.
 */
static OnnxStatus
rz_geometry(OnnxKernelCtx *ctx, const RzParams *p, const RzInputs *in,
			int n_axes, const int *axes, RzAxis *ax)
{
	const OnnxTensor *x = in->x;
	int64_t		nscale = in->scales ? in->scales->count : in->n_scale_attr;

	for (int i = 0; i < x->rank; i++)
	{
		ax[i].in = ax[i].out = x->dims[i];
		ax[i].scale = 1;
		ax[i].len = (double) x->dims[i];
		ax[i].roi_lo = 0;
		ax[i].roi_hi = 1;
	}
	if (in->sizes)
	{
		double		keep = p->aspect == RZ_NOT_LARGER ? INFINITY : 0;

		if (in->sizes->count != n_axes || in->sizes->dtype != ONNX_DTYPE_INT64)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Resize sizes must be int64 with %d values (one per resized axis), got %lld",
									n_axes, (long long) in->sizes->count);
		for (int k = 0; k < n_axes; k++)
		{
			RzAxis	   *a = &ax[axes[k]];
			int64_t		s = ((const int64_t *) in->sizes->data)[k];

			if (s < 0 || s > RZ_MAX_DIM)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"Resize size %lld is out of range", (long long) s);
			if (a->in == 0 && s > 0)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"Resize cannot enlarge an empty axis");
			a->out = s;
			a->scale = a->in > 0 ? (double) s / (double) a->in : 1;
			a->len = (double) s;
			if (p->aspect == RZ_NOT_LARGER && a->in > 0)
				keep = fmin(keep, a->scale);
			else if (p->aspect == RZ_NOT_SMALLER && a->in > 0)
				keep = fmax(keep, a->scale);
		}
		if (p->aspect != RZ_STRETCH && isfinite(keep) && keep > 0)
			for (int k = 0; k < n_axes; k++)
			{
				RzAxis	   *a = &ax[axes[k]];
				double		o = keep * (double) a->in + 0.5;

				if (!(o < (double) RZ_MAX_DIM))
					return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
											"Resize output length is out of range");
				a->scale = keep;
				a->out = (int64_t) o;
				a->len = keep * (double) a->in;
			}
	}
	else
	{
		if (nscale != n_axes)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Resize needs %d scales (one per resized axis) or sizes, got %lld scales",
									n_axes, (long long) nscale);
		if (in->scales && !onnx_dtype_is_float(in->scales->dtype))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Resize scales must be float");
		for (int k = 0; k < n_axes; k++)
		{
			RzAxis	   *a = &ax[axes[k]];
			double		s = in->scales ? (double) (float) onnx_tensor_get_f64(in->scales, k)
				: (double) in->scale_attr[k];
			double		o = s * (double) a->in;

			if (!(s > 0) || !(o < (double) RZ_MAX_DIM))
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
										"Resize scale %g is not positive or gives an axis that is too long", s);
			a->scale = s;
			a->out = (int64_t) floor(o);
			a->len = o;
		}
	}
	if (p->coord == RZ_TF_CROP_AND_RESIZE)
	{
		if (in->roi == NULL || in->roi->count != 2 * n_axes || !onnx_dtype_is_float(in->roi->dtype))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"tf_crop_and_resize needs a float roi of %d values (starts, then ends)",
									2 * n_axes);
		for (int k = 0; k < n_axes; k++)
		{
			ax[axes[k]].roi_lo = onnx_tensor_get_f64(in->roi, k);
			ax[axes[k]].roi_hi = onnx_tensor_get_f64(in->roi, n_axes + k);
			ax[axes[k]].roi_f32 = in->roi->dtype != ONNX_DTYPE_DOUBLE;
		}
	}
	for (int i = 0; i < x->rank; i++)
		ax[i].resized = !(ax[i].scale == 1 && ax[i].out == ax[i].in &&
						  ax[i].roi_lo == 0 && ax[i].roi_hi == 1);
	return ONNX_OK;
}

/*
 * X (d0..dr-1) -> Y (o0..or-1): resolve the geometry, allocate Y, build
 * the tables and run the path that fits (see the file header).
 */
static OnnxStatus
rz_execute(OnnxKernelCtx *ctx, const RzParams *p, const RzInputs *in,
		   int n_axes, const int *axes)
{
	const OnnxTensor *x = in->x;
	RzAxis		ax[ONNX_MAX_RANK];
	int64_t		dims[ONNX_MAX_RANK];
	int			r = x->rank,
				first_resized = r;
	OnnxTensor *y;
	OnnxStatus	st = ONNX_OK;

	memset(ax, 0, sizeof(ax));
	if ((st = rz_geometry(ctx, p, in, n_axes, axes, ax)) != ONNX_OK)
		return st;
	for (int i = 0; i < r; i++)
	{
		dims[i] = ax[i].out;
		if (ax[i].resized && first_resized == r)
			first_resized = i;
	}
	/* every path below writes every element */
	if ((y = onnx_out_raw(ctx, 0, x->dtype, r, dims)) == NULL)
		return ctx->err->status;
	if (y->count == 0)
		return ONNX_OK;
	if (first_resized == r)
	{
		memcpy(y->data, x->data, x->nbytes);
		return ONNX_OK;
	}
	for (int i = 0; i < r && st == ONNX_OK; i++)
	{
		if (ax[i].resized)
			st = rz_build_axis(ctx, p, &ax[i]);
		else if (p->mode == RZ_NEAREST || (i >= r - 2 && x->dtype == ONNX_DTYPE_FLOAT))
			st = rz_identity_axis(ctx, &ax[i]);
	}
	if (st == ONNX_OK)
	{
		if (p->mode == RZ_NEAREST)
			st = rz_run_nearest(ctx, p, ax, x, y);
		else if (x->dtype == ONNX_DTYPE_FLOAT && first_resized >= r - 2)
		{
			RzAxis		unit = {.in = 1, .out = 1, .scale = 1, .len = 1, .roi_hi = 1, .taps = 1};
			int64_t		zero = 0;
			float		one = 1;
			uint8_t		no = 0;
			const RzAxis *ah = r >= 2 ? &ax[r - 2] : &unit;

			unit.idx = &zero;
			unit.wf = &one;
			unit.extrap = &no;
			st = rz_run_plane(ctx, p, ah, &ax[r - 1], x->data, y->data,
							  x->count / (ah->in * ax[r - 1].in));
		}
		else
			st = rz_run_separable(ctx, p, ax, x, y);
	}
	return st;
}

/* Tensor input i, NULL when absent or empty. */
static const OnnxTensor *
rz_optional(OnnxKernelCtx *ctx, int i)
{
	const OnnxTensor *t = i < ctx->n_inputs ? onnx_in(ctx, i) : NULL;

	return t && t->count > 0 ? t : NULL;
}

/* Check X's dtype against the mode; nearest copies any fixed-size type. */
static OnnxStatus
rz_check_input(OnnxKernelCtx *ctx, const RzParams *p, const OnnxTensor *x)
{
	if (x == NULL || x->rank < 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s expects a tensor X of rank >= 1", ctx->node->op_type);
	if (x->dtype == ONNX_DTYPE_STRING || onnx_dtype_size(x->dtype) == 0 ||
		(p->mode != RZ_NEAREST &&
		 !(ONNX_T(x->dtype) & (ONNX_TS_NUMERIC & ~ONNX_T(ONNX_DTYPE_BOOL)))))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED,
								"%s does not support %s input in this mode",
								ctx->node->op_type, onnx_dtype_name(x->dtype));
	return ONNX_OK;
}

/*
 * Resize-10: X, scales.  Resize-11/13: X, roi, scales, sizes.
 * Resize-18/19 add antialias, axes and keep_aspect_ratio_policy.
 */
static OnnxStatus
run_resize(OnnxKernelCtx *ctx)
{
	RzParams	p;
	RzInputs	in;
	int			axes[ONNX_MAX_RANK],
				n_axes;
	const int64_t *attr_axes;
	const char *msg;
	OnnxStatus	st;
	bool		legacy = ctx->opset < 11;

	if ((msg = rz_parse(ctx->node, legacy, &p)) != NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s", msg);
	memset(&in, 0, sizeof(in));
	in.x = onnx_in(ctx, 0);
	if ((st = rz_check_input(ctx, &p, in.x)) != ONNX_OK)
		return st;
	if (legacy)
		in.scales = rz_optional(ctx, 1);
	else
	{
		in.roi = rz_optional(ctx, 1);
		in.scales = rz_optional(ctx, 2);
		in.sizes = rz_optional(ctx, 3);
		if (in.scales && in.sizes)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"Resize takes scales or sizes, not both");
	}
	if (in.scales == NULL && in.sizes == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"Resize needs non-empty scales or sizes");
	n_axes = ctx->opset >= 18 ? onnx_attr_ints(ctx->node, "axes", &attr_axes) : 0;
	if (n_axes > in.x->rank)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Resize has more axes than X has dimensions");
	for (int k = 0; k < n_axes; k++)
	{
		if (!onnx_norm_axis(attr_axes[k], in.x->rank, &axes[k]))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Resize axis %lld is out of range",
									(long long) attr_axes[k]);
		for (int j = 0; j < k; j++)
			if (axes[j] == axes[k])
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Resize axes repeat %d", axes[k]);
	}
	if (n_axes == 0)
	{
		n_axes = in.x->rank;
		for (int k = 0; k < n_axes; k++)
			axes[k] = k;
	}
	return rz_execute(ctx, &p, &in, n_axes, axes);
}

/* Upsample-7: scales attribute; Upsample-9: scales input (asymmetric). */
static OnnxStatus
run_upsample(OnnxKernelCtx *ctx)
{
	RzParams	p;
	RzInputs	in;
	int			axes[ONNX_MAX_RANK];
	const char *msg;
	OnnxStatus	st;

	if ((msg = rz_parse(ctx->node, true, &p)) != NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s", msg);
	memset(&in, 0, sizeof(in));
	in.x = onnx_in(ctx, 0);
	if ((st = rz_check_input(ctx, &p, in.x)) != ONNX_OK)
		return st;
	if (ctx->opset >= 9)
	{
		if ((in.scales = rz_optional(ctx, 1)) == NULL)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Upsample needs a non-empty scales input");
	}
	else if ((in.n_scale_attr = onnx_attr_floats(ctx->node, "scales", &in.scale_attr)) == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Upsample needs the scales attribute");
	for (int k = 0; k < in.x->rank; k++)
		axes[k] = k;
	return rz_execute(ctx, &p, &in, in.x->rank, axes);
}

/* ---- AffineGrid ---- */

/* Normalised coordinate of pixel i of n in [-1, 1]. */
static double
ag_coord(int64_t i, int64_t n, bool align)
{
	if (align)
		return n > 1 ? -1.0 + 2.0 * (double) i / (double) (n - 1) : -1.0;
	return -1.0 + (2.0 * (double) i + 1.0) / (double) n;
}

/*
 * AffineGrid: theta (N, 2, 3), size (N, C, H, W) -> grid (N, H, W, 2), or
 * theta (N, 3, 4), size (N, C, D, H, W) -> grid (N, D, H, W, 3); each grid
 * point is theta[n] @ (x, y[, z], 1) with x along W, y along H, z along D.
 */
static OnnxStatus
run_affine_grid(OnnxKernelCtx *ctx)
{
	const OnnxTensor *theta = onnx_in(ctx, 0);
	const OnnxTensor *size = onnx_in(ctx, 1);
	bool		align = onnx_attr_int(ctx->node, "align_corners", 0) != 0;
	int64_t		dims[5],
				sp[3] = {1, 1, 1},
				N;
	int			nd;
	OnnxTensor *y;
	int64_t		pos = 0;

	if (theta == NULL || size == NULL || size->rank != 1 || size->dtype != ONNX_DTYPE_INT64 ||
		(size->count != 4 && size->count != 5))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"AffineGrid expects theta and an int64 size (N, C, H, W) or (N, C, D, H, W)");
	nd = (int) size->count - 2;
	if (theta->rank != 3 || theta->dims[1] != nd || theta->dims[2] != nd + 1)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"AffineGrid expects theta (N, %d, %d) for a %d-D size", nd, nd + 1, nd);
	N = theta->dims[0];
	dims[0] = N;
	for (int i = 0; i < nd; i++)
	{
		int64_t		d = ((const int64_t *) size->data)[2 + i];

		if (d < 0 || d > RZ_MAX_DIM)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
									"AffineGrid size %lld is out of range", (long long) d);
		dims[1 + i] = d;
		sp[3 - nd + i] = d;
	}
	dims[1 + nd] = nd;
	if ((y = onnx_out(ctx, 0, theta->dtype, nd + 2, dims)) == NULL)
		return ctx->err->status;
	for (int64_t n = 0; n < N; n++)
	{
		double		t[12];

		if (onnx_kernel_should_abort(ctx))
			return onnx_kernel_fail(ctx, ONNX_ERR_CANCELLED, "inference cancelled");
		for (int k = 0; k < nd * (nd + 1); k++)
			t[k] = onnx_tensor_get_f64(theta, n * nd * (nd + 1) + k);
		for (int64_t d = 0; d < sp[0]; d++)
			for (int64_t h = 0; h < sp[1]; h++)
				for (int64_t w = 0; w < sp[2]; w++)
				{
					/* homogeneous point (x, y[, z], 1) */
					double		v[4] = {ag_coord(w, sp[2], align), ag_coord(h, sp[1], align),
					ag_coord(d, sp[0], align), 1.0};

					if (nd == 2)
						v[2] = 1.0;
					for (int row = 0; row < nd; row++)
					{
						double		acc = 0;

						for (int c = 0; c <= nd; c++)
							acc += t[row * (nd + 1) + c] * v[c];
						onnx_tensor_set_f64(y, pos++, acc);
					}
				}
	}
	return ONNX_OK;
}

static const OnnxAttrSpec resize_attrs[] = {
	{"mode", ONNX_ATTR_STRING},
	{"coordinate_transformation_mode", ONNX_ATTR_STRING},
	{"nearest_mode", ONNX_ATTR_STRING},
	{"keep_aspect_ratio_policy", ONNX_ATTR_STRING},
	{"cubic_coeff_a", ONNX_ATTR_FLOAT},
	{"extrapolation_value", ONNX_ATTR_FLOAT},
	{"exclude_outside", ONNX_ATTR_INT},
	{"antialias", ONNX_ATTR_INT},
	{"axes", ONNX_ATTR_INTS},
	{"scales", ONNX_ATTR_FLOATS},
	{0}
};

#define RESIZE(name, since, nin_min, nin_max, fn) \
	ONNX_OP("", name, since, ONNX_INPUTS(nin_min, nin_max), ONNX_OUTPUTS(1, 1), \
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_SAME, .check = check_resize, \
		.run = fn, .attrs = resize_attrs)

const OnnxOpDef onnx_ops_image[] = {
	RESIZE("Upsample", 7, 1, 1, run_upsample),
	RESIZE("Upsample", 9, 2, 2, run_upsample),
	RESIZE("Resize", 10, 2, 2, run_resize),
	RESIZE("Resize", 11, 3, 4, run_resize),
	RESIZE("Resize", 13, 1, 4, run_resize),
	RESIZE("Resize", 18, 1, 4, run_resize),
	RESIZE("Resize", 19, 1, 4, run_resize),
	ONNX_OP("", "AffineGrid", 20, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_SAME, .run = run_affine_grid),
	{0}
};
