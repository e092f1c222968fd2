/*
 * HTML for the console's pages: escaping (every value from the database
 * or the request goes through html_esc or html_url), the page frame with
 * its navigation by role, and small shared pieces. The pages are plain
 * server-rendered HTML with one stylesheet and one small script, both
 * shipped in the binary (/static/).
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "console_int.h"
#include "meterline/xmalloc.h"

void
html_esc(struct evbuffer *b, const char *s)
{
	const char *run = s;

	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		const char *e = NULL;

		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		evbuffer_add(b, run, (size_t)(s - run));
		evbuffer_add(b, e, strlen(e));
		run = s + 1;
	}
	evbuffer_add(b, run, (size_t)(s - run));
}

void
html_url(struct evbuffer *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
			evbuffer_add(b, s, 1);
		else
			evbuffer_add_printf(
			    b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

const char *
console_role_title(int role)
{
	switch (role) {
	case ROLE_ADMIN: return "администратор";
	case ROLE_SUPPORT: return "поддержка";
	case ROLE_MANAGER: return "руководитель";
	default: return "?";
	}
}

int
console_role_value(const char *name)
{
	if (name == NULL)
		return 0;
	if (strcmp(name, "admin") == 0)
		return ROLE_ADMIN;
	if (strcmp(name, "support") == 0)
		return ROLE_SUPPORT;
	if (strcmp(name, "manager") == 0)
		return ROLE_MANAGER;
	return 0;
}

void
html_csrf(struct evbuffer *b, const struct creq *r)
{
	evbuffer_add_printf(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	html_esc(b, r->csrf);
	evbuffer_add_printf(b, "\">");
}

/* The navigation: what the user's role may open. */
static void
html_nav(struct evbuffer *b, const struct creq *r)
{
	evbuffer_add_printf(b, "<nav><a href=\"/\">Поиск</a>");
	if (r->role & ROLES_WRITE)
		evbuffer_add_printf(b,
		    "<a href=\"/review\">Проверка</a>"
		    "<a href=\"/replay\">Повтор</a>");
	if (r->role & (ROLE_MANAGER | ROLE_ADMIN))
		evbuffer_add_printf(b, "<a href=\"/house\">Дома</a>");
	if (r->role & ROLE_ADMIN)
		evbuffer_add_printf(b,
		    "<a href=\"/users\">Пользователи</a>"
		    "<a href=\"/audit\">Журнал</a>");
	evbuffer_add_printf(b, "<span class=\"who\">");
	html_esc(b, r->user);
	evbuffer_add_printf(b, " (%s)</span>", console_role_title(r->role));
	evbuffer_add_printf(
	    b, "<form method=\"post\" action=\"/logout\" class=\"inline\">");
	html_csrf(b, r);
	evbuffer_add_printf(b, "<button>Выйти</button></form></nav>\n");
}

void
html_begin(struct evbuffer *b, const struct creq *r, const char *title)
{
	evbuffer_add_printf(b,
	    "<!DOCTYPE html>\n<html lang=\"ru\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">"
	    "<title>%s — meterline</title>"
	    "<link rel=\"stylesheet\" href=\"/static/console.css\">"
	    "<script src=\"/static/console.js\" defer></script>"
	    "</head><body>\n<header><b>meterline</b>",
	    title);
	if (r != NULL && r->user[0] != '\0')
		html_nav(b, r);
	evbuffer_add_printf(b, "</header>\n<main>\n<h1>%s</h1>\n", title);
}

void
html_end(struct evbuffer *b)
{
	evbuffer_add_printf(b, "</main></body></html>\n");
}

void
html_notice(struct evbuffer *b, const char *kind, const char *text)
{
	evbuffer_add_printf(b, "<p class=\"notice %s\" role=\"status\">", kind);
	html_esc(b, text);
	evbuffer_add_printf(b, "</p>\n");
}

const char *
html_status(const char *s)
{
	static const struct {
		const char *status, *title;
	} t[] = {
		{ "accepted", "принято" },
		{ "review", "на проверке" },
		{ "superseded", "заменено" },
		{ "corrected", "исправлено" },
		{ "annulled", "аннулировано" },
		{ "rejected", "отклонено" },
	};

	for (size_t i = 0; s != NULL && i < ARRAY_SIZE(t); i++)
		if (strcmp(s, t[i].status) == 0)
			return t[i].title;
	return s ? s : "";
}
