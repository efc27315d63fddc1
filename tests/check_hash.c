/* core/hash: the content hashes the cache key and the fingerprints rest on
 * (SHA-256 of bytes, files and folders) and FNV-1a for hash splits. */
#include "testutil.h"

#include <sys/stat.h>

static void put(const char *rel, const char *text)
{
	char *p = tu_at(rel);
	mp_err err;

	ck_assert_int_eq(mp_write_file_atomic(p, text, strlen(text), &err), 0);
	free(p);
}

static void rm(const char *rel)
{
	char *p = tu_at(rel);

	ck_assert_int_eq(unlink(p), 0);
	free(p);
}

static void hash_of(const char *rel, char hex[MP_HASH_HEX])
{
	char *p = tu_at(rel);
	mp_err err;

	ck_assert_int_eq(mp_hash_path(p, hex, &err), 0);
	free(p);
}

/* FIPS 180-2's examples. */
START_TEST(sha256_matches_published_vectors)
{
	char hex[MP_HASH_HEX];

	mp_hash_buf("abc", 3, hex);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	mp_hash_buf("", 0, hex);
	ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	mp_hash_buf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

/* A file's hash is sha256sum's; a missing one is MP_ENOTFOUND by name. */
START_TEST(file_hash_is_sha256sum)
{
	char hex[MP_HASH_HEX], *p;
	mp_err err;

	put("f", "abc");
	p = tu_at("f");
	ck_assert_int_eq(mp_hash_file(p, hex, &err), 0);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	free(p);
	p = tu_at("nope");
	ck_assert_int_eq(mp_hash_file(p, hex, &err), MP_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	ck_assert_int_eq(mp_hash_path(p, hex, &err), MP_ENOTFOUND);
	free(p);
}
END_TEST

/* A folder hashes by its entries' names, kinds and contents: a copy is the
 * same, any renamed entry, changed byte or moved file is not. */
START_TEST(folder_hash_sees_every_name_and_byte)
{
	char a[MP_HASH_HEX], b[MP_HASH_HEX], c[MP_HASH_HEX];
	char *d1 = tu_at("one"), *d2 = tu_at("two"), *sub = tu_at("one/sub");
	mp_err err;

	ck_assert_int_eq(mp_mkdirs(sub, 0755, &err), 0);
	ck_assert_int_eq(mp_mkdirs(d2, 0755, &err), 0);
	free(sub);
	sub = tu_at("two/sub");
	ck_assert_int_eq(mp_mkdirs(sub, 0755, &err), 0);
	put("one/x", "1");
	put("one/sub/y", "2");
	put("two/x", "1");
	put("two/sub/y", "2");
	hash_of("one", a);
	hash_of("two", b);
	ck_assert_str_eq(a, b);
	put("two/sub/y", "3");
	hash_of("two", c);
	ck_assert_str_ne(a, c);
	put("two/sub/y", "2");
	put("two/z", "");
	hash_of("two", c);
	ck_assert_str_ne(a, c); /* an empty file more */
	rm("two/z");
	put("two/sub/x", "1");
	rm("two/x");
	hash_of("two", c);
	ck_assert_str_ne(a, c); /* the same bytes under another path */
	/* the file's hash and the folder's differ: the kind counts */
	hash_of("one/x", c);
	ck_assert_str_ne(a, c);
	free(d1);
	free(d2);
	free(sub);
}
END_TEST

/* A symbolic link is hashed by its target's path, not followed. */
START_TEST(links_are_hashed_by_target)
{
	char a[MP_HASH_HEX], b[MP_HASH_HEX];
	char *link = tu_at("d/l"), *d = tu_at("d");
	mp_err err;

	ck_assert_int_eq(mp_mkdirs(d, 0755, &err), 0);
	put("t1", "same");
	put("t2", "same");
	ck_assert_int_eq(symlink("../t1", link), 0);
	hash_of("d", a);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(symlink("../t2", link), 0);
	hash_of("d", b);
	ck_assert_str_ne(a, b);
	free(link);
	free(d);
}
END_TEST

/* FNV-1a 64 (the reference's test values). */
START_TEST(fnv1a_matches_the_reference)
{
	ck_assert(mp_fnv1a("", 0, MP_FNV_SEED) == 0xcbf29ce484222325ULL);
	ck_assert(mp_fnv1a("a", 1, MP_FNV_SEED) == 0xaf63dc4c8601ec8cULL);
	ck_assert(mp_fnv1a("foobar", 6, MP_FNV_SEED) == 0x85944171f73967e8ULL);
	/* streaming: two parts give the whole */
	ck_assert(mp_fnv1a("bar", 3, mp_fnv1a("foo", 3, MP_FNV_SEED)) == 0x85944171f73967e8ULL);
}
END_TEST

/* A folder hash under failed allocations fails cleanly, never with a
 * wrong hash. */
START_TEST(folder_hash_survives_failed_allocations)
{
	char want[MP_HASH_HEX], got[MP_HASH_HEX], *d = tu_at("d");
	mp_err err;
	long i;
	int rc;

	ck_assert_int_eq(mp_mkdirs(d, 0755, &err), 0);
	put("d/a", "1");
	put("d/b", "2");
	hash_of("d", want);
	for (i = 0; i < 50; i++) {
		mp_alloc_fail_after(i);
		rc = mp_hash_path(d, got, &err);
		mp_alloc_fail_after(-1);
		if (rc == 0) {
			ck_assert_str_eq(got, want);
			break;
		}
		ck_assert_int_eq(rc, MP_ENOMEM);
	}
	ck_assert_int_lt(i, 50);
	free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("hash");

	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, sha256_matches_published_vectors);
	tcase_add_test(tc, file_hash_is_sha256sum);
	tcase_add_test(tc, folder_hash_sees_every_name_and_byte);
	tcase_add_test(tc, links_are_hashed_by_target);
	tcase_add_test(tc, fnv1a_matches_the_reference);
	tcase_add_test(tc, folder_hash_survives_failed_allocations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(suite());
}
