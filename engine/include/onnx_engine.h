/*-------------------------------------------------------------------------
 *
 * onnx_engine.h
 *	  Public API of the onnx inference engine.
 *
 * The engine loads an ONNX model from bytes, validates it, prepares a
 * session (operator resolution, type and shape inference, value lifetimes)
 * and runs it with named inputs to named outputs.  Prepare once, run many.
 *
 * Contract:
 *	- Every function that can fail returns an OnnxStatus and fills a
 *	  caller-owned OnnxError.  Nothing here exits, aborts, asserts, prints,
 *	  reads files or reads the environment.
 *	- All memory comes from the caller's OnnxAllocator; a failed allocation
 *	  is ONNX_ERR_OUT_OF_MEMORY.
 *	- A model and the sessions made from it are used by one thread at a
 *	  time; kernels may use intra-op threads (OpenBLAS) capped by
 *	  OnnxSessionOptions.threads.  Only the abort callback is called from
 *	  inside a run, always on the calling thread.
 *
 * This header includes no PostgreSQL header, and must never do so.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ONNX_ENGINE_H
#define ONNX_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

#define ONNX_MAX_RANK 16
#define ONNX_ERROR_MESSAGE_LEN 512

/* Status codes returned by every fallible engine function. */
typedef enum OnnxStatus
{
	ONNX_OK = 0,
	ONNX_ERR_INVALID_MODEL,		/* model bytes do not parse or are inconsistent */
	ONNX_ERR_UNSUPPORTED,		/* operator, opset, dtype or feature not implemented */
	ONNX_ERR_INVALID_ARGUMENT,	/* caller input has the wrong name, type or shape */
	ONNX_ERR_OUT_OF_MEMORY,		/* the allocator hook returned NULL */
	ONNX_ERR_LIMIT,				/* a size or memory limit would be exceeded */
	ONNX_ERR_CANCELLED,			/* the abort callback asked to stop */
	ONNX_ERR_RUNTIME,			/* a kernel failed on the data it was given */
	ONNX_ERR_DEVICE,			/* device (CUDA) missing or failed */
	ONNX_ERR_INTERNAL			/* a bug in the engine */
} OnnxStatus;

/* Caller-owned description of the last failure. */
typedef struct OnnxError
{
	OnnxStatus	status;
	char		message[ONNX_ERROR_MESSAGE_LEN];
	char		op[64];			/* operator type, "" if not about a node */
	char		node[128];		/* node name, "" if unknown */
} OnnxError;

/*
 * Allocator hook.  alloc returns NULL on failure (never longjmps); free
 * accepts NULL.  ctx is passed back unchanged.
 */
typedef struct OnnxAllocator
{
	void	   *(*alloc) (void *ctx, size_t size);
	void		(*free) (void *ctx, void *ptr);
	void	   *ctx;
} OnnxAllocator;

/* The malloc/free allocator, for tools and tests outside PostgreSQL. */
extern const OnnxAllocator onnx_malloc_allocator;

/* Abort callback: returns nonzero when the run must stop. */
typedef int (*OnnxAbortFn) (void *ctx);

/* Tensor element types; values are TensorProto.DataType numbers. */
typedef enum OnnxDType
{
	ONNX_DTYPE_UNDEFINED = 0,
	ONNX_DTYPE_FLOAT = 1,
	ONNX_DTYPE_UINT8 = 2,
	ONNX_DTYPE_INT8 = 3,
	ONNX_DTYPE_UINT16 = 4,
	ONNX_DTYPE_INT16 = 5,
	ONNX_DTYPE_INT32 = 6,
	ONNX_DTYPE_INT64 = 7,
	ONNX_DTYPE_STRING = 8,
	ONNX_DTYPE_BOOL = 9,
	ONNX_DTYPE_FLOAT16 = 10,
	ONNX_DTYPE_DOUBLE = 11,
	ONNX_DTYPE_UINT32 = 12,
	ONNX_DTYPE_UINT64 = 13,
	ONNX_DTYPE_COMPLEX64 = 14,
	ONNX_DTYPE_COMPLEX128 = 15,
	ONNX_DTYPE_BFLOAT16 = 16,
	ONNX_DTYPE_FLOAT8E4M3FN = 17,
	ONNX_DTYPE_FLOAT8E4M3FNUZ = 18,
	ONNX_DTYPE_FLOAT8E5M2 = 19,
	ONNX_DTYPE_FLOAT8E5M2FNUZ = 20,
	ONNX_DTYPE_UINT4 = 21,
	ONNX_DTYPE_INT4 = 22,
	ONNX_DTYPE_FLOAT4E2M1 = 23,
	ONNX_DTYPE_FLOAT8E8M0 = 24,
	ONNX_DTYPE_UINT2 = 25,
	ONNX_DTYPE_INT2 = 26,
	ONNX_DTYPE_COUNT
} OnnxDType;

typedef enum OnnxDevice
{
	ONNX_DEVICE_CPU = 0,
	ONNX_DEVICE_CUDA = 1
} OnnxDevice;

