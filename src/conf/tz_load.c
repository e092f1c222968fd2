/* Read a zone's TZif file from the system zoneinfo directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meterline/conf.h"
#include "meterline/tz.h"
#include "meterline/xmalloc.h"

#define TZ_FILE_MAX (256 * 1024) /* the largest zones are a few KiB */

/* An IANA name: letters, digits, "_+-/", no leading '/', no "..". */
static bool
tz_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' ||
	    strstr(name, "..") != NULL)
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		        (*p >= '0' && *p <= '9') || strchr("_+-/", *p) != NULL))
			return false;
	}
	return true;
}

/* Read at most TZ_FILE_MAX bytes of path into a new buffer. */
static uint8_t *
tz_read(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(TZ_FILE_MAX + 1);
	*len = fread(buf, 1, TZ_FILE_MAX + 1, f);
	if (ferror(f) || *len > TZ_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path,
		    ferror(f) ? "read error" : "too large for a TZif file");
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int
tz_load(struct tz *tz, const char *name, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	char path[1024];
	uint8_t *data;
	size_t len;
	int rc;

	if (!tz_name_ok(name)) {
		snprintf(
		    err, errlen, "\"%s\" is not an IANA time zone name", name);
		return -1;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((data = tz_read(path, &len, err, errlen)) == NULL)
		return -1;
	rc = tz_parse(tz, name, data, len, err, errlen);
	free(data);
	return rc;
}
