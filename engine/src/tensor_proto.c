/*-------------------------------------------------------------------------
 *
 * tensor_proto.c
 *	  Convert protobuf TensorProto, SparseTensorProto, SequenceProto,
 *	  MapProto and OptionalProto into engine values, once, at load.
 *
 * Every length is checked against the dims before copying; external data
 * and segments are refused without touching any file.
 *
 *-------------------------------------------------------------------------
 */
#include "engine_internal.h"
#include "onnx.pb-c.h"
#include "proto_guard.h"
#include "tensor_proto.h"

/* Bytes of raw_data that count elements of dt occupy on the wire. */
static bool
raw_size(OnnxDType dt, int64_t count, size_t *out)
{
	switch (dt)
	{
		case ONNX_DTYPE_INT4:
		case ONNX_DTYPE_UINT4:
		case ONNX_DTYPE_FLOAT4E2M1:
			*out = (size_t) ((count + 1) / 2);
			return true;
		case ONNX_DTYPE_INT2:
		case ONNX_DTYPE_UINT2:
			*out = (size_t) ((count + 3) / 4);
			return true;
		default:
			return !onnx_mul_overflow_size((size_t) count, onnx_dtype_size(dt), out);
	}
}

/* Unpack 4- or 2-bit values (low bits first), sign-extending signed types. */
static void
unpack_subbyte(OnnxDType dt, const uint8_t *src, uint8_t *dst, int64_t count)
{
	int			bits = (dt == ONNX_DTYPE_INT2 || dt == ONNX_DTYPE_UINT2) ? 2 : 4;
	int			per = 8 / bits;
	bool		sign = dt == ONNX_DTYPE_INT4 || dt == ONNX_DTYPE_INT2;
	uint8_t		mask = (uint8_t) ((1 << bits) - 1);

	for (int64_t i = 0; i < count; i++)
	{
		uint8_t		v = (src[i / per] >> ((i % per) * bits)) & mask;

		if (sign && (v & (1 << (bits - 1))))
			dst[i] = (uint8_t) (v | ~mask);
		else
			dst[i] = v;
	}
}

static OnnxStatus
count_mismatch(OnnxError *err, const char *name, const char *field,
			   size_t have, int64_t want)
{
	return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
						  "tensor \"%s\" has %zu values in %s but its dims need %lld",
						  name ? name : "", have, field, (long long) want);
}

