// SPDX-License-Identifier: GPL-2.0-or-later
/* Screendumps (vmm/screendump.h): a test pattern to PPM and PNG, read back
 * (PNG through libpng's read API) and compared; failures leave no file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <png.h>

#include "vmm/display.h"
#include "vmm/screendump.h"

#define W 37
#define H 21
#define STRIDE_PX 40 /* padding after each row */

static uint32_t pixels[H * STRIDE_PX];
static const struct display_image image = {pixels, W, H, STRIDE_PX * 4};
static char dir[64];

static uint32_t pattern(unsigned x, unsigned y)
{
	return (uint32_t)(x * 7) << 16 | (uint32_t)(y * 11) << 8 | ((x ^ y) * 5 & 0xff);
}

static int setup(void **state)
{
	(void)state;
	for (unsigned y = 0; y < H; y++)
		for (unsigned x = 0; x < STRIDE_PX; x++)
			pixels[y * STRIDE_PX + x] = x < W ? pattern(x, y) : 0xdeadbeef;
	strcpy(dir, "/tmp/test_screendump.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static unsigned files_in_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void check_rgb_row(const uint8_t *row, unsigned y)
{
	for (unsigned x = 0; x < W; x++) {
		uint32_t p = pattern(x, y);

		assert_int_equal(row[3 * x], (p >> 16) & 0xff);
		assert_int_equal(row[3 * x + 1], (p >> 8) & 0xff);
		assert_int_equal(row[3 * x + 2], p & 0xff);
	}
}

static void test_ppm(void **state)
{
	char path[128], err[256], magic[3] = {0};
	unsigned w, h, max;
	uint8_t row[W * 3];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/shot.ppm", dir);
	assert_int_equal(screendump_write_image(&image, path, SCREENDUMP_PPM, err, sizeof(err)), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%2s %u %u %u", magic, &w, &h, &max), 4);
	assert_string_equal(magic, "P6");
	assert_int_equal(w, W);
	assert_int_equal(h, H);
	assert_int_equal(max, 255);
	assert_int_equal(fgetc(f), '\n');
	for (unsigned y = 0; y < H; y++) {
		assert_int_equal(fread(row, 3, W, f), W);
		check_rgb_row(row, y);
	}
	assert_int_equal(fgetc(f), EOF);
	fclose(f);
	assert_int_equal(files_in_dir(), 1); /* no temporary left */
}

static void test_png(void **state)
{
	char path[128], err[256];
	png_structp png;
	png_infop info;
	uint8_t row[W * 3];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/shot.png", dir);
	assert_int_equal(screendump_write_image(&image, path, SCREENDUMP_PNG, err, sizeof(err)), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png_create_info_struct(png);
	assert_non_null(png);
	assert_non_null(info);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng could not read the dump");
	png_init_io(png, f);
	png_read_info(png, info);
	assert_int_equal(png_get_image_width(png, info), W);
	assert_int_equal(png_get_image_height(png, info), H);
	assert_int_equal(png_get_color_type(png, info), PNG_COLOR_TYPE_RGB);
	assert_int_equal(png_get_bit_depth(png, info), 8);
	for (unsigned y = 0; y < H; y++) {
		png_read_row(png, row, NULL);
		check_rgb_row(row, y);
	}
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);
	fclose(f);
}

static void test_failures(void **state)
{
	char path[128], err[256], buf[16] = {0};
	struct display_image none = {0};
	enum screendump_format fmt;
	struct display *d;
	FILE *f;

	(void)state;
	/* no picture: an error, no file */
	snprintf(path, sizeof(path), "%s/old.ppm", dir);
	assert_int_equal(screendump_write_image(&none, path, SCREENDUMP_PPM, err, sizeof(err)), -1);
	assert_int_equal(files_in_dir(), 0);
	d = display_new();
	assert_non_null(d);
	assert_int_equal(screendump_write(d, path, SCREENDUMP_PNG, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no display"));
	display_free(d);
	/* a missing directory: an error naming the file */
	assert_int_equal(screendump_write_image(&image, "/nonexistent-dir/x.ppm", SCREENDUMP_PPM,
						err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/nonexistent-dir/x.ppm"));
	/* an existing file stays as it was after a failed dump */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("old", f);
	fclose(f);
	assert_int_equal(screendump_write_image(&none, path, SCREENDUMP_PPM, err, sizeof(err)), -1);
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "old");
	/* ...and is replaced on success */
	assert_int_equal(screendump_write_image(&image, path, SCREENDUMP_PPM, err, sizeof(err)), 0);
	f = fopen(path, "r");
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "P6\n");
	assert_int_equal(files_in_dir(), 1);
	assert_int_equal(screendump_format_parse("png", &fmt), 0);
	assert_int_equal(fmt, SCREENDUMP_PNG);
	assert_int_equal(screendump_format_parse("ppm", &fmt), 0);
	assert_int_equal(fmt, SCREENDUMP_PPM);
	assert_int_equal(screendump_format_parse("bmp", &fmt), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ppm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_png, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
