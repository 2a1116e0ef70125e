/*-------------------------------------------------------------------------
 *
 * ops_detection.c
 *	  Object-detection post-processing: NonMaxSuppression.
 *
 *	  boxes (batches, boxes, 4), scores (batches, classes, boxes),
 *	  max_output_boxes_per_class (scalar int64, default 0),
 *	  iou_threshold (scalar, default 0), score_threshold (scalar, optional)
 *	  -> selected_indices (selected, 3) int64: [batch, class, box]
 *
 *	  Per batch and class: boxes above score_threshold, highest score
 *	  first (ties: lower index first), each kept unless its IoU with a kept
 *	  box exceeds iou_threshold, at most max_output_boxes_per_class.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>

#include "op_tables.h"

typedef struct ScoredBox
{
	double		score;
	int64_t		idx;
} ScoredBox;

/* Highest score first; equal scores: lower index first. */
static int
cmp_scored(const void *a, const void *b)
{
	const ScoredBox *x = a;
	const ScoredBox *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* Corners (xmin, ymin, xmax, ymax) of box i of a batch (at offset off). */
static void
box_corners(const OnnxTensor *boxes, int64_t off, bool center, double c[4])
{
	double		v[4];

	for (int k = 0; k < 4; k++)
		v[k] = onnx_tensor_get_f64(boxes, off + k);
	if (center)
	{
		c[0] = v[0] - v[2] / 2;
		c[2] = v[0] + v[2] / 2;
		c[1] = v[1] - v[3] / 2;
		c[3] = v[1] + v[3] / 2;
	}
	else
	{
		/* [y1, x1, y2, x2], any diagonal pair */
		c[0] = fmin(v[1], v[3]);
		c[2] = fmax(v[1], v[3]);
		c[1] = fmin(v[0], v[2]);
		c[3] = fmax(v[0], v[2]);
	}
}

/* Whether IoU(a, b) exceeds the threshold (degenerate boxes never do). */
static bool
iou_exceeds(const double a[4], const double b[4], double threshold)
{
	double		ix = fmin(a[2], b[2]) - fmax(a[0], b[0]);
	double		iy = fmin(a[3], b[3]) - fmax(a[1], b[1]);
	double		inter,
				area_a,
				area_b,
				uni;

	if (ix <= 0 || iy <= 0)
		return false;
	inter = ix * iy;
	area_a = (a[2] - a[0]) * (a[3] - a[1]);
	area_b = (b[2] - b[0]) * (b[3] - b[1]);
	uni = area_a + area_b - inter;
	if (area_a <= 0 || area_b <= 0 || uni <= 0)
		return false;
	return inter / uni > threshold;
}

static OnnxStatus
run_nms(OnnxKernelCtx *ctx)
{
	const OnnxTensor *boxes = onnx_in(ctx, 0);
	const OnnxTensor *scores = onnx_in(ctx, 1);
	const OnnxTensor *tmax = onnx_in(ctx, 2);
	const OnnxTensor *tiou = onnx_in(ctx, 3);
	const OnnxTensor *tscore = onnx_in(ctx, 4);
	bool		center = onnx_attr_int(ctx->node, "center_point_box", 0) != 0;
	int64_t		max_per_class = tmax && tmax->count > 0 ? onnx_tensor_get_i64(tmax, 0) : 0;
	double		iou = tiou && tiou->count > 0 ? onnx_tensor_get_f64(tiou, 0) : 0;
	bool		use_score = tscore && tscore->count > 0;
	double		score_min = use_score ? onnx_tensor_get_f64(tscore, 0) : 0;
	int64_t		nb,
				nbox,
				ncls,
				nsel = 0,
				cap;
	ScoredBox  *cand;
	int64_t	   *kept;
	int64_t	   *sel;
	double	   *corners;
	int64_t		dims[2];
	OnnxTensor *out;

	if (boxes == NULL || scores == NULL || boxes->rank != 3 || boxes->dims[2] != 4 ||
		scores->rank != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT,
								"boxes must be (batches, boxes, 4) and scores (batches, classes, boxes)");
	nb = boxes->dims[0];
	nbox = boxes->dims[1];
	ncls = scores->dims[1];
	if (max_per_class < 0)
		max_per_class = 0;
	if (max_per_class > nbox)
		max_per_class = nbox;
	cap = nb * ncls * max_per_class;
	if ((cand = onnx_kernel_scratch(ctx, (size_t) nbox, sizeof(ScoredBox))) == NULL ||
		(kept = onnx_kernel_scratch(ctx, (size_t) nbox, sizeof(int64_t))) == NULL ||
		(sel = onnx_kernel_scratch(ctx, (size_t) cap, 3 * sizeof(int64_t))) == NULL ||
		(corners = onnx_kernel_scratch(ctx, (size_t) nbox, 4 * sizeof(double))) == NULL)
		return ctx->err->status;
	for (int64_t bi = 0; bi < nb; bi++)
	{
		for (int64_t i = 0; i < nbox; i++)
			box_corners(boxes, (bi * nbox + i) * 4, center, &corners[i * 4]);
		for (int64_t ci = 0; ci < ncls && max_per_class > 0; ci++)
		{
			int64_t		n = 0,
						nk = 0;

			for (int64_t i = 0; i < nbox; i++)
			{
				double		s = onnx_tensor_get_f64(scores, (bi * ncls + ci) * nbox + i);

				if (!use_score || s > score_min)
				{
					cand[n].score = s;
					cand[n].idx = i;
					n++;
				}
			}
			qsort(cand, (size_t) n, sizeof(ScoredBox), cmp_scored);
			for (int64_t k = 0; k < n && nk < max_per_class; k++)
			{
				bool		keep = true;

				for (int64_t j = 0; j < nk && keep; j++)
					if (iou_exceeds(&corners[cand[k].idx * 4], &corners[kept[j] * 4], iou))
						keep = false;
				if (keep)
				{
					kept[nk++] = cand[k].idx;
					sel[nsel * 3] = bi;
					sel[nsel * 3 + 1] = ci;
					sel[nsel * 3 + 2] = cand[k].idx;
					nsel++;
				}
			}
		}
	}
	dims[0] = nsel;
	dims[1] = 3;
	out = onnx_out(ctx, 0, ONNX_DTYPE_INT64, 2, dims);
	if (out)
		memcpy(out->data, sel, sizeof(int64_t) * 3 * (size_t) nsel);
	return out ? ONNX_OK : ctx->err->status;
}

static const OnnxAttrSpec nms_attrs[] = {{"center_point_box", ONNX_ATTR_INT}, {0}};

const OnnxOpDef onnx_ops_detection[] = {
	ONNX_OP("", "NonMaxSuppression", 10, ONNX_INPUTS(2, 5), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_FLOAT, .out_type = ONNX_OUT_INT64, .run = run_nms, .attrs = nms_attrs),
	{0}
};
