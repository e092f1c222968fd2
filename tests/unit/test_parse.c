/*
 * The ПС grammar: a table of texts and the exact JSON `meterline parse
 * --json` must print for each (docs/grammar.md is the rule book), the same
 * table re-run with every kind of space, limits at their edges, and a
 * seeded random sweep (random bytes and mutations of valid messages) that
 * checks the result's invariants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meterline/parse.h"

/* ---- the table ------------------------------------------------------- */

struct gcase {
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *json;
};

#define T(text, json) \
	{ \
		text, 0, json \
	}
#define B(text, json) \
	{ \
		text, sizeof(text) - 1, json \
	} /* may hold NUL */

#define SUBMIT(c, v) \
	"{\"kind\":\"submit\",\"contract\":\"" c "\",\"values\":[" v "]}"
#define SUBMIT_T(c, v) \
	"{\"kind\":\"submit\",\"contract\":\"" c "\",\"values\":[" v \
	"],\"truncated\":true}"
#define START(c) "{\"kind\":\"start\",\"contract\":\"" c "\"}"
#define VALUES(v) "{\"kind\":\"values\",\"values\":[" v "]}"
#define VALUES_T(v) \
	"{\"kind\":\"values\",\"values\":[" v "],\"truncated\":true}"
#define BARE(c, v) \
	"{\"kind\":\"values\",\"contract\":\"" c "\",\"bare_contract\":true," \
	"\"values\":[" v "]}"
#define BARE_T(c, v) \
	"{\"kind\":\"values\",\"contract\":\"" c "\",\"bare_contract\":true," \
	"\"values\":[" v "],\"truncated\":true}"
/* values with labels: v "1,2", l "\"день\",\"ночь\"" */
#define VALUES_L(v, l) \
	"{\"kind\":\"values\",\"values\":[" v "],\"labels\":[" l "]}"
#define SUBMIT_L(c, v, l) \
	"{\"kind\":\"submit\",\"contract\":\"" c "\",\"values\":[" v \
	"],\"labels\":[" l "]}"
/* the joined reading of ambiguous thousands, after the literal one */
#define AMB(a, f) \
	",\"ambiguous\":true,\"alt_values\":[" a "],\"alt_from\":[" f "]"
#define CANCEL "{\"kind\":\"cancel\"}"
#define THANKS "{\"kind\":\"thanks\"}"
#define CONFIRM "{\"kind\":\"confirm\"}"
#define INFO(c) "{\"kind\":\"info\",\"contract\":\"" c "\"}"
#define INFO0 "{\"kind\":\"info\"}"
#define UNBIND(c) "{\"kind\":\"unbind\",\"contract\":\"" c "\"}"
#define UNBIND0 "{\"kind\":\"unbind\"}"
#define REMIND_OFF "{\"kind\":\"remind_off\"}"
#define REMIND_ON "{\"kind\":\"remind_on\"}"
#define HELP "{\"kind\":\"help\"}"
#define INVALID(r) "{\"kind\":\"invalid\",\"reason\":\"" r "\"}"
/* with the span not understood: byte offset and length in the text */
#define INVALID_U(r, at, len) \
	"{\"kind\":\"invalid\",\"reason\":\"" r "\",\"unknown_at\":" #at \
	",\"unknown_len\":" #len "}"
#define INVALID_CU(r, c, at, len) \
	"{\"kind\":\"invalid\",\"reason\":\"" r "\",\"contract\":\"" c \
	"\",\"unknown_at\":" #at ",\"unknown_len\":" #len "}"
/* the same with %d and %u for the offset and length, for snprintf */
#define INVALID_AT(r) \
	"{\"kind\":\"invalid\",\"reason\":\"" r \
	"\",\"unknown_at\":%d,\"unknown_len\":%u}"
#define INVALID_C_AT(r, c) \
	"{\"kind\":\"invalid\",\"reason\":\"" r "\",\"contract\":\"" c \
	"\",\"unknown_at\":%d,\"unknown_len\":%u}"
#define INVALID_C(r, c) \
	"{\"kind\":\"invalid\",\"reason\":\"" r "\",\"contract\":\"" c "\"}"