/* Convert a TensorProto into t, data allocated with alloc. */
OnnxStatus
onnx_tensor_from_proto(const Onnx__TensorProto *tp, const OnnxAllocator *alloc,
					   OnnxTensor *t, OnnxError *err)
{
	OnnxDType	dt = (OnnxDType) tp->data_type;
	const char *name = tp->name ? tp->name : "";
	int64_t		n;
	OnnxStatus	st;

	memset(t, 0, sizeof(*t));
	if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
							  "tensor \"%s\" uses external data, which is refused: embed the weights in the model", name);
	if (tp->segment)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
							  "tensor \"%s\" is segmented, which is not supported", name);
	if (tp->data_type <= 0 || tp->data_type >= ONNX_DTYPE_COUNT)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "tensor \"%s\" has invalid data type %d", name, tp->data_type);
	if (tp->n_dims > ONNX_MAX_RANK)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED,
							  "tensor \"%s\" has rank %zu, more than the supported %d",
							  name, tp->n_dims, ONNX_MAX_RANK);
	if ((st = onnx_tensor_set_shape(t, dt, (int) tp->n_dims, tp->dims, err)) != ONNX_OK)
		return st;
	if ((st = onnx_tensor_alloc_data(t, alloc, err)) != ONNX_OK)
		return st;
	n = t->count;

	if (dt == ONNX_DTYPE_STRING)
	{
		char	  **s = t->data;

		if (tp->has_raw_data && tp->raw_data.len > 0)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
								  "string tensor \"%s\" cannot use raw_data", name);
		if ((int64_t) tp->n_string_data != n)
			return count_mismatch(err, name, "string_data", tp->n_string_data, n);
		for (int64_t i = 0; i < n; i++)
		{
			size_t		len = tp->string_data[i].len;

			s[i] = alloc->alloc(alloc->ctx, len + 1);
			if (s[i] == NULL)
				return ONNX_ERROR_OOM(err);
			if (len)
				memcpy(s[i], tp->string_data[i].data, len);
			s[i][len] = '\0';
		}
		return ONNX_OK;
	}

	if (tp->has_raw_data)
	{
		size_t		want;

		if (!raw_size(dt, n, &want) || tp->raw_data.len != want)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
								  "tensor \"%s\" has %zu bytes of raw_data but its dims need %zu",
								  name, tp->raw_data.len, want);
		if (want == 0)
			return ONNX_OK;
		if (want != t->nbytes)
			unpack_subbyte(dt, tp->raw_data.data, t->data, n);
		else
			memcpy(t->data, tp->raw_data.data, want);
		if (dt == ONNX_DTYPE_BOOL)
			for (int64_t i = 0; i < n; i++)
				((uint8_t *) t->data)[i] = ((uint8_t *) t->data)[i] != 0;
		return ONNX_OK;
	}

	switch (dt)
	{
		case ONNX_DTYPE_FLOAT:
			if ((int64_t) tp->n_float_data != n)
				return count_mismatch(err, name, "float_data", tp->n_float_data, n);
			if (n)
				memcpy(t->data, tp->float_data, (size_t) n * 4);
			break;
		case ONNX_DTYPE_COMPLEX64:
			if ((int64_t) tp->n_float_data != 2 * n)
				return count_mismatch(err, name, "float_data", tp->n_float_data, 2 * n);
			if (n)
				memcpy(t->data, tp->float_data, (size_t) n * 8);
			break;
		case ONNX_DTYPE_DOUBLE:
			if ((int64_t) tp->n_double_data != n)
				return count_mismatch(err, name, "double_data", tp->n_double_data, n);
			if (n)
				memcpy(t->data, tp->double_data, (size_t) n * 8);
			break;
		case ONNX_DTYPE_COMPLEX128:
			if ((int64_t) tp->n_double_data != 2 * n)
				return count_mismatch(err, name, "double_data", tp->n_double_data, 2 * n);
			if (n)
				memcpy(t->data, tp->double_data, (size_t) n * 16);
			break;
		case ONNX_DTYPE_INT64:
			if ((int64_t) tp->n_int64_data != n)
				return count_mismatch(err, name, "int64_data", tp->n_int64_data, n);
			if (n)
				memcpy(t->data, tp->int64_data, (size_t) n * 8);
			break;
		case ONNX_DTYPE_UINT32:
		case ONNX_DTYPE_UINT64:
			if ((int64_t) tp->n_uint64_data != n)
				return count_mismatch(err, name, "uint64_data", tp->n_uint64_data, n);
			for (int64_t i = 0; i < n; i++)
			{
				if (dt == ONNX_DTYPE_UINT32)
					((uint32_t *) t->data)[i] = (uint32_t) tp->uint64_data[i];
				else
					((uint64_t *) t->data)[i] = tp->uint64_data[i];
			}
			break;
		case ONNX_DTYPE_INT4:
		case ONNX_DTYPE_UINT4:
		case ONNX_DTYPE_FLOAT4E2M1:
		case ONNX_DTYPE_INT2:
		case ONNX_DTYPE_UINT2:
			{
				size_t		packed;

				raw_size(dt, n, &packed);
				if ((int64_t) tp->n_int32_data == n)
				{
					for (int64_t i = 0; i < n; i++)
						((uint8_t *) t->data)[i] = (uint8_t) tp->int32_data[i];
				}
				else if (tp->n_int32_data == packed)
				{
					uint8_t    *tmp = alloc->alloc(alloc->ctx, packed + 1);

					if (tmp == NULL)
						return ONNX_ERROR_OOM(err);
					for (size_t i = 0; i < packed; i++)
						tmp[i] = (uint8_t) tp->int32_data[i];
					unpack_subbyte(dt, tmp, t->data, n);
					alloc->free(alloc->ctx, tmp);
				}
				else
					return count_mismatch(err, name, "int32_data", tp->n_int32_data, n);
				break;
			}
		default:
			/* int32 and narrower, bool, 16-bit floats (bits), float8 */
			if ((int64_t) tp->n_int32_data != n)
				return count_mismatch(err, name, "int32_data", tp->n_int32_data, n);
			for (int64_t i = 0; i < n; i++)
			{
				int32_t		v = tp->int32_data[i];

				switch (t->dtype)
				{
					case ONNX_DTYPE_INT32:
						((int32_t *) t->data)[i] = v;
						break;
					case ONNX_DTYPE_INT16:
						((int16_t *) t->data)[i] = (int16_t) v;
						break;
					case ONNX_DTYPE_UINT16:
					case ONNX_DTYPE_FLOAT16:
					case ONNX_DTYPE_BFLOAT16:
						((uint16_t *) t->data)[i] = (uint16_t) v;
						break;
					case ONNX_DTYPE_BOOL:
						((uint8_t *) t->data)[i] = v != 0;
						break;
					default:
						((uint8_t *) t->data)[i] = (uint8_t) v;
						break;
				}
			}
			break;
	}
	return ONNX_OK;
}

