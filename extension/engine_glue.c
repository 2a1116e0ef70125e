/*-------------------------------------------------------------------------
 *
 * engine_glue.c
 *	  What the engine needs from PostgreSQL: an allocator over a memory
 *	  context (never longjmps: failures return NULL), an abort callback
 *	  reading the interrupt flags, and the translation of engine errors
 *	  into ereport with an errcode.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "miscadmin.h"
#include "utils/memutils.h"

#include "onnx_ext.h"

static void *
context_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size ? size : 1,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void
context_free(void *ctx, void *ptr)
{
	if (ptr)
		pfree(ptr);
}

/* An allocator drawing from cxt, itself allocated in cxt. */
OnnxAllocator *
OnnxContextAllocator(MemoryContext cxt)
{
	OnnxAllocator *a = MemoryContextAlloc(cxt, sizeof(OnnxAllocator));

	a->alloc = context_alloc;
	a->free = context_free;
	a->ctx = cxt;
	return a;
}

/*
 * Give memory the C library keeps after large frees back to the system
 * (glibc keeps freed heap memory below its mmap threshold).
 */
void
OnnxReleaseFreedMemory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* Engine abort callback: a cancel or termination request is pending. */
int
OnnxAbortRequested(void *ctx)
{
	return InterruptPending && (QueryCancelPending || ProcDiePending);
}

static int
errcode_for_status(OnnxStatus status)
{
	switch (status)
	{
		case ONNX_ERR_INVALID_MODEL:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case ONNX_ERR_UNSUPPORTED:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		case ONNX_ERR_INVALID_ARGUMENT:
			return ERRCODE_DATA_EXCEPTION;
		case ONNX_ERR_OUT_OF_MEMORY:
			return ERRCODE_OUT_OF_MEMORY;
		case ONNX_ERR_LIMIT:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case ONNX_ERR_CANCELLED:
			return ERRCODE_QUERY_CANCELED;
		case ONNX_ERR_RUNTIME:
			return ERRCODE_DATA_EXCEPTION;
		case ONNX_ERR_DEVICE:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		default:
			return ERRCODE_INTERNAL_ERROR;
	}
}

/*
 * Raise the engine error as a PostgreSQL error.  A cancellation first
 * gives PostgreSQL the chance to report its own cancel or timeout message.
 */
void
OnnxReportEngineError(const OnnxError *err, const char *model_name)
{
	/* node and value names come from the model: invalid bytes are escaped */
	char	   *message = OnnxMessageText(err->message);
	char	   *op = OnnxMessageText(err->op);
	char	   *node = OnnxMessageText(err->node);

	if (err->status == ONNX_ERR_CANCELLED)
		CHECK_FOR_INTERRUPTS();
	if (err->status == ONNX_ERR_INVALID_MODEL || err->status == ONNX_ERR_UNSUPPORTED)
		ereport(ERROR,
				(errcode(errcode_for_status(err->status)),
				 errmsg("%s ONNX model \"%s\"",
						err->status == ONNX_ERR_UNSUPPORTED ? "unsupported" : "invalid",
						model_name ? model_name : ""),
				 op[0] ? errdetail("%s (operator %s, node \"%s\")", message, op, node)
				 : errdetail("%s", message)));
	ereport(ERROR,
			(errcode(errcode_for_status(err->status)),
			 errmsg("%s", message),
			 model_name ? errdetail("Model \"%s\"%s%s%s%s.", model_name,
									op[0] ? ", operator " : "", op,
									node[0] ? ", node " : "", node) : 0));
	pg_unreachable();
}

/* Load a model or raise an error naming it. */
OnnxModel *
OnnxLoadModelOrError(const void *bytes, size_t len, const OnnxAllocator *alloc,
					 const char *model_name)
{
	OnnxModel  *model;
	OnnxError	err;

	if (onnx_model_load(bytes, len, alloc, &model, &err) != ONNX_OK)
		OnnxReportEngineError(&err, model_name);
	return model;
}
