/* core: the runtime every mlpipe subsystem shares.
 *
 * Errors: functions that can fail return int, 0 on success and a negative MP_E*
 * code on failure, with a one-line message in a caller-provided mp_err (no
 * allocation).  Messages are lowercase, without a final period, and name the
 * file and position when one is known.
 *
 * Allocation goes through mp_malloc and friends so tests can make it fail.
 */
#ifndef MP_CORE_H
#define MP_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MP_VERSION "0.1.0"

#if defined(__GNUC__)
#define MP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MP_PRINTF(a, b)
#endif

/* The number of elements of an array (not a pointer). */
#define MP_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* A hot loop compiled twice, the better chosen when the program starts
 * (function multiversioning): AVX2 where the machine has it, SSE2
 * everywhere.  Not AVX-512: on this project's AMD EPYC machines it ran the
 * optimizer step at half AVX2's speed (100 against 52 us for 101,770
 * weights).  Expressions are not contracted into fused multiply-adds
 * (-std=c11), so both versions compute bit for bit the same.  GCC only
 * (clang 14 left calls from other files unresolved), and not under the
 * sanitizers (a resolver runs before their runtime is up). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
	!defined(MP_NO_VECTOR_CLONES)
#define MP_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MP_VECTOR_CLONES
#endif

/* ---- errors ------------------------------------------------------------ */

enum {
	MP_OK = 0,
	MP_EINVAL = -1,    /* bad input: usage, a file's content, a parameter */
	MP_ENOMEM = -2,    /* allocation failed */
	MP_EIO = -3,       /* the operating system refused (open, write, rename) */
	MP_ENOTFOUND = -4, /* a named thing (id, file, type) does not exist */
	MP_EDB = -5,       /* the metadata store failed */
	MP_ECORRUPT = -6,  /* a file is damaged or not of the expected kind */
	MP_EVERSION = -7,  /* written by a newer mlpipe */
	MP_EBUSY = -8,     /* locked by someone else */
	MP_EEXIST = -9,    /* would overwrite something that exists */
};

#define MP_ERR_MAX 512

typedef struct mp_err {
	int code;
	char msg[MP_ERR_MAX];
} mp_err;

/* Fills err (which may be NULL) with code and the formatted message, and
 * returns code, so failures read `return mp_error(err, MP_EIO, "...")`. */
int mp_error(mp_err *err, int code, const char *fmt, ...) MP_PRINTF(3, 4);
int mp_verror(mp_err *err, int code, const char *fmt, va_list ap);
/* Prepends "prefix: " to an existing message; returns err->code. */
int mp_error_wrap(mp_err *err, const char *fmt, ...) MP_PRINTF(2, 3);
void mp_err_clear(mp_err *err);
/* A short lowercase name for a code ("bad input", "not found", ...). */
const char *mp_strerror(int code);

/* Impossible states.  MP_ALWAYS(x) and MP_NEVER(x) evaluate to x, so the
 * caller still handles the case; debug builds abort on the spot. */
int mp__impossible(int bad, const char *expr, const char *file, int line);
#define MP_ALWAYS(x) (!mp__impossible(!(x), #x, __FILE__, __LINE__))
#define MP_NEVER(x) (mp__impossible(!!(x), #x, __FILE__, __LINE__))

/* ---- allocation -------------------------------------------------------- */

/* malloc/calloc/realloc/strdup that can be made to fail for tests.  Free with
 * free().  mp_alloc_fail_after(n): the (n+1)th allocation from now fails and
 * so does every later one, until mp_alloc_fail_after(-1) switches it off. */
void *mp_malloc(size_t n);
void *mp_calloc(size_t count, size_t size);
void *mp_realloc(void *p, size_t n);
char *mp_strdup(const char *s);
char *mp_strndup(const char *s, size_t n);
char *mp_asprintf(const char *fmt, ...) MP_PRINTF(1, 2); /* NULL on failure */
void mp_alloc_fail_after(long n);
/* Makes room for element n of a growable array (*items, *alloc elements of
 * size bytes), doubling as needed; MP_ENOMEM leaves the array as it was. */
int mp_grow(void **items, size_t *alloc, size_t n, size_t size);
/* Reverses the order of n items of size bytes each, in place. */
void mp_reverse(void *items, size_t n, size_t size);

/* ---- logging ----------------------------------------------------------- */

typedef enum {
	MP_LOG_QUIET = 0, /* errors only */
	MP_LOG_WARN = 1,
	MP_LOG_INFO = 2,
	MP_LOG_DEBUG = 3,
} mp_log_level;

