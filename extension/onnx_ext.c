/*-------------------------------------------------------------------------
 *
 * onnx_ext.c
 *	  Module entry point of the onnx extension.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "onnx_ext.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Define GUCs and the session cache's invalidation callback; when loaded
 * through shared_preload_libraries, also the shared progress area.
 */
void
_PG_init(void)
{
	OnnxGucInit();
	OnnxCacheInit();
	OnnxProgressInit();
}
