// SPDX-License-Identifier: GPL-2.0-or-later
/* --name on every stderr line (vmm/log_name.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log_name.h"

static char got[8192];

/* Writes through a named stream into a pipe, closes it, reads it all. */
static void run(void (*write_fn)(FILE *f))
{
	int p[2];
	FILE *f = stdout; /* replaced by the install */
	ssize_t n, len = 0;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(log_name_install(&f, p[1], "win1"), 0);
	assert_ptr_not_equal(f, stdout);
	write_fn(f);
	fclose(f);
	close(p[1]);
	while ((n = read(p[0], got + len, sizeof(got) - 1 - (size_t)len)) > 0)
		len += n;
	got[len] = '\0';
	close(p[0]);
}

static void w_simple(FILE *f)
{
	fprintf(f, "minivmm: cannot open '%s'\n", "x.img");
	fprintf(f, "plain line\n");
	fprintf(f, "minivmm:no space\n");
	fprintf(f, "minivmm");
	fflush(f); /* a split "minivmm: " across two writes */
	fprintf(f, ": split\n");
	fprintf(f, "mini");
	fflush(f);
	fprintf(f, "mum\n\n");
	fprintf(f, "minivmm\n");
	fprintf(f, "no newline at the end");
}

static void test_prefixes(void **state)
{
	run(w_simple);
	assert_string_equal(got, "minivmm[win1]: cannot open 'x.img'\n"
				 "minivmm[win1]: plain line\n"
				 "minivmm[win1]: minivmm:no space\n"
				 "minivmm[win1]: split\n"
				 "minivmm[win1]: minimum\n"
				 "minivmm[win1]: \n"
				 "minivmm[win1]: minivmm\n"
				 "minivmm[win1]: no newline at the end");
}

static void w_long(FILE *f)
{
	char line[6000];

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	fprintf(f, "minivmm: %s\nnext\n", line); /* longer than the buffer */
}

static void test_long_line(void **state)
{
	run(w_long);
	assert_int_equal(strncmp(got, "minivmm[win1]: aaaa", 19), 0);
	assert_int_equal(strlen(got), 15 + 5999 + 1 + 15 + 5);
	assert_string_equal(got + strlen(got) - 20, "minivmm[win1]: next\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