void mp_log_set_level(mp_log_level level);
mp_log_level mp_log_get_level(void);
/* Writes "mlpipe: <level>: message\n" to stderr when level is enabled;
 * MP_LOG_QUIET messages (errors) are always written. */
void mp_log(mp_log_level level, const char *fmt, ...) MP_PRINTF(2, 3);
#define mp_warn(...) mp_log(MP_LOG_WARN, __VA_ARGS__)
#define mp_info(...) mp_log(MP_LOG_INFO, __VA_ARGS__)
#define mp_debug(...) mp_log(MP_LOG_DEBUG, __VA_ARGS__)

/* ---- numbers ----------------------------------------------------------- */

/* Whole-string parses with range checks; what names the value in the error. */
int mp_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out,
		 const char *what, mp_err *err);
int mp_parse_double(const char *s, double lo, double hi, double *out,
		    const char *what, mp_err *err);

/* Whether s[0..n) is one of the lines of text (newline-separated). */
int mp_lines_has(const char *lines, const char *s, size_t n);

/* The closest of n candidates to word by edit distance, or NULL when none
 * is close enough to be a likely typo ("did you mean ...?"). */
const char *mp_closest(const char *word, const char *const *cands, size_t n);
/* The same over n elements of any table, stride bytes apart, whose first
 * field is the name (a const char *; NULL entries are skipped): a table of
 * commands, of param specs, of names. */
const char *mp_closest_in(const char *word, const void *base, size_t n, size_t stride);
/* " (did you mean 'near'?)", or "" when near is NULL, into buf. */
const char *mp_did_you_mean(const char *near, char *buf, size_t n);
/* The one message for a name not in a table: "unknown WHAT 'word' (did you
 * mean 'z'?)" into err; returns MP_EINVAL. */
int mp_unknown(mp_err *err, const char *what, const char *word, const void *base, size_t n, size_t stride);

/* A name table: the spellings of an enum (values 0 and up), so that
 * parsing, printing and did-you-mean share one list. */
typedef struct mp_name {
	const char *name;
	int value;
} mp_name;

/* The value of name, or -1; the name of value, or NULL. */
int mp_name_value(const mp_name *t, size_t n, const char *name);
const char *mp_name_of(const mp_name *t, size_t n, int value);
/* mp_name_value, or mp_unknown's message naming what when name is not in t. */
int mp_name_lookup(const mp_name *t, size_t n, const char *name, const char *what, int *value, mp_err *err);

/* The next number of a SplitMix64 stream whose state is *s: the seeded
 * randomness of shuffles, weight initialisation and dropout, the same on
 * every machine. */
static inline uint64_t mp_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- time -------------------------------------------------------------- */

int64_t mp_now_ms(void);	/* wall clock, milliseconds since the epoch */
int64_t mp_monotonic_ns(void);
/* "2026-11-24 14:26:31" in local time; buf needs 20 bytes. */
char *mp_format_time(char *buf, size_t n, int64_t ms);
/* An ISO 8601 UTC time ("2026-11-24T14:26:31Z"); buf needs 21 bytes. */
char *mp_format_iso(char *buf, size_t n, int64_t ms);
/* "1.2s", "3m04s", "2h05m"; "-" for a negative duration. */
char *mp_format_duration(char *buf, size_t n, int64_t ms);

/* ---- files and paths --------------------------------------------------- */

/* Joins root and rel into out (outsz bytes).  rel must be relative and may
 * not climb out of root: absolute paths and any ".." component are refused.
 * "." components and repeated slashes are dropped. */
int mp_path_join(char *out, size_t outsz, const char *root, const char *rel,
		 mp_err *err);
/* 1 when path is root or lies below it, comparing lexically normalised
 * absolute forms (relative ones are resolved against the current directory);
 * neither needs to exist. */
int mp_path_within(const char *root, const char *path);
/* Whether process pid runs: 1, or 0 when it is gone or a zombie (dead,
 * not yet reaped: kill(pid, 0) still succeeds for it). */
int mp_process_alive(long pid);
/* mkdir -p; mode for the new directories. */
int mp_mkdirs(const char *path, unsigned mode, mp_err *err);
/* rm -rf that never follows symbolic links; a missing path is not an error. */
int mp_rmtree(const char *path, mp_err *err);
int mp_path_exists(const char *path);
/* 1 when an executable called name is in a folder of $PATH (or name, with
 * a '/', is one). */
