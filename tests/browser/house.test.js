// Browser tests of the house manager's page (docs/house-entry.md):
// headless Debian chromium at a phone's viewport (360x740), driven by
// puppeteer-core. house_run.sh prepares the database (houses H1 of 40
// apartments and H2 of 2; petrov manages H1, sidorov H2) and calls
//
//   node house.test.js SCENARIO
//
// with DB, CONF (serve's config), WORK, MLINE_BIN, H1, H2. This script
// starts `meterline serve` itself on a fixed port (the page's storage
// belongs to its origin, which must survive a restart), and stops it.
"use strict";
const puppeteer = require("puppeteer-core");
const { execFileSync, spawn } = require("child_process");
const fs = require("fs");
const net = require("net");
const path = require("path");

const DB = process.env.DB;
const SHOTS = process.env.SHOTS;
const PSQL = process.env.PSQL || "psql";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const WORK = process.env.WORK;
const H1 = process.env.H1, H2 = process.env.H2;
const PW = { petrov: "manager-password-3", sidorov: "manager-password-4" };
let URL = "";
let serve = null, serveN = 0, conf = "";

function sql(q) {
	return execFileSync(PSQL, ["-qXAt", "-v", "ON_ERROR_STOP=1", DB, "-c", q],
		{ encoding: "utf8" }).trim();
}

function check(cond, what) {
	if (!cond) throw new Error("FAIL: " + what);
	console.log("ok: " + what);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
	return new Promise((resolve) => {
		const s = net.createServer();
		s.listen(0, "127.0.0.1", () => {
			const p = s.address().port;
			s.close(() => resolve(p));
		});
	});
}

// Start serve on the fixed port and wait until its console is ready.
async function startServe() {
	const log = path.join(WORK, "serve" + (++serveN) + ".log");
	const out = fs.openSync(log, "w");
	serve = spawn(process.env.MLINE_BIN, ["serve", "--config", conf],
		{ stdio: ["ignore", out, out] });
	for (let i = 0; i < 100; i++) {
		// until the console's database is connected its pages answer 503
		const text = fs.readFileSync(log, "utf8");
		if (text.includes("console: listening") &&
			text.includes("db console: connected")) return;
		if (serve.exitCode !== null) break;
		await sleep(100);
	}
	throw new Error("serve did not start: " + fs.readFileSync(log, "utf8"));
}

async function stopServe(signal) {
	if (serve === null || serve.exitCode !== null) return null;
	const p = new Promise((r) => serve.on("exit", (code, sig) => r(code ?? sig)));
	serve.kill(signal || "SIGTERM");
	const rc = await p;
	serve = null;
	return rc;
}

async function shot(page, name) {
	if (SHOTS) await page.screenshot({ path: path.join(SHOTS, name + ".png"),
		fullPage: false });
}

async function login(page, user) {
	await page.goto(URL + "/login");
	await page.type("input[name=user]", user);
	await page.type("input[name=password]", PW[user]);
	await Promise.all([page.waitForNavigation(), page.click("#login")]);
}

async function openHouse(page, id) {
	await page.goto(URL + "/house?id=" + id);
	await page.waitForSelector("#count");
}

// Type v into apartment i's (1-based, page order) first input.
async function fill(page, i, v) {
	const el = (await page.$$("li.flat input"))[i - 1];
	await el.click({ clickCount: 3 });
	await page.keyboard.press("Backspace");
	await el.type(String(v));
}

async function status(page) {
	return page.$eval("#status", (e) => e.textContent);
}

// Click Отправить and wait for the answer (the status changes).
async function sendAndWait(page, confirmFirst) {
	await page.click("#send");
	if (confirmFirst) {
		await page.waitForSelector("#confirm:not([hidden])");
		await page.click("#confirm-send");
	}
	await page.waitForFunction(() => {
		const t = document.getElementById("status").textContent;
		return t.startsWith("Принято") || t.startsWith("Нет связи") ||
			t.startsWith("Сервер");
	}, { timeout: 20000 });
	return status(page);
}

function readings(house) {
	return +sql("SELECT count(*) FROM readings AS r JOIN contracts AS c"
		+ " USING (contract) WHERE c.house_id = " + house);
}

