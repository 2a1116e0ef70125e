/*-------------------------------------------------------------------------
 *
 * proto_guard.c
 *	  Bound protobuf nesting depth and message count before decoding.
 *
 * protobuf-c's unpack recurses once per nested message without limit, so
 * a crafted model of a few kilobytes (graphs nested in attributes) would
 * overflow the stack.  This walker reads the wire format with the
 * generated descriptors, descends only into fields the schema declares as
 * messages, and stops at ONNX_MAX_PROTO_DEPTH levels.  Its own recursion
 * is bounded by the same limit.  It also rejects malformed wire data
 * (truncated varints, lengths past the end, groups).
 *
 *-------------------------------------------------------------------------
 */
#include <protobuf-c/protobuf-c.h>

#include "engine_internal.h"
#include "proto_guard.h"

typedef struct GuardState
{
	size_t		messages;
	OnnxError  *err;
} GuardState;

/* Read a varint at *pos; false if truncated or longer than 10 bytes. */
static bool
read_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t	v = 0;

	for (int shift = 0; shift < 70; shift += 7)
	{
		uint8_t		b;

		if (*pos >= len)
			return false;
		b = buf[(*pos)++];
		v |= (uint64_t) (b & 0x7f) << shift;
		if ((b & 0x80) == 0)
		{
			*out = v;
			return true;
		}
	}
	return false;
}

static OnnxStatus
guard_message(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
			  size_t len, int depth, GuardState *st)
{
	size_t		pos = 0;

	if (depth > ONNX_MAX_PROTO_DEPTH)
		return onnx_error_set(st->err, ONNX_ERR_LIMIT,
							  "model nesting is deeper than %d levels",
							  ONNX_MAX_PROTO_DEPTH);
	if (++st->messages > ONNX_MAX_PROTO_MESSAGES)
		return onnx_error_set(st->err, ONNX_ERR_LIMIT,
							  "model has more than %d protobuf messages",
							  ONNX_MAX_PROTO_MESSAGES);
	while (pos < len)
	{
		uint64_t	tag;
		uint64_t	n;
		unsigned	wire;
		uint64_t	field;

		if (!read_varint(buf, len, &pos, &tag))
			return onnx_error_set(st->err, ONNX_ERR_INVALID_MODEL,
								  "malformed protobuf: truncated field tag");
		wire = (unsigned) (tag & 7);
		field = tag >> 3;
		if (field == 0 || field > 536870911)
			return onnx_error_set(st->err, ONNX_ERR_INVALID_MODEL,
								  "malformed protobuf: invalid field number");
		switch (wire)
		{
			case 0:
				if (!read_varint(buf, len, &pos, &n))
					return onnx_error_set(st->err, ONNX_ERR_INVALID_MODEL,
										  "malformed protobuf: truncated varint");
				break;
			case 1:
				if (len - pos < 8)
					return onnx_error_set(st->err, ONNX_ERR_INVALID_MODEL,
										  "malformed protobuf: truncated 64-bit field");
				pos += 8;
				break;
			case 5:
				if (len - pos < 4)
					return onnx_error_set(st->err, ONNX_ERR_INVALID_MODEL,
										  "malformed protobuf: truncated 32-bit field");
				pos += 4;
				break;
			case 2:
				{
					const ProtobufCFieldDescriptor *f;

					if (!read_varint(buf, len, &pos, &n) || n > len - pos)
						return onnx_error_set(st->err, ONNX_ERR_INVALID_MODEL,
											  "malformed protobuf: length past the end of the data");
					f = desc ? protobuf_c_message_descriptor_get_field(desc, (unsigned) field) : NULL;
					if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE)
					{
						OnnxStatus	s = guard_message(f->descriptor, buf + pos,
													  (size_t) n, depth + 1, st);

						if (s != ONNX_OK)
							return s;
					}
					pos += (size_t) n;
					break;
				}
			default:
				return onnx_error_set(st->err, ONNX_ERR_INVALID_MODEL,
									  "malformed protobuf: unsupported wire type %u", wire);
		}
	}
	return ONNX_OK;
}

/* Check buf as a message of type desc; ONNX_OK if safe to unpack. */
OnnxStatus
onnx_proto_guard(const ProtobufCMessageDescriptor *desc, const void *buf,
				 size_t len, OnnxError *err)
{
	GuardState	st = {0, err};

	return guard_message(desc, buf, len, 1, &st);
}