static const struct gcase cases[] = {
	/* spec §1 and the reference instructions, as written */
	T("ПС 102057522 11638", SUBMIT("102057522", "11638")),
	T("ПС 123859", START("123859")),
	T("ПС 123859 45055 23186", SUBMIT("123859", "45055,23186")),
	T("ПС 123859 45055", SUBMIT("123859", "45055")),
	T("ПС 123859 20", SUBMIT("123859", "20")),
	T("ПС 176354 40", SUBMIT("176354", "40")),
	T("45055 23186", BARE("45055", "45055,23186")),
	T("45055", BARE("45055", "45055")),
	T("ОТМЕНА", CANCEL),
	T("СТОП", CANCEL),
	T("ПОМОЩЬ", HELP),
	T("СПРАВКА", HELP),
	T("?", HELP),

	/* keyword spellings, any case */
	T("пс 102057522 11638", SUBMIT("102057522", "11638")),
	T("Пс 102057522 11638", SUBMIT("102057522", "11638")),
	T("пС 102057522 11638", SUBMIT("102057522", "11638")),
	T("PS 102057522 11638", SUBMIT("102057522", "11638")),
	T("ps 102057522 11638", SUBMIT("102057522", "11638")),
	T("Ps 102057522 11638", SUBMIT("102057522", "11638")),
	T("pS 102057522 11638", SUBMIT("102057522", "11638")),
	T("ПC 102057522 11638", SUBMIT("102057522", "11638")), /* Latin C */
	T("пc 102057522 11638", SUBMIT("102057522", "11638")),
	T("Пc 123859", START("123859")),
	T("PС 102057522 11638",
	    SUBMIT("102057522", "11638")), /* Latin P, Cyrillic С */
	T("pс 123859", START("123859")),
	T("PC 123859", START("123859")), /* both Latin */
	T("ПS 123859", START("123859")),
	T("РС 123859 11638", SUBMIT("123859", "11638")), /* Cyrillic Р for П */
	T("ЗЫ 123859", VALUES_L("123859", "\"зы\"")),
	T("П С 123859", INVALID_U("unknown", 0, 2)),
	T("ПСС 123859", VALUES_L("123859", "\"псс\"")),
	T("ПСИХ", INVALID_U("unknown", 0, 8)),
	T("PSX 1234", VALUES_L("1234", "\"psx\"")),

	/* after the keyword: : . - # № and spaces, or nothing */
	T("ПС123859 11638", SUBMIT("123859", "11638")),
	T("ПС: №123859 11638", SUBMIT("123859", "11638")),
	T("ПС:123859 11638", SUBMIT("123859", "11638")),
	T("ПС.123859 11638", SUBMIT("123859", "11638")),
	T("ПС-123859 11638", SUBMIT("123859", "11638")),
	T("ПС#123859 11638", SUBMIT("123859", "11638")),
	T("ПС№123859 11638", SUBMIT("123859", "11638")),
	T("ПС № 123859 11638", SUBMIT("123859", "11638")),
	T("ПС - 123859", START("123859")),
	T("ПС :: 123859", START("123859")),
	T("ps#123859", START("123859")),
	T("ПС, 123859", INVALID_U("bad_syntax", 4, 1)), /* , is not listed */
	T("ПС N123859", INVALID_U("bad_syntax", 5, 7)),

	/* contract: 4-12 ASCII digits, as written */
	T("пс 0123 5", SUBMIT("0123", "5")),
	T("ПС 1234", START("1234")),
	T("ПС 123456789012", START("123456789012")),
	T("ПС 000000000000 7", SUBMIT("000000000000", "7")),
	T("ПС 007", INVALID_U("bad_contract", 5, 3)),
	T("ПС 123 5", INVALID_U("bad_contract", 5, 3)),
	T("ПС 1 5", INVALID_U("bad_contract", 5, 1)),
	T("ПС 1234567890123", INVALID_U("bad_contract", 5, 13)),
	T("ПС 1234567890123 5", INVALID_U("bad_contract", 5, 13)),
	T("ПС12", INVALID_U("bad_contract", 4, 2)),
	T("ПС 12 34 56", INVALID_U("bad_contract", 5, 2)),

	/* a fraction on the contract; , or . with 4+ digits is a separator */
	T("ПС 123859,5", INVALID_U("bad_contract", 5, 6)),
	T("ПС 123859.123", INVALID_U("bad_contract", 5, 6)),
	T("ПС 123859,5 11638", INVALID_U("bad_contract", 5, 6)),
	T("ПС 123859,45055", SUBMIT("123859", "45055")),
	T("ПС 123859.45055 23186", SUBMIT("123859", "45055,23186")),
	T("ПС 123859,1234", SUBMIT("123859", "1234")),

	/* values: leading zeros dropped, 1-10 digits as written */
	T("ПС 102057522 0011638", SUBMIT("102057522", "11638")),
	T("ПС 1234 0", SUBMIT("1234", "0")),
	T("ПС 1234 000", SUBMIT("1234", "0")),
	T("ПС 1234 0000000000", SUBMIT("1234", "0")),
	T("ПС 1234 9999999999", SUBMIT("1234", "9999999999")),
	T("ПС 1234 0000000001", SUBMIT("1234", "1")),
	T("ПС 1234 10000000000", INVALID_CU("bad_value", "1234", 10, 11)),
	T("ПС 1234 00000000000", INVALID_CU("bad_value", "1234", 10, 11)),
	T("ПС 123859 12345678901", INVALID_CU("bad_value", "123859", 12, 11)),
	T("5", VALUES("5")),
	T("0", VALUES("0")),
	T("00", VALUES("0")),
	T("1234567890", BARE("1234567890", "1234567890")),
	T("12345678901", BARE("12345678901", "12345678901")),
	T("102057522 11638", BARE("102057522", "102057522,11638")),

	/* at most 6 values; fractions are not values */
	T("ПС 123859 1 2 3 4 5 6", SUBMIT("123859", "1,2,3,4,5,6")),
	T("ПС 123859 1 2 3 4 5 6 7",
	    INVALID_CU("too_many_values", "123859", 24, 1)),
	T("1 2 3 4 5 6", VALUES("1,2,3,4,5,6")),
	T("1 2 3 4 5 6 7", INVALID_U("too_many_values", 12, 1)),
	T("ПС 1234 1,5 2,5 3,5 4,5 5,5 6,5", SUBMIT_T("1234", "1,2,3,4,5,6")),
	T("1,5 2,5 3,5 4,5 5,5 6,5 7,5", INVALID_U("too_many_values", 24, 1)),

	/* the first problem in reading order wins */
	T("ПС 123859 12345678901 1 2 3 4 5 6",
	    INVALID_CU("bad_value", "123859", 12, 11)),
	T("ПС 123859 1 2 3 4 5 6 12345678901",
	    INVALID_CU("too_many_values", "123859", 24, 11)),
	T("ПС 12 12345678901", INVALID_U("bad_contract", 5, 2)),
	T("ПС 12,5 1 2 3 4 5 6 7", INVALID_U("bad_contract", 5, 2)),

	/* fractions: , or . then 1-3 digits, dropped */
	T("ПС 102057522 11638,5", SUBMIT_T("102057522", "11638")),
	T("ПС 102057522 11638.57", SUBMIT_T("102057522", "11638")),
	T("ПС 102057522 11638,123", SUBMIT_T("102057522", "11638")),
	T("ПС 102057522 11638.999", SUBMIT_T("102057522", "11638")),
	T("ПС 102057522 11638,0", SUBMIT_T("102057522", "11638")),
	T("ПС 123859 45055,5 23186", SUBMIT_T("123859", "45055,23186")),
	T("45055,5 23186,123", VALUES_T("45055,23186")),
	T("11638,5", VALUES_T("11638")),
	T("0,5", VALUES_T("0")),
	T("12345678901,5", INVALID_U("bad_value", 0, 11)),

	/* , or . then 4+ digits: two values */
	T("11638,50000", BARE("11638", "11638,50000")),
	T("11638,5000", BARE("11638", "11638,5000")),
	T("45055,23186", BARE("45055", "45055,23186")),
	T("45055.23186", BARE("45055", "45055,23186")),
	T("1,5,12345", VALUES_T("1,12345")),
	T("1,0001", VALUES("1,1")),
	T("1,12345678901", INVALID_U("bad_value", 2, 11)),
	T("ПС 123859 45055,23186", SUBMIT("123859", "45055,23186")),

	/* other separators: ; and /, with or without spaces */
	T("45055;23186", BARE("45055", "45055,23186")),
	T("45055; 23186", BARE("45055", "45055,23186")),
	T("45055 ;23186", BARE("45055", "45055,23186")),
	T("45055 ; 23186", BARE("45055", "45055,23186")),
	T("45055/23186", BARE("45055", "45055,23186")),
	T("45055 / 23186", BARE("45055", "45055,23186")),
	T("ПС 123859;45055/23186", SUBMIT("123859", "45055,23186")),
	T("ПС 123859 / 45055", SUBMIT("123859", "45055")),
	T("45055;;23186", INVALID_U("bad_syntax", 6, 1)),
	T("45055;/23186", INVALID_U("bad_syntax", 6, 1)),
	T("45055, 23186", BARE("45055", "45055,23186")),
	T("45055 ,23186", INVALID_U("bad_syntax", 6, 1)),
	T("45055 .23186", INVALID_U("bad_syntax", 6, 1)),
	T("45055-23186", INVALID_U("bad_syntax", 5, 1)),
	T("45055:23186", INVALID_U("bad_syntax", 5, 1)),
	T("1,5,5", INVALID_U("bad_syntax", 3, 1)),
	T("1.5.5", INVALID_U("bad_syntax", 3, 1)),
	T("1,,5", INVALID_U("bad_syntax", 1, 2)),
	T("1,5a", INVALID_U("bad_syntax", 3, 1)),

	/* one trailing . , ; or / is forgiven */
	T("ПС 102057522 11638.", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11638,", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11638;", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11638/", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11638 .", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11638,5.", SUBMIT_T("102057522", "11638")),
	T("ПС 123859.", START("123859")),
	T("45055 23186.", BARE("45055", "45055,23186")),
	T("ПС 102057522 11638..", INVALID_U("bad_syntax", 20, 2)),
	T("ПС 102057522 11638.;", INVALID_U("bad_syntax", 20, 2)),
	T(";45055", INVALID_U("unknown", 0, 1)),
	T(".5", INVALID_U("unknown", 0, 1)),

	/* keyword alone */
	T("ПС", INVALID("no_contract")),
	T("пс", INVALID("no_contract")),
	T("PS", INVALID("no_contract")),
	T("ПС:", INVALID("no_contract")),
	T("ПС №", INVALID("no_contract")),
	T("ПС .", INVALID("no_contract")),
	T("  ПС  ", INVALID("no_contract")),

	/* starts like a command, the rest does not fit */
	T("ПС abc", INVALID_U("bad_syntax", 5, 3)),
	T("ПС договор 123859 11638", INVALID_U("bad_syntax", 5, 14)),
	T("ПС 123859 abc", INVALID_U("bad_syntax", 12, 3)),
	T("ПС 102057522 11638 кВт", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11638кВт", SUBMIT("102057522", "11638")),
	T("ПС 123859 -5", INVALID_U("bad_syntax", 12, 1)),
	T("ПС 123859 +5", INVALID_U("bad_syntax", 12, 1)),
	T("ПС123abc", INVALID_U("bad_syntax", 7, 3)),
	T("ПС?", INVALID_U("bad_syntax", 4, 1)),
	T("ПС 123859 11638 ПС 123859 11638", INVALID_U("bad_syntax", 18, 4)),
	T("12345 abc", INVALID_U("bad_syntax", 6, 3)),
	T("5 коп", INVALID_U("bad_syntax", 2, 6)),
	T("ОТМЕНА 123859", INVALID_U("bad_syntax", 0, 12)),
	T("стоп стоп", INVALID_U("bad_syntax", 9, 8)),
	T("Помощь пожалуйста", HELP),
	T("стоп!!!!", INVALID_U("bad_syntax", 8, 4)),
	T("ПС 1234 5 \xf0\x9f\x98\x80", SUBMIT("1234", "5")), /* emoji */
	B("ПС 1234\0 5", INVALID_U("bad_syntax", 9, 1)),

	/* not a command */
	T("привет", INVALID("unknown")),
	T("Показания 123859 11638", BARE("123859", "123859,11638")),
	T("hello", INVALID("unknown")),
	T("№123859 11638", INVALID_U("unknown", 0, 3)),
	T("-5", INVALID_U("unknown", 0, 1)),
	T("+79001234567", INVALID_U("unknown", 0, 1)),
	T("ОТМЕНИТЬ", INVALID_U("unknown", 0, 16)),
	T("СТОПП", INVALID_U("unknown", 0, 10)),
	T("STOP", INVALID_U("unknown", 0, 4)),
	T("CТОП",
	    INVALID_U("unknown", 0, 7)), /* Latin C: only ПС tolerates it */
	T("?????", INVALID_U("unknown", 0, 5)),
	T("? 5", INVALID_U("unknown", 0, 1)),
	B("\0", INVALID_U("unknown", 0, 1)),
	T("\xef\xbf\xbd",
	    INVALID_U("unknown", 0, 3)), /* U+FFFD from a decoder */

	/* cancel and help: any case, spaces, up to three of . ! ? */
	T("отмена", CANCEL),
	T("Отмена", CANCEL),
	T("оТмЕнА", CANCEL),
	T("стоп", CANCEL),
	T("Стоп", CANCEL),
	T("  стоп  ", CANCEL),
	T("\tСТОП\r\n", CANCEL),
	T("Стоп!", CANCEL),
	T("Отмена.", CANCEL),
	T("стоп !!!", CANCEL),
	T("помощь", HELP),
	T("Помощь", HELP),
	T("справка", HELP),
	T("Справка", HELP),
	T("сПрАвКа", HELP),
	T(" ? ", HELP),
	T("??", HELP),
	T("????", HELP),
	T("Помощь?", HELP),
	T("справка!", HELP),

	/* spaces of every kind count as spaces; ends are trimmed */
	T("ПС\u00a0102057522\u00a011638", SUBMIT("102057522", "11638")),
	T("ПС\u202f102057522\u2007"
	  "11638",
	    SUBMIT("102057522", "11638")),
	T("ПС\t102057522\t\t11638", SUBMIT("102057522", "11638")),
	T("ПС\r\n102057522\r\n11638\r\n", SUBMIT("102057522", "11638")),
	T("ПС\v102057522\f11638", SUBMIT("102057522", "11638")),
	T("ПС102057522\u200b11638", SUBMIT("102057522", "11638")),
	T("ПС 102057522\u200c\u200d11638", SUBMIT("102057522", "11638")),
	T("ПС\u2060102057522 \u2060 11638", SUBMIT("102057522", "11638")),
	T("\ufeffПС 102057522 11638", SUBMIT("102057522", "11638")),
	T("ПС\u3000102057522\u200311638", SUBMIT("102057522", "11638")),
	T("ПС\u2028102057522\u202911638\xc2\x85", SUBMIT("102057522", "11638")),
	T("\u200e\u202bПС 102057522 11638\u202c", SUBMIT("102057522", "11638")),
	T("   ПС    102057522     11638    ", SUBMIT("102057522", "11638")),
	T("\u00a0\u00a0стоп\u00a0", CANCEL),
	T("\u200b?\u200b", HELP),
	T("1163\u200b8",
	    BARE("1163", "1163,8")), /* a zero-width space splits */
	T("П\u200bС 1234 5", INVALID_U("unknown", 0, 2)),
	T("ПС 11638\u00a0,5", INVALID_U("bad_syntax", 12, 1)),
	T("", INVALID("empty")),
	T("   ", INVALID("empty")),
	T("\u00a0\u200b\t\r\n \ufeff\u3000", INVALID("empty")),

	/* only ASCII digits are digits */
	T("ПС １２３４５６ 5",
	    INVALID_U("non_ascii_digit", 5, 3)), /* full-width */
	T("ПС 123859 １１６３８", INVALID_U("non_ascii_digit", 12, 3)),
	T("ПС 123859 ١٢٣٤٥",
	    INVALID_U("non_ascii_digit", 12, 2)), /* Arabic-Indic */
	T("ПС 123859 ۱۲۳۴۵", INVALID_U("non_ascii_digit", 12, 2)), /* Persian */
	T("ПС 123859 १२३४५",
	    INVALID_U("non_ascii_digit", 12, 3)), /* Devanagari */
	T("ПС 123859 11638²", INVALID_U("non_ascii_digit", 17, 2)),
	T("ПС 123859 11638½", INVALID_U("non_ascii_digit", 17, 2)),
	T("ПС 123859 \xf0\x9d\x9f\x8f",
	    INVALID_U("non_ascii_digit", 12, 4)), /* math bold 1 */
	T("٣", INVALID_U("non_ascii_digit", 0, 2)),
	T("１", INVALID_U("non_ascii_digit", 0, 3)),
	T("привет ٣", INVALID_U("non_ascii_digit", 13, 2)),

	/* invalid UTF-8, anywhere */
	T("\xff", INVALID("bad_utf8")),
	T("ПС 1234 \xff", INVALID("bad_utf8")),
	T("ПС 1234 5\x80", INVALID("bad_utf8")),
	T("\xc0\x80", INVALID("bad_utf8")), /* overlong NUL */
	T("\xc1\xbf", INVALID("bad_utf8")),
	T("\xe0\x80\xaf", INVALID("bad_utf8")), /* overlong / */
	T("\xed\xa0\x80", INVALID("bad_utf8")), /* surrogate */
	T("\xed\xbf\xbf", INVALID("bad_utf8")),
	T("\xf0\x8f\xbf\xbf", INVALID("bad_utf8")), /* overlong */
	T("\xf4\x90\x80\x80", INVALID("bad_utf8")), /* > U+10FFFF */
	T("\xf5\x80\x80\x80", INVALID("bad_utf8")),
	T("ПС 1234 \xd0", INVALID("bad_utf8")), /* cut */
	T("\xd0 ", INVALID("bad_utf8")),
	T("\xe2\x80", INVALID("bad_utf8")),
	T("\xf0\x9f\x98", INVALID("bad_utf8")),
	T("   \xfe   ", INVALID("bad_utf8")),
	T("ПС 1234 5 ٣ \xff", INVALID("bad_utf8")),

	/* issue 13: lead words and greetings before the keyword */
	T("Показания ПС 102057531 3600", SUBMIT("102057531", "3600")),
	T("Здравствуйте! Передаю показания: ПС 102057531 3600",
	    SUBMIT("102057531", "3600")),
	T("Добрый день, ПС 102057531 3600", SUBMIT("102057531", "3600")),
	T("добрый день. показания счетчика: ПС 102057531 3600",
	    SUBMIT("102057531", "3600")),
	T("Привет ПС 102057531 3600", SUBMIT("102057531", "3600")),
	T("Hello, PS 102057531 3600", SUBMIT("102057531", "3600")),

	/* issue 13: politeness after the numbers */
	T("ПС 102057531 7300 спасибо", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300 пожалуйста", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300 спс", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300, спасибо!", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300. Спасибо.", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300 спасибо большое", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300 с уважением, Иванов", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300. С уважением, Иванов И.И.",
	    SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300 Спасибо, с уважением, Петрова-Водкина",
	    SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300!", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300!!!", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300!!!!", INVALID_U("bad_syntax", 19, 4)),
	T("ПС 102057531 7300 спасибо)))", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300 спасибо!!!!", INVALID_U("bad_syntax", 34, 4)),
	T("ПС 102057531 7300 спасибо заранее", SUBMIT("102057531", "7300")),
	T("ПС 102057531 7300 с уважением 5", INVALID_U("bad_syntax", 42, 1)),
	T("ПС 102057531 7300 хорошего дня", SUBMIT("102057531", "7300")),
	T("ПС 102057531 спасибо", START("102057531")),

	/* issue 13: emoji: spaces; 👍 and its kind alone say thanks */
	T("👍", THANKS),
	T("👍🏻", THANKS),
	T("🙏🙏", THANKS),
	T("😡", INVALID_U("unknown", 0, 4)),
	T("👍 😡", INVALID_U("unknown", 5, 4)),

	/* issue 13: messenger markup around tokens */
	T("*ПС 102057522 11638*", SUBMIT("102057522", "11638")),
	T("_ПС 102057522 11638_", SUBMIT("102057522", "11638")),
	T("~ПС 102057522 11638~", SUBMIT("102057522", "11638")),
	T("`ПС 102057522 11638`", SUBMIT("102057522", "11638")),
	T("**ПС 102057522 11638**", SUBMIT("102057522", "11638")),
	T("📷 ПС 102057522 11638", SUBMIT("102057522", "11638")),
	T("📷ПС 102057522 11638 👍", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11638 ❤️", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11638 🙂🙂", SUBMIT("102057522", "11638")),
	T("ПС 102057522 *11638*", SUBMIT("102057522", "11638")),
	T("ПС 102057522 11*638", INVALID_U("bad_syntax", 17, 4)),

	/* issue 13: units after a value */
	T("ПС 102057522 3600 кВт", SUBMIT("102057522", "3600")),
	T("ПС 102057522 3600кВт", SUBMIT("102057522", "3600")),
	T("ПС 102057522 3600 КВТ", SUBMIT("102057522", "3600")),
	T("ПС 102057522 8700 кВт*ч", SUBMIT("102057522", "8700")),
	T("ПС 102057522 8700 кВтч", SUBMIT("102057522", "8700")),
	T("ПС 102057522 8700 квт.ч", SUBMIT("102057522", "8700")),
	T("ПС 102057522 8700 kWh", SUBMIT("102057522", "8700")),
	T("ПС 102057522 8700kwh", SUBMIT("102057522", "8700")),
	T("ПС 102057522 25 м3", SUBMIT("102057522", "25")),
	T("ПС 102057522 25м3", SUBMIT("102057522", "25")),
	T("ПС 102057522 25 м³", SUBMIT("102057522", "25")),
	T("ПС 102057522 25 куб", SUBMIT("102057522", "25")),
	T("ПС 102057522 25 кубов", SUBMIT("102057522", "25")),
	T("ПС 102057522 25 куб.м", SUBMIT("102057522", "25")),
	T("ПС 102057522 25 куб. ", SUBMIT("102057522", "25")),
	T("ПС 102057522 25 куб. спасибо", SUBMIT("102057522", "25")),
	T("ПС 102057522 8700 кВтт", INVALID_U("bad_syntax", 20, 8)),
	T("ПС 102057522 8700кВтт", INVALID_U("bad_syntax", 19, 8)),
	T("ПС 102057522 8700 квт ч", INVALID_U("bad_syntax", 27, 2)),
	T("ПС 123861 3600 кВт 5800 кВт", SUBMIT("123861", "3600,5800")),
	T("ПС 123861 3600 кВт, 5800 кВт", SUBMIT("123861", "3600,5800")),
	T("ПС 123861 3600 кВт. 5800 кВт.", SUBMIT("123861", "3600,5800")),
	T("8700квт", VALUES("8700")),
	T("3600 кВт", VALUES("3600")),
	T("8700 кВт*ч", VALUES("8700")),
	T("8700 КВТ*Ч", VALUES("8700")),
	T("25 м3 30 м3", VALUES("25,30")),

	/* issue 13: register labels */
	T("ПС 123861 день 12000 ночь 5800",
	    SUBMIT_L("123861", "12000,5800", "\"день\",\"ночь\"")),
	T("ПС 123861 ночь 5800 день 12000",
	    SUBMIT_L("123861", "5800,12000", "\"ночь\",\"день\"")),
	T("ПС 123861 Т1 13000 Т2 6200",
	    SUBMIT_L("123861", "13000,6200", "\"т1\",\"т2\"")),
	T("ПС 123861 T1 13000 T2 6200",
	    SUBMIT_L("123861", "13000,6200", "\"т1\",\"т2\"")),
	T("ПС 123861 т1 13000 т2 6200 т3 100",
	    SUBMIT_L("123861", "13000,6200,100", "\"т1\",\"т2\",\"т3\"")),
	T("ПС 123861 Т1: 13000, Т2: 6200",
	    SUBMIT_L("123861", "13000,6200", "\"т1\",\"т2\"")),
	T("ПС 123861 день: 12000 ночь: 5800",
	    SUBMIT_L("123861", "12000,5800", "\"день\",\"ночь\"")),
	T("ПС 123861 день-12000 ночь-5800",
	    SUBMIT_L("123861", "12000,5800", "\"день\",\"ночь\"")),
	T("ПС 123861 день = 12000, ночь = 5800",
	    SUBMIT_L("123861", "12000,5800", "\"день\",\"ночь\"")),
	T("ПС 123861 пик 3000 полупик 2000 ночь 1000",
	    SUBMIT_L(
	        "123861", "3000,2000,1000", "\"пик\",\"полупик\",\"ночь\"")),
	T("ПС 123861 д 12000 н 5800",
	    SUBMIT_L("123861", "12000,5800", "\"д\",\"н\"")),
	T("ПС 176355 хвс 25 гвс 12",
	    SUBMIT_L("176355", "25,12", "\"хвс\",\"гвс\"")),
	T("ПС 176355 кухня 25 ванная 12",
	    SUBMIT_L("176355", "25,12", "\"кухня\",\"ванная\"")),
	T("ПС 123861 день 12000 кВт ночь 5800 кВт",
	    SUBMIT_L("123861", "12000,5800", "\"день\",\"ночь\"")),
	T("Т1 13000 Т2 6200", VALUES_L("13000,6200", "\"т1\",\"т2\"")),
	T("Ночь 6200", VALUES_L("6200", "\"ночь\"")),
	T("ночь 6200", VALUES_L("6200", "\"ночь\"")),
	T("день: 12000", VALUES_L("12000", "\"день\"")),
	T("пик-3000", VALUES_L("3000", "\"пик\"")),
	T("день 12000,ночь 5800", VALUES_L("12000,5800", "\"день\",\"ночь\"")),
	T("Day 12000 night 5800", VALUES_L("12000,5800", "\"day\",\"night\"")),
	T("H 5800", VALUES_L("5800", "\"н\"")),
	T("Нoчь 6200", VALUES_L("6200", "\"ночь\"")),

	/* issue 13: a label word with no value, or glued to it */
	T("электроэнергиядень 5", INVALID_U("unknown", 0, 36)),
	T("день", INVALID_U("unknown", 0, 8)),
	T("ночь ", INVALID_U("unknown", 0, 8)),
	T("день 12000 ночь", INVALID_U("bad_syntax", 15, 8)),
	T("день12000", INVALID_U("unknown", 0, 13)),
	T("т113000", INVALID_U("unknown", 0, 8)),
	T("ночь: спасибо", INVALID_U("unknown", 0, 8)),

	/* issue 13: comma lists */
	T("2100, 1600, 1000", BARE("2100", "2100,1600,1000")),
	T("2100 , 1600 , 1000", BARE("2100", "2100,1600,1000")),
	T("ПС 123859, 45055, 23186", SUBMIT("123859", "45055,23186")),
	T("45055, 23186", BARE("45055", "45055,23186")),
	T("45055,23186", BARE("45055", "45055,23186")),
	T("2100,  1600", BARE("2100", "2100,1600")),
	T("1,5, 2", VALUES_T("1,2")),

	/* issue 13: look-alike letters in the keyword; О for 0 between digits */
	T("РС 102057522 11638", SUBMIT("102057522", "11638")),
	T("рс 102057522 11638", SUBMIT("102057522", "11638")),
	T("PC 102057522 11638", SUBMIT("102057522", "11638")),
	T("Рs 102057522 11638", SUBMIT("102057522", "11638")),
	T("РСС 102057522 11638", VALUES_L("102057522,11638", "\"рсс\",\"\"")),
	T("1О2О57533", BARE("102057533", "102057533")),
	T("ПС 1О2О57533 11638", SUBMIT("102057533", "11638")),
	T("ПС 1o2o57533 11638", SUBMIT("102057533", "11638")),
	T("ПС 102057533 1О0О", INVALID_U("bad_syntax", 19, 2)),
	T("ПС 102057533 11638О", INVALID_U("bad_syntax", 20, 2)),
	T("ПС 102057533 100ом", INVALID_U("bad_syntax", 18, 4)),
	T("ПС О2057533 5", INVALID_U("bad_syntax", 5, 9)),

	/* issue 13: a contract typed in groups of three */
	T("ПС 102 057 522 11638", SUBMIT("102057522", "11638")),
	T("ПС 102 057 522", START("102057522")),
	T("ПС 102 057 522 116", START("102057522116")),
	T("ПС 12 345 678 9", SUBMIT("12345678", "9")),
	T("ПС 1 234 5", SUBMIT("1234", "5")),
	T("ПС 123 456 789 012 345", SUBMIT("123456789012", "345")),
	T("ПС 102 057 522,5", INVALID_U("bad_contract", 5, 11)),
	T("ПС 102 57 522 11638", INVALID_U("bad_contract", 5, 3)),
	T("102 057 540 7700",
	    "{\"kind\":\"values\",\"values\":[102,57,540,7700]" AMB(
	        "102057540,7700", "0,3") "}"),

	/* issue 13: help words */
	T("HELP", HELP),
	T("help", HELP),
	T("Help!", HELP),
	T("помогите", HELP),
	T("Помогите пожалуйста", HELP),
	T("помощь", HELP),
	T("справка", HELP),
	T("инструкция", HELP),
	T("Как передать показания?", HELP),
	T("как передать показания", HELP),
	T("Как передавать показания?", HELP),
	T("Как отправить?", HELP),
	T("Не понимаю", HELP),
	T("Здравствуйте, как передать показания?", HELP),
	T("?", HELP),
	T("??", HELP),
	T("????", HELP),
	T("?????", INVALID_U("unknown", 0, 5)),
	T("help me", INVALID_U("bad_syntax", 5, 2)),
	T("помогите 5", INVALID_U("bad_syntax", 0, 16)),

	/* issue 13: thanks */
	T("Спасибо!", THANKS),
	T("спасибо", THANKS),
	T("спасибо большое", THANKS),
	T("Большое спасибо!", THANKS),
	T("благодарю", THANKS),
	T("спс", THANKS),
	T("thanks", THANKS),
	T("Thank you", THANKS),
	T("Спасибо)))", THANKS),
	T("Спасибо, до свидания", THANKS),
	T("пожалуйста", THANKS),
	T("Ок, спасибо", CONFIRM),

	/* issue 13: confirmation */
	T("ДА", CONFIRM),
	T("да", CONFIRM),
	T("Да.", CONFIRM),
	T("да!", CONFIRM),
	T("yes", CONFIRM),
	T("Yes", CONFIRM),
	T("верно", CONFIRM),
	T("подтверждаю", CONFIRM),
	T("Да, верно", CONFIRM),
	T("Да, всё верно", CONFIRM),
	T("Да, все верно", CONFIRM),
	T("ок", CONFIRM),
	T("да да", CONFIRM),
	T("да нет", INVALID_U("bad_syntax", 5, 6)),
	T("да 13000", BARE("13000", "13000")),
	T("Да, 13000", BARE("13000", "13000")),

	/* issue 13: keyword-less: the first number may be a contract */
	T("102057540 7700", BARE("102057540", "102057540,7700")),
	T("102057540", BARE("102057540", "102057540")),
	T("102057540 7700 8800", BARE("102057540", "102057540,7700,8800")),
	T("1234 5", BARE("1234", "1234,5")),
	T("123 5", VALUES("123,5")),
	T("12345678901 5", BARE("12345678901", "12345678901,5")),
	T("123456789012 5", BARE("123456789012", "123456789012,5")),
	T("1234567890123 5", INVALID_U("bad_value", 0, 13)),
	T("102057540,5 7700", VALUES_T("102057540,7700")),
	T("102057540 кВт", VALUES("102057540")),
	T("0123 5", BARE("0123", "123,5")),
	T("Показания 102057540 7700", BARE("102057540", "102057540,7700")),

	/* issue 13: ambiguous thousands: the literal reading, and the joined one */
	T("13,000",
	    "{\"kind\":\"values\",\"values\":[13],\"truncated\":true" AMB(
	        "13000", "0") "}"),
	T("6.600",
	    "{\"kind\":\"values\",\"values\":[6],\"truncated\":true" AMB(
	        "6600", "0") "}"),
	T("12 000",
	    "{\"kind\":\"values\",\"values\":[12,0]" AMB("12000", "0") "}"),
	T("13,000 кВт",
	    "{\"kind\":\"values\",\"values\":[13],\"truncated\":true" AMB(
	        "13000", "0") "}"),
	T("1,234,567",
	    "{\"kind\":\"values\",\"values\":[1],\"truncated\":true" AMB(
	        "1234567", "0") "}"),
	T("1.234.567",
	    "{\"kind\":\"values\",\"values\":[1],\"truncated\":true" AMB(
	        "1234567", "0") "}"),
	T("1,234.567",
	    "{\"kind\":\"values\",\"values\":[1],\"truncated\":true" AMB(
	        "1234", "0") "}"),
	T("1,234,5678",
	    "{\"kind\":\"values\",\"values\":[1,5678],\"truncated\":true" AMB(
	        "1234,5678", "0,1") "}"),
	T("13,0000", VALUES("13,0")),
	T("13,00", VALUES_T("13")),
	T("11638,123", VALUES_T("11638")),
	T("1000,000", VALUES_T("1000")),
	T("ПС 123859 13,000",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[13],\"truncated\":true" AMB(
	        "13000", "0") "}"),
	T("ПС 123859 12 000",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[12,0]" AMB(
	        "12000", "0") "}"),
	T("ПС 123859 12 000 5 800",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[12,0,5,800]" AMB(
	        "12000,5800", "0,2") "}"),
	T("ПС 123859 день 12 000 ночь 5 800",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[12,0,5,800],\"labels\":[\"день\",\"\",\"ночь\",\"\"]" AMB(
	        "12000,5800", "0,2") "}"),
	T("ПС 123859 100 200 300",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[100,200,300]" AMB(
	        "100200300", "0") "}"),
	T("ПС 123859 1 000 000",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[1,0,0]" AMB(
	        "1000000", "0") "}"),
	T("ПС 123859 1 000 000 000 000",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[1,0,0,0,0]" AMB(
	        "1000000000,0", "0,4") "}"),
	T("ПС 123859 12 000,5",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[12,0],\"truncated\":true" AMB(
	        "12000", "0") "}"),
	T("ПС 123859 12 0000", SUBMIT("123859", "12,0")),
	T("ПС 123859 12 00", SUBMIT("123859", "12,0")),
	T("ПС 123859 13,000 6.600",
	    "{\"kind\":\"submit\",\"contract\":\"123859\",\"values\":[13,6],\"truncated\":true" AMB(
	        "13000,6600", "0,1") "}"),
	T("102057540 12 000",
	    "{\"kind\":\"values\",\"contract\":\"102057540\",\"bare_contract\":true,\"values\":[102057540,12,0]" AMB(
	        "102057540,12000", "0,1") "}"),
	T("1 000 2 000 3 000 4 000", INVALID_U("too_many_values", 18, 1)),

	/* issue 13: near misses that stay invalid, with the span quoted */
	T("ПСИХ", INVALID_U("unknown", 0, 8)),
	T("П С 123859", INVALID_U("unknown", 0, 2)),
	T("ПС", INVALID("no_contract")),
	T("Показания ПС", INVALID("no_contract")),
	T("ПС abc", INVALID_U("bad_syntax", 5, 3)),
	T("кВтт", INVALID_U("unknown", 0, 8)),
	T("abc", INVALID_U("unknown", 0, 3)),
	T("ПС 102057522 11638 abc", INVALID_U("bad_syntax", 21, 3)),
	T("Ночь", INVALID_U("unknown", 0, 8)),
	T("ПС 123861 день ночь 5800", INVALID_U("bad_syntax", 12, 8)),
	T("ПС 123861 день 12000 ночь", INVALID_U("bad_syntax", 27, 8)),
	T("Привет", INVALID("unknown")),
	T("Добрый день", INVALID("unknown")),
	T("Здравствуйте!", INVALID("unknown")),
	T("с уважением, Иванов", THANKS),
	T("показания", INVALID("unknown")),
	T("Отмена", CANCEL),
	T("стоп, спасибо", CANCEL),
	T("Стоп стоп", INVALID_U("bad_syntax", 9, 8)),
	T("стоп 5", INVALID_U("bad_syntax", 0, 8)),
	T("ПС 102057522 ١١٦٣٨", INVALID_U("non_ascii_digit", 15, 2)),
	T("ПС 102057522 11638 м²", INVALID_U("non_ascii_digit", 23, 2)),
	T("ПС 102057522 11638 м³ abc", INVALID_U("bad_syntax", 26, 3)),

	/* issue 17: the last readings, reminders, unbinding */
	T("ИНФО 123859", INFO("123859")),
	T("инфо 123859", INFO("123859")),
	T("Инфо: 123859", INFO("123859")),
	T("инфо №123859", INFO("123859")),
	T("ИНФО 102 057 522", INFO("102057522")),
	T("ИНФО 123859?", INFO("123859")),
	T("info 123859", INFO("123859")),
	T("БАЛ 123859", INFO("123859")),
	T("Последние показания 123859", INFO("123859")),
	T("Здравствуйте! Инфо 123859, пожалуйста", INFO("123859")),
	T("ПС 123859 ?", INFO("123859")),
	T("ПС 123859?", INFO("123859")),
	T("пс 123859 ???", INFO("123859")),
	T("ПС 123859 ? спасибо", INFO("123859")),
	T("ИНФО", INFO0),
	T("инфо?", INFO0),
	T("Информация", INFO0),
	T("ИНФО 123", INVALID_U("bad_contract", 9, 3)),
	T("ИНФО 123859 5", INVALID_U("bad_syntax", 16, 1)),
	T("ИНФО 123859 ????", INVALID_U("bad_syntax", 16, 4)),
	T("ПС 123859 ????", INVALID_U("bad_syntax", 12, 4)),
	T("ПС 123859 11638 ?", INVALID_U("bad_syntax", 18, 1)),
	T("НЕ НАПОМИНАТЬ", REMIND_OFF),
	T("Не напоминайте, пожалуйста", REMIND_OFF),
	T("отключить напоминания", REMIND_OFF),
	T("НАПОМИНАТЬ", REMIND_ON),
	T("Напоминайте!", REMIND_ON),
	T("включить напоминания", REMIND_ON),
	T("не напоминать 5", INVALID_U("bad_syntax", 0, 4)),
	T("напоминать стоп", INVALID_U("bad_syntax", 21, 8)),
	T("ОТВЯЗАТЬ 123859", UNBIND("123859")),
	T("Отвяжите 123859, спасибо", UNBIND("123859")),
	T("ОТВЯЗАТЬ", UNBIND0),
	T("ОТВЯЗАТЬ 12", INVALID_U("bad_contract", 17, 2)),
	T("ИНФО 123859 ОТВЯЗАТЬ", INVALID_U("bad_syntax", 16, 16)),
};

