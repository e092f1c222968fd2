#!/usr/bin/env node
'use strict';
// balancer: a tiny TCP load balancer for the tests (tests/e2e/
// test_two_instances.sh), standing where an operator puts HAProxy or nginx
// in front of several `meterline serve` HTTP listeners. Each client
// connection goes to the next backend in turn; a backend that refuses the
// connection (an instance that is down) is skipped and the next one tried,
// so a client only sees an error when every backend is down or when the
// backend it was given dies mid-request (the connection is then closed, as
// HAProxy does, and the client retries).
//
//   node balancer.js [--port N] --backend HOST:PORT [--backend HOST:PORT ...]
//
// Prints "listening on 127.0.0.1:PORT" on stderr, and on SIGTERM a line
// "connections N, per backend a b ..., skipped (refused) K".

const net = require('net');

const backends = [];
let port = 0;
{
	const a = process.argv.slice(2);
	for (let i = 0; i < a.length; i++) {
		if (a[i] === '--port' && i + 1 < a.length) port = Number(a[++i]);
		else if (a[i] === '--backend' && i + 1 < a.length) {
			const m = /^(.*):(\d+)$/.exec(a[++i]);
			if (!m) { console.error(`balancer: bad backend ${a[i]}`); process.exit(2); }
			backends.push({ host: m[1], port: Number(m[2]), used: 0 });
		} else {
			console.error('usage: balancer.js [--port N] --backend HOST:PORT ...');
			process.exit(2);
		}
	}
	if (!backends.length) { console.error('balancer: no --backend'); process.exit(2); }
}

let next = 0;
let conns = 0;
let skipped = 0;

// Connect the client to backend number `start` or, if it refuses, to the
// ones after it; the client's bytes wait (paused) until one accepts.
function route(client, start, tries) {
	if (tries >= backends.length) { client.destroy(); return; }
	const b = backends[(start + tries) % backends.length];
	const up = net.connect(b.port, b.host);
	let connected = false;
	up.on('connect', () => {
		connected = true;
		b.used++;
		client.pipe(up);
		up.pipe(client);
		client.resume();
	});
	up.on('error', () => {
		if (!connected) { skipped++; route(client, start, tries + 1); return; }
		client.destroy();
	});
	up.on('close', () => { if (connected) client.destroy(); });
	client.on('error', () => up.destroy());
	client.on('close', () => { if (connected) up.destroy(); });
}

const server = net.createServer({ pauseOnConnect: true }, (client) => {
	conns++;
	route(client, next++ % backends.length, 0);
});
server.listen(port, '127.0.0.1', () => {
	process.stderr.write(`listening on 127.0.0.1:${server.address().port}\n`);
});
function stop() {
	process.stderr.write(`connections ${conns}, per backend ${backends.map((b) => b.used).join(' ')}, skipped (refused) ${skipped}\n`);
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
