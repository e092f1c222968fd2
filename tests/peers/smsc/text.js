'use strict';
// Text coding for the peer SMSC, written here rather than taken from the
// `smpp` package: its message filter maps data_coding 0x01 to GSM-7, turns
// characters it cannot encode into spaces silently and guesses the coding
// when none is given. Here every octet is what the caller asked for, and a
// text that does not fit the chosen coding is an error.

// GSM 03.38 default alphabet, code = index; ESC (0x1B) is not a character.
const GSM_BASIC =
	'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
	'¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// The extension table: character -> code after ESC.
const GSM_EXT = { '\f': 0x0a, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2f,
	'[': 0x3c, '~': 0x3d, ']': 0x3e, '|': 0x40, '€': 0x65 };
const GSM_ENC = new Map();
for (let i = 0; i < GSM_BASIC.length; i++)
	if (i !== 0x1b) GSM_ENC.set(GSM_BASIC[i], i);
const GSM_EXT_DEC = new Map(Object.entries(GSM_EXT).map(([c, v]) => [v, c]));

// Units of a text in a coding: an array of arrays of octets, one inner
// array per character, so a split never cuts an escape or a surrogate pair.
function units(text, coding) {
	const out = [];
	if (coding === 'ucs2') {
		for (const ch of text) { // by code point: a pair stays together
			const b = Buffer.from(ch, 'utf16le').swap16();
			out.push([...b]);
		}
		return out;
	}
	if (coding === 'gsm7') {
		for (const ch of text) {
			if (GSM_ENC.has(ch)) out.push([GSM_ENC.get(ch)]);
			else if (ch in GSM_EXT) out.push([0x1b, GSM_EXT[ch]]);
			else throw new Error(`not in the GSM 03.38 alphabet: ${JSON.stringify(ch)}`);
		}
		return out;
	}
	throw new Error(`unknown coding ${coding}`);
}

function encode(text, coding) {
	return Buffer.from(units(text, coding).flat());
}

// One SMS holds 140 octets of user data: 160 septets (one per octet over
// SMPP) or 70 UCS-2 code units; a part with the 6-octet UDH 153 or 67.
const SINGLE = { gsm7: 160, ucs2: 140 };
const PART = { gsm7: 153, ucs2: 134 };

// split(text, coding, parts): an array of Buffers, one per part. parts 0:
// one part when it fits, else as few as fit; parts N: exactly N parts of
// about equal size (a short text split on purpose, as a phone might).
function split(text, coding, parts) {
	const u = units(text, coding);
	const total = u.reduce((n, x) => n + x.length, 0);
	if (!parts) {
		if (total <= SINGLE[coding]) return [Buffer.from(u.flat())];
		parts = 0;
	}
	const out = [];
	let cur = [];
	let curLen = 0;
	const cap = PART[coding];
	const target = parts ? Math.ceil(total / parts) : cap;
	for (const x of u) {
		if (curLen + x.length > Math.min(target, cap) && cur.length &&
		    (!parts || out.length < parts - 1)) {
			out.push(Buffer.from(cur));
			cur = [];
			curLen = 0;
		}
		cur.push(...x);
		curLen += x.length;
	}
	if (cur.length || !out.length) out.push(Buffer.from(cur));
	if (out.some((b) => b.length > cap))
		throw new Error(`text too long for ${parts} part(s) in ${coding}`);
	if (out.length > 255) throw new Error('more than 255 parts');
	return out;
}

function decodeGsm(buf) {
	let s = '';
	for (let i = 0; i < buf.length; i++) {
		const c = buf[i];
		if (c === 0x1b && i + 1 < buf.length) {
			const e = GSM_EXT_DEC.get(buf[i + 1]);
			s += e !== undefined ? e : GSM_BASIC[buf[i + 1] & 0x7f] || ' ';
			i++;
		} else if (c >= 0x80 || c === 0x1b) {
			s += '\ufffd';
		} else {
			s += GSM_BASIC[c];
		}
	}
	return s;
}

// decode(buf, dataCoding): the text of user data (UDH already removed).
function decode(buf, dcs) {
	if (dcs === 8 || (dcs & 0xf0) === 0xe0 || ((dcs & 0xe0) === 0x00 && (dcs & 0x10) && (dcs & 0x0c) === 0x08)) {
		const b = Buffer.from(buf.length % 2 ? buf.subarray(0, buf.length - 1) : buf);
		return b.swap16().toString('utf16le') + (buf.length % 2 ? '\ufffd' : '');
	}
	if (dcs === 0 || (dcs & 0xf0) === 0xf0 || ((dcs & 0x10) && (dcs & 0x0c) === 0))
		return decodeGsm(buf);
	return buf.toString('latin1');
}

// The UDH of user data: { udhLen, concat: {ref, total, seq} | null }.
function parseUdh(buf) {
	if (!buf.length) return { udhLen: 0, concat: null };
	const len = buf[0] + 1;
	let concat = null;
	for (let i = 1; i + 1 < len && i + 1 < buf.length;) {
		const iei = buf[i], l = buf[i + 1];
		if (iei === 0x00 && l === 3) concat = { ref: buf[i + 2], total: buf[i + 3], seq: buf[i + 4] };
		if (iei === 0x08 && l === 4) concat = { ref: buf.readUInt16BE(i + 2), total: buf[i + 4], seq: buf[i + 5] };
		i += 2 + l;
	}
	return { udhLen: len, concat };
}

function udh8(ref, total, seq) {
	return Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, seq]);
}

module.exports = { encode, decode, split, parseUdh, udh8, units };