/* ---- helpers --------------------------------------------------------- */

static struct parser *P;

static int
setup(void **state)
{
	char err[256];

	(void)state;
	P = parser_new(err, sizeof(err));
	if (P == NULL)
		fprintf(stderr, "parser_new: %s\n", err);
	return P == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	parser_free(P);
	return 0;
}

static size_t
case_len(const struct gcase *c)
{
	return c->len ? c->len : strlen(c->text);
}

/* Parse and render as JSON; print the text on a mismatch. */
static bool
json_is(const char *what, const char *text, size_t len, const char *want)
{
	struct parse_result r;
	char got[PARSE_JSON_MAX];

	parser_parse(P, text, len, &r);
	assert_true(parse_result_json(&r, got, sizeof(got)) > 0);
	if (strcmp(got, want) == 0)
		return true;
	fprintf(stderr, "%s: text \"%.*s\"\n  want %s\n  got  %s\n", what,
	    (int)len, text, want, got);
	return false;
}

/* The same, failing the test on a mismatch. */
static void
expect_json(const char *what, const char *text, size_t len, const char *want)
{
	if (!json_is(what, text, len, want))
		fail();
}

/* Replace every ASCII space of s with rep, into out (cap bytes). */
static size_t
replace_spaces(
    const char *s, size_t len, const char *rep, char *out, size_t cap)
{
	size_t o = 0, rl = strlen(rep);

	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ') {
			assert_true(o + rl < cap);
			memcpy(out + o, rep, rl);
			o += rl;
		} else {
			assert_true(o + 1 < cap);
			out[o++] = s[i];
		}
	}
	return o;
}

