#!/usr/bin/env node
'use strict';
// Checks that the peer SMSC puts on the wire what we think it does:
// 1. text.js against octets written out by hand (03.38 and UTF-16BE);
// 2. a deliver_sm built the way smsc.js builds it, serialised by the `smpp`
//    package and read back field by field from the raw octets here;
// 3. with MLINE_BIN set: the texts decoded back from those octets go
//    through meterline's own grammar (`meterline parse --json -`) and must
//    come out as the submissions the template meant.
// Exit 0 when all hold.
const assert = require('assert');
const { execFileSync } = require('child_process');
const smpp = require('smpp');
const text = require('./text');

let n = 0;
function eq(a, b, what) { assert.deepStrictEqual(a, b, what); n++; }

// 1. the codings
eq(text.encode('ПС 1', 'ucs2').toString('hex'), '041f042100200031', 'UCS-2 is UTF-16BE');
eq(text.encode('😀', 'ucs2').toString('hex'), 'd83dde00', 'a pair for beyond U+FFFF');
eq(text.encode('PS @1', 'gsm7').toString('hex'), '5053200031', 'GSM-7 one septet per octet, @ is 0x00');
eq(text.encode('{€}', 'gsm7').toString('hex'), '1b281b651b29', 'GSM-7 extension table');
assert.throws(() => text.encode('ПС', 'gsm7'), /not in the GSM/); n++;
eq(text.decode(Buffer.from('041f0421', 'hex'), 8), 'ПС', 'UCS-2 decode');
eq(text.decode(Buffer.from('1b2800', 'hex'), 0), '{@', 'GSM-7 decode');
// splitting: 70 Cyrillic letters are one SMS, 71 are two parts of 67 + 4
eq(text.split('Я'.repeat(70), 'ucs2', 0).length, 1, '70 UCS-2 fit one');
eq(text.split('Я'.repeat(71), 'ucs2', 0).map((b) => b.length), [134, 8], '71 UCS-2: 67 + 4');
eq(text.split('a'.repeat(161), 'gsm7', 0).map((b) => b.length), [153, 8], '161 GSM-7: 153 + 8');
eq(text.split('ПС 10000001 100001', 'ucs2', 2).map((b) => text.decode(b, 8)).join(''),
	'ПС 10000001 100001', 'forced 2 parts join back');
eq(text.split('😀😀😀', 'ucs2', 2).map((b) => b.length), [4, 8], 'a pair is never split');
eq(text.split('{{{', 'gsm7', 2).map((b) => b.length), [2, 4], 'an escape is never split');
eq(text.parseUdh(text.udh8(7, 2, 1)).concat, { ref: 7, total: 2, seq: 1 }, 'UDH 8-bit reference');

// 2. a deliver_sm through the package's serialiser, read back by hand
for (const c of Object.keys(smpp.commands)) {
	const p = smpp.commands[c].params;
	if (p && p.short_message) delete p.short_message.filter;
}
function deliver(sm, esm, dcs) {
	const pdu = new smpp.PDU('deliver_sm', {
		sequence_number: 42, service_type: '', source_addr_ton: 1, source_addr_npi: 1,
		source_addr: '79100000001', dest_addr_ton: 0, dest_addr_npi: 1,
		destination_addr: '7377', esm_class: esm, data_coding: dcs, short_message: sm });
	return pdu.toBuffer();
}
function readBack(b) {
	let o = 16;
	const cstr = () => { const e = b.indexOf(0, o); const s = b.toString('latin1', o, e); o = e + 1; return s; };
	const r = { len: b.readUInt32BE(0), id: b.readUInt32BE(4), status: b.readUInt32BE(8), seq: b.readUInt32BE(12) };
	r.service_type = cstr(); r.src_ton = b[o++]; r.src_npi = b[o++]; r.src = cstr();
	r.dst_ton = b[o++]; r.dst_npi = b[o++]; r.dst = cstr();
	r.esm = b[o++]; r.pid = b[o++]; r.prio = b[o++]; r.sched = cstr(); r.valid = cstr();
	r.reg = b[o++]; r.replace = b[o++]; r.dcs = b[o++]; r.sm_default = b[o++];
	const l = b[o++]; r.sm = b.subarray(o, o + l); o += l; r.rest = b.length - o;
	return r;
}
const texts = [];
{
	const t = 'ПС 10000001 100002';
	const b = readBack(deliver(text.encode(t, 'ucs2'), 0, 8));
	eq([b.len, b.id, b.status, b.seq], [b.len, 0x00000005, 0, 42], 'deliver_sm header');
	eq([b.src, b.src_ton, b.src_npi, b.dst, b.esm, b.dcs, b.rest], ['79100000001', 1, 1, '7377', 0, 8, 0], 'deliver_sm fields');
	eq(b.sm.toString('hex'), Buffer.from(t, 'utf16le').swap16().toString('hex'), 'short_message is UTF-16BE, untouched');
	texts.push(text.decode(b.sm, b.dcs));
}
{
	const t = 'PS 11000001 100002';
	const b = readBack(deliver(text.encode(t, 'gsm7'), 0, 0));
	eq([b.dcs, b.sm.toString('latin1')], [0, t], 'GSM-7 of ASCII letters and digits is the same octets');
	texts.push(text.decode(b.sm, b.dcs));
}
{
	const t = 'ПС 12000001 100002';
	const parts = text.split(t, 'ucs2', 2);
	let whole = '';
	parts.forEach((p, i) => {
		const b = readBack(deliver(Buffer.concat([text.udh8(9, 2, i + 1), p]), 0x40, 8));
		const u = text.parseUdh(b.sm);
		eq([b.esm, b.sm.subarray(0, 6).toString('hex')], [0x40, `05000309020${i + 1}`], `part ${i + 1}: UDHI and UDH`);
		whole += text.decode(b.sm.subarray(u.udhLen), 8);
	});
	eq(whole, t, 'parts join back');
	texts.push(whole);
}

// 3. meterline's grammar on what we decoded from the wire
if (process.env.MLINE_BIN) {
	const out = execFileSync(process.env.MLINE_BIN, ['parse', '--json', '-'], { input: texts.join('\n') + '\n' })
		.toString().trim().split('\n').map((l) => JSON.parse(l));
	eq(out, [
		{ kind: 'submit', contract: '10000001', values: [100002] },
		{ kind: 'submit', contract: '11000001', values: [100002] },
		{ kind: 'submit', contract: '12000001', values: [100002] },
	], 'meterline parse reads the texts as meant');
} else {
	console.error('selftest: MLINE_BIN not set, meterline parse not checked');
}
console.log(`selftest: ${n} checks ok`);