const scenarios = {
	// 40 apartments, three left empty: the confirmation, back, then send
	// what is filled; per-apartment results, the count, the fixed house.
	async fill40(page) {
		await login(page, "petrov");
		await page.goto(URL + "/house");
		check(await page.$$eval("#houses li", (l) => l.length) === 2,
			"petrov sees his two houses, not sidorov's");
		await page.type("#street", "авиа");
		check(await page.$$eval("#houses li:not([hidden])", (l) => l.length) === 1,
			"search by street (any case) leaves one house");
		await page.type("#number", "5");
		await shot(page, "house-list");
		await Promise.all([page.waitForNavigation(),
			page.click("#houses li:not([hidden]) a")]);
		await page.waitForSelector("#count");
		check(await page.$$eval("li.flat", (l) => l.length) === 40, "40 apartments");
		const first = await page.$eval("li.flat", (e) => e.textContent);
		check(first.includes("Кв. 1") && first.includes("880001") &&
			first.includes("Значность"), "apartment, serial and capacity shown");
		check(await page.$eval("li.flat .prev", (e) => getComputedStyle(e).display)
			=== "none", "previous reading hidden by default");
		await page.click("#show-prev");
		const prev = await page.$eval("li.flat .prev", (e) =>
			getComputedStyle(e).display !== "none" && e.textContent);
		check(prev && prev.includes("10000") && prev.includes("01.11.2026"),
			"the toggle shows the previous reading and its date");
		for (let i = 1; i <= 40; i++)
			if (i !== 7 && i !== 18 && i !== 33) await fill(page, i, 10100 + i);
		check((await page.$eval("#count", (e) => e.textContent))
			=== "Заполнено 37 из 40, пусто 3", "the count of filled and empty");
		await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
		const top = await page.$eval("#house-top", (e) => e.getBoundingClientRect().top);
		check(top <= 1, "the chosen house stays fixed at the top while scrolling");
		check(await page.evaluate(() =>
			document.documentElement.scrollWidth <= window.innerWidth),
			"no horizontal scroll at 360 px");
		await shot(page, "house-filled");
		await page.click("#send");
		await page.waitForSelector("#confirm:not([hidden])");
		check((await page.$eval("#confirm", (e) => e.textContent))
			.includes("Не все поля заполнены. Вернуться к заполнению?"),
			"the confirmation for empty fields");
		await shot(page, "house-confirm");
		await page.click("#confirm-back");
		check(await page.$eval("#confirm", (e) => e.hidden), "back: confirmation closed");
		check(await page.evaluate(() => document.activeElement.name) ===
			"v.50000007.1", "back: the first empty field has the focus");
		check(readings(H1) === 0, "nothing sent by going back");
		const st = await sendAndWait(page, true);
		check(st.startsWith("Принято: 37."), "37 accepted: " + st);
		check(readings(H1) === 37, "37 readings stored");
		check(sql("SELECT count(*) FROM messages WHERE channel = 'web'"
			+ " AND sender = 'petrov' AND outcome = 'accepted'") === "37",
			"as messages of channel web from the manager");
		check(await page.$$eval("li.flat.st-accepted", (l) => l.length) === 37,
			"each apartment marked accepted");
		check(await page.$eval("li.flat.st-accepted input", (e) => e.readOnly),
			"accepted ones are done");
		await page.evaluate(() => window.scrollTo(0, 0));
		await shot(page, "house-results");
	},

	// Over the capacity refused as typed, and on the server too.
	async capacity(page) {
		await login(page, "petrov");
		await openHouse(page, H1);
		await fill(page, 1, "1234567");
		check(await page.$eval("li.flat input", (e) => e.value) === "12345",
			"7 digits typed into a 5-digit meter: 5 kept");
		await fill(page, 2, "12a3,4");
		check(await page.$$eval("li.flat input", (l) => l[1].value) === "1234",
			"only digits are taken");
		// a forged request past the page: the server refuses it too
		const res = await page.evaluate(async (h) => {
			const body = new URLSearchParams({
				csrf: document.querySelector("input[name=csrf]").value,
				house: h, batch: "00112233445566778899aabbccddeeff",
				"v.50000001.1": "123456", "v.50000002.1": "12x" });
			const r = await fetch("/house/submit", { method: "POST", body });
			return r.json();
		}, H1);
		const by = Object.fromEntries(res.results.map((x) => [x.contract, x]));
		check(by["50000001"].status === "rejected" &&
			by["50000001"].reason === "too_many_digits",
			"6 digits for a 5-digit meter rejected by the server");
		check(by["50000002"].status === "invalid", "non-digits rejected by the server");
		check(readings(H1) === 0, "nothing stored");
	},

	// Lower than the last: rejected, stays editable; fixed and sent again.
	async lower(page) {
		await login(page, "petrov");
		await openHouse(page, H1);
		await fill(page, 1, 9999);
		await fill(page, 2, 10500);
		let st = await sendAndWait(page, true);
		check(st.includes("Не принято: 1"), "one not accepted: " + st);
		const li = await page.$eval("li.flat", (e) => ({ cls: e.className,
			msg: e.querySelector(".result").textContent,
			ro: e.querySelector("input").readOnly }));
		check(li.cls.includes("st-rejected") && li.msg.includes("Меньше предыдущего")
			&& li.msg.includes("10000"), "lower than last: what is wrong: " + li.msg);
		check(!li.ro, "the rejected apartment stays editable");
		await page.evaluate(() => window.scrollTo(0, 0));
		await shot(page, "house-rejected");
		check(readings(H1) === 1, "only the good one stored");
		await fill(page, 1, 10001);
		st = await sendAndWait(page, true);
		check(st.startsWith("Принято: 1. Не принято: 0"), "after the fix: accepted");
		check(readings(H1) === 2, "both stored, each once");
	},

	// The server stops mid-send: the values survive (storage), a reload
	// restores them, the retry applies the house once; the same batch sent
	// again (a lost answer) changes nothing.
	async retry(page) {
		await login(page, "petrov");
		await openHouse(page, H1);
		for (let i = 1; i <= 40; i++) await fill(page, i, 10200 + i);
		serve.kill("SIGSTOP"); // the request reaches a frozen server
		await page.click("#send");
		await sleep(700);
		await stopServe("SIGKILL");
		await page.waitForFunction(() =>
			document.getElementById("status").textContent.startsWith("Нет связи"));
		check(true, "a dead connection is reported: " + await status(page));
		await shot(page, "house-offline");
		const batch = await page.evaluate((h) => JSON.parse(localStorage.getItem(
			"ml-house:petrov:" + h)).batch, H1);
		check(readings(H1) === 0, "nothing stored by the frozen server");
		await startServe();
		await page.reload();
		await page.waitForSelector("#count");
		check((await page.$eval("#count", (e) => e.textContent))
			=== "Заполнено 40 из 40, пусто 0", "after a reload all 40 values are back");
		check((await page.$$eval("li.flat input", (l) => l[39].value)) === "10240",
			"the last value as typed");
		const st = await sendAndWait(page, false);
		check(st.startsWith("Принято: 40."), "the retry: 40 accepted");
		check(readings(H1) === 40, "40 readings, each once");
		// the same batch again, as a client whose answer was lost would
		const res = await page.evaluate(async (h, b) => {
			const body = new URLSearchParams({
				csrf: document.querySelector("input[name=csrf]").value,
				house: h, batch: b });
			for (let i = 1; i <= 40; i++)
				body.append("v." + (50000000 + i) + ".1", String(10200 + i));
			const r = await fetch("/house/submit", { method: "POST", body });
			return r.json();
		}, H1, batch);
		check(res.results.length === 40 &&
			res.results.every((x) => x.status === "accepted"),
			"the batch sent again is answered as accepted");
		check(readings(H1) === 40, "and applied once: still 40 readings");
		check(sql("SELECT count(*) FROM messages WHERE channel = 'web'"
			+ " AND duplicate_of IS NULL") === "40", "40 messages applied");
	},

	// The database fails in the middle of writing the house (a trigger on
	// the 40th apartment's register): nothing of the house is stored, every
	// apartment says to send again; sent again, all 40 go in, once.
	async atomic(page) {
		await login(page, "petrov");
		await openHouse(page, H1);
		for (let i = 1; i <= 40; i++) await fill(page, i, 10300 + i);
		sql("CREATE FUNCTION house_boom() RETURNS trigger LANGUAGE plpgsql AS $$"
			+ " BEGIN IF NEW.contract = '50000040' THEN"
			+ " RAISE EXCEPTION 'disk on fire' USING ERRCODE = 'XX000'; END IF;"
			+ " RETURN NEW; END $$;"
			+ " CREATE TRIGGER house_boom BEFORE UPDATE ON registers"
			+ " FOR EACH ROW EXECUTE FUNCTION house_boom()");
		let st = await sendAndWait(page, false);
		check(st.startsWith("Принято: 0. Не принято: 40"),
			"a failed transaction: none accepted: " + st);
		check(await page.$$eval("li.flat.st-retry", (l) => l.length) === 40,
			"every apartment: not saved, send again");
		check(readings(H1) === 0, "nothing of the house stored (all or nothing)");
		sql("DROP TRIGGER house_boom ON registers");
		st = await sendAndWait(page, false);
		check(st.startsWith("Принято: 40."), "sent again: 40 accepted");
		check(readings(H1) === 40, "40 readings");
	},

	// A house of 500 apartments in the browser: from the click to a page
	// ready to type in (the script has counted), and Отправить to every
	// apartment marked. Figures printed (docs/house-entry.md, "Speed"),
	// not checked: on the shared machine the load swings from 6 to 40 and
	// the times with it (bench_house.sh measures the server's part).
	async big(page) {
		await login(page, "petrov");
		await page.goto(URL + "/house");
		let t0 = Date.now();
		await page.goto(URL + "/house?id=" + process.env.H3);
		await page.waitForFunction(() =>
			document.getElementById("count").textContent.includes("из 500"));
		const open = Date.now() - t0;
		const nav = await page.evaluate(() => {
			const n = performance.getEntriesByType("navigation")[0];
			return Math.round(n.domContentLoadedEventEnd - n.startTime);
		});
		console.log("figure: 500 apartments open in " + open
			+ " ms (navigation to DOMContentLoaded " + nav + " ms)");
		check(await page.$$eval("li.flat", (l) => l.length) === 500,
			"500 apartments open");
		await page.evaluate(() => {
			document.querySelectorAll("li.flat input").forEach((el, i) => {
				el.value = String(1001 + i);
				el.dispatchEvent(new Event("input"));
			});
		});
		t0 = Date.now();
		const st = await sendAndWait(page, false);
		const send = Date.now() - t0;
		console.log("figure: 500 apartments sent and marked in " + send + " ms");
		check(st.startsWith("Принято: 500."), "500 accepted");
		check(readings(process.env.H3) === 500, "500 readings");
	},

	// Another manager's house: not listed, 403 for the page and the POST.
	async other(page) {
		await login(page, "petrov");
		await page.goto(URL + "/house");
		check(!(await page.$eval("main", (e) => e.textContent)).includes("Ленина"),
			"sidorov's house is not listed for petrov");
		const resp = await page.goto(URL + "/house?id=" + H2);
		check(resp.status() === 403, "sidorov's house page: 403");
		await openHouse(page, H1);
		const codes = await page.evaluate(async (h1, h2) => {
			const csrf = document.querySelector("input[name=csrf]").value;
			const post = async (f) => (await fetch("/house/submit",
				{ method: "POST", body: new URLSearchParams(f) })).status;
			return [
				await post({ csrf, house: h2, batch: "0011223344556677",
					"v.50000101.1": "300" }),
				await post({ csrf, house: h1, batch: "0011223344556677",
					"v.50000101.1": "300" }),
			];
		}, H1, H2);
		check(codes[0] === 403, "POST for sidorov's house: 403");
		check(codes[1] === 403, "an apartment of another house in petrov's: 403");
		check(readings(H2) === 0, "nothing stored for sidorov's house");
		await login(page, "sidorov");
		await openHouse(page, H2);
		check(await page.$$eval("li.flat", (l) => l.length) === 2,
			"sidorov opens his own house");
	},
};

(async () => {
	const name = process.argv[2];
	if (!scenarios[name]) throw new Error("no scenario " + name);
	const port = await freePort();
	conf = path.join(WORK, "serve-fixed.conf");
	fs.writeFileSync(conf, fs.readFileSync(process.env.CONF, "utf8")
		.replace("127.0.0.1:0", "127.0.0.1:" + port));
	URL = "http://127.0.0.1:" + port;
	await startServe();
	const browser = await puppeteer.launch({ executablePath: CHROMIUM,
		headless: true, args: ["--no-sandbox", "--disable-gpu",
			"--no-first-run", "--disable-dev-shm-usage", "--lang=ru-RU"] });
	let rc = 0;
	try {
		const page = await browser.newPage();
		await page.setViewport({ width: 360, height: 740, isMobile: true,
			hasTouch: true, deviceScaleFactor: 1 });
		await scenarios[name](page);
	} catch (e) {
		console.error(e.stack || e);
		rc = 1;
	}
	await browser.close();
	const code = await stopServe("SIGTERM");
	if (rc === 0 && code !== 0 && code !== null) {
		console.error("serve exit status " + code);
		rc = 1;
	}
	process.exit(rc);
})();
