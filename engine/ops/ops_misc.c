/*-------------------------------------------------------------------------
 *
 * ops_misc.c
 *	  Operator family "misc" (see op_tables.h): CumSum, CumProd, BitCast,
 *	  Det, and the ai.onnx.preview.training optimizers Adagrad, Adam,
 *	  Momentum.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

/*
 * CumSum / CumProd: X, axis (scalar) -> Y (shape of X), running sums or
 * products along axis; exclusive leaves the current element out, reverse
 * runs from the end.  Integers wrap (two's complement), floats in double.
 */
static OnnxStatus
cumulative(OnnxKernelCtx *ctx, bool product)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ta = onnx_in(ctx, 1);
	bool		exclusive = onnx_attr_int(ctx->node, "exclusive", 0) != 0;
	bool		reverse = onnx_attr_int(ctx->node, "reverse", 0) != 0;
	bool		fl;
	int64_t		outer = 1,
				n,
				inner = 1;
	int			ax;
	OnnxTensor *y;

	if (x == NULL || ta == NULL || ta->count != 1 || !onnx_norm_axis(onnx_tensor_get_i64(ta, 0), x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "%s needs X and a scalar axis in range",
								ctx->node->op_type);
	n = x->dims[ax];
	for (int d = 0; d < x->rank; d++)
	{
		if (d < ax)
			outer *= x->dims[d];
		else if (d > ax)
			inner *= x->dims[d];
	}
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	fl = onnx_dtype_is_float(x->dtype);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
		{
			double		accf = product ? 1 : 0;
			uint64_t	acci = product ? 1 : 0;

			for (int64_t s = 0; s < n; s++)
			{
				int64_t		k = reverse ? n - 1 - s : s;
				int64_t		off = (o * n + k) * inner + in;

				if (fl)
				{
					double		v = onnx_tensor_get_f64(x, off);

					if (!exclusive)
						accf = product ? accf * v : accf + v;
					onnx_tensor_set_f64(y, off, accf);
					if (exclusive)
						accf = product ? accf * v : accf + v;
				}
				else
				{
					uint64_t	v = (uint64_t) onnx_tensor_get_i64(x, off);

					if (!exclusive)
						acci = product ? acci * v : acci + v;
					onnx_tensor_set_i64(y, off, (int64_t) acci);
					if (exclusive)
						acci = product ? acci * v : acci + v;
				}
			}
		}
	return ONNX_OK;
}

static OnnxStatus run_cumsum(OnnxKernelCtx *ctx) { return cumulative(ctx, false); }
static OnnxStatus run_cumprod(OnnxKernelCtx *ctx) { return cumulative(ctx, true); }

/* Storage bits of one element: sub-byte types are kept one per byte. */
static int
element_bits(OnnxDType dt)
{
	switch (dt)
	{
		case ONNX_DTYPE_UINT4:
		case ONNX_DTYPE_INT4:
		case ONNX_DTYPE_FLOAT4E2M1:
			return 4;
		case ONNX_DTYPE_UINT2:
		case ONNX_DTYPE_INT2:
			return 2;
		case ONNX_DTYPE_STRING:
			return 0;
		default:
			return (int) onnx_dtype_size(dt) * 8;
	}
}

/*
 * BitCast: X -> Y (shape of X) of type "to", the same bits (little endian)
 * read as the other type of the same width.  Sub-byte values are masked to
 * their width and sign-extended into int4/int2.
 */
static OnnxStatus
run_bitcast(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		to = onnx_attr_int(ctx->node, "to", 0);
	int			bits;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if (to <= 0 || to >= ONNX_DTYPE_COUNT || element_bits((OnnxDType) to) == 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "BitCast to type %lld is not supported", (long long) to);
	bits = element_bits(x->dtype);
	if (bits == 0 || bits != element_bits((OnnxDType) to))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"BitCast needs types of one bit width: %s has %d bits, %s has %d",
								onnx_dtype_name(x->dtype), bits, onnx_dtype_name((OnnxDType) to),
								element_bits((OnnxDType) to));
	if ((y = onnx_out_like(ctx, 0, (OnnxDType) to, x)) == NULL)
		return ctx->err->status;
	if (bits >= 8)
	{
		if (x->nbytes)
			memcpy(y->data, x->data, x->nbytes);
		if (to == ONNX_DTYPE_BOOL)
			for (int64_t i = 0; i < y->count; i++)
				((uint8_t *) y->data)[i] = ((uint8_t *) y->data)[i] != 0;
		return ONNX_OK;
	}
	for (int64_t i = 0; i < x->count; i++)
	{
		uint8_t		v = ((const uint8_t *) x->data)[i] & (uint8_t) ((1 << bits) - 1);

		if ((to == ONNX_DTYPE_INT4 || to == ONNX_DTYPE_INT2) && (v >> (bits - 1)))
			v |= (uint8_t) (0xff << bits);
		((uint8_t *) y->data)[i] = v;
	}
	return ONNX_OK;
}

