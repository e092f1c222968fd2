#!/usr/bin/env node
'use strict';
// bridge_flood: a messenger bridge posting signed messages to meterline's
// POST /v1/messages (docs/http.md), for tests/e2e/test_two_instances.sh.
// Like a bridge should, it retries the same request (same id: meterline's
// idempotency key) on a network error or a 5xx until it gets an answer,
// so a message counts as acknowledged only when a 200 came back. The
// messages of one sender go one at a time, each after the previous one's
// answer (a person in a dialog); `--concurrency` senders at once, each
// request on a new connection so that a balancer in front spreads them.
//
//   node bridge_flood.js --url http://127.0.0.1:PORT --secret S \
//       --messages FILE --results FILE [--concurrency C] [--timeout S]
//
// FILE: "id<TAB>channel<TAB>from<TAB>text" a line. Results: one line per
// message, "id<TAB>from<TAB>text<TAB>status<TAB>outcome<TAB>reply<TAB>attempts",
// in the order answered. Exits 0 when every message got a 200.

const fs = require('fs');
const http = require('http');
const crypto = require('crypto');

const opt = { url: null, secret: null, messages: null, results: null, concurrency: 16, timeout: 120 };
{
	const a = process.argv.slice(2);
	const keys = { '--url': 'url', '--secret': 'secret', '--messages': 'messages',
		'--results': 'results', '--concurrency': 'concurrency', '--timeout': 'timeout' };
	for (let i = 0; i < a.length; i += 2) {
		if (!keys[a[i]] || i + 1 >= a.length) { console.error(`bridge_flood: bad option ${a[i]}`); process.exit(2); }
		opt[keys[a[i]]] = a[i + 1];
	}
	if (!opt.url || !opt.secret || !opt.messages || !opt.results) { console.error('bridge_flood: --url, --secret, --messages, --results'); process.exit(2); }
	opt.concurrency = Number(opt.concurrency);
	opt.timeout = Number(opt.timeout);
}

const url = new URL(opt.url + '/v1/messages');
const bySender = new Map();
for (const l of fs.readFileSync(opt.messages, 'utf8').split('\n').filter(Boolean)) {
	const [id, channel, from, text] = l.split('\t');
	if (!bySender.has(from)) bySender.set(from, []);
	bySender.get(from).push({ id, channel, from, text });
}
const senders = [...bySender.values()];
const out = [];
const st = { requests: 0, errors: 0, s5xx: 0, ok: 0, other: 0 };

function post(m) {
	const body = JSON.stringify({ id: m.id, channel: m.channel, from: m.from, to: '7377',
		text: m.text, timestamp: new Date().toISOString() });
	const sig = crypto.createHmac('sha256', opt.secret).update(body).digest('hex');
	return new Promise((resolve) => {
		st.requests++;
		const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
			agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
				'X-Meterline-Signature': `sha256=${sig}`, Connection: 'close' } }, (res) => {
			let data = '';
			res.setEncoding('utf8');
			res.on('data', (c) => { data += c; });
			res.on('end', () => resolve({ status: res.statusCode, data }));
			res.on('error', () => resolve({ status: 0 }));
		});
		req.setTimeout(35000, () => req.destroy());
		req.on('error', () => resolve({ status: 0 }));
		req.end(body);
	});
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One message until it has an answer that is not an error to retry.
async function deliver(m) {
	for (let attempts = 1; ; attempts++) {
		const r = await post(m);
		if (r.status === 0) st.errors++;
		else if (r.status >= 500) st.s5xx++;
		if (r.status !== 0 && r.status < 500) {
			let j = {};
			try { j = JSON.parse(r.data); } catch (e) { /* reported as is */ }
			if (r.status === 200) st.ok++; else st.other++;
			const clean = (s) => String(s === undefined || s === null ? '' : s).replace(/[\t\r\n]/g, ' ');
			out.push([m.id, m.from, clean(m.text), r.status, clean(j.outcome), clean(j.reply), attempts].join('\t'));
			return;
		}
		await sleep(200);
	}
}

async function worker() {
	for (let s; (s = senders.shift()) !== undefined;)
		for (const m of s) await deliver(m);
}

function finish(why) {
	fs.writeFileSync(opt.results, out.join('\n') + (out.length ? '\n' : ''));
	process.stderr.write(`bridge: ${why}: ${out.length} answered (${st.ok} 200, ${st.other} other), ${st.requests} requests, ${st.errors} network errors, ${st.s5xx} 5xx\n`);
	process.exit(why === 'done' && st.other === 0 ? 0 : 1);
}
setTimeout(() => finish('timeout'), opt.timeout * 1000).unref();
Promise.all(Array.from({ length: opt.concurrency }, worker)).then(() => finish('done'));