int mp_which(const char *name);
/* The path of this program's binary, into buf: 0, or -1. */
int mp_self_exe(char *buf, size_t n);

/* Writing a file so it is either wholly there or not at all: data goes to a
 * temporary file beside the target, is flushed and fsynced, then renamed over
 * the target and the directory fsynced.  Abort (or a crash) leaves the target
 * as it was. */
typedef struct mp_afile {
	FILE *fp;	 /* write through this */
	char *path;	 /* the target */
	char *tmp_path; /* the temporary file */
} mp_afile;

int mp_afile_open(mp_afile *af, const char *path, mp_err *err);
int mp_afile_commit(mp_afile *af, mp_err *err); /* always releases af */
void mp_afile_abort(mp_afile *af);		/* accepts a released af */
int mp_write_file_atomic(const char *path, const void *data, size_t n,
			 mp_err *err);
/* Reads a whole file; *data is NUL-terminated and owned by the caller. */
int mp_read_file(const char *path, char **data, size_t *n, mp_err *err);

/* ---- content hashes (SHA-256, through nettle) ------------------------- */

#define MP_HASH_HEX 65 /* 64 hex digits and a NUL */

/* The SHA-256 of a buffer, as lowercase hex. */
void mp_hash_buf(const void *data, size_t n, char hex[MP_HASH_HEX]);
/* The SHA-256 of a file's content, or of a folder: its entries' relative
 * names, kinds and contents in name order, so a copy of a folder hashes the
 * same and any change to a name or byte changes the hash.  Symbolic links
 * are hashed by their target path, not followed. */
int mp_hash_path(const char *path, char hex[MP_HASH_HEX], mp_err *err);
/* The SHA-256 of one file's bytes, as sha256sum prints it. */
int mp_hash_file(const char *path, char hex[MP_HASH_HEX], mp_err *err);

/* 64-bit FNV-1a, for deterministic hash splits. */
uint64_t mp_fnv1a(const void *data, size_t n, uint64_t h);
#define MP_FNV_SEED 0xcbf29ce484222325ULL


/* ---- a name index --------------------------------------------------- */

/* Names to their positions in an array, found in constant time (the
 * readers of wide data look up each of 40,000 columns).  Names are
 * borrowed: they must outlive the index.  A zeroed index is empty. */
typedef struct mp_name_index {
	struct mp__name_slot *slots;
	size_t cap, n;
} mp_name_index;

/* Adds name at position i.  Returns 0, 1 when the name is there already
 * (*first gets its position; first may be NULL), or MP_ENOMEM. */
int mp_name_index_add(mp_name_index *ix, const char *name, size_t i, size_t *first);
/* The position of name, or -1. */
long mp_name_index_find(const mp_name_index *ix, const char *name);
void mp_name_index_release(mp_name_index *ix);

/* ---- growable string --------------------------------------------------- */

typedef struct mp_strbuf {
	char *buf; /* always NUL-terminated once anything was added */
	size_t len;
	size_t alloc;
	int failed; /* an append failed for lack of memory */
} mp_strbuf;

#define MP_STRBUF_INIT {NULL, 0, 0, 0}
void mp_strbuf_init(mp_strbuf *sb);
void mp_strbuf_release(mp_strbuf *sb);
void mp_strbuf_reset(mp_strbuf *sb);
void mp_strbuf_add(mp_strbuf *sb, const char *s, size_t n);
void mp_strbuf_adds(mp_strbuf *sb, const char *s);
void mp_strbuf_addf(mp_strbuf *sb, const char *fmt, ...) MP_PRINTF(2, 3);
/* The text ("" when empty); valid until the next change. */
const char *mp_strbuf_str(const mp_strbuf *sb);
/* Hands the buffer to the caller (free it) and resets sb; NULL if failed. */
char *mp_strbuf_detach(mp_strbuf *sb);

/* ---- text tables ------------------------------------------------------- */

/* Collects rows of cells, then prints them with aligned columns.  Columns
 * whose header starts with '>' are right-aligned (the '>' is not shown). */
typedef struct mp_table mp_table;

mp_table *mp_table_new(int ncols, const char *const *headers);
void mp_table_free(mp_table *t);
/* Adds one row; cells[i] may be NULL (shown as "-").  Strings are copied. */
int mp_table_add(mp_table *t, const char *const *cells);
int mp_table_rows(const mp_table *t);
void mp_table_print(const mp_table *t, FILE *out);

#endif