/* At load: "to" names a type BitCast can produce. */
static OnnxStatus
check_bitcast(const OnnxNode *node, OnnxError *err)
{
	int64_t		to = onnx_attr_int(node, "to", 0);

	if (to <= 0 || to >= ONNX_DTYPE_COUNT || element_bits((OnnxDType) to) == 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "BitCast needs \"to\" to name a non-string tensor type, got %lld",
							  (long long) to);
	return ONNX_OK;
}

/*
 * Det: X (..., M, M) -> Y (...), by LU decomposition with partial
 * pivoting in double.
 */
static OnnxStatus
run_det(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	int64_t		m,
				batch = 1;
	double	   *a;
	OnnxTensor *y;

	if (x == NULL || x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "Det needs X (..., M, M)");
	m = x->dims[x->rank - 1];
	for (int d = 0; d < x->rank - 2; d++)
		batch *= x->dims[d];
	if ((y = onnx_out(ctx, 0, x->dtype, x->rank - 2, x->dims)) == NULL)
		return ctx->err->status;
	if ((a = onnx_kernel_scratch(ctx, (size_t) (m * m), sizeof(double))) == NULL)
		return ctx->err->status;
	for (int64_t b = 0; b < batch; b++)
	{
		double		det = 1;

		for (int64_t i = 0; i < m * m; i++)
			a[i] = onnx_tensor_get_f64(x, b * m * m + i);
		for (int64_t c = 0; c < m && det != 0; c++)
		{
			int64_t		piv = c;

			for (int64_t r = c + 1; r < m; r++)
				if (fabs(a[r * m + c]) > fabs(a[piv * m + c]))
					piv = r;
			if (a[piv * m + c] == 0)
			{
				det = 0;
				break;
			}
			if (piv != c)
			{
				for (int64_t k = 0; k < m; k++)
				{
					double		t = a[c * m + k];

					a[c * m + k] = a[piv * m + k];
					a[piv * m + k] = t;
				}
				det = -det;
			}
			det *= a[c * m + c];
			for (int64_t r = c + 1; r < m; r++)
			{
				double		f = a[r * m + c] / a[c * m + c];

				for (int64_t k = c + 1; k < m; k++)
					a[r * m + k] -= f * a[c * m + k];
			}
		}
		onnx_tensor_set_f64(y, b, det);
	}
	return ONNX_OK;
}

/* ---- ai.onnx.preview.training optimizers ---- */

typedef enum OptimKind
{
	OPT_ADAGRAD,				/* states: H */
	OPT_ADAM,					/* states: V, H */
	OPT_MOMENTUM				/* states: V */
} OptimKind;

/*
 * One optimizer step: R (scalar learning rate), T (scalar int64 update
 * count), then n groups of X..., G..., and the states (V..., H...) in the
 * order above, each of X's shape -> X_new..., then the new states in the
 * same order.  Computed in double.
 */
