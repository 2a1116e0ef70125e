/*-------------------------------------------------------------------------
 *
 * ml_encode.c
 *	  Operator family "ml_encode": ai.onnx.ml LabelEncoder (opsets 1, 2, 4)
 *	  and CategoryMapper.
 *
 *	  LabelEncoder 1: string -> int64 (position in classes_strings, else
 *	    default_int64) or int64 -> string (classes_strings[x], else
 *	    default_string).
 *	  LabelEncoder 2, 4: keys_{strings,int64s,floats} or keys_tensor to
 *	    values_{strings,int64s,floats} or values_tensor (any of string,
 *	    int64, int32, int16, float, double), missing keys to default_*
 *	    (default_tensor in opset 4).  Float keys match by value (-0 as 0);
 *	    a NaN key matches NaN from opset 4 on (onnxruntime).
 *	  CategoryMapper: string -> int64 and int64 -> string through the
 *	    paired cats_strings / cats_int64s.
 *
 *	  The keys are hashed at load (OpDef.prepare).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "ml_common.h"

enum
{
	KEY_STR, KEY_INT, KEY_FLT
};

typedef struct LabelEnc
{
	int			key_kind;
	MlHash		h;
	int64_t		n;
	OnnxDType	vdtype;			/* output type */
	const char **vstr;
	int64_t    *vint;
	double	   *vflt;
	const char *dstr;
	int64_t		dint;
	double		dflt;
	/* opset 1: classes_strings both ways */
	bool		v1;
	bool		nan_matches;	/* opset 4: a NaN key takes NaN inputs */
} LabelEnc;

static bool
dtype_is_int(OnnxDType t)
{
	return t == ONNX_DTYPE_INT64 || t == ONNX_DTYPE_INT32 || t == ONNX_DTYPE_INT16 || t == ONNX_DTYPE_INT8 ||
		t == ONNX_DTYPE_UINT8 || t == ONNX_DTYPE_UINT16 || t == ONNX_DTYPE_UINT32 || t == ONNX_DTYPE_UINT64;
}

static OnnxStatus
oom(OnnxError *err)
{
	return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory preparing an encoder");
}

/* Key words of n keys: a tensor, ints or floats. */
static uint64_t *
key_words(OnnxArena *arena, int kind, int64_t n, const OnnxTensor *t, const int64_t *ints, const float *floats)
{
	uint64_t   *w = onnx_arena_alloc(arena, sizeof(uint64_t) * (size_t) (n + 1));

	if (w == NULL)
		return NULL;
	for (int64_t i = 0; i < n; i++)
		w[i] = kind == KEY_INT ? (uint64_t) (t ? onnx_tensor_get_i64(t, i) : ints[i])
			: ml_double_key(t ? onnx_tensor_get_f64(t, i) : floats[i]);
	return w;
}

