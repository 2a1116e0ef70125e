/*-------------------------------------------------------------------------
 *
 * ops_string.c
 *	  Operator family "string": StringNormalizer, StringConcat, StringSplit,
 *	  RegexFullMatch.
 *
 *	  Strings are NUL-terminated UTF-8; every output string is allocated
 *	  through the kernel allocator and owned by the output tensor.  Case
 *	  mapping is the engine's own (ASCII, Latin-1, Latin Extended-A, Greek,
 *	  Cyrillic; the same byte length both ways) and never depends on the
 *	  process locale.  RegexFullMatch translates the RE2 pattern into a
 *	  POSIX extended regular expression (<regex.h>); what has no POSIX
 *	  form is refused with an error naming it.  regcomp allocates with
 *	  malloc, outside the allocator hook; the compiled pattern lives for
 *	  one kernel call.
 *
 *-------------------------------------------------------------------------
 */
#include <regex.h>
#include <stdio.h>

#include "op_tables.h"

/* String element i of t ("" for a NULL entry). */
static const char *
str_at(const OnnxTensor *t, int64_t i)
{
	const char *s = ((char *const *) t->data)[i];

	return s ? s : "";
}

/* ---- case mapping ---- */

/*
 * Upper-case partner (upper = true) or lower-case partner of code point c,
 * c itself when it has none in the covered blocks.  Both partners encode
 * to the same number of UTF-8 bytes.
 */
