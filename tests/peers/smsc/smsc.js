#!/usr/bin/env node
'use strict';
// peer-smsc: an SMSC on the npm `smpp` package (not meterline's codec), for
// driving meterline, Kannel or any ESME with mobile-originated traffic.
// See usage() and docs/peers.md.

const fs = require('fs');
const { performance } = require('perf_hooks');
const smpp = require('smpp');
const text = require('./text');

function usage() {
	return `usage: smsc.js [options]
  --port N              listen on 127.0.0.1:N (0, the default: a free port;
                        "listening on 127.0.0.1:PORT" goes to stderr)
  --system-id S --password P   credentials a bind must carry (default: any)
  --count N             MO messages to send (default 10)
  --senders S           distinct sender numbers, MO i from sender i % S (default N)
  --sender-base NUM     first sender number (default 79100000000)
  --recipient ADDR      the short number MO go to (default 7377)
  --window W            at most W deliver_sm without deliver_sm_resp (default 10)
  --coding ucs2|gsm7    data_coding 8 or 0 (default ucs2)
  --template T          text; {contract} {value} {i} {sender} (default "ПС {contract} {value}")
  --contracts FILE      contracts, one per line (MO i: line i % lines)
  --contract-base NUM   else contract of MO i = NUM + i (default 10000000)
  --value-base NUM      {value} = NUM + 1 + i % 97 (default 100000)
  --messages FILE       the MO instead of --count/--template: one per line,
                        "sender<TAB>text", sent in file order
  --parts P             split every MO into exactly P parts (UDH, 8-bit
                        reference); 0 (default): only texts too long for one
  --part-order ORDER    "forward" (default) or "reverse": part P first
  --part-gap-ms MS      after a part's ESME_ROK, wait MS before the next part
                        of that MO (nothing else goes out meanwhile)
  --omit-part N         never send part N of a concatenated MO (its message
                        then never completes: the MO counts as acknowledged
                        when the parts sent are)
  --resend-part N       once an MO with parts has its reply, send its part N
                        again (same octets and reference): a redelivered part
  --drop-mo I           drop the connection once, around MO I's (last)
                        deliver_sm (0-based), and redeliver that deliver_sm
                        after the next bind
  --drop-when WHEN      "resp" (default): right after its ESME_ROK arrives (the
                        answer counts as lost); "sent": right after sending it,
                        before any answer can arrive
  --drop-delay-ms MS    with "resp": drop MS after the ESME_ROK instead
                        (nothing else goes out meanwhile)
  --spread              send each deliver_sm on the next bound receiver in
                        turn (round robin over every rx/trx bind), as an
                        SMSC with several ESME binds of one account does;
                        without it everything goes to the first bind
  --min-binds N         start the flood only once N receivers are bound (1)
  --hold-sender         a sender's next MO waits until the previous one has
                        its reply, as a person answering a prompt would
  --redeliver-ms MS     resend a deliver_sm answered with an error after MS (1000)
  --timeout S           give up S seconds after the first deliver_sm (60)
  --bind-timeout S      give up when no receiver has bound after S seconds (30)
  --linger-ms MS        after the last reply, wait MS for unexpected ones (300)
  --start-delay-ms MS   wait MS after the first bind before flooding (200)
  --expect-reply TEXT   count replies whose text differs (reported, exit 1)
  --log FILE            every PDU both ways as JSON Lines
  --results FILE        every MO and reply, in meterline-smsc-sim's --results format
  --summary FILE        the summary as one JSON object
Exits 0 only when every MO was acknowledged ESME_ROK and got exactly one reply.`;
}