static OnnxStatus
prepare_label_encoder(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	LabelEnc   *e = onnx_arena_alloc(arena, sizeof(LabelEnc));
	const OnnxAttr *ks = onnx_attr(node, "keys_strings"),
			   *kt = onnx_attr(node, "keys_tensor"),
			   *vs = onnx_attr(node, "values_strings"),
			   *vt = onnx_attr(node, "values_tensor"),
			   *dt = onnx_attr(node, "default_tensor");
	const int64_t *ki,
			   *vi;
	const float *kf,
			   *vf;
	int			nki = onnx_attr_ints(node, "keys_int64s", &ki),
				nkf = onnx_attr_floats(node, "keys_floats", &kf),
				nvi = onnx_attr_ints(node, "values_int64s", &vi),
				nvf = onnx_attr_floats(node, "values_floats", &vf);
	const OnnxTensor *ktt = kt && kt->type == ONNX_ATTR_TENSOR ? kt->t : NULL;
	const OnnxTensor *vtt = vt && vt->type == ONNX_ATTR_TENSOR ? vt->t : NULL;
	const OnnxTensor *dtt = dt && dt->type == ONNX_ATTR_TENSOR ? dt->t : NULL;
	uint64_t   *w = NULL;
	int64_t		nv;

	if (e == NULL)
		return oom(err);
	memset(e, 0, sizeof(*e));
	e->dstr = onnx_attr_string(node, "default_string", "_Unused");
	e->dint = onnx_attr_int(node, "default_int64", -1);
	e->dflt = onnx_attr_float(node, "default_float", -0.0f);
	e->nan_matches = node->opset >= 4;
	if (node->opset < 2)
	{
		const OnnxAttr *cs = onnx_attr(node, "classes_strings");

		e->v1 = true;
		e->key_kind = KEY_STR;
		e->n = cs && cs->type == ONNX_ATTR_STRINGS ? cs->n : 0;
		e->vstr = e->n ? cs->strings : NULL;
		if (!ml_hash_build(&e->h, arena, e->n, e->n ? cs->strings : (const char *const *) &e->dstr, NULL, true))
			return oom(err);
		node->prepared = e;
		return ONNX_OK;
	}

	/* keys */
	if (ks && ks->type == ONNX_ATTR_STRINGS && ks->n > 0)
	{
		e->key_kind = KEY_STR;
		e->n = ks->n;
	}
	else if (nki > 0)
	{
		e->key_kind = KEY_INT;
		e->n = nki;
	}
	else if (nkf > 0)
	{
		e->key_kind = KEY_FLT;
		e->n = nkf;
	}
	else if (ktt)
	{
		e->key_kind = ktt->dtype == ONNX_DTYPE_STRING ? KEY_STR : dtype_is_int(ktt->dtype) ? KEY_INT : KEY_FLT;
		e->n = ktt->count;
	}
	else
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "LabelEncoder needs keys");
	if (e->key_kind != KEY_STR)
	{
		bool		from_attr = (e->key_kind == KEY_INT && nki > 0) || (e->key_kind == KEY_FLT && nkf > 0);

		if ((w = key_words(arena, e->key_kind, e->n, from_attr ? NULL : ktt, ki, kf)) == NULL)
			return oom(err);
	}
	if (!ml_hash_build(&e->h, arena, e->n,
					   e->key_kind == KEY_STR ? (ks && ks->type == ONNX_ATTR_STRINGS && ks->n > 0 ? ks->strings :
												 (const char *const *) ktt->data) : NULL, w, false))
		return oom(err);

	/* values and the default */
	if (vs && vs->type == ONNX_ATTR_STRINGS && vs->n > 0)
	{
		e->vdtype = ONNX_DTYPE_STRING;
		e->vstr = vs->strings;
		nv = vs->n;
	}
	else if (nvi > 0)
	{
		e->vdtype = ONNX_DTYPE_INT64;
		e->vint = (int64_t *) vi;
		nv = nvi;
	}
	else if (nvf > 0)
	{
		e->vdtype = ONNX_DTYPE_FLOAT;
		if ((e->vflt = onnx_arena_alloc(arena, sizeof(double) * (size_t) nvf)) == NULL)
			return oom(err);
		for (int i = 0; i < nvf; i++)
			e->vflt[i] = vf[i];
		nv = nvf;
	}
	else if (vtt)
	{
		e->vdtype = vtt->dtype;
		nv = vtt->count;
		if (vtt->dtype == ONNX_DTYPE_STRING)
			e->vstr = (const char **) vtt->data;
		else if (dtype_is_int(vtt->dtype))
		{
			if ((e->vint = onnx_arena_alloc(arena, sizeof(int64_t) * (size_t) (nv + 1))) == NULL)
				return oom(err);
			for (int64_t i = 0; i < nv; i++)
				e->vint[i] = onnx_tensor_get_i64(vtt, i);
		}
		else
		{
			if ((e->vflt = onnx_arena_alloc(arena, sizeof(double) * (size_t) (nv + 1))) == NULL)
				return oom(err);
			for (int64_t i = 0; i < nv; i++)
				e->vflt[i] = onnx_tensor_get_f64(vtt, i);
		}
		/* opset 4's defaults for tensor values: "_Unused", -1, -0.0 unless default_tensor */
	}
	else
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "LabelEncoder needs values");
	if (nv != e->n)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "LabelEncoder has %lld keys and %lld values",
							  (long long) e->n, (long long) nv);
	if (dtt && dtt->count >= 1)
	{
		if (dtt->dtype == ONNX_DTYPE_STRING)
			e->dstr = ((char *const *) dtt->data)[0] ? ((char *const *) dtt->data)[0] : "";
		else if (dtype_is_int(dtt->dtype))
			e->dint = onnx_tensor_get_i64(dtt, 0);
		else
			e->dflt = onnx_tensor_get_f64(dtt, 0);
	}
	node->prepared = e;
	return ONNX_OK;
}

/* Position of element i of x among the keys, or -1. */
static inline int64_t
find_key(const MlHash *h, int kind, const OnnxTensor *x, int64_t i)
{
	switch (kind)
	{
		case KEY_STR:
			return ml_hash_find_str(h, ((char *const *) x->data)[i]);
		case KEY_INT:
			return ml_hash_find_word(h, (uint64_t) onnx_tensor_get_i64(x, i));
		default:
			return ml_hash_find_word(h, ml_double_key(onnx_tensor_get_f64(x, i)));
	}
}