static uint32_t
case_map(uint32_t c, bool upper)
{
	if (c < 0x80)
	{
		if (upper && c >= 'a' && c <= 'z')
			return c - 32;
		if (!upper && c >= 'A' && c <= 'Z')
			return c + 32;
		return c;
	}
	/* Latin-1: U+00C0..U+00DE <-> U+00E0..U+00FE, not the signs x and / */
	if (upper && c >= 0xE0 && c <= 0xFE && c != 0xF7)
		return c - 0x20;
	if (!upper && c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 0x20;
	/* Latin Extended-A: pairs, even/odd or odd/even; dotted/dotless i kept */
	if (c >= 0x100 && c <= 0x17E && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149)
	{
		bool		odd_upper = (c >= 0x139 && c <= 0x148) || c >= 0x179;
		bool		is_upper = ((c & 1) != 0) == odd_upper;

		if (c == 0x178)
			return c;			/* Y with diaeresis pairs with U+00FF */
		if (upper && !is_upper)
			return c - 1;
		if (!upper && is_upper)
			return c + 1;
		return c;
	}
	/* Greek: U+0391..U+03AB <-> U+03B1..U+03CB, final sigma up to U+03A3 */
	if (upper && c == 0x3C2)
		return 0x3A3;
	if (upper && c >= 0x3B1 && c <= 0x3CB)
		return c - 0x20;
	if (!upper && c >= 0x391 && c <= 0x3AB && c != 0x3A2)
		return c + 0x20;
	/* Cyrillic: U+0400..U+040F <-> U+0450..U+045F, U+0410..U+042F <-> U+0430..U+044F */
	if (upper && c >= 0x450 && c <= 0x45F)
		return c - 0x50;
	if (upper && c >= 0x430 && c <= 0x44F)
		return c - 0x20;
	if (!upper && c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	if (!upper && c >= 0x410 && c <= 0x42F)
		return c + 0x20;
	return c;
}

/*
 * Change the case of UTF-8 string s in place (the length never changes).
 * Only one- and two-byte sequences can change; others are copied.
 */
static void
utf8_change_case(char *s, bool upper)
{
	unsigned char *p = (unsigned char *) s;

	while (*p)
	{
		if (*p < 0x80)
		{
			*p = (unsigned char) case_map(*p, upper);
			p++;
		}
		else if ((p[0] & 0xE0) == 0xC0 && (p[1] & 0xC0) == 0x80)
		{
			uint32_t	c = ((uint32_t) (p[0] & 0x1F) << 6) | (p[1] & 0x3F);
			uint32_t	m = case_map(c, upper);

			if (m >= 0x80 && m < 0x800)
			{
				p[0] = (unsigned char) (0xC0 | (m >> 6));
				p[1] = (unsigned char) (0x80 | (m & 0x3F));
			}
			p += 2;
		}
		else
			p++;
	}
}

/* ---- StringNormalizer ---- */

/* case_change_action is NONE, LOWER or UPPER. */
static OnnxStatus
check_normalizer(const OnnxNode *node, OnnxError *err)
{
	const char *act = onnx_attr_string(node, "case_change_action", "NONE");

	if (strcmp(act, "NONE") != 0 && strcmp(act, "LOWER") != 0 && strcmp(act, "UPPER") != 0)
		return onnx_error_set(err, ONNX_ERR_INVALID_MODEL,
							  "case_change_action must be NONE, LOWER or UPPER, got \"%s\"", act);
	return ONNX_OK;
}

/*
 * True if s is one of the n words (already lower-cased when folding; s is
 * then lower-cased into the scratch buffer tmp, strlen(s) + 1 bytes).
 */
static bool
is_stopword(const char *s, char *const *words, int n, bool fold, char *tmp)
{
	if (fold)
	{
		strcpy(tmp, s);
		utf8_change_case(tmp, false);
		s = tmp;
	}
	for (int k = 0; k < n; k++)
		if (strcmp(s, words[k]) == 0)
			return true;
	return false;
}

/*
 * Copies of the stopwords attribute, lower-cased when folding, in *words
 * (n entries, freed by free_words); false when out of memory.
 */
static bool
load_stopwords(OnnxKernelCtx *ctx, bool fold, char ***words, int *n)
{
	const OnnxAttr *stop = onnx_attr(ctx->node, "stopwords");

	*n = stop && stop->type == ONNX_ATTR_STRINGS ? stop->n : 0;
	if ((*words = onnx_kernel_alloc(ctx, sizeof(char *) * (size_t) (*n + 1))) == NULL)
		return false;
	memset(*words, 0, sizeof(char *) * (size_t) (*n + 1));
	for (int k = 0; k < *n; k++)
	{
		const char *w = stop->strings[k] ? stop->strings[k] : "";

		if (((*words)[k] = onnx_kernel_strndup(ctx, w, strlen(w))) == NULL)
			return false;
		if (fold)
			utf8_change_case((*words)[k], false);
	}
	return true;
}

static void
free_words(OnnxKernelCtx *ctx, char **words, int n)
{
	if (words)
		for (int k = 0; k < n; k++)
			onnx_kernel_free(ctx, words[k]);
	onnx_kernel_free(ctx, words);
}

/*
 * StringNormalizer: X (C) or (1, C) -> Y (C') or (1, C'): the stopwords
 * removed, then lower- or upper-cased.  When every element is removed, Y
 * is one empty string, (1) or (1, 1).
 */
static OnnxStatus
run_string_normalizer(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const char *act = onnx_attr_string(ctx->node, "case_change_action", "NONE");
	bool		fold = onnx_attr_int(ctx->node, "is_case_sensitive", 0) == 0;
	char	  **words = NULL;
	int			nwords = 0;
	bool	   *keep;
	int64_t		kept = 0,
				dims[2];
	OnnxTensor *y;

	if (x == NULL || x->dtype != ONNX_DTYPE_STRING || !(x->rank == 1 || (x->rank == 2 && x->dims[0] == 1)))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "StringNormalizer needs a string tensor (C) or (1, C)");
	if ((keep = onnx_kernel_scratch(ctx, (size_t) x->count, 1)) == NULL)
		return ctx->err->status;
	if (!load_stopwords(ctx, fold, &words, &nwords))
	{
		free_words(ctx, words, nwords);
		return ctx->err->status;
	}
	for (int64_t i = 0; i < x->count; i++)
	{
		const char *s = str_at(x, i);
		char	   *tmp = NULL;

		if (fold && nwords && (tmp = onnx_kernel_alloc(ctx, strlen(s) + 1)) == NULL)
		{
			free_words(ctx, words, nwords);
			return ctx->err->status;
		}
		keep[i] = !is_stopword(s, words, nwords, fold && nwords, tmp);
		kept += keep[i];
		onnx_kernel_free(ctx, tmp);
	}
	free_words(ctx, words, nwords);
	dims[0] = 1;
	dims[x->rank - 1] = kept ? kept : 1;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_STRING, x->rank, dims)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0, o = 0; o < y->count; i++)
	{
		const char *s = kept == 0 ? "" : str_at(x, i);
		char	   *d;

		if (kept && !keep[i])
			continue;
		if ((d = onnx_kernel_strndup(ctx, s, strlen(s))) == NULL)
			return ctx->err->status;
		if (strcmp(act, "NONE") != 0)
			utf8_change_case(d, act[0] == 'U');
		((char **) y->data)[o++] = d;
	}
	return ONNX_OK;
}