/*
 * want with its quoted span moved: the text was changed by delta bytes
 * before the span, and each ASCII space of the original text became
 * per_space bytes more (a span may hold spaces: "102 057 522,5"). Into
 * out (PARSE_JSON_MAX bytes).
 */
static const char *
moved_at(const struct gcase *c, size_t delta, size_t per_space, char *out)
{
	const char *key = "\"unknown_at\":", *at = strstr(c->json, key);
	unsigned long u, l;
	size_t grow = 0;
	char *end;

	if (at == NULL)
		return c->json;
	u = strtoul(at + strlen(key), &end, 10);
	l = strtoul(end + strlen(",\"unknown_len\":"), &end, 10);
	for (size_t i = 0; i < u + l; i++) {
		if (c->text[i] != ' ')
			continue;
		if (i < u)
			delta += per_space;
		else
			grow += per_space;
	}
	snprintf(out, PARSE_JSON_MAX, "%.*s%s%lu,\"unknown_len\":%lu%s",
	    (int)(at - c->json), c->json, key, u + delta, l + grow, end);
	return out;
}

/* ---- table tests ----------------------------------------------------- */

static void
test_table(void **state)
{
	size_t bad = 0;

	(void)state;
	/* every mismatch is printed before the test fails */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad += !json_is(
		    "table", cases[i].text, case_len(&cases[i]), cases[i].json);
	assert_int_equal(bad, 0);
	print_message("%zu grammar cases\n", sizeof(cases) / sizeof(cases[0]));
}

