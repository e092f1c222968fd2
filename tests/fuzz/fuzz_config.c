/*
 * libFuzzer target: the config loader (libinih, the key table, the checks)
 * on a config text from memory, config_load_string, the same code as
 * config_load after reading the file.
 *
 * Input: the config text (a NUL ends it early, as in a C string).
 *
 * Promises checked: the error text is terminated and, on failure, says
 * something; a config that loads dumps (config_dump) to a terminated INI
 * whose length is what config_dump said, and a short buffer cuts it
 * without overflowing. When the input names no *_file (whose contents the
 * dump hides), the dump loads again and dumps the same.
 */
#include <string.h>

#include "fuzz_check.h"
#include "meterline/conf.h"
#include "meterline/log.h"

#define DUMP_MAX 65536

static struct config cfg, again;
static char dump[DUMP_MAX], dump2[DUMP_MAX], err[4096];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR); /* secret-file mode warnings */
	return 0;
}

static size_t
check_dump(const struct config *c, char *buf)
{
	char small[64];
	size_t n = config_dump(c, buf, DUMP_MAX);

	CHECK(n < DUMP_MAX && strlen(buf) == n);
	CHECK(config_dump(c, small, sizeof(small)) == n);
	CHECK(strlen(small) == (n < sizeof(small) ? n : sizeof(small) - 1));
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	size_t n;

	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	memset(err, 'x', sizeof(err));
	if (config_load_string(&cfg, "fuzz.conf", text, err, sizeof(err)) !=
	    0) {
		CHECK(memchr(err, 0, sizeof(err)) != NULL && err[0] != '\0');
		free(text);
		return 0;
	}
	CHECK(memchr(err, 0, sizeof(err)) != NULL);
	n = check_dump(&cfg, dump);
	if (strstr(text, "_file") == NULL) {
		CHECK(config_load_string(
		          &again, "dump", dump, err, sizeof(err)) == 0);
		CHECK(check_dump(&again, dump2) == n);
		CHECK(memcmp(dump, dump2, n) == 0);
	}
	free(text);
	return 0;
}