/* ---- StringConcat ---- */

/* StringConcat: X, Y (broadcast) -> Z = X || Y element-wise. */
static OnnxStatus
run_string_concat(OnnxKernelCtx *ctx)
{
	const OnnxTensor *ins[2] = {onnx_in(ctx, 0), onnx_in(ctx, 1)};
	int64_t		dims[ONNX_MAX_RANK];
	int			rank;
	OnnxBcastIter it;
	OnnxTensor *z;

	if (ins[0] == NULL || ins[1] == NULL || ins[0]->dtype != ONNX_DTYPE_STRING || ins[1]->dtype != ONNX_DTYPE_STRING)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "StringConcat needs two string tensors");
	if (!onnx_broadcast_shape(ins[0]->rank, ins[0]->dims, ins[1]->rank, ins[1]->dims, &rank, dims))
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "StringConcat inputs do not broadcast");
	if ((z = onnx_out(ctx, 0, ONNX_DTYPE_STRING, rank, dims)) == NULL)
		return ctx->err->status;
	onnx_bcast_init(&it, z, 2, ins);
	for (int64_t i = 0; i < z->count; i++, onnx_bcast_next(&it))
	{
		const char *a = str_at(ins[0], it.off[0]);
		const char *b = str_at(ins[1], it.off[1]);
		size_t		la = strlen(a),
					lb = strlen(b);
		char	   *d = onnx_kernel_alloc(ctx, la + lb + 1);

		if (d == NULL)
			return ctx->err->status;
		memcpy(d, a, la);
		memcpy(d + la, b, lb + 1);
		((char **) z->data)[i] = d;
	}
	return ONNX_OK;
}

/* ---- StringSplit ---- */

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * Split s: with a delimiter, at each occurrence (empty pieces kept); with
 * none, at whitespace runs (leading and trailing whitespace dropped).  At
 * most maxsplit splits (negative: no limit); the rest is the last piece
 * (as Python's str.split: after maxsplit, whitespace mode keeps it whole).
 * Reports the count and, when starts/lens are given, the pieces.
 */
static int64_t
split_one(const char *s, const char *delim, int64_t maxsplit, const char **starts, size_t *lens)
{
	size_t		dl = strlen(delim);
	int64_t		n = 0;
	const char *p = s;

	if (dl == 0)
	{
		while (*p)
		{
			const char *b;

			while (is_space(*p))
				p++;
			if (!*p)
				break;
			b = p;
			if (maxsplit >= 0 && n == maxsplit)
				p += strlen(p);	/* the rest, trailing whitespace kept */
			else
				while (*p && !is_space(*p))
					p++;
			if (starts)
			{
				starts[n] = b;
				lens[n] = (size_t) (p - b);
			}
			n++;
		}
		return n;
	}
	for (;;)
	{
		const char *hit = (maxsplit >= 0 && n == maxsplit) ? NULL : strstr(p, delim);
		size_t		len = hit ? (size_t) (hit - p) : strlen(p);

		if (starts)
		{
			starts[n] = p;
			lens[n] = len;
		}
		n++;
		if (hit == NULL)
			return n;
		p = hit + dl;
	}
}

/*
 * StringSplit: X (...) -> Y (..., max pieces) padded with "", Z (...)
 * int64 piece counts.
 */
static OnnxStatus
run_string_split(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	const char *delim = onnx_attr_string(ctx->node, "delimiter", "");
	const OnnxAttr *ms = onnx_attr(ctx->node, "maxsplit");
	int64_t		maxsplit = ms ? ms->i : -1;
	int64_t		width = 0,
				dims[ONNX_MAX_RANK];
	const char **starts;
	size_t	   *lens;
	OnnxTensor *y,
			   *z;

	if (x == NULL || x->dtype != ONNX_DTYPE_STRING || x->rank >= ONNX_MAX_RANK)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "StringSplit needs a string tensor of rank below %d",
								ONNX_MAX_RANK);
	if (ms && maxsplit < 0)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "maxsplit must not be negative");
	if ((z = onnx_out_like(ctx, 1, ONNX_DTYPE_INT64, x)) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int64_t		n = split_one(str_at(x, i), delim, maxsplit, NULL, NULL);

		((int64_t *) z->data)[i] = n;
		if (n > width)
			width = n;
	}
	memcpy(dims, x->dims, sizeof(int64_t) * (size_t) x->rank);
	dims[x->rank] = width;
	if ((y = onnx_out(ctx, 0, ONNX_DTYPE_STRING, x->rank + 1, dims)) == NULL)
		return ctx->err->status;
	if ((starts = onnx_kernel_scratch(ctx, (size_t) width + 1, sizeof(char *))) == NULL ||
		(lens = onnx_kernel_scratch(ctx, (size_t) width + 1, sizeof(size_t))) == NULL)
		return ctx->err->status;
	for (int64_t i = 0; i < x->count; i++)
	{
		int64_t		n = split_one(str_at(x, i), delim, maxsplit, starts, lens);

		for (int64_t k = 0; k < width; k++)
		{
			char	   *d = k < n ? onnx_kernel_strndup(ctx, starts[k], lens[k]) : onnx_kernel_strndup(ctx, "", 0);

			if (d == NULL)
				return ctx->err->status;
			((char **) y->data)[i * width + k] = d;
		}
	}
	return ONNX_OK;
}