/*
 * A dense tensor in row-major (C) order.  For ONNX_DTYPE_STRING, data is
 * an array of count NUL-terminated char pointers.  Sub-byte types (int4,
 * uint4, float4, int2, uint2) are stored unpacked, one element per byte.
 * A scalar has rank 0 and count 1.
 */
typedef struct OnnxTensor
{
	OnnxDType	dtype;
	int			rank;
	int64_t		dims[ONNX_MAX_RANK];
	int64_t		count;			/* product of dims */
	size_t		nbytes;			/* count * element size */
	void	   *data;
} OnnxTensor;

typedef enum OnnxValueKind
{
	ONNX_VALUE_NONE = 0,		/* absent (empty optional / missing input) */
	ONNX_VALUE_TENSOR,
	ONNX_VALUE_SEQUENCE,		/* items[0..n_items) */
	ONNX_VALUE_MAP,				/* tensor holds the 1-D keys; items[0] the values */
	ONNX_VALUE_OPTIONAL			/* n_items 0 (empty) or 1 (items[0]) */
} OnnxValueKind;

typedef struct OnnxValue
{
	OnnxValueKind kind;
	OnnxTensor	tensor;
	int			n_items;
	struct OnnxValue *items;
	OnnxDType	elem_dtype;		/* element dtype of an empty sequence/optional */
} OnnxValue;

/* Static description of a graph input or output. */
typedef struct OnnxValueInfo
{
	const char *name;
	const char *doc;
	OnnxValueKind kind;
	OnnxDType	dtype;			/* element dtype (UNDEFINED if unknown) */
	int			rank;			/* -1 if unknown */
	int64_t		dims[ONNX_MAX_RANK];	/* -1 for a dynamic dimension */
	const char *dim_params[ONNX_MAX_RANK];	/* symbolic name or NULL */
	const char *type_text;		/* e.g. "tensor(float)", "seq(tensor(float))" */
} OnnxValueInfo;

typedef struct OnnxOpsetInfo
{
	const char *domain;			/* "" is ai.onnx */
	int64_t		version;
} OnnxOpsetInfo;

typedef struct OnnxModelMeta
{
	int64_t		ir_version;
	const char *producer_name;
	const char *producer_version;
	const char *domain;
	int64_t		model_version;
	const char *doc_string;
	const char *graph_name;
	const char *graph_doc;
	int			n_opsets;
	const OnnxOpsetInfo *opsets;
	int			n_props;
	const char *const *prop_keys;
	const char *const *prop_values;
} OnnxModelMeta;

typedef struct OnnxModel OnnxModel;
typedef struct OnnxSession OnnxSession;

typedef struct OnnxSessionOptions
{
	OnnxDevice	device;
	int			threads;		/* intra-op threads; <= 0 means 1 */
	size_t		max_memory;		/* bytes of live tensors per run; 0 = none */
	OnnxAbortFn abort_fn;		/* may be NULL */
	void	   *abort_ctx;
	int			profile;		/* time every node (onnx_session_profile): one of */
	/*
	 * Allocator of everything a session allocates (run buffers, outputs,
	 * scratch); NULL means the model's.  A model loaded into memory other
	 * processes share gives its sessions a private one here.
	 */
	const struct OnnxAllocator *alloc;
} OnnxSessionOptions;

#define ONNX_PROFILE_OFF 0
#define ONNX_PROFILE_WALL 1		/* CLOCK_MONOTONIC: two reads per node, ~0.1 us */
#define ONNX_PROFILE_CPU 2		/* the thread's CPU clock, which leaves out what
								 * other processes take of the core: ~1 us per
								 * node (two system calls) */

/*
 * Time spent in one operator type while profiling: calls and self time,
 * i.e. a node's time less that of the nodes it ran in subgraphs (those are
 * counted under their own op types), so the totals add up to the time
 * spent in nodes.  op_type and domain point into the engine's operator
 * table and stay valid for the life of the process.
 */
typedef struct OnnxOpProfile
{
	const char *op_type;
	const char *domain;			/* "" is ai.onnx */
	int64_t		calls;
	uint64_t	total_ns;
} OnnxOpProfile;

/* Limits applied before protobuf decoding. */
#define ONNX_MAX_PROTO_DEPTH 64
#define ONNX_MAX_PROTO_MESSAGES 50000000

/* ---- model ---- */

/*
 * Decode, convert and validate a model.  The bytes are not kept.  Checks
 * protobuf nesting depth and message count before decoding, refuses
 * external data, checks every tensor's length against its dims, resolves
 * every operator (all missing operators are listed in one error) and
 * infers types and shapes.
 */
extern OnnxStatus onnx_model_load(const void *bytes, size_t len,
								  const OnnxAllocator *alloc,
								  OnnxModel **model, OnnxError *err);

/*
 * onnx_model_load with the model's memory (graph, weights, packed data:
 * everything onnx_model_free releases) from alloc and the memory needed
 * only while loading (protobuf decoding) from scratch.  Once loaded, a
 * model is never written: runs only read it, so it may live in memory
 * that several processes map read-only, as long as its sessions allocate
 * from elsewhere (OnnxSessionOptions.alloc).
 */
