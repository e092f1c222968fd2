/*
 * main() for replaying fuzz inputs without libFuzzer: every build (gcc,
 * the ASan build too) runs each target over its seeds and the inputs of
 * past findings under ctest (fuzz.NAME.replay), so a fixed crash stays
 * fixed and the targets keep compiling.
 *
 *   fuzz_replay_NAME FILE|DIR...   (a directory: every file in it)
 */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_check.h"

/* Targets that need no set-up do not define it. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			CHECK(buf != NULL);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	/* an exact-size copy, as libFuzzer gives it */
	uint8_t *exact = malloc(len ? len : 1);
	CHECK(exact != NULL);
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int
run_path(const char *path, long *count)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char sub[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (run_path(sub, count) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	long count = 0;
	int rc = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			rc = 1;
	printf("%s: %ld inputs replayed\n", argv[0], count);
	return rc != 0 || count == 0;
}