/* Convert a SparseTensorProto into a dense tensor. */
OnnxStatus
onnx_sparse_from_proto(const Onnx__SparseTensorProto *sp, const OnnxAllocator *alloc,
					   OnnxTensor *t, OnnxError *err)
{
	OnnxTensor	values;
	OnnxTensor	indices;
	OnnxStatus	st;
	size_t		esize;

	memset(t, 0, sizeof(*t));
	if (sp->values == NULL || sp->indices == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "sparse tensor lacks values or indices");
	if ((st = onnx_tensor_from_proto(sp->values, alloc, &values, err)) != ONNX_OK)
		return st;
	if (values.dtype == ONNX_DTYPE_STRING)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "sparse string tensors are not supported");
	if ((st = onnx_tensor_from_proto(sp->indices, alloc, &indices, err)) != ONNX_OK)
		return st;
	if (sp->n_dims > ONNX_MAX_RANK)
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "sparse tensor rank too large");
	if ((st = onnx_tensor_set_shape(t, values.dtype, (int) sp->n_dims, sp->dims, err)) != ONNX_OK)
		return st;
	if ((st = onnx_tensor_alloc_data(t, alloc, err)) != ONNX_OK)
		return st;
	if (indices.dtype != ONNX_DTYPE_INT64 || values.rank != 1)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "sparse tensor indices must be int64 and values 1-D");
	esize = onnx_dtype_size(values.dtype);
	for (int64_t k = 0; k < values.count; k++)
	{
		int64_t		flat = 0;

		if (indices.rank == 1 && indices.count == values.count)
			flat = ((int64_t *) indices.data)[k];
		else if (indices.rank == 2 && indices.dims[0] == values.count && indices.dims[1] == t->rank)
		{
			for (int d = 0; d < t->rank; d++)
			{
				int64_t		ix = ((int64_t *) indices.data)[k * t->rank + d];

				if (ix < 0 || ix >= t->dims[d])
					return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "sparse index out of range");
				flat = flat * t->dims[d] + ix;
			}
		}
		else
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "sparse tensor indices have the wrong shape");
		if (flat < 0 || flat >= t->count)
			return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "sparse index out of range");
		memcpy((char *) t->data + flat * esize, (char *) values.data + k * esize, esize);
	}
	onnx_tensor_free_data(&values, alloc);
	onnx_tensor_free_data(&indices, alloc);
	return ONNX_OK;
}

static OnnxStatus seq_from_proto(const Onnx__SequenceProto *sp, const OnnxAllocator *alloc,
								 OnnxValue *v, OnnxError *err);
static OnnxStatus map_from_proto(const Onnx__MapProto *mp, const OnnxAllocator *alloc,
								 OnnxValue *v, OnnxError *err);
static OnnxStatus opt_from_proto(const Onnx__OptionalProto *op, const OnnxAllocator *alloc,
								 OnnxValue *v, OnnxError *err);

static OnnxStatus
alloc_items(OnnxValue *v, int n, const OnnxAllocator *alloc, OnnxError *err)
{
	v->n_items = 0;
	if (n == 0)
		return ONNX_OK;
	v->items = alloc->alloc(alloc->ctx, sizeof(OnnxValue) * (size_t) n);
	if (v->items == NULL)
		return ONNX_ERROR_OOM(err);
	memset(v->items, 0, sizeof(OnnxValue) * (size_t) n);
	return ONNX_OK;
}

