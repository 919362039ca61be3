// End-to-end test of the staff console in headless Chromium, run by the Go test
// TestWebConsoleEndToEnd (controller/web_e2e_test.go), which starts the controller and the
// simulated terminals and checks the outcome again through the API. Input comes from the
// environment (see below); the last line of stdout is a JSON summary for the Go test.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const base = env("CONSOLE_URL");
const editor = { name: env("EDITOR_NAME"), password: env("EDITOR_PASSWORD") };
// The second user and the admin come signed in already (sessions from POST /api/v1/login):
// the form's sign-in is tested with the editor, and each login costs a second of bcrypt.
const reviewerToken = env("REVIEWER_TOKEN");
const adminToken = env("ADMIN_TOKEN");
const village = env("VILLAGE"); // the village code the broadcast goes to
const group = env("GROUP"); // a group of that village, for the emergency and the shout
const micWAV = env("MIC_WAV");
const shots = process.env.SCREENSHOTS || ""; // a directory: save a screenshot of each page
const out = {};
const t0 = Date.now();
const step = (what) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);

function check(cond, what) { if (!cond) throw new Error("check failed: " + what); }

async function shot(page, name) {
  if (!shots) return;
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
}

// fieldError is the Chinese message shown in (or next to) the element of selector.
async function fieldError(page, selector) {
  const el = page.locator(`${selector} .field-error`).first();
  await el.waitFor({ timeout: 5000 });
  return (await el.textContent()).trim();
}

const chinese = (s) => /[\u4e00-\u9fff]/.test(s);

async function signIn(context, who) {
  const page = await context.newPage();
  await page.goto(base + "/fleet");
  check(page.url().includes("/login"), "an anonymous visit goes to the sign-in page: " + page.url());
  await page.fill("#name", who.name);
  await page.fill("#password", who.password);
  await Promise.all([page.waitForURL(/\/fleet$/), page.click("button[type=submit]")]);
  return page;
}