// ---- options
const opt = {
	port: 0, systemId: null, password: null, count: 10, senders: 0,
	senderBase: 79100000000, recipient: '7377', window: 10, coding: 'ucs2',
	template: 'ПС {contract} {value}', contracts: null, contractBase: 10000000,
	valueBase: 100000, parts: 0, redeliverMs: 1000, timeout: 60, bindTimeout: 30,
	lingerMs: 300, startDelayMs: 200, expectReply: null, log: null,
	results: null, summary: null, messages: null, partOrder: 'forward',
	partGapMs: 0, omitPart: 0, resendPart: 0, dropMo: -1, dropWhen: 'resp',
	dropDelayMs: 0, spread: false, holdSender: false, minBinds: 1,
};
const OPTS = {
	'--port': ['port', Number], '--system-id': ['systemId', String],
	'--password': ['password', String], '--count': ['count', Number],
	'--senders': ['senders', Number], '--sender-base': ['senderBase', Number],
	'--recipient': ['recipient', String], '--window': ['window', Number],
	'--coding': ['coding', String], '--template': ['template', String],
	'--contracts': ['contracts', String], '--contract-base': ['contractBase', Number],
	'--value-base': ['valueBase', Number], '--parts': ['parts', Number],
	'--redeliver-ms': ['redeliverMs', Number], '--timeout': ['timeout', Number],
	'--bind-timeout': ['bindTimeout', Number], '--linger-ms': ['lingerMs', Number],
	'--start-delay-ms': ['startDelayMs', Number], '--expect-reply': ['expectReply', String],
	'--log': ['log', String], '--results': ['results', String], '--summary': ['summary', String],
	'--messages': ['messages', String], '--part-order': ['partOrder', String],
	'--part-gap-ms': ['partGapMs', Number], '--omit-part': ['omitPart', Number],
	'--resend-part': ['resendPart', Number], '--drop-mo': ['dropMo', Number],
	'--drop-when': ['dropWhen', String], '--drop-delay-ms': ['dropDelayMs', Number],
	'--min-binds': ['minBinds', Number],
};
const FLAGS = { '--spread': 'spread', '--hold-sender': 'holdSender' };
{
	const a = process.argv.slice(2);
	for (let i = 0; i < a.length; i++) {
		if (a[i] === '-h' || a[i] === '--help') { console.log(usage()); process.exit(0); }
		if (FLAGS[a[i]]) { opt[FLAGS[a[i]]] = true; continue; }
		const o = OPTS[a[i]];
		if (!o || i + 1 >= a.length) { console.error(`smsc.js: bad option ${a[i]}\n${usage()}`); process.exit(2); }
		const v = o[1](a[++i]);
		if (o[1] === Number && !Number.isFinite(v)) { console.error(`smsc.js: ${a[i - 1]} wants a number`); process.exit(2); }
		opt[o[0]] = v;
	}
	if (opt.messages) {
		opt.scripted = fs.readFileSync(opt.messages, 'utf8').split(/\r?\n/).filter(Boolean).map((l) => {
			const tab = l.indexOf('\t');
			if (tab < 1) { console.error(`smsc.js: --messages: no "sender<TAB>text" in ${JSON.stringify(l)}`); process.exit(2); }
			return [l.slice(0, tab), l.slice(tab + 1)];
		});
		opt.count = opt.scripted.length;
	}
	if (!opt.senders) opt.senders = opt.count;
	if (!['forward', 'reverse'].includes(opt.partOrder) || !['resp', 'sent'].includes(opt.dropWhen) ||
	    opt.partGapMs < 0 || opt.omitPart < 0 || opt.resendPart < 0) {
		console.error('smsc.js: bad --part-order, --drop-when, --part-gap-ms, --omit-part or --resend-part'); process.exit(2);
	}
	if (!['ucs2', 'gsm7'].includes(opt.coding) || opt.window < 1 || opt.count < 0 || opt.parts < 0 || opt.parts > 255) {
		console.error('smsc.js: bad --coding, --window, --count or --parts'); process.exit(2);
	}
}

// The package's short_message/message_payload filters guess and convert
// text; ours are raw octets both ways (text.js does the coding).
for (const c of Object.keys(smpp.commands)) {
	const p = smpp.commands[c].params;
	if (p && p.short_message) delete p.short_message.filter;
}
delete smpp.tlvs.message_payload.filter;

