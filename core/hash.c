/* Content hashes for cache keys and artifact fingerprints. */
#include "core.h"

#include <dirent.h>
#include <errno.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void to_hex(struct sha256_ctx *ctx, char hex[MP_HASH_HEX])
{
	uint8_t d[SHA256_DIGEST_SIZE];
	int i;

	sha256_digest(ctx, sizeof(d), d);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

void mp_hash_buf(const void *data, size_t n, char hex[MP_HASH_HEX])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, n, data);
	to_hex(&ctx, hex);
}

static void update_str(struct sha256_ctx *ctx, const char *s)
{
	/* the terminating NUL separates fields unambiguously */
	sha256_update(ctx, strlen(s) + 1, (const uint8_t *)s);
}

static int hash_file(struct sha256_ctx *ctx, const char *path, mp_err *err)
{
	FILE *f = fopen(path, "rb");
	uint8_t buf[65536];
	size_t n;
	int rc = 0;

	if (!f)
		return mp_error(err, errno == ENOENT ? MP_ENOTFOUND : MP_EIO, "cannot read '%s': %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sha256_update(ctx, n, buf);
	if (ferror(f))
		rc = mp_error(err, MP_EIO, "cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	return rc;
}

static int hash_tree(struct sha256_ctx *ctx, const char *path, const char *rel, mp_err *err)
{
	struct stat st;
	struct dirent **ents = NULL;
	int n, i, rc = 0;

	if (lstat(path, &st) != 0)
		return mp_error(err, errno == ENOENT ? MP_ENOTFOUND : MP_EIO, "cannot read '%s': %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t len = readlink(path, target, sizeof(target) - 1);

		if (len < 0)
			return mp_error(err, MP_EIO, "cannot read link '%s': %s", path, strerror(errno));
		target[len] = '\0';
		update_str(ctx, "link");
		update_str(ctx, rel);
		update_str(ctx, target);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		char size[32];

		snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
		update_str(ctx, "file");
		update_str(ctx, rel);
		update_str(ctx, size);
		return hash_file(ctx, path, err);
	}
	if (!S_ISDIR(st.st_mode))
		return mp_error(err, MP_EINVAL, "'%s' is neither a file nor a folder", path);
	update_str(ctx, "dir");
	update_str(ctx, rel);
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return mp_error(err, MP_EIO, "cannot list '%s': %s", path, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char *child, *crel;

		if (rc || !strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		child = mp_asprintf("%s/%s", path, name);
		crel = *rel ? mp_asprintf("%s/%s", rel, name) : mp_strdup(name);
		if (!child || !crel)
			rc = mp_error(err, MP_ENOMEM, "out of memory hashing '%s'", path);
		else
			rc = hash_tree(ctx, child, crel, err);
		free(child);
		free(crel);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

int mp_hash_file(const char *path, char hex[MP_HASH_HEX], mp_err *err)
{
	struct sha256_ctx ctx;
	int rc;

	sha256_init(&ctx);
	if ((rc = hash_file(&ctx, path, err)) != 0)
		return rc;
	to_hex(&ctx, hex);
	return 0;
}

int mp_hash_path(const char *path, char hex[MP_HASH_HEX], mp_err *err)
{
	struct sha256_ctx ctx;
	int rc;

	sha256_init(&ctx);
	if ((rc = hash_tree(&ctx, path, "", err)) != 0)
		return rc;
	to_hex(&ctx, hex);
	return 0;
}

uint64_t mp_fnv1a(const void *data, size_t n, uint64_t h)
{
	const uint8_t *p = data;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
