// Browser tests of the support console: headless Debian chromium driven by
// puppeteer-core (pinned in package-lock.json). run.sh prepares a database
// and a running `meterline serve` for one scenario and calls
//
//   node console.test.js SCENARIO
//
// with URL (the console), DB (libpq conninfo, for psql checks) and SHOTS
// (where screenshots go). Each scenario logs in through the real form,
// drives the pages as a person would, and checks the database afterwards.
"use strict";
const puppeteer = require("puppeteer-core");
const { execFileSync } = require("child_process");
const path = require("path");

const URL = process.env.URL;
const DB = process.env.DB;
const SHOTS = process.env.SHOTS;
const PSQL = process.env.PSQL || "psql";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const PW = { admin: "admin-password-1", ivanova: "support-password-2",
	petrov: "manager-password-3" };

function sql(q) {
	return execFileSync(PSQL, ["-qXAt", "-v", "ON_ERROR_STOP=1", DB, "-c", q],
		{ encoding: "utf8" }).trim();
}

function check(cond, what) {
	if (!cond) throw new Error("FAIL: " + what);
	console.log("ok: " + what);
}

async function shot(page, name) {
	if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name + ".png"),
		fullPage: true });
}

async function text(page, sel) {
	return page.$eval(sel, (e) => e.textContent);
}

// Log in through the form; returns the response of the POST.
async function login(page, user, password) {
	await page.goto(URL + "/login");
	await page.type("input[name=user]", user);
	await page.type("input[name=password]", password || PW[user]);
	const [resp] = await Promise.all([
		page.waitForNavigation(),
		page.click("#login"),
	]);
	return resp;
}

// POST a form from the page's own origin, as a forged or stripped request
// would come; returns the status.
async function post(page, url, fields) {
	return page.evaluate(async (u, f) => {
		const r = await fetch(u, { method: "POST", body: new URLSearchParams(f),
			redirect: "manual" });
		// a redirect is opaque to a page's script: status 0
		return r.type === "opaqueredirect" ? 303 : r.status;
	}, url, fields);
}

async function csrfOf(page) {
	return page.$eval("input[name=csrf]", (e) => e.value);
}

// A file for an upload, in the scenario's own folder; returns its path.
function tmpFile(name, content) {
	const dir = process.env.WORK || require("os").tmpdir();
	const f = path.join(dir, name);
	require("fs").writeFileSync(f, content);
	return f;
}

// Upload a file through the replay page's form; the navigation's response.
async function uploadLog(page, file) {
	await page.goto(URL + "/replay");
	const input = await page.$("#upload input[type=file]");
	await input.uploadFile(file);
	const [resp] = await Promise.all([page.waitForNavigation(),
		page.click("#upload button")]);
	return resp;
}

// The outcomes column of the replay table.
async function replayOutcomes(page) {
	return page.$$eval("#replay td.outcome", (t) => t.map((e) => e.textContent));
}

const REPLAY_LOG = [
	{ time: "2026-11-24T10:00:00+03:00", channel: "sms", from: "79004443322",
		to: "7377", text: "ПС 176355 20 17" },
	{ time: "2026-11-24T10:05:00+03:00", channel: "sms", from: "79004443333",
		to: "7377", text: "ПС 555001 100" },
	{ time: "2026-11-24T10:06:00+03:00", channel: "sms", from: "79004443333",
		to: "7377", text: "привет" },
].map((o) => JSON.stringify(o)).join("\n") + "\n";

// Counts of the tables a replay writes, to see that nothing changed.
function replayTables() {
	return sql("SELECT (SELECT count(*) FROM messages) || ' ' ||" +
		" (SELECT count(*) FROM readings) || ' ' ||" +
		" (SELECT count(*) FROM submissions) || ' ' ||" +
		" (SELECT string_agg(last_value::text, ',' ORDER BY contract, position)" +
		"  FROM registers)");
}

