/* test.h — the unit-test harness: TEST(name) { ... } registers a test; CHECK* record
 * failures without stopping the test; REQUIRE* stop it. Each test_*.c becomes one binary
 * whose last line is "N passed, N failed". Include this once per test binary. */
#ifndef TIMON_TEST_H
#define TIMON_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(int *failed);
struct test_case {
	const char *name;
	test_fn fn;
};
static struct test_case test_cases[512];
static int test_ncases;

#define TEST(name)                                                                       \
	static void test_##name(int *test_failed_);                                      \
	__attribute__((constructor)) static void test_reg_##name(void)                    \
	{                                                                                \
		test_cases[test_ncases++] = (struct test_case){#name, test_##name};          \
	}                                                                                \
	static void test_##name(int *test_failed_)

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			*test_failed_ = 1;                                               \
		}                                                                        \
	} while (0)
#define REQUIRE(cond)                                                                    \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "  %s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
			*test_failed_ = 1;                                               \
			return;                                                          \
		}                                                                        \
	} while (0)
#define CHECK_STR(a, b)                                                                  \
	do {                                                                             \
		const char *a_ = (a), *b_ = (b);                                         \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                 \
			fprintf(stderr, "  %s:%d: CHECK_STR failed: %s\n    got:  %s\n    want: %s\n", \
			        __FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
			*test_failed_ = 1;                                               \
		}                                                                        \
	} while (0)
#define CHECK_INT(a, b)                                                                  \
	do {                                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);                      \
		if (a_ != b_) {                                                          \
			fprintf(stderr, "  %s:%d: CHECK_INT failed: %s = %lld, want %lld\n", \
			        __FILE__, __LINE__, #a, a_, b_);                         \
			*test_failed_ = 1;                                               \
		}                                                                        \
	} while (0)

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	for (int i = 0; i < test_ncases; i++) {
		if (argc > 1 && !strstr(test_cases[i].name, argv[1]))
			continue;
		int f = 0;
		test_cases[i].fn(&f);
		printf("%s %s\n", f ? "FAIL" : "ok  ", test_cases[i].name);
		if (f)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