/* Every space of the table, written as another kind of space, or padded. */
static void
test_table_spaces(void **state)
{
	static const char *const spaces[] = {
		"\t",
		"\r\n",
		"  ",
		"\u00a0",
		"\u202f",
		"\u2007",
		"\u200b",
		"\u2060",
		"\ufeff",
		" \u200d ",
		"\u3000",
		"\u2028",
	};
	char buf[1024], want[PARSE_JSON_MAX];
	size_t n, sl;

	(void)state;
	for (size_t s = 0; s < sizeof(spaces) / sizeof(spaces[0]); s++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct gcase *c = &cases[i];

			n = replace_spaces(
			    c->text, case_len(c), spaces[s], buf, sizeof(buf));
			expect_json("spaces", buf, n,
			    moved_at(c, 0, strlen(spaces[s]) - 1, want));
			/* the same kind of space at both ends is trimmed */
			sl = strlen(spaces[s]);
			memmove(buf + sl, buf, n);
			memcpy(buf, spaces[s], sl);
			memcpy(buf + sl + n, spaces[s], sl);
			expect_json("padded", buf, n + 2 * sl,
			    moved_at(c, sl, sl - 1, want));
		}
	}
}

/* Shifting a text by 1..9 leading spaces moves every 8-byte boundary. */
static void
test_table_alignment(void **state)
{
	char buf[1024], want[PARSE_JSON_MAX];

	(void)state;
	for (size_t k = 1; k <= 9; k++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct gcase *c = &cases[i];

			memset(buf, ' ', k);
			memcpy(buf + k, c->text, case_len(c));
			expect_json("shifted", buf, k + case_len(c),
			    moved_at(c, k, 0, want));
		}
	}
}

