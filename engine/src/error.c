/*-------------------------------------------------------------------------
 *
 * error.c
 *	  Filling the caller-owned OnnxError.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "engine_internal.h"

/* Record status and a formatted message; returns status for chaining. */
OnnxStatus
onnx_error_set(OnnxError *err, OnnxStatus status, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return status;
	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

/* Name node n as where err happened (operator, node name); returns st. */
OnnxStatus
onnx_error_at_node(OnnxError *err, const OnnxNode *n, OnnxStatus st)
{
	snprintf(err->op, sizeof(err->op), "%s", n->op_type);
	snprintf(err->node, sizeof(err->node), "%s", n->name);
	return st;
}

/* Reset to ONNX_OK with empty strings. */
void
onnx_error_clear(OnnxError *err)
{
	if (err == NULL)
		return;
	err->status = ONNX_OK;
	err->message[0] = '\0';
	err->op[0] = '\0';
	err->node[0] = '\0';
}

/* Short name of a status, for messages and logs. */
const char *
onnx_status_name(OnnxStatus status)
{
	switch (status)
	{
		case ONNX_OK:
			return "ok";
		case ONNX_ERR_INVALID_MODEL:
			return "invalid model";
		case ONNX_ERR_UNSUPPORTED:
			return "unsupported";
		case ONNX_ERR_INVALID_ARGUMENT:
			return "invalid argument";
		case ONNX_ERR_OUT_OF_MEMORY:
			return "out of memory";
		case ONNX_ERR_LIMIT:
			return "limit exceeded";
		case ONNX_ERR_CANCELLED:
			return "cancelled";
		case ONNX_ERR_RUNTIME:
			return "runtime error";
		case ONNX_ERR_DEVICE:
			return "device error";
		case ONNX_ERR_INTERNAL:
			return "internal error";
	}
	return "unknown status";
}