static OnnxStatus
seq_from_proto(const Onnx__SequenceProto *sp, const OnnxAllocator *alloc,
			   OnnxValue *v, OnnxError *err)
{
	OnnxStatus	st;
	size_t		n = sp->n_tensor_values + sp->n_sequence_values + sp->n_map_values +
		sp->n_optional_values + sp->n_sparse_tensor_values;

	memset(v, 0, sizeof(*v));
	v->kind = ONNX_VALUE_SEQUENCE;
	if (n > INT32_MAX)
		return onnx_error_set(err, ONNX_ERR_LIMIT, "sequence too long");
	if ((st = alloc_items(v, (int) n, alloc, err)) != ONNX_OK)
		return st;
	for (size_t i = 0; i < sp->n_tensor_values; i++)
	{
		v->items[v->n_items].kind = ONNX_VALUE_TENSOR;
		if ((st = onnx_tensor_from_proto(sp->tensor_values[i], alloc, &v->items[v->n_items++].tensor, err)) != ONNX_OK)
			return st;
		v->elem_dtype = v->items[0].tensor.dtype;
	}
	for (size_t i = 0; i < sp->n_sparse_tensor_values; i++)
	{
		v->items[v->n_items].kind = ONNX_VALUE_TENSOR;
		if ((st = onnx_sparse_from_proto(sp->sparse_tensor_values[i], alloc, &v->items[v->n_items++].tensor, err)) != ONNX_OK)
			return st;
	}
	for (size_t i = 0; i < sp->n_sequence_values; i++)
		if ((st = seq_from_proto(sp->sequence_values[i], alloc, &v->items[v->n_items++], err)) != ONNX_OK)
			return st;
	for (size_t i = 0; i < sp->n_map_values; i++)
		if ((st = map_from_proto(sp->map_values[i], alloc, &v->items[v->n_items++], err)) != ONNX_OK)
			return st;
	for (size_t i = 0; i < sp->n_optional_values; i++)
		if ((st = opt_from_proto(sp->optional_values[i], alloc, &v->items[v->n_items++], err)) != ONNX_OK)
			return st;
	return ONNX_OK;
}

/*
 * The engine holds a map's values as one 1-D tensor (items[0]); MapProto
 * holds them as a sequence of one scalar tensor per key.  Convert when
 * every value is a scalar of one dtype; otherwise keep the sequence.
 */
static OnnxStatus
map_values_as_tensor(OnnxValue *vals, int64_t n, const OnnxAllocator *alloc, OnnxError *err)
{
	OnnxValue	t;
	OnnxStatus	st;

	if (vals->n_items != n || n == 0)
		return ONNX_OK;
	for (int64_t i = 0; i < n; i++)
		if (vals->items[i].kind != ONNX_VALUE_TENSOR || vals->items[i].tensor.count != 1 ||
			vals->items[i].tensor.dtype != vals->items[0].tensor.dtype ||
			vals->items[i].tensor.dtype == ONNX_DTYPE_STRING)
			return ONNX_OK;
	memset(&t, 0, sizeof(t));
	t.kind = ONNX_VALUE_TENSOR;
	if ((st = onnx_tensor_set_shape(&t.tensor, vals->items[0].tensor.dtype, 1, &n, err)) != ONNX_OK ||
		(st = onnx_tensor_alloc_data(&t.tensor, alloc, err)) != ONNX_OK)
		return st;
	for (int64_t i = 0; i < n; i++)
		memcpy((char *) t.tensor.data + i * onnx_dtype_size(t.tensor.dtype), vals->items[i].tensor.data,
			   onnx_dtype_size(t.tensor.dtype));
	onnx_value_release(alloc, vals);
	*vals = t;
	return ONNX_OK;
}

static OnnxStatus
map_from_proto(const Onnx__MapProto *mp, const OnnxAllocator *alloc,
			   OnnxValue *v, OnnxError *err)
{
	OnnxStatus	st;
	int64_t		n;
	OnnxDType	kt = (OnnxDType) mp->key_type;

	memset(v, 0, sizeof(*v));
	v->kind = ONNX_VALUE_MAP;
	n = kt == ONNX_DTYPE_STRING ? (int64_t) mp->n_string_keys : (int64_t) mp->n_keys;
	if (kt <= 0 || kt >= ONNX_DTYPE_COUNT)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL, "map has invalid key type");
	if ((st = onnx_tensor_set_shape(&v->tensor, kt, 1, &n, err)) != ONNX_OK)
		return st;
	if ((st = onnx_tensor_alloc_data(&v->tensor, alloc, err)) != ONNX_OK)
		return st;
	for (int64_t i = 0; i < n; i++)
	{
		if (kt == ONNX_DTYPE_STRING)
		{
			size_t		len = mp->string_keys[i].len;
			char	   *s = alloc->alloc(alloc->ctx, len + 1);

			if (s == NULL)
				return ONNX_ERROR_OOM(err);
			memcpy(s, mp->string_keys[i].data, len);
			s[len] = '\0';
			((char **) v->tensor.data)[i] = s;
		}
		else
			onnx_tensor_set_i64(&v->tensor, i, mp->keys[i]);
	}
	if ((st = alloc_items(v, 1, alloc, err)) != ONNX_OK)
		return st;
	v->n_items = 1;
	if (mp->values == NULL)
	{
		v->items[0].kind = ONNX_VALUE_SEQUENCE;
		return ONNX_OK;
	}
	if ((st = seq_from_proto(mp->values, alloc, &v->items[0], err)) != ONNX_OK)
		return st;
	return map_values_as_tensor(&v->items[0], n, alloc, err);
}