// signedInAs opens a page of a context that holds a session token already.
async function signedInAs(context, token) {
  await context.addCookies([{ name: "dalaba_session", value: token, url: base, httpOnly: true, sameSite: "Strict" }]);
  return context.newPage();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${micWAV}`, "--autoplay-policy=no-user-gesture-required"],
});
try {
  // 1. Sign-in: bad input gets a message next to the field; then the editor signs in.
  step("sign in");
  const ed = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  let page = await ed.newPage();
  await page.goto(base + "/login");
  await shot(page, "login");
  await page.click("button[type=submit]");
  let msg = await fieldError(page, "form");
  check(msg === "请输入用户名", "empty sign-in says 请输入用户名, got " + msg);
  await page.fill("#name", editor.name);
  await page.fill("#password", "wrong-password");
  await page.click("button[type=submit]");
  msg = await fieldError(page, "form");
  check(chinese(msg) && page.url().includes("/login"), "a wrong password is refused in Chinese: " + msg);
  await page.close();
  page = await signIn(ed, editor);
  const cookies = await ed.cookies();
  const sess = cookies.find((c) => c.name === "dalaba_session");
  check(sess && sess.httpOnly && sess.sameSite === "Strict", "session cookie HttpOnly, SameSite=Strict: " + JSON.stringify(sess));

  // 2. Fleet: the village's terminals are all online; the map has a dot per terminal.
  step("fleet");
  const villageRow = page.locator("details.village", { hasText: "曹溪村" }).first();
  const counts = await villageRow.locator("summary .counts").textContent();
  check(/12\/12 在线/.test(counts), "曹溪村 shows 12/12 online: " + counts);
  const dots = await page.locator(".map circle.dot").count();
  check(dots === 125, "the map plots 125 terminals, got " + dots);
  check(await page.locator(".map circle.dot-online").count() === 12, "12 online dots on the map");
  await shot(page, "fleet");

  // 3. Compose: bad input, TTS preview, submit for review.
  step("compose");
  await page.goto(base + "/compose");
  await page.click("#compose-form button[type=submit]");
  msg = await fieldError(page, "#field-title");
  check(msg === "请填写公告标题", "empty compose: 请填写公告标题 next to the title, got " + msg);
  const title = "冬季防火通知";
  await page.fill("#title", title);
  await page.selectOption("#category", "service");
  await page.selectOption("#domain", "emergency");
  await page.fill("#text", "各位村民请注意，冬季天干物燥，请注意用火安全。如发现火情请拨打电话13912345678。");
  await page.click("#compose-form button[type=submit]");
  msg = await fieldError(page, "#targets");
  check(chinese(msg), "no targets: a Chinese message next to the targets, got " + msg);
  check(await page.inputValue("#title") === title, "the form keeps what was typed");
  await page.click("#preview");
  await page.waitForFunction(() => Number(document.getElementById("preview-audio").dataset.bytes || 0) > 10000, null, { timeout: 20000 });
  const playable = await page.evaluate(async () => {
    const a = document.getElementById("preview-audio");
    if (a.readyState < 1) await new Promise((r) => a.addEventListener("loadedmetadata", r, { once: true }));
    return a.duration;
  });
  check(playable > 1, "the TTS preview plays in the browser, duration " + playable);
  await page.check(`input[name=targets][value="village:${village}"]`);
  await shot(page, "compose");
  await Promise.all([page.waitForURL(/\/review\?submitted=\d+/), page.click("#compose-form button[type=submit]")]);
  const annID = new URL(page.url()).searchParams.get("submitted");
  out.announcement = annID;
  check((await page.textContent(".message.ok")).includes("已提交审核"), "submitted for review");

  // 3b. Compose with an uploaded recording: a file that is no WAV is refused at the field.
  step("compose upload");
  await page.goto(base + "/compose");
  await page.fill("#title", "录音通知");
  await page.selectOption("#category", "service");
  await page.selectOption("#domain", "other");
  await page.check("input[name=source][value=upload]");
  await page.check(`input[name=targets][value="village:${village}"]`);
  await page.setInputFiles("#audio", { name: "notice.wav", mimeType: "audio/wav", buffer: Buffer.from("this is not audio") });
  await page.click("#compose-form button[type=submit]");
  msg = await fieldError(page, "#field-audio");
  check(chinese(msg), "a file that is no WAV: a Chinese message next to the file, got " + msg);
  await page.setInputFiles("#audio", micWAV);
  await Promise.all([page.waitForURL(/\/review\?submitted=\d+/), page.click("#compose-form button[type=submit]")]);
  out.recording = new URL(page.url()).searchParams.get("submitted");

  // 4. Review as a second user: the secrecy flag must be acknowledged; approve; publish.
  step("review");
  const rv = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  page = await signedInAs(rv, reviewerToken);
  await page.goto(base + "/review");
  check((await page.textContent(`#a-${out.recording}`)).includes("录音节目"), "the uploaded recording is in the queue");
  let card = page.locator(`#a-${annID}`);
  check((await card.locator(".flags").textContent()).includes("手机号码"), "the secrecy check's mobile-number flag is shown");
  await card.locator("textarea[name=comment]").fill("同意播出");
  await card.locator("button:has-text('通过')").click();
  await page.waitForLoadState();
  card = page.locator(`#a-${annID}`);
  msg = await fieldError(page, `#a-${annID} .flags`);
  check(chinese(msg), "approving without acknowledging the flag: a Chinese message at the flags, got " + msg);
  await shot(page, "review");
  for (const box of await card.locator("input[name=acknowledge]").all()) await box.check();
  await card.locator("textarea[name=comment]").fill("同意播出");
  await Promise.all([page.waitForURL(/\/review$/), card.locator("button:has-text('通过')").click()]);
  const recCard = page.locator(`#a-${out.recording}`);
  await recCard.locator("textarea[name=comment]").fill("录音已核对");
  await Promise.all([page.waitForURL(/\/review$/), recCard.locator("button:has-text('通过')").click()]);
  card = page.locator(`#a-${annID}`);
  await Promise.all([page.waitForURL(/\/broadcasts\/[0-9a-f-]+$/), card.locator("button:has-text('立即播出')").click()]);
  out.broadcast = page.url().split("/").pop();

  // 5. The report reaches 100% of the village, live.
  step("report " + out.broadcast);
  await page.waitForFunction(() => {
    const st = document.getElementById("report-state");
    return st && st.dataset.state === "finished";
  }, null, { timeout: 45000 });
  const pct = await page.textContent(`tr[data-village="${village}"] .coverage-pct`);
  check(pct.trim() === "100%", "village coverage 100%, got " + pct);
  check((await page.textContent("#done-count")).trim() === "12", "12 terminals played");
  const csvHref = await page.getAttribute("a[href$='as-played.csv']", "href");
  const csv = await page.request.get(base + csvHref);
  check(csv.ok() && (await csv.text()).split("\n").filter((l) => l.includes("t0")).length === 12, "the as-played CSV has 12 terminals");
  await shot(page, "report");

  // 6. Emergency: needs confirmation; bad input shows next to the field; cancel.
  step("emergency");
  await page.goto(base + "/emergency");
  await page.click("#emergency-form button[type=submit]");
  msg = await fieldError(page, "#field-severity");
  check(msg === "请选择应急级别", "no severity: 请选择应急级别, got " + msg);
  await page.check("input[name=severity][value='4']");
  await page.fill("#title", "演练：防汛通知");
  await page.fill("#text", "这是一次应急广播演练。");
  const vill = page.locator("details.tree-village", { hasText: "曹溪村" }).first();
  await vill.evaluate((d) => { d.open = true; });
  await page.check(`input[name=targets][value="group:${group}"]`);
  await page.click("#emergency-form button[type=submit]");
  await page.waitForSelector("#confirm-send");
  check((await page.getAttribute("#confirm-targets", "data-targets")) === `group:${group}` && (await page.textContent("#confirm-targets")).includes("曹溪村"), "the confirmation names the targets");
  await shot(page, "emergency");
  const before = await (await page.request.get(base + "/broadcasts")).text();
  check(!before.includes("演练：防汛通知"), "nothing is sent before the confirmation");
  await Promise.all([page.waitForURL(/\/broadcasts\/[0-9a-f-]+$/), page.click("#confirm-send")]);
  out.emergency = page.url().split("/").pop();
  // It plays twice with a pause between: time enough to cancel it, after a confirmation.
  page.once("dialog", (d) => d.accept());
  await Promise.all([page.waitForNavigation(), page.locator("button:has-text('取消广播')").click()]);
  await page.waitForFunction(() => document.getElementById("report-state").dataset.state === "cancelled", null, { timeout: 20000 });

  // 7. Schedules: the week view; a form without an announcement is refused next to the field.
  step("schedules");
  const ad = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN" });
  page = await signedInAs(ad, adminToken);
  await page.goto(base + "/schedules");
  check(await page.locator("table.week").count() === 1, "the week view is there");
  await page.fill("#s-name", "早间通知");
  await page.click("#schedule-form button[type=submit]");
  msg = await fieldError(page, ".field:has(#s-ann)");
  check(msg === "请选择要播出的已审核公告", "no announcement: 请选择要播出的已审核公告, got " + msg);
  // The approved recording, every day at 07:30 to its own targets: seven slots under 曹溪村.
  await page.selectOption("#s-ann", out.recording);
  await page.fill("#s-time", "07:30");
  await Promise.all([page.waitForURL(/\/schedules$/), page.click("#schedule-form button[type=submit]")]);
  check(await page.locator(".field-error").count() === 0, "the schedule is accepted");
  // Next week, whole: a slot a day under 曹溪村 (this week's may have begun after 07:30).
  await Promise.all([page.waitForURL(/\/schedules\?from=/), page.click("text=下一周 →")]);
  const slots = page.locator("table.week tbody tr", { hasText: "曹溪村" }).locator(".slot", { hasText: "早间通知" });
  check(await slots.count() === 7, "the week view shows a slot a day for 曹溪村, got " + await slots.count());
  await shot(page, "schedules");
  const mine = page.locator("table.list tr", { hasText: "早间通知" });
  await Promise.all([page.waitForURL(/\/schedules$/), mine.locator("button:has-text('暂停')").click()]);
  check((await page.locator("table.list tr", { hasText: "早间通知" }).textContent()).includes("已暂停"), "paused");
  // Edit: 08:00 on weekdays; it stays paused.
  await Promise.all([page.waitForURL(/edit=/), page.locator("table.list tr", { hasText: "早间通知" }).locator("a:has-text('修改')").click()]);
  check(await page.inputValue("#s-time") === "07:30" && await page.inputValue("#s-name") === "早间通知", "the edit form holds the schedule");
  await page.fill("#s-time", "08:00");
  for (const d of ["1", "2", "3", "4", "5"]) await page.check(`input[name=weekday][value="${d}"]`);
  await Promise.all([page.waitForURL(/\/schedules$/), page.click("#schedule-form button[type=submit]")]);
  await Promise.all([page.waitForURL(/\/schedules\?from=/), page.click("text=下一周 →")]);
  const moved = page.locator("table.week tbody tr", { hasText: "曹溪村" }).locator(".slot.paused", { hasText: "08:00 早间通知" });
  check(await moved.count() === 5, "edited: five weekday slots at 08:00, still paused, got " + await moved.count());

  // 8. Live shouting from the (fake) microphone to one group.
  step("shout");
  await rv.grantPermissions(["microphone"]);
  page = await rv.newPage();
  await page.goto(base + "/shout");
  await page.click("#shout-start");
  check((await page.textContent("#shout-error")).includes("请选择喊话范围"), "no targets: 请选择喊话范围");
  const sv = page.locator("details.tree-village", { hasText: "曹溪村" }).first();
  await sv.evaluate((d) => { d.open = true; });
  await page.check(`input[name=targets][value="group:${group}"]`);
  await page.click("#shout-start");
  await page.waitForFunction(() => document.getElementById("shout-status").dataset.id, null, { timeout: 10000 });
  out.shout = await page.getAttribute("#shout-status", "data-id");
  await page.waitForTimeout(3000);
  await shot(page, "shout");
  await page.click("#shout-stop");
  await page.waitForFunction(() => document.getElementById("shout-status").dataset.done, null, { timeout: 15000 });

  // 9. A phone: no sideways scrolling on the main pages.
  step("phone");
  const phone = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "zh-CN" });
  await phone.addCookies(await ed.cookies());
  page = await phone.newPage();
  for (const p of ["/fleet", "/compose", "/review", "/broadcasts/" + out.broadcast, "/schedules", "/emergency"]) {
    await page.goto(base + p);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 375, `${p} fits a 375 px phone, scrollWidth ${wide}`);
  }
  await page.goto(base + "/fleet");
  await shot(page, "phone-fleet");
  await page.goto(base + "/broadcasts/" + out.broadcast);
  await shot(page, "phone-report");

  // 10. Sign out ends the session.
  await page.locator("form.who button").click();
  await page.waitForURL(/\/login$/);
  await page.goto(base + "/fleet");
  check(page.url().includes("/login"), "signed out: back to the sign-in page");
  step("done");
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