/*
 * Change the case of ASCII and Russian letters of s: up != 0 to capitals.
 * Russian letters keep their byte length (2), so out is as long as s.
 */
static void
change_case(const char *s, size_t len, char *out, int up)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len; i++) {
		unsigned b = u[i], b1 = i + 1 < len ? u[i + 1] : 0;

		out[i] = (char)b;
		if (up && b >= 'a' && b <= 'z')
			out[i] = (char)(b - 32);
		else if (!up && b >= 'A' && b <= 'Z')
			out[i] = (char)(b + 32);
		else if (up && b == 0xD0 && b1 >= 0xB0 && b1 <= 0xBF)
			out[++i] = (char)(b1 - 0x20); /* а-п */
		else if (up && b == 0xD1 && b1 >= 0x80 && b1 <= 0x8F) {
			out[i] = (char)0xD0; /* р-я */
			out[++i] = (char)(b1 + 0x20);
		} else if (!up && b == 0xD0 && b1 >= 0x90 && b1 <= 0x9F)
			out[++i] = (char)(b1 + 0x20);
		else if (!up && b == 0xD0 && b1 >= 0xA0 && b1 <= 0xAF) {
			out[i] = (char)0xD1;
			out[++i] = (char)(b1 - 0x20);
		} else if (b >= 0xC2 && b1 != 0) {
			out[++i] = (char)b1; /* other 2-byte: as is */
		}
	}
}

/* The grammar ignores case: every case, upper and lower, means the same. */
static void
test_table_case(void **state)
{
	char buf[1024];

	(void)state;
	for (int up = 0; up <= 1; up++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct gcase *c = &cases[i];

			change_case(c->text, case_len(c), buf, up);
			expect_json(
			    up ? "upper" : "lower", buf, case_len(c), c->json);
		}
	}
}

/* Values of every length, at every alignment, against strtoull. */
static void
test_value_lengths(void **state)
{
	uint64_t seed = 42;
	char digits[32], text[64], want[PARSE_JSON_MAX];
	size_t n;

	(void)state;
	for (unsigned len = 1; len <= 13; len++) {
		for (unsigned rep = 0; rep < 64; rep++) {
			for (unsigned d = 0; d < len; d++) {
				seed = seed * 6364136223846793005ULL + 1;
				digits[d] = (char)('0' + (seed >> 33) % 10);
			}
			digits[len] = '\0';
			/* rep picks the offset: 0..7 leading spaces */
			n = (size_t)snprintf(text, sizeof(text),
			    "%*sПС 1234 %s", (int)(rep % 8), "", digits);
			if (len <= 10)
				snprintf(want, sizeof(want),
				    SUBMIT("1234", "%llu"),
				    strtoull(digits, NULL, 10));
			else
				snprintf(want, sizeof(want),
				    INVALID_C_AT("bad_value", "1234"),
				    (int)(rep % 8) + 10, len);
			expect_json("value", text, n, want);
			/* without the keyword, 4-12 digits may be a contract */
			n = (size_t)snprintf(text, sizeof(text), "%*s%s 7",
			    (int)(rep % 8), "", digits);
			if (len < 4)
				snprintf(want, sizeof(want), VALUES("%llu,7"),
				    strtoull(digits, NULL, 10));
			else if (len <= 12)
				snprintf(want, sizeof(want),
				    BARE("%s", "%llu,7"), digits,
				    strtoull(digits, NULL, 10));
			else
				snprintf(want, sizeof(want),
				    INVALID_AT("bad_value"), (int)(rep % 8),
				    len);
			expect_json("bare value", text, n, want);
		}
	}
}

/* ---- limits ---------------------------------------------------------- */

static void
test_max_text(void **state)
{
	static char buf[PARSE_MAX_TEXT + 2];
	const char *msg = "ПС 102057522 11638";
	size_t n = strlen(msg);
	struct parse_result r;

	(void)state;
	/* exactly PARSE_MAX_TEXT bytes: spaces around a valid text */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf + 100, msg, n);
	expect_json("max", buf, PARSE_MAX_TEXT, SUBMIT("102057522", "11638"));
	/* one byte more: too long, whatever it holds */
	expect_json("max+1", buf, PARSE_MAX_TEXT + 1, INVALID("too_long"));
	memset(buf, 0xff, sizeof(buf));
	expect_json("max+1 bad", buf, PARSE_MAX_TEXT + 1, INVALID("too_long"));
	expect_json("max bad", buf, PARSE_MAX_TEXT, INVALID("bad_utf8"));
	/* a text that fills the limit with non-ASCII */
	for (size_t i = 0; i + 2 <= PARSE_MAX_TEXT; i += 2)
		memcpy(buf + i, "\xd0\x9f", 2); /* П */
	expect_json("max П", buf, PARSE_MAX_TEXT,
	    INVALID_U("unknown", 0, 4096)); /* one word, quoted whole */
	/* len 0 with a NULL-free pointer */
	assert_int_equal(parser_parse(P, "x", 0, &r), PARSE_INVALID);
	assert_int_equal(r.reason, PARSE_R_EMPTY);
}

