/*-------------------------------------------------------------------------
 *
 * broadcast.c
 *	  Numpy-style broadcasting: output shape and a strided iterator giving,
 *	  for each output element in row-major order, each input's offset.
 *
 *-------------------------------------------------------------------------
 */
#include "engine_internal.h"

/* Broadcast shapes a and b; false when a dimension pair is incompatible. */
bool
onnx_broadcast_shape(int ra, const int64_t *da, int rb, const int64_t *db,
					 int *rout, int64_t *dout)
{
	int			r = ra > rb ? ra : rb;

	for (int i = 0; i < r; i++)
	{
		int			ia = i - (r - ra);
		int			ib = i - (r - rb);
		int64_t		x = ia >= 0 ? da[ia] : 1;
		int64_t		y = ib >= 0 ? db[ib] : 1;

		if (x == y || y == 1)
			dout[i] = x;
		else if (x == 1)
			dout[i] = y;
		else
			return false;
	}
	*rout = r;
	return true;
}

/* Set up offsets of n_in (<= 4) inputs broadcast to out's shape. */
void
onnx_bcast_init(OnnxBcastIter *it, const OnnxTensor *out, int n_in,
				const OnnxTensor *const *ins)
{
	it->rank = out->rank;
	it->n_in = n_in;
	for (int d = 0; d < out->rank; d++)
	{
		it->dims[d] = out->dims[d];
		it->idx[d] = 0;
	}
	for (int k = 0; k < n_in; k++)
	{
		const OnnxTensor *t = ins[k];
		int64_t		stride = 1;

		it->off[k] = 0;
		for (int d = out->rank - 1; d >= 0; d--)
		{
			int			td = d - (out->rank - t->rank);

			if (td >= 0 && t->dims[td] != 1)
			{
				it->strides[k][d] = stride;
				stride *= t->dims[td];
			}
			else
				it->strides[k][d] = 0;
		}
	}
}

/* Advance to the next output element. */
void
onnx_bcast_next(OnnxBcastIter *it)
{
	for (int d = it->rank - 1; d >= 0; d--)
	{
		it->idx[d]++;
		for (int k = 0; k < it->n_in; k++)
			it->off[k] += it->strides[k][d];
		if (it->idx[d] < it->dims[d])
			return;
		for (int k = 0; k < it->n_in; k++)
			it->off[k] -= it->strides[k][d] * it->dims[d];
		it->idx[d] = 0;
	}
}