/* ---- RegexFullMatch ---- */

/* Output buffer of the RE2 -> POSIX translation. */
typedef struct RegexBuf
{
	char	   *s;
	size_t		len;
	size_t		cap;
	char		why[160];		/* what could not be translated */
} RegexBuf;

static void
rb_put(RegexBuf *b, const char *t)
{
	size_t		n = strlen(t);

	if (b->len + n < b->cap)
	{
		memcpy(b->s + b->len, t, n);
		b->len += n;
	}
	else
		snprintf(b->why, sizeof(b->why), "the translated pattern exceeds %zu bytes", b->cap);
	b->s[b->len] = '\0';
}

static void
rb_putc(RegexBuf *b, char c)
{
	char		t[2] = {c, '\0'};

	rb_put(b, t);
}

/* POSIX bracket content of a class escape (\d \w \s), or NULL. */
static const char *
class_body(char e)
{
	switch (e)
	{
		case 'd':
		case 'D':
			return "[:digit:]";
		case 'w':
		case 'W':
			return "[:alnum:]_";
		case 's':
		case 'S':
			return "[:space:]";
		default:
			return NULL;
	}
}

/* The character a literal escape stands for (\n \t ...), or 0. */
static char
escape_char(char e)
{
	switch (e)
	{
		case 'n':
			return '\n';
		case 't':
			return '\t';
		case 'r':
			return '\r';
		case 'f':
			return '\f';
		case 'v':
			return '\v';
		default:
			return (e != '\0' && strchr(".^$*+?()[]{}|\\-/ #&~!@%=:;,<>'\"`_", e)) ? e : 0;
	}
}

/*
 * Translate the bracket expression starting at p[0] == '[' into b; returns
 * the position after its closing ']' or NULL (b->why set).  Escaped ']'
 * goes first, escaped '-' last, escaped '^' after the first item.
 */
