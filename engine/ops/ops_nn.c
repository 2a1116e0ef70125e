/*-------------------------------------------------------------------------
 *
 * ops_nn.c
 *	  Neural-network operators over an axis: Softmax, LogSoftmax (and
 *	  normalizations, Dropout as they are added).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "op_tables.h"

/*
 * Softmax family over X viewed as (outer, n, inner).  Opset < 13 flattens
 * to 2-D at axis (default 1): (outer = prod(d[:axis]), n = prod(d[axis:]),
 * inner = 1); opset >= 13 works along one axis (default -1).
 */
static OnnxStatus
softmax_common(OnnxKernelCtx *ctx, bool log_out)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	bool		legacy = ctx->opset < 13;
	int64_t		axis = onnx_attr_int(ctx->node, "axis", legacy ? 1 : -1);
	int64_t		outer = 1,
				n = 1,
				inner = 1;
	int			ax;
	OnnxTensor *y;

	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "input is missing");
	if (x->rank == 0)
		ax = 0;
	else if (!onnx_norm_axis(axis, x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "axis %lld is out of range for rank %d",
								(long long) axis, x->rank);
	for (int i = 0; i < x->rank; i++)
	{
		if (i < ax)
			outer *= x->dims[i];
		else if (i == ax || legacy)
			n *= x->dims[i];
		else
			inner *= x->dims[i];
	}
	if ((y = onnx_out_like(ctx, 0, x->dtype, x)) == NULL)
		return ctx->err->status;
	if (n == 0)
		return ONNX_OK;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
		{
			int64_t		base = o * n * inner + in;

			if (x->dtype == ONNX_DTYPE_FLOAT)
			{
				const float *px = (const float *) x->data + base;
				float	   *py = (float *) y->data + base;
				float		mx = px[0];
				double		sum = 0;

				for (int64_t i = 1; i < n; i++)
					if (px[i * inner] > mx)
						mx = px[i * inner];
				for (int64_t i = 0; i < n; i++)
				{
					float		e = expf(px[i * inner] - mx);

					py[i * inner] = e;
					sum += e;
				}
				for (int64_t i = 0; i < n; i++)
					py[i * inner] = log_out ? (px[i * inner] - mx) - (float) log(sum)
						: (float) (py[i * inner] / sum);
			}
			else
			{
				double		mx = onnx_tensor_get_f64(x, base);
				double		sum = 0;

				for (int64_t i = 1; i < n; i++)
					if (onnx_tensor_get_f64(x, base + i * inner) > mx)
						mx = onnx_tensor_get_f64(x, base + i * inner);
				for (int64_t i = 0; i < n; i++)
					sum += exp(onnx_tensor_get_f64(x, base + i * inner) - mx);
				for (int64_t i = 0; i < n; i++)
				{
					double		v = onnx_tensor_get_f64(x, base + i * inner) - mx;

					onnx_tensor_set_f64(y, base + i * inner, log_out ? v - log(sum) : exp(v) / sum);
				}
			}
		}
	return ONNX_OK;
}

static OnnxStatus
run_softmax(OnnxKernelCtx *ctx)
{
	return softmax_common(ctx, false);
}

static OnnxStatus
run_log_softmax(OnnxKernelCtx *ctx)
{
	return softmax_common(ctx, true);
}

static const OnnxAttrSpec axis_attrs[] = {{"axis", ONNX_ATTR_INT}, {NULL}};

#define NN1(name, since, fn) \
	{"", name, since, 1, 1, 1, 1, ONNX_TS_FLOAT, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, fn, axis_attrs}

const OnnxOpDef onnx_ops_nn[] = {
	NN1("Softmax", 1, run_softmax),
	NN1("Softmax", 13, run_softmax),
	NN1("LogSoftmax", 1, run_log_softmax),
	NN1("LogSoftmax", 13, run_log_softmax),
	{0}
};