static OnnxStatus
opt_from_proto(const Onnx__OptionalProto *op, const OnnxAllocator *alloc,
			   OnnxValue *v, OnnxError *err)
{
	OnnxStatus	st;

	memset(v, 0, sizeof(*v));
	v->kind = ONNX_VALUE_OPTIONAL;
	if (!op->tensor_value && !op->sequence_value && !op->map_value &&
		!op->optional_value && !op->sparse_tensor_value)
		return ONNX_OK;
	if ((st = alloc_items(v, 1, alloc, err)) != ONNX_OK)
		return st;
	v->n_items = 1;
	if (op->tensor_value)
	{
		v->items[0].kind = ONNX_VALUE_TENSOR;
		return onnx_tensor_from_proto(op->tensor_value, alloc, &v->items[0].tensor, err);
	}
	if (op->sparse_tensor_value)
	{
		v->items[0].kind = ONNX_VALUE_TENSOR;
		return onnx_sparse_from_proto(op->sparse_tensor_value, alloc, &v->items[0].tensor, err);
	}
	if (op->sequence_value)
		return seq_from_proto(op->sequence_value, alloc, &v->items[0], err);
	if (op->map_value)
		return map_from_proto(op->map_value, alloc, &v->items[0], err);
	return opt_from_proto(op->optional_value, alloc, &v->items[0], err);
}

/* Public: decode a serialized value (test data) into a caller-owned value. */
OnnxStatus
onnx_value_decode(const void *bytes, size_t len, OnnxValueKind hint,
				  const OnnxAllocator *alloc, OnnxValue *value, OnnxError *err)
{
	OnnxPbAlloc pb;
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *msg;
	OnnxStatus	st;

	onnx_error_clear(err);
	memset(value, 0, sizeof(*value));
	switch (hint)
	{
		case ONNX_VALUE_SEQUENCE:
			desc = &onnx__sequence_proto__descriptor;
			break;
		case ONNX_VALUE_MAP:
			desc = &onnx__map_proto__descriptor;
			break;
		case ONNX_VALUE_OPTIONAL:
			desc = &onnx__optional_proto__descriptor;
			break;
		default:
			desc = &onnx__tensor_proto__descriptor;
			break;
	}
	if ((st = onnx_proto_guard(desc, bytes, len, err)) != ONNX_OK)
		return st;
	onnx_pb_alloc_init(&pb, alloc);
	msg = protobuf_c_message_unpack(desc, &pb.pa, len, bytes);
	if (msg == NULL && pb.failed)
		return onnx_error_set(err, ONNX_ERR_OUT_OF_MEMORY, "out of memory decoding a value");
	if (msg == NULL)
		return onnx_error_set(err, ONNX_ERR_INVALID_ARGUMENT, "value does not parse as %s", desc->name);
	switch (hint)
	{
		case ONNX_VALUE_SEQUENCE:
			st = seq_from_proto((Onnx__SequenceProto *) msg, alloc, value, err);
			break;
		case ONNX_VALUE_MAP:
			st = map_from_proto((Onnx__MapProto *) msg, alloc, value, err);
			break;
		case ONNX_VALUE_OPTIONAL:
			st = opt_from_proto((Onnx__OptionalProto *) msg, alloc, value, err);
			break;
		default:
			value->kind = ONNX_VALUE_TENSOR;
			st = onnx_tensor_from_proto((Onnx__TensorProto *) msg, alloc, &value->tensor, err);
			break;
	}
	protobuf_c_message_free_unpacked(msg, &pb.pa);
	if (st != ONNX_OK)
		onnx_value_release(alloc, value);
	return st;
}

static void *
pb_alloc(void *ctx, size_t size)
{
	OnnxPbAlloc *pb = ctx;
	void	   *p = pb->alloc->alloc(pb->alloc->ctx, size);

	if (p == NULL)
		pb->failed = 1;
	return p;
}

static void
pb_free(void *ctx, void *p)
{
	OnnxPbAlloc *pb = ctx;

	pb->alloc->free(pb->alloc->ctx, p);
}

/* protobuf-c allocator drawing from alloc; pb must outlive its use. */
void
onnx_pb_alloc_init(OnnxPbAlloc *pb, const OnnxAllocator *alloc)
{
	pb->pa.alloc = pb_alloc;
	pb->pa.free = pb_free;
	pb->pa.allocator_data = pb;
	pb->alloc = alloc;
	pb->failed = 0;
}