/* Many values and long digit runs do not blow up the matcher. */
static void
test_long_runs(void **state)
{
	static char buf[PARSE_MAX_TEXT];
	size_t n = 0;

	(void)state;
	n = (size_t)snprintf(buf, sizeof(buf), "ПС 123859");
	while (n + 2 <= sizeof(buf)) {
		buf[n++] = ' ';
		buf[n++] = '7';
	}
	expect_json("2000 values", buf, n,
	    INVALID_CU("too_many_values", "123859", 24, 1));
	memset(buf, '9', sizeof(buf));
	expect_json(
	    "4096 digits", buf, sizeof(buf), INVALID_U("bad_value", 0, 4096));
	memcpy(buf, "ПС ", 5);
	expect_json("ПС 4091 digits", buf, sizeof(buf),
	    INVALID_U("bad_contract", 5, 4091));
	for (n = 0; n + 2 <= sizeof(buf); n += 2)
		memcpy(buf + n, "1,", 2);
	expect_json(
	    "1,1,1...", buf, sizeof(buf), INVALID_U("bad_syntax", 3, 1));
	/* 4096 bytes of digit groups and of labelled values */
	for (n = 0; n + 4 <= sizeof(buf); n += 4)
		memcpy(buf + n, "1 00", 4);
	expect_json("1 001 00...", buf, sizeof(buf),
	    INVALID_U("too_many_values", 22, 3));
	for (n = 0; n + 7 <= sizeof(buf); n += 7)
		memcpy(buf + n, "т1 5, ", 7); /* т is 2 bytes */
	expect_json(
	    "т1 5, ...", buf, n - 2, INVALID_U("too_many_values", 46, 1));
}

/* ---- result fields and helpers ------------------------------------- */

static void
test_fields(void **state)
{
	struct parse_result r;
	const char *s = "ПС 0123 0045055,5 23186";

	(void)state;
	assert_int_equal(parser_parse(P, s, strlen(s), &r), PARSE_SUBMIT);
	assert_int_equal(r.kind, PARSE_SUBMIT);
	assert_int_equal(r.reason, PARSE_R_NONE);
	assert_string_equal(r.contract, "0123");
	assert_int_equal(r.nvalues, 2);
	assert_int_equal(r.values[0], 45055);
	assert_int_equal(r.values[1], 23186);
	assert_true(r.truncated);

	/* a text need not be NUL-terminated: only len bytes are read */
	s = "ПС 1234 56789";
	assert_int_equal(parser_parse(P, s, strlen(s) - 3, &r), PARSE_SUBMIT);
	assert_int_equal(r.values[0], 56);

	/* the previous result does not leak into the next */
	s = "стоп";
	assert_int_equal(parser_parse(P, s, strlen(s), &r), PARSE_CANCEL);
	assert_string_equal(r.contract, "");
	assert_int_equal(r.nvalues, 0);
	assert_false(r.truncated);
	s = "11638,5 1 2 3 4 5 6";
	assert_int_equal(parser_parse(P, s, strlen(s), &r), PARSE_INVALID);
	assert_int_equal(r.reason, PARSE_R_TOO_MANY_VALUES);
	assert_int_equal(r.nvalues, 0);
	assert_false(r.truncated);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(parse_kind_name(PARSE_INVALID), "invalid");
	assert_string_equal(parse_kind_name(PARSE_SUBMIT), "submit");
	assert_string_equal(parse_kind_name(PARSE_START), "start");
	assert_string_equal(parse_kind_name(PARSE_VALUES), "values");
	assert_string_equal(parse_kind_name(PARSE_CANCEL), "cancel");
	assert_string_equal(parse_kind_name(PARSE_HELP), "help");
	assert_string_equal(parse_kind_name(PARSE_INFO), "info");
	assert_string_equal(parse_kind_name(PARSE_REMIND_OFF), "remind_off");
	assert_string_equal(parse_kind_name(PARSE_REMIND_ON), "remind_on");
	assert_string_equal(parse_kind_name(PARSE_UNBIND), "unbind");
	assert_string_equal(parse_kind_name((enum parse_kind)99), "?");
	assert_string_equal(parse_reason_name(PARSE_R_NONE), "none");
	assert_string_equal(parse_reason_name(PARSE_R_TOO_LONG), "too_long");
	assert_string_equal(parse_reason_name(PARSE_R_BAD_UTF8), "bad_utf8");
	assert_string_equal(parse_reason_name(PARSE_R_EMPTY), "empty");
	assert_string_equal(
	    parse_reason_name(PARSE_R_NON_ASCII_DIGIT), "non_ascii_digit");
	assert_string_equal(
	    parse_reason_name(PARSE_R_NO_CONTRACT), "no_contract");
	assert_string_equal(
	    parse_reason_name(PARSE_R_BAD_CONTRACT), "bad_contract");
	assert_string_equal(parse_reason_name(PARSE_R_BAD_VALUE), "bad_value");
	assert_string_equal(
	    parse_reason_name(PARSE_R_TOO_MANY_VALUES), "too_many_values");
	assert_string_equal(
	    parse_reason_name(PARSE_R_BAD_SYNTAX), "bad_syntax");
	assert_string_equal(parse_reason_name(PARSE_R_UNKNOWN), "unknown");
	assert_string_equal(parse_reason_name(PARSE_R__MAX), "?");
	for (int k = 0; k < PARSE__KIND_MAX; k++)
		assert_string_not_equal(parse_kind_name(k), "?");
	for (int r = 0; r < PARSE_R__MAX; r++)
		assert_string_not_equal(parse_reason_name(r), "?");
}

static void
test_value_digits(void **state)
{
	(void)state;
	assert_int_equal(parse_value_digits(0), 1);
	assert_int_equal(parse_value_digits(9), 1);
	assert_int_equal(parse_value_digits(10), 2);
	assert_int_equal(parse_value_digits(11638), 5);
	assert_int_equal(parse_value_digits(99999), 5);
	assert_int_equal(parse_value_digits(100000), 6);
	assert_int_equal(parse_value_digits(9999999999ULL), 10);
	assert_int_equal(parse_value_digits(UINT64_MAX), 20);
}

static void
test_json_buffer(void **state)
{
	struct parse_result r;
	char buf[PARSE_JSON_MAX];
	const char *s = "ПС 123456789012 9999999999 9999999999 9999999999 "
	                "9999999999 9999999999 9999999999,5";
	int n;

	(void)state;
	assert_int_equal(parser_parse(P, s, strlen(s), &r), PARSE_SUBMIT);
	n = parse_result_json(&r, buf, sizeof(buf));
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_string_equal(buf,
	    SUBMIT_T("123456789012",
	        "9999999999,9999999999,9999999999,9999999999,9999999999,9999999999"));
	/* exactly enough room, then one byte short */
	assert_int_equal(parse_result_json(&r, buf, (size_t)n + 1), n);
	assert_int_equal(parse_result_json(&r, buf, (size_t)n), -1);
	assert_int_equal(parse_result_json(&r, buf, 0), -1);
}

/* Two parsers are independent: no state is shared between them. */
static void
test_two_parsers(void **state)
{
	struct parser *q;
	struct parse_result a, b;
	char err[128];
	const char *s1 = "ПС 123859 45055", *s2 = "стоп";

	(void)state;
	q = parser_new(err, sizeof(err));
	assert_non_null(q);
	parser_parse(P, s1, strlen(s1), &a);
	parser_parse(q, s2, strlen(s2), &b);
	assert_int_equal(a.kind, PARSE_SUBMIT);
	assert_int_equal(b.kind, PARSE_CANCEL);
	assert_string_equal(a.contract, "123859");
	parser_free(q);
	parser_free(NULL);
}

/* ---- random sweep ---------------------------------------------------- */

/* xorshift64*: deterministic, so a failure reproduces from its seed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static bool
all_digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A label: "" or lower-case letters (ASCII, Cyrillic) then digits. */
static bool
label_ok(const char *l)
{
	size_t n = strnlen(l, PARSE_LABEL_MAX + 1);

	if (n > PARSE_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)l[i];

		if (!(b >= 0x80 || (b >= 'a' && b <= 'z') ||
		        (b >= '0' && b <= '9')))
			return false;
	}
	return true;
}

/* Values, labels and the joined reading of a submit or values result. */
static bool
values_ok(const struct parse_result *r)
{
	bool ok = r->nvalues >= 1 && r->nvalues <= PARSE_MAX_VALUES;

	for (unsigned i = 0; ok && i < r->nvalues; i++)
		ok = r->values[i] <= 9999999999ULL ||
		    (i == 0 && r->bare_contract &&
		        r->values[0] <= 999999999999ULL);
	for (unsigned i = 0; ok && i < PARSE_MAX_VALUES; i++)
		ok = label_ok(r->labels[i]) &&
		    (i < r->nvalues || r->labels[i][0] == '\0');
	if (!r->ambiguous)
		return ok && r->alt_nvalues == 0;
	ok = ok && r->alt_nvalues >= 1 && r->alt_nvalues <= r->nvalues &&
	    r->alt_from[0] == 0;
	for (unsigned j = 1; ok && j < r->alt_nvalues; j++)
		ok = r->alt_from[j] > r->alt_from[j - 1] &&
		    r->alt_from[j] < r->nvalues;
	for (unsigned j = 0; ok && j < r->alt_nvalues; j++)
		ok = r->alt_values[j] <= 999999999999ULL;
	return ok;
}

/* Nothing but the kind (help, cancel, thanks, confirm). */
static bool
bare_kind(const struct parse_result *r)
{
	struct parse_result z;

	memset(&z, 0, sizeof(z));
	z.kind = r->kind;
	return memcmp(&z, r, sizeof(z)) == 0;
}

