/*-------------------------------------------------------------------------
 *
 * broadcast.c
 *	  Numpy-style broadcasting: the output shape, a strided iterator giving,
 *	  for each output element in row-major order, each input's offset, and
 *	  the collapsed plan the elementwise kernels walk in contiguous runs.
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

/*
 * Collapse the broadcast of n_in inputs to the output shape (rank, dims)
 * into p (see OnnxBcastPlan).
 */
void
onnx_bcast_plan(OnnxBcastPlan *p, int rank, const int64_t *dims, int n_in,
				const OnnxTensor *const *ins)
{
	int64_t		stride[4];

	p->n_in = n_in;
	p->rank = 0;
	for (int k = 0; k < n_in; k++)
		stride[k] = 1;
	/* from the innermost dim outwards; built reversed, then flipped */
	for (int d = rank - 1; d >= 0; d--)
	{
		int64_t		s[4];
		bool		merge;

		if (dims[d] == 1)
			continue;
		for (int k = 0; k < n_in; k++)
		{
			int			td = d - (rank - ins[k]->rank);

			if (td >= 0 && ins[k]->dims[td] != 1)
			{
				s[k] = stride[k];
				stride[k] *= ins[k]->dims[td];
			}
			else
				s[k] = 0;
		}
		/* merge into the dim inside it when every input walks on alike */
		merge = p->rank > 0;
		for (int k = 0; merge && k < n_in; k++)
			merge = s[k] == p->strides[k][p->rank - 1] * p->dims[p->rank - 1];
		if (merge)
		{
			p->dims[p->rank - 1] *= dims[d];
			continue;
		}
		p->dims[p->rank] = dims[d];
		for (int k = 0; k < n_in; k++)
			p->strides[k][p->rank] = s[k];
		p->rank++;
	}
	if (p->rank == 0)
	{
		p->dims[0] = 1;
		for (int k = 0; k < n_in; k++)
			p->strides[k][0] = 0;
		p->rank = 1;
	}
	/* outermost first */
	for (int a = 0, b = p->rank - 1; a < b; a++, b--)
	{
		int64_t		t = p->dims[a];

		p->dims[a] = p->dims[b];
		p->dims[b] = t;
		for (int k = 0; k < n_in; k++)
		{
			t = p->strides[k][a];
			p->strides[k][a] = p->strides[k][b];
			p->strides[k][b] = t;
		}
	}
}