static OnnxStatus
run_label_encoder(OnnxKernelCtx *ctx)
{
	const LabelEnc *e = ctx->node->prepared;
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxTensor *y;
	OnnxDType	odt;

	if (e == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "LabelEncoder was not prepared");
	if (x == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LabelEncoder input is missing");
	if (e->v1)
	{
		/* opset 1: strings to positions, integers to strings */
		if (x->dtype == ONNX_DTYPE_STRING)
		{
			if ((y = onnx_out_like(ctx, 0, ONNX_DTYPE_INT64, x)) == NULL)
				return ctx->err->status;
			for (int64_t i = 0; i < x->count; i++)
			{
				int64_t		p = e->n ? ml_hash_find_str(&e->h, ((char *const *) x->data)[i]) : -1;

				((int64_t *) y->data)[i] = p >= 0 ? p : e->dint;
			}
			return ONNX_OK;
		}
		if (!dtype_is_int(x->dtype))
			return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LabelEncoder (opset 1) takes strings or int64");
		if ((y = onnx_out_like(ctx, 0, ONNX_DTYPE_STRING, x)) == NULL)
			return ctx->err->status;
		for (int64_t i = 0; i < x->count; i++)
		{
			int64_t		v = onnx_tensor_get_i64(x, i);
			const char *s = v >= 0 && v < e->n ? e->vstr[v] : e->dstr;

			if ((((char **) y->data)[i] = ml_strdup(ctx, s)) == NULL)
				return ctx->err->status;
		}
		return ONNX_OK;
	}
	if ((e->key_kind == KEY_STR) != (x->dtype == ONNX_DTYPE_STRING) ||
		(e->key_kind == KEY_INT && !dtype_is_int(x->dtype)) ||
		(e->key_kind == KEY_FLT && !onnx_dtype_is_float(x->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "LabelEncoder input type %s does not match its keys",
								onnx_dtype_name(x->dtype));
	odt = e->vdtype;
	if ((y = onnx_out_like(ctx, 0, odt, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int64_t		p = e->key_kind == KEY_FLT && !e->nan_matches && isnan(onnx_tensor_get_f64(x, i)) ? -1 :
			find_key(&e->h, e->key_kind, x, i);

		if (odt == ONNX_DTYPE_STRING)
		{
			if ((((char **) y->data)[i] = ml_strdup(ctx, p >= 0 ? e->vstr[p] : e->dstr)) == NULL)
				return ctx->err->status;
		}
		else if (e->vint)
			onnx_tensor_set_i64(y, i, p >= 0 ? e->vint[p] : e->dint);
		else
			onnx_tensor_set_f64(y, i, p >= 0 ? e->vflt[p] : e->dflt);
	}
	return ONNX_OK;
}

/* ---- CategoryMapper ---- */

typedef struct CatMap
{
	MlHash		hs;				/* strings -> position */
	MlHash		hi;				/* int64s -> position */
	int64_t		n;
	const char **strs;
	const int64_t *ints;
	const char *dstr;
	int64_t		dint;
} CatMap;

static OnnxStatus
prepare_category_mapper(OnnxNode *node, OnnxArena *arena, OnnxError *err)
{
	CatMap	   *c = onnx_arena_alloc(arena, sizeof(CatMap));
	const OnnxAttr *cs = onnx_attr(node, "cats_strings");
	int			ni;
	uint64_t   *w;

	if (c == NULL)
		return oom(err);
	ni = onnx_attr_ints(node, "cats_int64s", &c->ints);
	c->n = cs && cs->type == ONNX_ATTR_STRINGS ? cs->n : 0;
	if (c->n != ni || c->n == 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "CategoryMapper needs as many cats_strings as cats_int64s");
	c->strs = cs->strings;
	c->dstr = onnx_attr_string(node, "default_string", "_Unused");
	c->dint = onnx_attr_int(node, "default_int64", -1);
	if ((w = key_words(arena, KEY_INT, c->n, NULL, c->ints, NULL)) == NULL ||
		!ml_hash_build(&c->hs, arena, c->n, cs->strings, NULL, true) ||
		!ml_hash_build(&c->hi, arena, c->n, NULL, w, true))
		return oom(err);
	node->prepared = c;
	return ONNX_OK;
}

static OnnxStatus
run_category_mapper(OnnxKernelCtx *ctx)
{
	const CatMap *c = ctx->node->prepared;
	const OnnxTensor *x = onnx_in(ctx, 0);
	OnnxTensor *y;

	if (c == NULL)
		return onnx_kernel_fail(ctx, ONNX_ERR_INTERNAL, "CategoryMapper was not prepared");
	if (x == NULL || (x->dtype != ONNX_DTYPE_STRING && !dtype_is_int(x->dtype)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "CategoryMapper takes strings or int64");
	if ((y = onnx_out_like(ctx, 0, x->dtype == ONNX_DTYPE_STRING ? ONNX_DTYPE_INT64 : ONNX_DTYPE_STRING, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		if (x->dtype == ONNX_DTYPE_STRING)
		{
			int64_t		p = ml_hash_find_str(&c->hs, ((char *const *) x->data)[i]);

			((int64_t *) y->data)[i] = p >= 0 ? c->ints[p] : c->dint;
		}
		else
		{
			int64_t		p = ml_hash_find_word(&c->hi, (uint64_t) onnx_tensor_get_i64(x, i));

			if ((((char **) y->data)[i] = ml_strdup(ctx, p >= 0 ? c->strs[p] : c->dstr)) == NULL)
				return ctx->err->status;
		}
	}
	return ONNX_OK;
}

const OnnxOpDef onnx_ops_ml_encode[] = {
	ONNX_OP("ai.onnx.ml", "LabelEncoder", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_UNKNOWN, .run = run_label_encoder,
		.prepare = prepare_label_encoder),
	ONNX_OP("ai.onnx.ml", "CategoryMapper", 1, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = ONNX_TS_ANY, .out_type = ONNX_OUT_UNKNOWN, .run = run_category_mapper,
		.prepare = prepare_category_mapper),
	{0}
};
