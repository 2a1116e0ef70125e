/*-------------------------------------------------------------------------
 *
 * ops_misc.c
 *	  Operator family "misc" (see op_tables.h): CumSum.
 *
 *-------------------------------------------------------------------------
 */
#include "op_tables.h"

/* CumSum: X, axis (scalar) -> running sums along axis (exclusive, reverse). */
static OnnxStatus
run_cumsum(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const OnnxTensor *ta = onnx_in(ctx, 1);
	bool		exclusive = onnx_attr_int(ctx->node, "exclusive", 0) != 0;
	bool		reverse = onnx_attr_int(ctx->node, "reverse", 0) != 0;
	int64_t		outer = 1,
				n,
				inner = 1;
	int			ax;
	OnnxTensor *y;

	if (x == NULL || ta == NULL || ta->count != 1 || !onnx_norm_axis(onnx_tensor_get_i64(ta, 0), x->rank, &ax))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CumSum needs X and a scalar axis in range");
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
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++)
		{
			double		accf = 0;
			int64_t		acci = 0;

			for (int64_t s = 0; s < n; s++)
			{
				int64_t		k = reverse ? n - 1 - s : s;
				int64_t		off = (o * n + k) * inner + in;

				if (onnx_dtype_is_float(x->dtype))
				{
					double		v = onnx_tensor_get_f64(x, off);

					if (!exclusive)
						accf += v;
					onnx_tensor_set_f64(y, off, accf);
					if (exclusive)
						accf += v;
				}
				else
				{
					int64_t		v = onnx_tensor_get_i64(x, off);

					if (!exclusive)
						acci = (int64_t) ((uint64_t) acci + (uint64_t) v);
					onnx_tensor_set_i64(y, off, acci);
					if (exclusive)
						acci = (int64_t) ((uint64_t) acci + (uint64_t) v);
				}
			}
		}
	return ONNX_OK;
}

const OnnxOpDef onnx_ops_misc[] = {
	{"", "CumSum", 11, 2, 2, 1, 1, ONNX_TS_NUMERIC, ONNX_OUT_SAME, NULL, onnx_infer_same_shape, run_cumsum},
	{0}
};