const t0 = performance.now();
const now = () => performance.now() - t0;

// ---- the PDU log
let logOut = null;
if (opt.log) logOut = fs.createWriteStream(opt.log);
function log(dir, pdu, extra) {
	if (!logOut) return;
	const r = { t: +now().toFixed(3), dir, command: pdu.command, sequence: pdu.sequence_number,
		status: pdu.command_status };
	if (pdu.source_addr !== undefined) r.source = pdu.source_addr;
	if (pdu.destination_addr !== undefined) r.destination = pdu.destination_addr;
	if (pdu.data_coding !== undefined && pdu.command.endsWith('_sm')) r.data_coding = pdu.data_coding;
	if (pdu.message_id !== undefined) r.message_id = pdu.message_id;
	Object.assign(r, extra || {});
	logOut.write(JSON.stringify(r) + '\n');
}

// ---- the MO load
let contracts = null;
if (opt.contracts) contracts = fs.readFileSync(opt.contracts, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
const mos = []; // { i, sender, text, parts: [Buffer], acked: Set, firstSent, replyAt }
const bySender = new Map(); // sender -> [mo indexes awaiting a reply, in order]
for (let i = 0; i < opt.count; i++) {
	let sender, t;
	if (opt.scripted) {
		[sender, t] = opt.scripted[i];
	} else {
		sender = String(opt.senderBase + (i % opt.senders));
		const contract = contracts ? contracts[i % contracts.length] : String(opt.contractBase + i);
		t = opt.template.replace(/\{contract\}/g, contract)
			.replace(/\{value\}/g, String(opt.valueBase + 1 + (i % 97)))
			.replace(/\{i\}/g, String(i)).replace(/\{sender\}/g, sender);
	}
	let parts;
	try { parts = text.split(t, opt.coding, opt.parts); } catch (e) { console.error(`smsc.js: MO ${i}: ${e.message}`); process.exit(2); }
	// The parts that go out, in order (--part-order, --omit-part).
	let order = parts.map((_, p) => p);
	if (parts.length > 1 && opt.omitPart) order = order.filter((p) => p + 1 !== opt.omitPart);
	if (opt.partOrder === 'reverse') order.reverse();
	mos.push({ i, sender, text: t, parts, order, ref: i & 0xff, ok: 0, okSeen: new Set(), firstSent: -1, doneAt: -1,
		replies: 0, replyLat: -1, resent: false });
}
// The send queue: [mo index, part index]; redeliveries go to its end.
const queue = [];
for (const m of mos) for (const p of m.order) queue.push([m.i, p]);
let qhead = 0;
let holdUntil = 0; // --part-gap-ms: nothing goes out before this
let dropped = false; // --drop-mo done

// ---- counters
const st = {
	deliverSent: 0, respOk: 0, respOther: 0, redelivered: 0, submitParts: 0,
	replies: 0, extraReplies: 0, strangerReplies: 0, wrongText: 0, enquireLinks: 0,
	binds: 0, firstDeliver: -1, lastEvent: -1,
};
const respLat = [];
const replyLat = [];
const replyTexts = new Map();
const replyList = []; // for --results
let outstanding = 0;
let rx = null; // the session deliver_sm go to
let started = false;
let finished = false;
let msgId = 0;
const inflight = new Map(); // "sessionid:seq" -> { mi, p, at }
const sarParts = new Map(); // concatenated submit_sm being collected

function moComplete(m) { return m.ok === m.order.length; }

// --drop-mo: whether this deliver_sm (MO mi's last part to go out) is the one.
function dropHere(mi, p) {
	const m = mos[mi];
	return !dropped && mi === opt.dropMo && p === m.order[m.order.length - 1];
}

// Lose the connection s: its unanswered deliver_sm go out again after the
// next bind (the close handler), and so does [mi, p] when given.
function dropSession(sess, mi, p, why) {
	dropped = true;
	process.stderr.write(`dropping session ${sess._peerId}: ${why}\n`);
	if (mi !== undefined) { queue.push([mi, p]); st.redelivered++; }
	sess.destroy();
}

function pump() {
	if (!started || finished || !rx) return;
	if (now() < holdUntil) return;
	while (outstanding < opt.window && qhead < queue.length) {
		const [mi, p] = queue[qhead++];
		const m = mos[mi];
		if (holdBehind(m)) continue;
		const multi = m.parts.length > 1;
		const data = multi ? Buffer.concat([text.udh8(m.ref, m.parts.length, p + 1), m.parts[p]]) : m.parts[p];
		const pdu = new smpp.PDU('deliver_sm', {
			service_type: '', source_addr_ton: 1, source_addr_npi: 1, source_addr: m.sender,
			dest_addr_ton: 0, dest_addr_npi: 1, destination_addr: opt.recipient,
			esm_class: multi ? 0x40 : 0x00, protocol_id: 0, priority_flag: 0,
			registered_delivery: 0, data_coding: opt.coding === 'ucs2' ? 8 : 0,
			short_message: data,
		});
		const sess = nextRx();
		const at = now();
		if (m.firstSent < 0) m.firstSent = at;
		if (st.firstDeliver < 0) st.firstDeliver = at;
		outstanding++;
		st.deliverSent++;
		const drop = opt.dropWhen === 'sent' && dropHere(mi, p);
		const ok = sess.send(pdu, (resp) => onDeliverResp(sess, resp, mi, p, at),
			drop ? () => dropSession(sess, undefined, undefined, `MO ${mi} sent, before its answer`) : undefined);
		if (!ok) { outstanding--; qhead--; return; }
		if (drop) dropped = true;
		sess._peerInflight.set(pdu.sequence_number, [mi, p]);
		log('out', pdu, { text: m.text, part: multi ? `${p + 1}/${m.parts.length}` : undefined, session: sess._peerId });
	}
	maybeDone();
}

function onDeliverResp(sess, resp, mi, p, at) {
	const t = now();
	sess._peerInflight.delete(resp.sequence_number);
	outstanding--;
	log('in', resp);
	respLat.push(t - at);
	const m = mos[mi];
	if (resp.command_status === 0) {
		st.respOk++;
		if (!m.okSeen.has(p)) { m.okSeen.add(p); m.ok++; }
		if (moComplete(m)) st.lastEvent = Math.max(st.lastEvent, t);
		if (opt.dropWhen === 'resp' && dropHere(mi, p)) {
			const why = `MO ${mi} answered ${opt.dropDelayMs} ms ago, the answer counts as lost`;
			// queued now (so the run is not over), sent after the drop
			dropped = true;
			queue.push([mi, p]);
			st.redelivered++;
			holdUntil = Infinity;
			setTimeout(() => { holdUntil = 0; dropSession(sess, undefined, undefined, why); }, opt.dropDelayMs);
			return;
		}
		if (opt.partGapMs > 0 && !moComplete(m)) {
			holdUntil = now() + opt.partGapMs;
			setTimeout(pump, opt.partGapMs + 1);
		}
	} else {
		st.respOther++;
		setTimeout(() => { st.redelivered++; queue.push([mi, p]); pump(); }, opt.redeliverMs);
	}
	pump();
}

// --spread: the bound receivers in turn; else the one deliver_sm go to.
let rrNext = 0;
function nextRx() {
	if (!opt.spread) return rx;
	const rxs = [...sessions].filter((s) => s._peerBound === 'rx' || s._peerBound === 'trx');
	if (!rxs.length) return rx;
	return rxs[rrNext++ % rxs.length];
}

// --hold-sender: an MO not yet sent whose sender's previous MO has no reply
// waits (in held, by that MO) and is queued again when the reply comes.
const held = new Map(); // mo index -> [[mi, p]] waiting for its reply
function holdBehind(m) {
	if (!opt.holdSender || m.firstSent >= 0) return false;
	const prev = m.prevOfSender;
	if (prev < 0 || mos[prev].replies > 0) return false;
	if (!held.has(prev)) held.set(prev, []);
	held.get(prev).push(queue[qhead - 1]);
	return true;
}
function releaseHeld(mi) {
	const w = held.get(mi);
	if (!w) return;
	held.delete(mi);
	for (const e of w) queue.push(e);
	pump();
}

// A reply (complete submit_sm text) to `to`.
function onReply(to, body, t) {
	st.replies++;
	st.lastEvent = Math.max(st.lastEvent, t);
	replyTexts.set(body, (replyTexts.get(body) || 0) + 1);
	if (opt.expectReply !== null && body !== opt.expectReply) st.wrongText++;
	const waiting = bySender.get(to);
	let lat = -1;
	if (waiting && waiting.length) {
		const m = mos[waiting.shift()];
		m.replies++;
		m.replyLat = lat = t - m.firstSent;
		replyLat.push(lat);
		releaseHeld(m.i);
	} else if (mos.some((m) => m.sender === to)) {
		st.extraReplies++;
	} else {
		st.strangerReplies++;
	}
	replyList.push({ to, body, lat });
	resendParts(to);
	maybeDone();
}

// --resend-part: MO of `to` that have their reply get part N once more.
function resendParts(to) {
	if (!opt.resendPart) return;
	for (const m of mos) {
		if (m.sender !== to || m.resent || m.replies < 1 || m.parts.length < opt.resendPart) continue;
		m.resent = true;
		st.redelivered++;
		queue.push([m.i, opt.resendPart - 1]);
	}
	pump();
}

function onSubmit(sess, pdu) {
	const t = now();
	st.submitParts++;
	let data = Buffer.isBuffer(pdu.short_message) ? pdu.short_message : Buffer.alloc(0);
	if (!data.length && Buffer.isBuffer(pdu.message_payload)) data = pdu.message_payload;
	let concat = null;
	if (pdu.esm_class & 0x40) {
		const u = text.parseUdh(data);
		concat = u.concat;
		data = data.subarray(u.udhLen);
	}
	if (!concat && pdu.sar_msg_ref_num !== undefined && pdu.sar_total_segments > 1)
		concat = { ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
	const body = text.decode(data, pdu.data_coding);
	const id = (++msgId).toString(16).padStart(8, '0');
	const resp = pdu.response({ message_id: id });
	// Everything sent at once, the response before any bookkeeping.
	sess.send(resp);
	log('in', pdu, { text: body, part: concat ? `${concat.seq}/${concat.total}` : undefined, session: sess._peerId });
	log('out', resp, { message_id: id });
	// The reply to the MO sender: the submit_sm's destination.
	const to = pdu.destination_addr;
	if (!concat || concat.total < 2) { onReply(to, body, t); return; }
	const key = `${to}|${concat.ref}|${concat.total}`;
	let g = sarParts.get(key);
	if (!g) { g = new Map(); sarParts.set(key, g); }
	g.set(concat.seq, body);
	if (g.size === concat.total) {
		sarParts.delete(key);
		let whole = '';
		for (let s = 1; s <= concat.total; s++) whole += g.get(s) || '';
		onReply(to, whole, t);
	}
}

function allDone() {
	if (qhead < queue.length || outstanding > 0) return false;
	for (const m of mos) if (!moComplete(m) || m.replies < 1) return false;
	return true;
}

let lingerTimer = null;
function maybeDone() {
	if (finished || !started || lingerTimer) return;
	if (!allDone()) return;
	lingerTimer = setTimeout(() => finish('done'), opt.lingerMs);
}

// ---- percentiles and the summary
function pct(a, q) {
	if (!a.length) return NaN;
	const s = Float64Array.from(a).sort();
	return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

function finish(why) {
	if (finished) return;
	finished = true;
	const acked = mos.filter(moComplete).length;
	const once = mos.filter((m) => m.replies === 1).length;
	const span = st.lastEvent >= 0 && st.firstDeliver >= 0 ? st.lastEvent - st.firstDeliver : 0;
	const cpu = process.cpuUsage();
	const sum = {
		end: why, mo: opt.count, mo_sent: mos.filter((m) => m.firstSent >= 0).length,
		deliver_sm_sent: st.deliverSent, acked_rok: acked, resp_rok: st.respOk,
		resp_other: st.respOther, redelivered: st.redelivered,
		submit_sm_received: st.submitParts, replies: st.replies,
		mo_with_one_reply: once, extra_replies: st.extraReplies,
		stranger_replies: st.strangerReplies, wrong_text: st.wrongText,
		reply_p50_ms: +pct(replyLat, 0.5).toFixed(3), reply_p99_ms: +pct(replyLat, 0.99).toFixed(3),
		resp_p50_ms: +pct(respLat, 0.5).toFixed(3), resp_p99_ms: +pct(respLat, 0.99).toFixed(3),
		duration_s: +(span / 1000).toFixed(3),
		mo_per_s: span > 0 ? Math.round(opt.count / (span / 1000)) : 0,
		cpu_user_s: +(cpu.user / 1e6).toFixed(3), cpu_system_s: +(cpu.system / 1e6).toFixed(3),
		binds: st.binds, enquire_links: st.enquireLinks,
		reply_texts: Object.fromEntries(replyTexts),
	};
	const ok = why === 'done' && acked === opt.count && once === opt.count &&
		st.extraReplies === 0 && st.strangerReplies === 0 && st.wrongText === 0;
	sum.ok = ok;
	const e = (s) => process.stderr.write(s + '\n');
	e(`end: ${why}`);
	e(`MO: ${opt.count}, sent ${sum.mo_sent} (${st.deliverSent} deliver_sm, ${st.redelivered} redelivered)`);
	e(`acked: ROK ${acked} MO (${st.respOk} deliver_sm_resp ROK, ${st.respOther} other)`);
	e(`replies: ${st.replies} (${st.submitParts} submit_sm), MO with exactly one ${once}, extra ${st.extraReplies}, to strangers ${st.strangerReplies}, wrong text ${st.wrongText}`);
	e(`reply latency: p50 ${sum.reply_p50_ms} ms, p99 ${sum.reply_p99_ms} ms`);
	e(`deliver_sm_resp latency: p50 ${sum.resp_p50_ms} ms, p99 ${sum.resp_p99_ms} ms`);
	e(`duration: ${sum.duration_s} s first deliver_sm to last reply`);
	e(`rate: ${sum.mo_per_s} MO/s end to end`);
	e(`cpu: user ${sum.cpu_user_s} s, system ${sum.cpu_system_s} s`);
	for (const [k, v] of replyTexts) e(`reply text x${v}: ${k}`);
	if (opt.summary) fs.writeFileSync(opt.summary, JSON.stringify(sum) + '\n');
	if (opt.results) {
		const clean = (s) => s.replace(/[\t\r\n]/g, ' ');
		const lines = mos.map((m) => `mo\t${moComplete(m) ? 1 : 0}\t${m.replies}\t${m.sender}\t${opt.recipient}\t${clean(m.text)}`);
		for (const r of replyList) lines.push(`reply\t${opt.recipient}\t${r.to}\t1\t0\t${Math.round(r.lat * 1000)}\t${clean(r.body)}`);
		fs.writeFileSync(opt.results, lines.join('\n') + '\n');
	}
	const exit = () => process.exit(ok ? 0 : 1);
	for (const s of sessions) s.destroy();
	server.close();
	if (logOut) logOut.end(exit); else exit();
	setTimeout(exit, 2000).unref();
}

// ---- the server
const sessions = new Set();
let sessionIds = 0;
const server = smpp.createServer((sess) => {
	sess._peerId = ++sessionIds;
	sess._peerInflight = new Map();
	sess._peerBound = null;
	sessions.add(sess);
	sess.on('error', (e) => process.stderr.write(`session ${sess._peerId}: ${e.message}\n`));
	sess.on('close', () => {
		sessions.delete(sess);
		// deliver_sm without an answer go out again on the next bind
		for (const [, [mi, p]] of sess._peerInflight) { outstanding--; queue.push([mi, p]); st.redelivered++; }
		sess._peerInflight.clear();
		if (rx === sess) rx = [...sessions].find((s) => s._peerBound === 'rx' || s._peerBound === 'trx') || null;
		if (!finished) process.stderr.write(`session ${sess._peerId} closed\n`);
	});
	const bind = (kind) => (pdu) => {
		log('in', pdu, { system_id: pdu.system_id, session: sess._peerId });
		if ((opt.systemId !== null && pdu.system_id !== opt.systemId) ||
		    (opt.password !== null && pdu.password !== opt.password)) {
			const r = pdu.response({ command_status: smpp.ESME_RBINDFAIL });
			sess.send(r); log('out', r);
			sess.close();
			return;
		}
		const r = pdu.response({ system_id: 'peer-smsc' });
		sess.send(r);
		log('out', r);
		sess._peerBound = kind;
		st.binds++;
		process.stderr.write(`bound: ${kind} from ${pdu.system_id}\n`);
		if (kind !== 'tx' && !rx) rx = sess;
		const receivers = [...sessions].filter((s) => s._peerBound === 'rx' || s._peerBound === 'trx').length;
		if (kind !== 'tx' && (rx === sess || (!started && receivers === opt.minBinds))) {
			if (!started && receivers < opt.minBinds) return;
			if (!started) setTimeout(() => { started = true; pump(); if (!opt.count) maybeDone(); armTimeout(); }, opt.startDelayMs);
			else pump();
		}
	};
	sess.on('bind_transceiver', bind('trx'));
	sess.on('bind_receiver', bind('rx'));
	sess.on('bind_transmitter', bind('tx'));
	sess.on('submit_sm', (pdu) => {
		if (sess._peerBound !== 'trx' && sess._peerBound !== 'tx') {
			const r = pdu.response({ command_status: smpp.ESME_RINVBNDSTS });
			sess.send(r); log('in', pdu); log('out', r);
			return;
		}
		onSubmit(sess, pdu);
	});
	sess.on('enquire_link', (pdu) => {
		st.enquireLinks++;
		const r = pdu.response();
		sess.send(r); log('in', pdu); log('out', r);
	});
	sess.on('unbind', (pdu) => {
		const r = pdu.response();
		sess.send(r); log('in', pdu); log('out', r);
		sess.close();
	});
	sess.on('enquire_link_resp', (pdu) => log('in', pdu));
	sess.on('generic_nack', (pdu) => log('in', pdu));
	sess.on('unknown', (pdu) => {
		const r = pdu.response();
		sess.send(r); log('in', pdu); log('out', r);
	});
});
// Build the reply queue index per sender (MO order).
for (const m of mos) {
	if (!bySender.has(m.sender)) bySender.set(m.sender, []);
	const list = bySender.get(m.sender);
	m.prevOfSender = list.length ? list[list.length - 1] : -1;
	list.push(m.i);
}

function armTimeout() {
	setTimeout(() => finish('timeout'), opt.timeout * 1000).unref();
}
const bindTimer = setTimeout(() => { if (!started) finish('no bind'); }, opt.bindTimeout * 1000);
bindTimer.unref();
server.listen(opt.port, '127.0.0.1', () => {
	process.stderr.write(`listening on 127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => finish('SIGTERM'));
process.on('SIGINT', () => finish('SIGINT'));
