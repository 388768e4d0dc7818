// The web console in a real browser (Debian's chromium, driven by playwright-core), against
// the real server, while real `fieldsync` devices sync: run by tests/tests/console_e2e.rs,
// which starts the server and the devices and passes everything in environment variables.
//
// What a device does midway is asked of the Rust test over stdout/stdin: the scenario prints
// `ASK <what>` on a line of its own and waits for one JSON line on stdin ({"ok": true, …} or
// {"ok": false, "error": "…"}). It prints `DONE` once everything held; anything it logs goes to
// stderr. It asserts what a person sees: text on the page, the page after a click.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/tests/console_e2e.rs`);
  return value;
}

const URL = env('CONSOLE_URL');
const SHOTS = env('CONSOLE_SCREENSHOTS');
const CHROMIUM = env('CONSOLE_CHROMIUM');
const MANAGER = env('CONSOLE_MANAGER');
const ADMIN = env('CONSOLE_ADMIN');
const REP = env('CONSOLE_REP');
const PASSWORDS = JSON.parse(env('CONSOLE_PASSWORDS'));
const CUSTOMER_ID = env('CONSOLE_CUSTOMER_ID');
const CUSTOMER_NAME = env('CONSOLE_CUSTOMER_NAME');
const XSS_NAME = env('CONSOLE_XSS_NAME');
const PLAN_ID = env('CONSOLE_PLAN_ID');
const PLAN_TITLE = env('CONSOLE_PLAN_TITLE');
const CLAIM_TOTAL = env('CONSOLE_CLAIM_TOTAL');
const LIVE_SUMMARY = env('CONSOLE_LIVE_SUMMARY');
const MOVE_TERRITORY = env('CONSOLE_MOVE_TERRITORY');
const MOVE_OWNER = env('CONSOLE_MOVE_OWNER');

const LAPTOP = { width: 1366, height: 768 };
const TABLET = { width: 768, height: 1024 };
const WAIT = 15000;

const log = (...args) => console.error('[console scenario]', ...args);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// ---------------------------------------------------------------- asking the Rust test

const answers = [];
const waiting = [];
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const take = waiting.shift();
  if (take) take(line);
  else answers.push(line);
});