const scenarios = {
	// Log in: the session cookie is HttpOnly, SameSite=Strict, Secure.
	async login(page) {
		const resp = await login(page, "ivanova");
		check(resp.url() === URL + "/", "after login the search page");
		const cookies = await page.cookies();
		const c = cookies.find((x) => x.name === "ml_session");
		check(c && c.httpOnly && c.secure && c.sameSite === "Strict",
			"session cookie HttpOnly, Secure, SameSite=Strict");
		check(!(await page.evaluate(() => document.cookie)).includes("ml_session"),
			"the page's script cannot read the session cookie");
		check((await text(page, ".who")).includes("ivanova"), "user shown");
		await shot(page, "login-done");
		await Promise.all([page.waitForNavigation(),
			page.click("nav form button")]);
		check((await text(page, ".notice")).includes("Вы вышли"), "logged out");
		check(sql("SELECT count(*) FROM console_sessions") === "0",
			"logout deletes the session");
		await page.goto(URL + "/");
		check(page.url().startsWith(URL + "/login"), "after logout: login page");
	},

	// Search a phone written the way customers say it; the hostile text is
	// shown as text.
	async search(page) {
		let dialogs = 0;
		page.on("dialog", async (d) => { dialogs++; await d.dismiss(); });
		await login(page, "ivanova");
		await page.type("input[name=phone]", "+7 (900) 111-22-33");
		await Promise.all([page.waitForNavigation(), page.click("#find")]);
		const rows = await page.$$eval("#results tr", (t) => t.length - 1);
		check(rows === 2, "two messages of 79001112233");
		const cells = await page.$$eval("#results td.text",
			(t) => t.map((e) => e.textContent));
		check(cells.includes("<script>alert(1)</script>"),
			"the customer's <script> text is shown as text");
		check(await page.$$eval("main script", (s) => s.length) === 0,
			"no script element came from the data");
		check(dialogs === 0, "no alert ran");
		await shot(page, "search");
		await page.goto(URL + "/?contract=345678");
		check((await text(page, "#results")).includes("viber"),
			"search by contract finds the viber message");
		await page.goto(URL + "/?outcome=rejected&channel=sms");
		check(await page.$$eval("#results tr", (t) => t.length - 1) === 1,
			"channel + outcome filter");
		await page.goto(URL + "/?text=" + encodeURIComponent("%"));
		check(await page.$$eval("#results tr", (t) => t.length - 1) === 0,
			"% is searched literally, not as a wildcard");
		await page.goto(URL + "/?from=2026-11-22&to=2026-11-22");
		check(await page.$$eval("#results tr", (t) => t.length - 1) === 1,
			"period of one day");
	},

	// Open a conversation from the search results.
	async conversation(page) {
		await login(page, "ivanova");
		await page.goto(URL + "/?phone=79005556677");
		await Promise.all([page.waitForNavigation(),
			page.click("#results td a[href^='/conversation']")]);
		const items = await page.$$eval("#conversation li .in",
			(t) => t.map((e) => e.textContent));
		check(JSON.stringify(items) === JSON.stringify(["ПС 123859", "60000",
			"23100"]), "the whole dialog in order");
		const out = await page.$$eval("#conversation li .out",
			(t) => t.map((e) => e.textContent));
		check(out.length === 3 && out[2].startsWith("Показания приняты"),
			"each message's reply");
		check((await text(page, "#conversation")).includes("high_consumption"),
			"the flag is shown");
		await shot(page, "conversation");
	},

	// The contract card: registers, history, chart with the flagged period.
	async contract(page) {
		await login(page, "petrov");
		await page.goto(URL + "/contract?c=123859");
		check(await page.$$eval("#registers tr", (t) => t.length - 1) === 2,
			"two registers");
		check(await page.$("svg#chart rect.bar.flagged") !== null,
			"flagged period marked on the chart");
		check(await page.$$eval("#readings tr.flagged", (t) => t.length) === 2,
			"flagged readings marked in the history");
		check(await page.$("form.correct") === null,
			"a manager gets no correction forms");
		await shot(page, "contract");
		await page.goto(URL + "/review");
		check(await text(page, ".notice").then((t) => t.includes("прав")),
			"a manager cannot open the review queue");
	},

	// Correct a reading: the register follows, the audit log has it.
	async correct(page) {
		page.on("dialog", (d) => d.accept());
		await login(page, "ivanova");
		await page.goto(URL + "/contract?c=102057522");
		const id = sql("SELECT id FROM readings WHERE contract = '102057522'");
		const form = "#readings tr[data-id='" + id + "'] form.correct";
		await page.type(form + " input[name=value]", "11700");
		await page.type(form + " input[name=reason]", "опечатка клиента");
		await Promise.all([page.waitForNavigation(), page.click(form + " button")]);
		check((await text(page, ".notice")).includes("сохранено"), "saved");
		check(sql("SELECT last_value FROM registers WHERE contract = '102057522'")
			=== "11700", "register's last value follows the correction");
		check(sql("SELECT string_agg(status || ':' || value || ':' || consumption, ' ' ORDER BY id) FROM readings WHERE contract = '102057522'")
			=== "superseded:11638:138 corrected:11700:200",
			"old reading superseded, a corrected row added");
		check(sql("SELECT actor || ' ' || action || ' ' || (before->>'value') || ' ' || (after->>'value') || ' ' || reason FROM console_audit WHERE action = 'reading.correct'")
			=== "ivanova reading.correct 11638 11700 опечатка клиента",
			"audit: who, what, before, after, why");
		await shot(page, "correct");
		// a value below the previous one is refused with a reason
		const id2 = sql("SELECT id FROM readings WHERE contract = '102057522' AND status = 'corrected'");
		const f2 = "#readings tr[data-id='" + id2 + "'] form.correct";
		await page.type(f2 + " input[name=value]", "100");
		await page.type(f2 + " input[name=reason]", "x");
		await Promise.all([page.waitForNavigation(), page.click(f2 + " button")]);
		check((await text(page, ".notice")).includes("меньше предыдущего"),
			"a value below the previous is refused");
		// annul: the register goes back to the previous value
		await page.goto(URL + "/contract?c=102057522");
		const f3 = "#readings tr[data-id='" + id2 + "'] form.annul";
		await page.type(f3 + " input[name=reason]", "ошибка");
		await Promise.all([page.waitForNavigation(), page.click(f3 + " button")]);
		check(sql("SELECT last_value FROM registers WHERE contract = '102057522'")
			=== "11500", "annulled: the register is back at the previous value");
	},

	// Approve a flagged submission from the review queue.
	async review(page) {
		await login(page, "ivanova");
		await page.goto(URL + "/review");
		check(await page.$$eval("#queue tr", (t) => t.length - 1) === 1,
			"one flagged submission waits");
		await shot(page, "review");
		await page.type("#queue form.approve input[name=reason]", "звонок, верно");
		await Promise.all([page.waitForNavigation(),
			page.click("#queue form.approve button")]);
		check((await text(page, ".notice")).includes("сохранено"), "approved");
		check(await page.$$eval("#queue tr", (t) => t.length - 1) === 0,
			"the queue is empty");
		check(sql("SELECT string_agg(status, ',') FROM readings WHERE contract = '123859'")
			=== "accepted,accepted", "readings accepted");
		check(sql("SELECT status FROM submissions WHERE contract = '123859'")
			=== "accepted", "submission accepted");
		check(sql("SELECT actor || ' ' || action FROM console_audit WHERE action LIKE 'review.%'")
			=== "ivanova review.approve", "audited");
	},

	// Export the search as CSV.
	async csv(page) {
		await login(page, "ivanova");
		await page.goto(URL + "/?phone=79001112233");
		const href = await page.$eval("#csv", (a) => a.getAttribute("href"));
		const got = await page.evaluate(async (h) => {
			const r = await fetch(h);
			return { type: r.headers.get("content-type"),
				disp: r.headers.get("content-disposition"), body: await r.text() };
		}, href);
		const lines = got.body.trim().split("\r\n");
		check(got.type.startsWith("text/csv"), "text/csv");
		check(got.disp.includes("attachment"), "as a download");
		check(lines[0] === "id,time,channel,sender,text,contract,outcome,reason,reply",
			"header");
		check(lines.length === 3 && lines[1].includes("\"<script>alert(1)</script>\""),
			"both messages, quoted");
	},

	// Admin: users page, create a user, audit page.
	async users(page) {
		await login(page, "admin");
		await page.goto(URL + "/users");
		await page.type("form[action='/users/add'] input[name=name]", "sidorova");
		await page.select("form[action='/users/add'] select", "manager");
		await page.type("form[action='/users/add'] input[name=password]",
			"new-user-password");
		await Promise.all([page.waitForNavigation(),
			page.click("form[action='/users/add'] button")]);
		check(sql("SELECT role FROM console_users WHERE name = 'sidorova'")
			=== "manager", "user created");
		await shot(page, "users");
		await page.goto(URL + "/audit");
		check((await text(page, "table.audit")).includes("user.add"),
			"audit page lists it");
	},

	// Refused: a form without its CSRF token, and with a wrong one.
	async refused_csrf(page) {
		await login(page, "ivanova");
		await page.goto(URL + "/contract?c=102057522");
		const id = sql("SELECT id FROM readings WHERE contract = '102057522'");
		const c = "102057522";
		check(await post(page, "/reading/annul", { c, id, reason: "x" }) === 403,
			"no CSRF token: 403");
		check(await post(page, "/reading/annul",
			{ c, id, reason: "x", csrf: "0".repeat(64) }) === 403,
			"wrong CSRF token: 403");
		check(sql("SELECT status FROM readings WHERE id = " + id) === "accepted",
			"nothing changed");
		check(await post(page, "/reading/annul",
			{ c, id, reason: "x", csrf: await csrfOf(page) }) === 303,
			"with the token it works");
		check(sql("SELECT status FROM readings WHERE id = " + id) === "annulled",
			"annulled");
	},

	// Refused: an expired session (idle too long) goes back to the login.
	async refused_expired(page) {
		await login(page, "ivanova");
		await page.goto(URL + "/?phone=79001112233");
		const csrf = await csrfOf(page);
		sql("UPDATE console_sessions SET seen_at = now() - interval '31 minutes'");
		check(await post(page, "/logout", { csrf }) === 401,
			"a form in an expired session: 401");
		await page.goto(URL + "/?phone=79001112233");
		check(page.url().startsWith(URL + "/login"), "page: back to login");
		check((await text(page, ".notice")).includes("Сессия истекла"),
			"says why");
		await shot(page, "expired");
		// the absolute limit too, however active the session
		await login(page, "ivanova");
		sql("UPDATE console_sessions SET created_at = now() - interval '13 hours'");
		await page.goto(URL + "/");
		check(page.url().startsWith(URL + "/login"), "absolute timeout");
	},

	// Refused: a support user managing users.
	async refused_role(page) {
		await login(page, "ivanova");
		check(await page.$("nav a[href='/users']") === null, "no users link");
		const resp = await page.goto(URL + "/users");
		check(resp.status() === 403, "users page: 403");
		await page.goto(URL + "/");
		const csrf = await csrfOf(page);
		check(await post(page, "/users/add", { csrf, name: "evil",
			role: "admin", password: "0123456789abc" }) === 403,
			"creating a user: 403 even with a valid CSRF token");
		check(await post(page, "/users/disable", { csrf, name: "admin" }) === 403,
			"disabling a user: 403");
		check(sql("SELECT count(*) FROM console_users WHERE name = 'evil' OR disabled")
			=== "0", "no user created or disabled");
	},

	// Refused: the sixth try after five wrong passwords, even the right one.
	async refused_password(page) {
		for (let i = 1; i <= 5; i++) {
			const r = await login(page, "ivanova", "wrong-password-" + i);
			check(r.status() === 401, "wrong password " + i + ": 401");
		}
		const r6 = await login(page, "ivanova");
		check(r6.status() === 429, "sixth try, right password: 429");
		check((await text(page, ".notice")).includes("Слишком много"), "says why");
		await shot(page, "locked");
		check(sql("SELECT count(*) FROM console_sessions") === "0", "no session");
		check(sql("SELECT count(*) FROM console_logins WHERE NOT ok") === "5",
			"five failures recorded");
		const other = await login(page, "petrov");
		check(other.url() === URL + "/", "another user from the same address still logs in");
	},

	// Replay an uploaded log: the dry run first (nothing changes), then
	// apply; the same apply again is refused and changes nothing, the same
	// file again is all duplicates; one message from a conversation.
	async replay(page) {
		page.on("dialog", (d) => d.accept());
		await login(page, "ivanova");
		check(await page.$("nav a[href='/replay']") !== null, "support sees the replay link");
		const before = replayTables();
		const file = tmpFile("replay.jsonl", REPLAY_LOG);
		let resp = await uploadLog(page, file);
		check(resp.status() === 200, "dry run: 200");
		const dry = await replayOutcomes(page);
		check(JSON.stringify(dry) === JSON.stringify(["accepted", "accepted",
			"rejected"]) || (dry.length === 3 && dry[0] === "accepted" &&
			dry[1] === "accepted"), "dry run shows what each message would do: " + dry);
		check((await text(page, "#replay")).includes("Показания приняты"),
			"the reply text is shown");
		check((await text(page, "#summary")).includes("accepted: 2"), "summary");
		check(replayTables() === before, "the dry run changed nothing");
		check(await page.$("#apply") !== null, "an apply button");
		await shot(page, "replay-dry");
		const job = await page.$eval("#apply input[name=job]", (e) => e.value);
		const sha = await page.$eval("#apply input[name=sha]", (e) => e.value);
		const csrf = await csrfOf(page);
		check(await post(page, "/replay/apply", { job, sha: "0".repeat(64), csrf })
			=== 409, "apply with another content's hash: refused");
		[resp] = await Promise.all([page.waitForNavigation(),
			page.click("#apply button")]);
		check(resp.status() === 200, "apply: 200");
		check(JSON.stringify(await replayOutcomes(page)) === JSON.stringify(dry),
			"apply did what the dry run showed");
		const after = replayTables();
		check(after !== before, "apply changed the tables");
		check(sql("SELECT string_agg(last_value::text, ',' ORDER BY position) FROM registers WHERE contract = '176355'")
			=== "20,17", "the readings are stored");
		check(sql("SELECT actor || ' ' || action || ' ' || (after->>'messages') || ' ' || (after->'outcomes'->>'accepted') || ' ' || (after->>'file') FROM console_audit WHERE action = 'replay.apply'")
			=== "ivanova replay.apply 3 2 replay.jsonl", "audit: who, what, counts");
		await shot(page, "replay-applied");
		check(await post(page, "/replay/apply", { job, sha, csrf }) === 409,
			"the same apply again: refused");
		check(replayTables() === after, "and nothing changed");
		// the same file again: every line is a duplicate
		resp = await uploadLog(page, file);
		const dup = await replayOutcomes(page);
		check(dup.length === 3 && dup.every((o) => o === "duplicate"),
			"the same file again: all duplicates");
		await Promise.all([page.waitForNavigation(), page.click("#apply button")]);
		check(replayTables() === after, "applying it changes nothing");
		check(sql("SELECT count(*) FROM console_audit WHERE action = 'replay.apply'")
			=== "2", "both applies audited");
		// one message from the conversation view
		await page.goto(URL + "/conversation?channel=sms&sender=79005556677");
		[resp] = await Promise.all([page.waitForNavigation(),
			page.click("#conversation li form.replay button")]);
		check(resp.status() === 200, "replay of one message: its dry run");
		const one = await replayOutcomes(page);
		check(one.length === 1 && one[0] === "duplicate",
			"one message already in the log: a duplicate");
		check((await text(page, "#replay")).includes("ПС 123859"), "its text");
		check(replayTables() === after, "nothing changed");
	},

	// Refused: bad uploads get a clear error; a manager may not replay.
	async replay_refused(page) {
		await login(page, "ivanova");
		const before = replayTables();
		const cases = [
			["binary.jsonl", Buffer.from([0x7b, 0x00, 0x01, 0x02, 0x0a]), 400,
				"не текстовый"],
			["latin1.jsonl", Buffer.from('{"text":"\xe9t\xe9"}\n', "latin1"), 400,
				"не в UTF-8"],
			["notes.txt", "hello\nworld\n", 400, "ни одной строки"],
			["big.jsonl", "x".repeat(1536 * 1024), 413, "слишком большой"],
		];
		for (const [name, content, status, says] of cases) {
			const resp = await uploadLog(page, tmpFile(name, content));
			check(resp.status() === status, name + ": " + status);
			check((await text(page, ".notice")).includes(says), name + ": says " + says);
			check(await page.$("#apply") === null, name + ": nothing to apply");
			if (name === "notes.txt")
				check((await text(page, "#bad")).includes("строка 1"),
					"not JSON Lines: the lines are named");
		}
		await shot(page, "replay-refused");
		check(replayTables() === before, "nothing changed");
		await page.goto(URL + "/");
		await Promise.all([page.waitForNavigation(), page.click("nav form button")]);
		await login(page, "petrov");
		check(await page.$("nav a[href='/replay']") === null, "a manager: no replay link");
		const resp = await page.goto(URL + "/replay");
		check(resp.status() === 403, "a manager: the replay page 403");
		check(await post(page, "/replay/message", { csrf: await csrfOf(page),
			id: "1", channel: "sms", sender: "79005556677" }) === 403,
			"a manager: replay of a message 403");
	},

	// Photos: a thumbnail scaled by the server, the full image on click,
	// a non-image never served, a broken image as a placeholder.
	async photos(page) {
		await login(page, "petrov");
		// a 400x300 PNG drawn by the browser
		const b64 = await page.evaluate(() => {
			const c = document.createElement("canvas");
			c.width = 400; c.height = 300;
			const g = c.getContext("2d");
			g.fillStyle = "#c00"; g.fillRect(0, 0, 400, 300);
			g.fillStyle = "#00c"; g.fillRect(100, 75, 200, 150);
			return c.toDataURL("image/png").split(",")[1];
		});
		const ids = sql("SELECT string_agg(id::text, ' ' ORDER BY received_at) FROM messages WHERE sender = '79005556677'").split(" ");
		const put = (id, bytes) => sql("INSERT INTO message_photos (message_id, channel, sender, received_at, ref, state, bytes, size) SELECT id, channel, sender, received_at, 'ref', 'stored', " + bytes + ", 1 FROM messages WHERE id = " + id);
		put(ids[0], "decode('" + b64 + "', 'base64')");
		put(ids[1], "convert_to('<html><script>alert(1)</script></html>', 'UTF8')");
		put(ids[2], "'\\x89504e470d0a1a0a0000000d49484452ffff'::bytea");
		await page.goto(URL + "/conversation?channel=sms&sender=79005556677");
		await page.waitForFunction(() => [...document.querySelectorAll("a.photo img")]
			.every((i) => i.complete));
		const imgs = await page.$$eval("a.photo img", (t) => t.map((i) =>
			[i.naturalWidth, i.naturalHeight]));
		check(imgs.length === 3, "three thumbnails");
		check(imgs[0][0] === 160 && imgs[0][1] === 120,
			"the photo scaled on the server to 160x120: " + imgs[0]);
		check(imgs[1][0] === 160 && imgs[2][0] === 160,
			"the non-image and the broken image: the placeholder");
		await shot(page, "photos");
		const got = await page.evaluate(async (id) => {
			const r = await fetch("/photo?id=" + id);
			const t = await fetch("/photo?id=" + id + "&thumb=1");
			return { type: r.headers.get("content-type"),
				nosniff: r.headers.get("x-content-type-options"),
				len: (await r.arrayBuffer()).byteLength,
				ttype: t.headers.get("content-type") };
		}, ids[0]);
		check(got.type === "image/png" && got.nosniff === "nosniff",
			"the full image: its own type, nosniff");
		check(String(got.len) === sql("SELECT length(bytes) FROM message_photos WHERE message_id = " + ids[0]),
			"the full image: the stored bytes");
		check(got.ttype === "image/png", "the thumbnail is a PNG");
		const href = await page.$eval("a.photo", (a) => a.getAttribute("href"));
		check(href === "/photo?id=" + ids[0], "the thumbnail opens the full image");
		const bad = await page.evaluate(async (id) => {
			const r = await fetch("/photo?id=" + id);
			const body = await r.text();
			return { status: r.status, type: r.headers.get("content-type"),
				script: body.includes("<script>alert") };
		}, ids[1]);
		check(bad.status === 415 && bad.type.startsWith("text/html") && !bad.script,
			"a non-image is not served");
		const anon = await page.evaluate(async (id) => {
			const r = await fetch("/photo?id=" + id, { credentials: "omit",
				redirect: "manual" });
			return r.type === "opaqueredirect" ? 303 : r.status;
		}, ids[0]);
		check(anon === 303, "without a session: sent to the login, not served");
	},

	// Phone-sized screen: the search page fits without horizontal scroll.
	async mobile(page) {
		await page.setViewport({ width: 390, height: 844, isMobile: true });
		await login(page, "ivanova");
		await page.goto(URL + "/?phone=79005556677");
		const over = await page.evaluate(() =>
			document.documentElement.scrollWidth - window.innerWidth);
		check(over <= 0, "no horizontal overflow at 390 px");
		await shot(page, "mobile");
	},
};

(async () => {
	const name = process.argv[2];
	const fn = scenarios[name];
	if (!fn) {
		console.error("unknown scenario " + name + "; known: " +
			Object.keys(scenarios).join(" "));
		process.exit(2);
	}
	const browser = await puppeteer.launch({ executablePath: CHROMIUM,
		headless: true, args: ["--no-sandbox", "--disable-gpu",
			"--no-first-run", "--disable-dev-shm-usage", "--lang=ru-RU"] });
	let rc = 0;
	try {
		const page = await browser.newPage();
		await page.setViewport({ width: 1100, height: 800 });
		page.setDefaultTimeout(10000);
		await fn(page);
		console.log("PASS " + name);
	} catch (e) {
		console.error(e.stack || String(e));
		rc = 1;
	} finally {
		await browser.close();
	}
	process.exit(rc);
})();