/* What every result must satisfy, whatever the input. */
static void
check_invariants(const char *text, size_t len, const struct parse_result *r)
{
	struct parse_result again;
	char json[PARSE_JSON_MAX];
	bool ok = true;

	switch (r->kind) {
	case PARSE_SUBMIT:
		ok = values_ok(r) && all_digits(r->contract, 4, 12) &&
		    !r->bare_contract && r->reason == PARSE_R_NONE;
		break;
	case PARSE_VALUES:
		ok = values_ok(r) && r->reason == PARSE_R_NONE;
		if (r->bare_contract)
			ok = ok && all_digits(r->contract, 4, 12) &&
			    strtoull(r->contract, NULL, 10) == r->values[0] &&
			    r->labels[0][0] == '\0';
		else
			ok = ok && r->contract[0] == '\0';
		break;
	case PARSE_START:
		ok = all_digits(r->contract, 4, 12) && r->nvalues == 0 &&
		    !r->truncated && !r->ambiguous && !r->bare_contract &&
		    r->reason == PARSE_R_NONE && r->unknown_len == 0;
		break;
	case PARSE_CANCEL:
	case PARSE_HELP:
	case PARSE_THANKS:
	case PARSE_CONFIRM:
	case PARSE_REMIND_OFF:
	case PARSE_REMIND_ON: ok = bare_kind(r); break;
	case PARSE_INFO:
	case PARSE_UNBIND:
		ok = (r->contract[0] == '\0' ||
		         all_digits(r->contract, 4, 12)) &&
		    r->nvalues == 0 && !r->truncated && !r->ambiguous &&
		    !r->bare_contract && r->reason == PARSE_R_NONE;
		break;
	case PARSE_INVALID:
		ok = r->reason > PARSE_R_NONE && r->reason < PARSE_R__MAX &&
		    r->nvalues == 0 && !r->truncated && !r->ambiguous &&
		    !r->bare_contract && r->alt_nvalues == 0 &&
		    (size_t)r->unknown_at + r->unknown_len <= len &&
		    (r->unknown_len > 0 || r->unknown_at == 0) &&
		    (r->contract[0] == '\0' || all_digits(r->contract, 4, 12));
		break;
	default: ok = false;
	}
	ok = ok && (r->kind == PARSE_INVALID || r->unknown_len == 0);
	ok = ok && parse_result_json(r, json, sizeof(json)) > 0;
	/* deterministic: the same text gives the same result */
	parser_parse(P, text, len, &again);
	ok = ok && memcmp(&again, r, sizeof(again)) == 0;
	if (!ok) {
		fprintf(stderr, "invariant broken for %zu bytes:", len);
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, " %02x", (unsigned char)text[i]);
		fprintf(stderr, "\n");
		fail();
	}
}

/* Pieces that make random texts look like messages. */
static const char *const pieces[] = {
	"0",
	"1",
	"5",
	"9",
	"12345",
	"102057522",
	" ",
	"  ",
	",",
	".",
	";",
	"/",
	":",
	"-",
	"#",
	"№",
	"ПС",
	"пс",
	"PS",
	"ПC",
	"П",
	"С",
	"\u00a0",
	"\u200b",
	"\ufeff",
	"\t",
	"\r\n",
	"стоп",
	"ОТМЕНА",
	"помощь",
	"?",
	"!",
	"１",
	"٣",
	"\xd0",
	"\xff",
	"\x80",
	"\xed\xa0\x80",
	"\0",
	"а",
	"z",
	/* the words and marks of issue 13's grammar */
	"спасибо",
	"спс",
	"да",
	"help",
	"Как передать показания",
	"Здравствуйте!",
	"показания",
	"с уважением",
	"день",
	"ночь",
	"Т1",
	"T2",
	"кВт",
	"м³",
	"куб.м",
	"О",
	"o",
	"РС",
	"\xf0\x9f\x91\x8d", /* 👍 */
	"\xf0\x9f\x93\xb7", /* 📷 */
	"\xef\xb8\x8f", /* VS16 */
	"*",
	"_",
	"~",
	"=",
	")",
	"000",
	"!",
	/* issue 17 */
	"ИНФО",
	"не напоминать",
	"Напоминать",
	"отвязать",
};

/* 0-63 bytes of anything. */
static size_t
random_bytes(uint64_t *seed, char *buf, size_t cap)
{
	size_t n = rnd(seed) % 64;

	(void)cap;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(rnd(seed) & 0xff);
	return n;
}

/* Random pieces: texts that look like messages, and often are. */
static size_t
random_pieces(uint64_t *seed, char *buf, size_t cap)
{
	size_t n = 0, want = rnd(seed) % 48, pl;
	const char *p;

	while (n < want) {
		p = pieces[rnd(seed) % (sizeof(pieces) / sizeof(pieces[0]))];
		pl = p[0] ? strlen(p) : 1;
		if (n + pl > cap)
			break;
		memcpy(buf + n, p, pl);
		n += pl;
	}
	return n;
}

static const char *const seeds[] = {
	"ПС 102057522 11638",
	"ПС 123859",
	"ПС 123859 45055 23186",
	"45055 23186",
	"ОТМЕНА",
	"помощь",
	"?",
	"ПС: №123859 11638,5",
	"45055,5 23186,123",
	"11638,50000",
	"PS 0123 5; 6/7",
	"Спасибо!",
	"ДА",
	"Здравствуйте! Передаю показания: ПС 102057531 3600",
	"ПС 123861 день 12000 ночь 5800 спасибо",
	"Т1 13000 Т2 6200",
	"8700 кВт*ч",
	"13,000",
	"12 000 000",
	"ПС 102 057 522 11638",
	"102057540 7700",
	"*ПС 1О2О57533 11638*",
	"\xf0\x9f\x91\x8d",
	"ИНФО 123859",
	"ПС 123859 ?",
	"НЕ НАПОМИНАТЬ",
	"НАПОМИНАТЬ",
	"ОТВЯЗАТЬ 123859",
};

/* Change a valid message by 1-4 random edits. */
static size_t
mutate(uint64_t *seed, char *buf, size_t cap)
{
	const char *s = seeds[rnd(seed) % (sizeof(seeds) / sizeof(seeds[0]))];
	size_t n = strlen(s), edits = 1 + rnd(seed) % 4, at;

	memcpy(buf, s, n);
	while (edits--) {
		at = n ? rnd(seed) % (n + 1) : 0;
		switch (rnd(seed) % 4) {
		case 0: /* insert a byte */
			if (n + 1 >= cap)
				break;
			memmove(buf + at + 1, buf + at, n - at);
			buf[at] = (char)(rnd(seed) & 0xff);
			n++;
			break;
		case 1: /* delete a byte */
			if (at < n) {
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
			}
			break;
		case 2: /* replace a byte */
			if (at < n)
				buf[at] = (char)(rnd(seed) & 0xff);
			break;
		default: /* replace with a digit or separator */
			if (at < n)
				buf[at] = "0123456789 ,.;/"[rnd(seed) % 15];
			break;
		}
	}
	return n;
}

#define SWEEP 1000000

/* SWEEP texts from gen through the parser; returns how many of each kind. */
static void
sweep(
    const char *what, size_t (*gen)(uint64_t *, char *, size_t), uint64_t seed)
{
	unsigned kinds[PARSE__KIND_MAX] = { 0 };
	struct parse_result r;
	char buf[256];
	size_t n;

	for (unsigned i = 0; i < SWEEP; i++) {
		n = gen(&seed, buf, sizeof(buf));
		parser_parse(P, buf, n, &r);
		/* the full check parses twice: on a sample, to stay fast */
		if (i % 16 == 0)
			check_invariants(buf, n, &r);
		else if ((unsigned)r.kind >= PARSE__KIND_MAX)
			fail();
		kinds[r.kind]++;
	}
	print_message("%u %s: invalid %u submit %u start %u values %u "
	              "cancel %u help %u thanks %u confirm %u info %u "
	              "remind_off %u remind_on %u unbind %u\n",
	    SWEEP, what, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4],
	    kinds[5], kinds[6], kinds[7], kinds[8], kinds[9], kinds[10],
	    kinds[11]);
	/* mutations and pieces reach every kind, so they test more than rejects */
	if (gen != random_bytes)
		for (int k = 0; k < PARSE__KIND_MAX; k++)
			assert_true(kinds[k] > 0);
}

/* Seeded, so a failure reproduces; the invariants hold for any input. */
static void
test_random(void **state)
{
	(void)state;
	sweep("random byte strings", random_bytes, 0x6d65746572ULL);
	sweep("texts of random pieces", random_pieces, 0x7061727365ULL);
	sweep("mutated messages", mutate, 0x6d757461ULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_spaces),
		cmocka_unit_test(test_table_alignment),
		cmocka_unit_test(test_table_case),
		cmocka_unit_test(test_value_lengths),
		cmocka_unit_test(test_max_text),
		cmocka_unit_test(test_long_runs),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_value_digits),
		cmocka_unit_test(test_json_buffer),
		cmocka_unit_test(test_two_parsers),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