static OnnxStatus
run_optimizer(OnnxKernelCtx *ctx, OptimKind kind)
{
	const OnnxTensor *tr = onnx_in(ctx, 0);
	const OnnxTensor *tt = onnx_in(ctx, 1);
	int			nstates = kind == OPT_ADAM ? 2 : 1;
	int			n = (ctx->n_inputs - 2) / (2 + nstates);
	double		norm = onnx_attr_float(ctx->node, "norm_coefficient", 0);
	double		eps = onnx_attr_float(ctx->node, "epsilon", 1e-6f);
	double		alpha = onnx_attr_float(ctx->node, "alpha", kind == OPT_ADAM ? 0.9f : 0);
	double		beta = onnx_attr_float(ctx->node, "beta", kind == OPT_ADAM ? 0.999f : 0);
	double		post = onnx_attr_float(ctx->node, "norm_coefficient_post", 0);
	double		decay = onnx_attr_float(ctx->node, "decay_factor", 0);
	bool		nesterov = strcmp(onnx_attr_string(ctx->node, "mode", "standard"), "nesterov") == 0;
	double		r;
	int64_t		t;

	if (tr == NULL || tt == NULL || tr->count != 1 || tt->count != 1 || n < 1 ||
		ctx->n_inputs != 2 + n * (2 + nstates) || ctx->n_outputs != n * (1 + nstates))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"%s needs scalars R and T, then X, G and %d state group(s) of equal length, "
								"and one output per X and state", ctx->node->op_type, nstates);
	r = onnx_tensor_get_f64(tr, 0);
	t = onnx_tensor_get_i64(tt, 0);
	if (kind == OPT_ADAGRAD)
		r /= 1.0 + (double) t * decay;
	else if (kind == OPT_ADAM && t > 0)
		r *= sqrt(1.0 - pow(beta, (double) t)) / (1.0 - pow(alpha, (double) t));
	for (int i = 0; i < n; i++)
	{
		const OnnxTensor *x = onnx_in(ctx, 2 + i);
		const OnnxTensor *g = onnx_in(ctx, 2 + n + i);
		const OnnxTensor *st[2];
		OnnxTensor *xo,
				   *so[2];

		if (x == NULL || g == NULL || g->count != x->count)
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "X and G of group %d differ in size", i);
		for (int k = 0; k < nstates; k++)
		{
			st[k] = onnx_in(ctx, 2 + (2 + k) * n + i);
			if (st[k] == NULL || st[k]->count != x->count)
				return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "state %d of group %d differs from X in size", k, i);
		}
		if ((xo = onnx_out_like(ctx, i, x->dtype, x)) == NULL)
			return ctx->err->status;
		for (int k = 0; k < nstates; k++)
			if ((so[k] = onnx_out_like(ctx, (1 + k) * n + i, st[k]->dtype, st[k])) == NULL)
				return ctx->err->status;
		for (int64_t e = 0; e < x->count; e++)
		{
			double		xv = onnx_tensor_get_f64(x, e);
			double		gv = norm * xv + onnx_tensor_get_f64(g, e);
			double		s0 = onnx_tensor_get_f64(st[0], e);
			double		nx;

			switch (kind)
			{
				case OPT_ADAGRAD:
					s0 += gv * gv;
					nx = xv - r * gv / (sqrt(s0) + eps);
					break;
				case OPT_ADAM:
					{
						double		h = beta * onnx_tensor_get_f64(st[1], e) + (1 - beta) * gv * gv;

						s0 = alpha * s0 + (1 - alpha) * gv;
						nx = (1 - post) * (xv - r * s0 / (sqrt(h) + eps));
						onnx_tensor_set_f64(so[1], e, h);
					}
					break;
				default:
					s0 = alpha * s0 + (t > 0 ? beta : 1.0) * gv;
					nx = nesterov ? xv - r * (gv + alpha * s0) : xv - r * s0;
					break;
			}
			onnx_tensor_set_f64(xo, e, nx);
			onnx_tensor_set_f64(so[0], e, s0);
		}
	}
	return ONNX_OK;
}

static OnnxStatus run_adagrad(OnnxKernelCtx *ctx) { return run_optimizer(ctx, OPT_ADAGRAD); }
static OnnxStatus run_adam(OnnxKernelCtx *ctx) { return run_optimizer(ctx, OPT_ADAM); }
static OnnxStatus run_momentum(OnnxKernelCtx *ctx) { return run_optimizer(ctx, OPT_MOMENTUM); }

/* Momentum's mode must be "standard" or "nesterov". */
static OnnxStatus
check_momentum(const OnnxNode *node, OnnxError *err)
{
	const char *mode = onnx_attr_string(node, "mode", NULL);

	if (mode == NULL || (strcmp(mode, "standard") != 0 && strcmp(mode, "nesterov") != 0))
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "Momentum needs mode \"standard\" or \"nesterov\"");
	return ONNX_OK;
}

static const OnnxAttrSpec cum_attrs[] = {
	{"exclusive", ONNX_ATTR_INT}, {"reverse", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec bitcast_attrs[] = {{"to", ONNX_ATTR_INT}, {0}};

#define TRAINING "ai.onnx.preview.training"

const OnnxOpDef onnx_ops_misc[] = {
	ONNX_OP("", "CumSum", 11, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		ONNX_OUT_LIKE_INPUT0, .run = run_cumsum,
		.attrs = cum_attrs),
	ONNX_OP("", "CumProd", 26, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_NUMERIC,
		ONNX_OUT_LIKE_INPUT0, .run = run_cumprod,
		.attrs = cum_attrs),
	ONNX_OP("", "BitCast", 26, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_NUMERIC | ONNX_T(ONNX_DTYPE_BOOL), .out_type = ONNX_OUT_ATTR_TO,
		.check = check_bitcast, .run = run_bitcast, .attrs = bitcast_attrs),
	ONNX_OP_VERSIONS("", "Det", (11, 22), ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_SAME, .run = run_det),
	ONNX_OP(TRAINING, "Adagrad", 1, ONNX_INPUTS(5, -1), ONNX_OUTPUTS(2, -1),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_UNKNOWN, .run = run_adagrad),
	ONNX_OP(TRAINING, "Adam", 1, ONNX_INPUTS(6, -1), ONNX_OUTPUTS(3, -1), .input0_types = ONNX_TS_FLOAT,
		.out_type = ONNX_OUT_UNKNOWN, .run = run_adam),
	ONNX_OP(TRAINING, "Momentum", 1, ONNX_INPUTS(5, -1), ONNX_OUTPUTS(2, -1),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_UNKNOWN, .check = check_momentum,
		.run = run_momentum),
	{0}
};
