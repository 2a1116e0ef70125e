/*-------------------------------------------------------------------------
 *
 * onnx_list_ops.c
 *	  Print the operator registry, one "domain<TAB>name<TAB>since" line
 *	  per definition: the source of the README's operator table.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "onnx_engine.h"

int
main(void)
{
	for (int i = 0; i < onnx_registry_count(); i++)
	{
		const char *domain;
		const char *name;
		int			since;

		onnx_registry_entry(i, &domain, &name, &since);
		printf("%s\t%s\t%d\n", domain[0] ? domain : "ai.onnx", name, since);
	}
	return 0;
}