static const char *
translate_bracket(const char *p, RegexBuf *b)
{
	char		body[512];
	size_t		bl = 0;
	bool		neg = false,
				dash = false,
				close = false,
				caret = false;

	p++;
	if (*p == '^')
	{
		neg = true;
		p++;
	}
	body[0] = '\0';
	for (bool first = true; *p && (first || *p != ']'); first = false)
	{
		const char *add = NULL;
		char		one[2] = {0, 0};

		if (p[0] == '[' && p[1] == ':')
		{
			const char *e = strstr(p + 2, ":]");

			if (e == NULL)
				break;
			if (bl + (size_t) (e + 2 - p) >= sizeof(body))
				break;
			memcpy(body + bl, p, (size_t) (e + 2 - p));
			bl += (size_t) (e + 2 - p);
			body[bl] = '\0';
			p = e + 2;
			continue;
		}
		if (*p == '\\')
		{
			char		e = p[1];

			if (e == 'D' || e == 'W' || e == 'S')
			{
				snprintf(b->why, sizeof(b->why), "a negated class \\%c inside [...] has no POSIX form", e);
				return NULL;
			}
			if ((add = class_body(e)) == NULL)
			{
				char		c = escape_char(e);

				if (c == 0)
				{
					snprintf(b->why, sizeof(b->why), "the escape \\%c inside [...] is not supported", e ? e : ' ');
					return NULL;
				}
				if (c == '-')
					dash = true;
				else if (c == ']')
					close = true;
				else if (c == '^')
					caret = true;
				else
					one[0] = c;
				add = one;
			}
			p += 2;
		}
		else
		{
			one[0] = *p++;
			add = one;
		}
		if (bl + strlen(add) >= sizeof(body))
			break;
		memcpy(body + bl, add, strlen(add) + 1);
		bl += strlen(add);
	}
	if (*p != ']')
	{
		snprintf(b->why, sizeof(b->why), "an unterminated or too long [...] expression");
		return NULL;
	}
	if (bl == 0 && !close && !dash && caret)
	{
		/* only '^': a plain literal */
		rb_put(b, neg ? "[^^]" : "\\^");
		return p + 1;
	}
	rb_put(b, neg ? "[^" : "[");
	if (close)
		rb_putc(b, ']');
	rb_put(b, body);
	if (caret)
		rb_putc(b, '^');
	if (dash)
		rb_putc(b, '-');
	rb_putc(b, ']');
	return p + 1;
}

/*
 * Translate the RE2 pattern into an anchored POSIX ERE "^(...)$" in b.
 * Supported: the ERE subset of RE2 syntax, \d \D \w \W \s \S (also inside
 * brackets where POSIX can say it), escaped metacharacters, \n \t \r \f
 * \v, and \b \B on glibc.  Refused: non-greedy quantifiers, (?...) groups
 * and flags, \A \z \p and other escapes.  Returns false with b->why set.
 */
static bool
translate_re2(const char *re, RegexBuf *b)
{
	const char *p = re;

	rb_put(b, "^(");
	while (*p && b->why[0] == '\0')
	{
		if (*p == '[')
		{
			if ((p = translate_bracket(p, b)) == NULL)
				return false;
			continue;
		}
		if (*p == '(' && p[1] == '?')
		{
			snprintf(b->why, sizeof(b->why), "(?...) groups and flags are not supported");
			return false;
		}
		if ((*p == '*' || *p == '+' || *p == '?' || *p == '}') && p[1] == '?')
		{
			snprintf(b->why, sizeof(b->why), "non-greedy quantifiers are not supported");
			return false;
		}
		if (*p != '\\')
		{
			rb_putc(b, *p++);
			continue;
		}
		{
			char		e = p[1];
			const char *cls = class_body(e);

			if (cls)
			{
				rb_put(b, (e == 'D' || e == 'W' || e == 'S') ? "[^" : "[");
				rb_put(b, cls);
				rb_putc(b, ']');
			}
#ifdef __GLIBC__
			else if (e == 'b' || e == 'B')
			{
				rb_putc(b, '\\');
				rb_putc(b, e);
			}
#endif
			else
			{
				char		c = escape_char(e);

				if (c == 0)
				{
					snprintf(b->why, sizeof(b->why), "the escape \\%c has no POSIX form", e ? e : ' ');
					return false;
				}
				if (strchr(".^$*+?()[]{}|\\", c))
					rb_putc(b, '\\');
				rb_putc(b, c);
			}
			p += 2;
		}
	}
	rb_put(b, ")$");
	return b->why[0] == '\0';
}

/*
 * Compile the node's pattern into re; false with a message in why (which
 * holds at least 256 bytes).  The caller frees re with regfree on success.
 */