/** Asks the Rust test to do `what` with the devices; its answer. */
function ask(what) {
  log('asking:', what);
  process.stdout.write(`ASK ${what}\n`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${what} within 30 s`)), 30000);
    const take = (line) => {
      clearTimeout(timer);
      const answer = JSON.parse(line);
      if (answer.ok) resolve(answer);
      else reject(new Error(`${what}: ${answer.error}`));
    };
    if (answers.length) take(answers.shift());
    else waiting.push(take);
  });
}

// ---------------------------------------------------------------- pages

const problems = [];
let dialogs = 0;

/** A new page in a context of its own (its own cookies), watched for dialogs and errors. */
async function newPage(browser, locale) {
  const context = await browser.newContext({ locale, viewport: LAPTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('dialog', (dialog) => {
    dialogs += 1;
    problems.push(`a dialog opened: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => problems.push(`a script failed: ${error.message}`));
  page.on('console', (message) => {
    // The browser logs every refused request (the 403 this scenario provokes) as an error.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  return { context, page };
}

/** Screenshots of the page at laptop and tablet width, checking that it shows no message key,
 * placeholder or missing value, and that at tablet width the page itself does not scroll
 * sideways (wide tables scroll within their own box). */
async function shoot(page, name) {
  const text = await page.locator('body').innerText();
  const leak = /\b(page|console|role|status|error)-[a-z]|\{\$|\bnull\b|\bundefined\b|\bNaN\b/.exec(text);
  check(!leak, `${name} shows ${leak && leak[0]}: a key, a placeholder or a missing value`);
  for (const [kind, size] of [['tablet', TABLET], ['laptop', LAPTOP]]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(50);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${name} scrolls sideways by ${overflow}px at ${size.width}px`);
    await page.screenshot({ path: path.join(SHOTS, `${kind}-${name}.png`) });
  }
}

async function heading(page, name) {
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
}

async function logIn(page, username, labels) {
  await page.getByLabel(labels.username, { exact: true }).fill(username);
  await page.getByLabel(labels.password, { exact: true }).fill(PASSWORDS[username]);
  await page.getByRole('button', { name: labels.logIn, exact: true }).click();
}

const ZH = { username: '用户名', password: '密码', logIn: '登录' };
const EN = { username: 'User name', password: 'Password', logIn: 'Log in' };

async function nav(page, name) {
  await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
}

// ---------------------------------------------------------------- the scenario

async function noSessionShowsTheLoginPage(browser) {
  const { context, page } = await newPage(browser, 'zh-CN');
  await page.goto(URL + '/#/admin/users');
  await heading(page, '登录');
  check((await page.locator('html').getAttribute('lang')) === 'zh-CN', 'Accept-Language zh-CN gives a Chinese page');
  await page.getByLabel('用户名', { exact: true }).waitFor();
  await page.getByLabel('密码', { exact: true }).waitFor();
  check((await page.getByRole('navigation').count()) === 0, 'no menu without a session');
  // A wrong password says so, in Chinese.
  await page.getByLabel('用户名', { exact: true }).fill(MANAGER);
  await page.getByLabel('密码', { exact: true }).fill('wrong password');
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.getByText('用户名或密码错误').waitFor();
  await shoot(page, 'zh-CN-login');
  await context.close();
}

async function managerWorksInChinese(browser) {
  const { context, page } = await newPage(browser, 'zh-CN');
  await page.goto(URL + '/');
  await logIn(page, MANAGER, ZH);
  await heading(page, '团队本周');
  await page.locator('#live-state[data-state="on"]').waitFor();
  check((await page.getByText(LIVE_SUMMARY).count()) === 0, 'the live visit is not there before the rep syncs');

  // (1) A rep's visit, recorded offline and synced, appears without a reload.
  await page.evaluate(() => { window.notReloaded = true; });
  await ask('rep-visit');
  await page.getByText(LIVE_SUMMARY).waitFor();
  check(await page.evaluate(() => window.notReloaded === true), 'the page was reloaded to show the visit');
  const visitRow = page.locator('tr', { hasText: LIVE_SUMMARY });
  await visitRow.getByText('王芳（采购经理）').waitFor();
  await visitRow.getByText('有进展').waitFor();
  await visitRow.getByRole('link', { name: CUSTOMER_NAME }).waitFor();
  await page.getByRole('table', { name: '每位销售代表每天的拜访次数' }).getByRole('rowheader', { name: REP }).waitFor();
  await shoot(page, 'zh-CN-week');

  await nav(page, '跟进');
  await heading(page, '跟进');
  await page.getByRole('heading', { name: /逾期跟进/ }).waitFor();
  await shoot(page, 'zh-CN-followups');

  // A write without the CSRF token is refused, though the manager may approve the plan.
  const refused = await page.evaluate(async (id) => {
    const res = await fetch(`/v1/trip-plans/${id}/approve`, { method: 'POST' });
    return { status: res.status, body: await res.json() };
  }, PLAN_ID);
  check(refused.status === 403 && refused.body.error === 'forbidden', `a write without the CSRF token got ${JSON.stringify(refused)}`);

  // (2) The approvals queue: the rep's plan and claim, approved in the browser.
  await nav(page, '待审批');
  await heading(page, '待审批');
  const planRow = page.locator('tr', { hasText: PLAN_TITLE });
  await planRow.waitFor();
  await page.getByText(CLAIM_TOTAL, { exact: true }).waitFor();
  await shoot(page, 'zh-CN-approvals');
  await planRow.getByRole('textbox').fill('同意，注意控制住宿费用。');
  await planRow.getByRole('button', { name: '批准', exact: true }).click();
  await planRow.waitFor({ state: 'detached' });
  await page.getByText(`由 ${MANAGER} 批准：${PLAN_TITLE}`).waitFor();
  const approved = await ask('rep-sees-approval');
  check(approved.status === 'approved', `the rep's device shows the plan ${approved.status}`);

  // Customer search in Chinese, and a customer's file.
  await nav(page, '客户');
  await heading(page, '客户');
  await page.getByRole('searchbox').fill('精密');
  await page.getByRole('button', { name: '搜索', exact: true }).click();
  await page.getByRole('link', { name: CUSTOMER_NAME, exact: true }).waitFor();
  // The unfiltered list may still be on the page when the match shows: wait for the answer.
  await page.getByRole('link', { name: XSS_NAME, exact: true }).waitFor({ state: 'detached', timeout: 10000 }).catch(() => {});
  check((await page.getByRole('link', { name: XSS_NAME, exact: true }).count()) === 0, 'the search filters');
  await shoot(page, 'zh-CN-customers');

  // (4) A customer named like markup shows as text, and runs nothing.
  await page.getByRole('searchbox').fill('<img');
  await page.getByRole('button', { name: '搜索', exact: true }).click();
  await page.getByRole('link', { name: XSS_NAME, exact: true }).waitFor();
  check((await page.locator('main img').count()) === 0, 'a customer name made an element');
  await page.getByRole('link', { name: XSS_NAME, exact: true }).click();
  await heading(page, '客户档案');
  await page.getByText(XSS_NAME, { exact: true }).first().waitFor();
  check((await page.locator('main img').count()) === 0, 'a customer file made an element');

  await page.goto(URL + '/#/customer/' + encodeURIComponent(CUSTOMER_ID));
  await heading(page, '客户档案');
  await page.getByText(LIVE_SUMMARY).waitFor();
  await page.getByRole('heading', { name: '冲突的修改' }).waitFor();
  await shoot(page, 'zh-CN-customer');

  await nav(page, '周报');
  await heading(page, '周报');
  await page.getByLabel('销售代表', { exact: true }).selectOption(REP);
  await page.getByRole('button', { name: '显示', exact: true }).click();
  await page.getByText(LIVE_SUMMARY).waitFor();
  await shoot(page, 'zh-CN-report');

  // The team's KPIs, with each rep's own: the rep's visits of this month count.
  await nav(page, '绩效指标');
  await heading(page, '绩效指标');
  await page.getByRole('table', { name: '各销售代表' }).getByRole('rowheader', { name: REP, exact: true }).waitFor();
  await page.getByText('目标达成率').first().waitFor();
  await shoot(page, 'zh-CN-kpi');
  await nav(page, '周报');
  await heading(page, '周报');

  // The language switch: English at once, and after a reload (the cookie), though the
  // browser still asks for Chinese.
  await page.getByLabel('语言', { exact: true }).selectOption('en');
  await heading(page, 'Weekly report');
  check((await page.locator('html').getAttribute('lang')) === 'en', 'html lang follows the switch');
  await nav(page, 'Team week');
  await heading(page, 'Team week');
  await page.reload();
  await heading(page, 'Team week');
  check((await page.locator('html').getAttribute('lang')) === 'en', 'the choice outlives a reload');
  await shoot(page, 'en-week');
  await nav(page, 'Approvals');
  await heading(page, 'Approvals');
  // The claim still waits; its total reads the same in English.
  await page.getByText('Waiting for your decision: 1', { exact: true }).waitFor();
  await page.getByText(CLAIM_TOTAL, { exact: true }).waitFor();
  await shoot(page, 'en-approvals');
  await context.close();
}

async function adminMovesACustomer(browser) {
  const { context, page } = await newPage(browser, 'en-US');
  await page.goto(URL + '/');
  await heading(page, 'Log in');
  await logIn(page, ADMIN, EN);
  await heading(page, 'Team week');

  // (3) The customer moves to another manager's team.
  await nav(page, 'Customers');
  await page.getByRole('searchbox').fill('华东');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByRole('link', { name: CUSTOMER_NAME, exact: true }).click();
  await heading(page, 'Customer file');
  const form = page.locator('form', { has: page.getByRole('heading', { name: 'Move to another territory or rep' }) });
  await form.getByLabel('Territory', { exact: true }).fill(MOVE_TERRITORY);
  await form.getByLabel('Owner', { exact: true }).fill(MOVE_OWNER);
  await form.getByRole('button', { name: 'Move', exact: true }).click();
  await page.locator('.facts dd', { hasText: new RegExp(`^${MOVE_TERRITORY}$`) }).waitFor();
  await page.locator('.facts dd', { hasText: new RegExp(`^${MOVE_OWNER}$`) }).waitFor();
  await shoot(page, 'en-customer');
  await ask('devices-follow-move');

  // Administration: users, territories (one created), health, the audit log.
  await nav(page, 'Users');
  await heading(page, 'Users');
  await page.getByRole('rowheader', { name: REP, exact: true }).waitFor();
  const create = page.locator('form', { has: page.getByRole('heading', { name: 'New user' }) });
  await create.getByLabel('User name', { exact: true }).fill('sun');
  await create.getByLabel('Password', { exact: true }).fill('pw-sun-secret');
  await create.getByLabel('Role', { exact: true }).selectOption('rep');
  await create.getByLabel('Territories', { exact: true }).fill('north');
  await create.getByLabel('Manager', { exact: true }).fill('zhao');
  await create.getByRole('button', { name: 'Create', exact: true }).click();
  const sun = page.locator('tr[data-user="sun"]');
  await sun.getByRole('cell', { name: 'Enabled', exact: true }).waitFor();
  await sun.getByRole('button', { name: 'Disable', exact: true }).click();
  await sun.getByRole('cell', { name: 'Disabled', exact: true }).waitFor();
  await shoot(page, 'en-users');
  await nav(page, 'Territories');
  await heading(page, 'Territories');
  await page.getByLabel('Territory', { exact: true }).first().fill('south');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByRole('rowheader', { name: 'south', exact: true }).waitFor();
  await shoot(page, 'en-territories');
  await nav(page, 'Health');
  await heading(page, 'Health');
  await page.getByText('Everything works').waitFor();
  await shoot(page, 'en-health');
  await nav(page, 'Audit log');
  await heading(page, 'Audit log');
  for (const action of ['Territory created', 'User created', 'User changed']) {
    await page.getByRole('cell', { name: action, exact: true }).first().waitFor();
  }
  await shoot(page, 'en-audit');
  await context.close();
}

async function aRepIsRefusedTheTeamAndAdminPages(browser) {
  const { context, page } = await newPage(browser, 'zh-CN');
  await page.goto(URL + '/');
  await logIn(page, REP, ZH);
  await heading(page, '周报');
  check((await page.getByRole('navigation').getByRole('link', { name: '用户', exact: true }).count()) === 0, 'no admin pages in a rep\'s menu');

  const answer = page.waitForResponse((r) => r.url().endsWith('/v1/admin/users'));
  await page.goto(URL + '/#/admin/users');
  check((await answer).status() === 403, 'the API refuses a rep the users');
  await heading(page, '用户');
  await page.getByRole('alert').getByText('你无权查看此页面').waitFor();
  await shoot(page, 'zh-CN-rep-refused');

  await page.goto(URL + '/#/week');
  await heading(page, '团队本周');
  await page.getByRole('alert').getByText('此页面仅供经理和管理员使用', { exact: false }).waitFor();

  const refused = await page.evaluate(async () => (await fetch('/v1/admin/territories', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'nowhere' }),
  })).status);
  check(refused === 403, `a write without the CSRF token got ${refused}`);
  await context.close();
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  const started = Date.now();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    await noSessionShowsTheLoginPage(browser);
    await managerWorksInChinese(browser);
    await adminMovesACustomer(browser);
    await aRepIsRefusedTheTeamAndAdminPages(browser);
  } finally {
    await browser.close();
  }
  check(dialogs === 0, `${dialogs} dialogs opened`);
  check(problems.length === 0, problems.join('\n'));
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write('DONE\n');
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