extern OnnxStatus onnx_model_load_in(const void *bytes, size_t len,
									 const OnnxAllocator *alloc,
									 const OnnxAllocator *scratch,
									 OnnxModel **model, OnnxError *err);
extern void onnx_model_free(OnnxModel *model);

extern void onnx_model_meta(const OnnxModel *model, OnnxModelMeta *meta);
extern int	onnx_model_input_count(const OnnxModel *model);
extern const OnnxValueInfo *onnx_model_input(const OnnxModel *model, int i);
extern int	onnx_model_output_count(const OnnxModel *model);
extern const OnnxValueInfo *onnx_model_output(const OnnxModel *model, int i);

/* ---- session ---- */

/*
 * Prepare a session for a model.  The model must outlive the session.
 */
extern OnnxStatus onnx_session_create(const OnnxModel *model,
									  const OnnxSessionOptions *opts,
									  OnnxSession **session, OnnxError *err);
extern void onnx_session_free(OnnxSession *session);

/* Change threads, memory limit and abort callback (not the device). */
extern OnnxStatus onnx_session_set_options(OnnxSession *session,
										   const OnnxSessionOptions *opts,
										   OnnxError *err);

/*
 * Run the model.  inputs[i] is bound to the graph input named
 * input_names[i]; inputs are borrowed, never modified.  Each outputs[i]
 * receives the value named output_names[i] (or, when output_names is
 * NULL, the i-th graph output) and is owned by the caller afterwards:
 * release it with onnx_value_release.  On failure no output is left
 * allocated.
 */
extern OnnxStatus onnx_session_run(OnnxSession *session,
								   int n_inputs, const char *const *input_names,
								   const OnnxValue *inputs,
								   int n_outputs, const char *const *output_names,
								   OnnxValue *outputs, OnnxError *err);

/* Bytes currently held by the session (weights, packed data, run buffers). */
extern size_t onnx_session_bytes(const OnnxSession *session);

/*
 * Bytes of reusable run buffers the session keeps between runs (tensor
 * buffers and kernels' scratch chunks; part of onnx_session_bytes), and a
 * trim of them: the scratch chunks go when they alone exceed keep_bytes,
 * then buffers, largest first, until at most keep_bytes remain.  A failed
 * run keeps none.
 */
extern size_t onnx_session_pool_bytes(const OnnxSession *session);
extern void onnx_session_trim(OnnxSession *session, size_t keep_bytes);

/*
 * Per-operator-type times collected by the runs made with
 * OnnxSessionOptions.profile on (the chosen clock read around each node), since
 * the session was created or onnx_session_profile_reset.  Writes up to
 * max entries, largest total_ns first, and returns how many operator
 * types ran (0 when the session never profiled).
 */
extern int	onnx_session_profile(const OnnxSession *session, OnnxOpProfile *entries,
								 int max);
extern void onnx_session_profile_reset(OnnxSession *session);

/*
 * The name of the single-precision GEMM kernel in use, e.g. "onnx avx512f
 * 14x32 (OpenBLAS Prescott not used)".
 */
extern const char *onnx_gemm_kernel_name(void);

/* ---- values ---- */

/* Free what a value owns (for values the engine produced). */
extern void onnx_value_release(const OnnxAllocator *alloc, OnnxValue *value);

/*
 * Decode a serialized TensorProto, SequenceProto, MapProto or
 * OptionalProto (as found in ONNX test data) into a value the caller owns.
 * hint selects the message type.
 */
extern OnnxStatus onnx_value_decode(const void *bytes, size_t len,
									OnnxValueKind hint,
									const OnnxAllocator *alloc,
									OnnxValue *value, OnnxError *err);

/*
 * Element access with conversion, for any numeric or bool tensor
 * (float16/bfloat16 included): read element i as double or int64, store
 * a double or int64 at element i (C conversion rules, integers wrap).
 */
extern double onnx_tensor_get_f64(const OnnxTensor *t, int64_t i);
extern int64_t onnx_tensor_get_i64(const OnnxTensor *t, int64_t i);
extern void onnx_tensor_set_f64(OnnxTensor *t, int64_t i, double v);
extern void onnx_tensor_set_i64(OnnxTensor *t, int64_t i, int64_t v);

/* dtype helpers */
extern const char *onnx_dtype_name(OnnxDType dtype);	/* "float32", ... */
extern OnnxDType onnx_dtype_from_name(const char *name);	/* UNDEFINED if unknown */
extern size_t onnx_dtype_size(OnnxDType dtype);	/* 0 if not representable */
extern int	onnx_dtype_is_floating(OnnxDType dtype);	/* 1 for any float format, float8 too */
extern const char *onnx_status_name(OnnxStatus status);

/* ---- operator registry ---- */

/* Number of registered operator definitions, and the i-th one. */
extern int	onnx_registry_count(void);
extern void onnx_registry_entry(int i, const char **domain, const char **name,
								int *since_version);

/* Whether the engine was built with CUDA, and a GPU is usable now. */
extern int	onnx_cuda_available(char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif							/* ONNX_ENGINE_H */