static bool
compile_pattern(const OnnxNode *node, regex_t *re, char *why, size_t whylen)
{
	const char *pat = onnx_attr_string(node, "pattern", NULL);
	char		stack[16384];
	RegexBuf	b;
	int			rc;
	bool		ok;

	if (pat == NULL)
	{
		snprintf(why, whylen, "RegexFullMatch needs a pattern attribute");
		return false;
	}
	memset(&b, 0, sizeof(b));
	b.cap = sizeof(stack);
	b.s = stack;
	b.s[0] = '\0';
	ok = translate_re2(pat, &b);
	if (!ok)
	{
		snprintf(why, whylen, "cannot translate the RE2 pattern \"%.100s\" to POSIX: %s", pat, b.why);
		return false;
	}
	if ((rc = regcomp(re, b.s, REG_EXTENDED | REG_NOSUB)) != 0)
	{
		char		msg[128];

		regerror(rc, re, msg, sizeof(msg));
		snprintf(why, whylen, "the pattern \"%.100s\" does not compile: %s", pat, msg);
		return false;
	}
	return true;
}

/* At load: the pattern translates and compiles. */
static OnnxStatus
check_regex(const OnnxNode *node, OnnxError *err)
{
	regex_t		re;
	char		why[400];

	if (!compile_pattern(node, &re, why, sizeof(why)))
		return onnx_error_set(err, ONNX_ERR_UNSUPPORTED, "%s", why);
	regfree(&re);
	return ONNX_OK;
}

/* RegexFullMatch: X (...) strings -> Y (...) bool, true where all of X matches. */
static OnnxStatus
run_regex_full_match(OnnxKernelCtx *ctx)
{
	const OnnxTensor *x = onnx_in(ctx, 0);
	regex_t		re;
	char		why[400];
	OnnxTensor *y;

	if (x == NULL || x->dtype != ONNX_DTYPE_STRING)
		return onnx_kernel_fail(ctx, ONNX_ERR_INVALID_ARGUMENT, "RegexFullMatch needs a string tensor");
	if (!compile_pattern(ctx->node, &re, why, sizeof(why)))
		return onnx_kernel_fail(ctx, ONNX_ERR_UNSUPPORTED, "%s", why);
	if ((y = onnx_out_like(ctx, 0, ONNX_DTYPE_BOOL, x)) == NULL)
	{
		regfree(&re);
		return ctx->err->status;
	}
	for (int64_t i = 0; i < x->count; i++)
		((uint8_t *) y->data)[i] = regexec(&re, str_at(x, i), 0, NULL, 0) == 0;
	regfree(&re);
	return ONNX_OK;
}

static const OnnxAttrSpec normalizer_attrs[] = {
	{"case_change_action", ONNX_ATTR_STRING}, {"is_case_sensitive", ONNX_ATTR_INT},
	{"locale", ONNX_ATTR_STRING}, {"stopwords", ONNX_ATTR_STRINGS}, {0}
};
static const OnnxAttrSpec split_attrs[] = {
	{"delimiter", ONNX_ATTR_STRING}, {"maxsplit", ONNX_ATTR_INT}, {0}
};
static const OnnxAttrSpec regex_attrs[] = {{"pattern", ONNX_ATTR_STRING}, {0}};

#define TS_STRING ONNX_T(ONNX_DTYPE_STRING)

const OnnxOpDef onnx_ops_string[] = {
	ONNX_OP("", "StringNormalizer", 10, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1),
		.input0_types = TS_STRING, .out_type = ONNX_OUT_SAME, .check = check_normalizer,
		.run = run_string_normalizer, .attrs = normalizer_attrs),
	ONNX_OP("", "StringConcat", 20, ONNX_INPUTS(2, 2), ONNX_OUTPUTS(1, 1), .input0_types = TS_STRING,
		.out_type = ONNX_OUT_SAME, .infer = onnx_infer_broadcast, .run = run_string_concat),
	ONNX_OP("", "StringSplit", 20, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(2, 2), .input0_types = TS_STRING,
		.out_type = ONNX_OUT_UNKNOWN, .run = run_string_split, .attrs = split_attrs),
	ONNX_OP("", "RegexFullMatch", 20, ONNX_INPUTS(1, 1), ONNX_OUTPUTS(1, 1), .input0_types = TS_STRING,
		.out_type = ONNX_OUT_BOOL, .check = check_regex, .infer = onnx_infer_same_shape,
		.run = run_regex_full_match, .attrs = regex_attrs),
	{0}
};
