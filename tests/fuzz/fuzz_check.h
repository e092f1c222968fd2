/*
 * What every libFuzzer target shares: the entry points libFuzzer calls and
 * CHECK, which turns a broken promise into abort() (a libFuzzer crash).
 */
#ifndef METERLINE_FUZZ_CHECK_H
#define METERLINE_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) \
	do { \
		if (!(x)) { \
			fprintf(stderr, "check failed: %s at %s:%d\n", #x, \
			    __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

#endif
