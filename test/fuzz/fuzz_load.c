/*-------------------------------------------------------------------------
 *
 * fuzz_load.c
 *	  libFuzzer target: arbitrary bytes as a model -> load, prepare and, if
 *	  that succeeds, run once with inputs shaped from the declared types.
 *	  Any crash, sanitizer report, leak or hang is a bug.
 *
 *	  make -C engine fuzz
 *	  engine/build-fuzz/fuzz_load -max_total_time=600 test/fuzz/seeds/load
 *
 *-------------------------------------------------------------------------
 */
#include <stddef.h>
#include <stdint.h>

#include "dummy_inputs.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	OnnxError	err;
	const char *stage;

	dummy_run_model(data, size, data, size > 64 ? 64 : size, &err, &stage);
	return 0;
}
