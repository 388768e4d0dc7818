// The fieldsync manager's console: one page that reads and writes through the JSON API
// (docs/PROTOCOL.md, "The read API", "Administration") with the session cookie, and follows
// /v1/events to update live.
//
// Rules this file keeps:
// - Every text a page shows comes from the catalog (/console/messages) through t('key'), or
//   word('prefix-', value) for a value of the wire (a role, a status); data goes into the page
//   as text nodes and attribute values only (append, setAttribute), never innerHTML, so a
//   customer named <img src=x onerror=alert(1)> is shown as those characters.
// - Every write carries the session's CSRF token (the fieldsync_csrf cookie) in X-CSRF-Token.
// - A refusal of the API (403, 404, …) is shown as a message on the page, in the reader's
//   language, never as a broken page.
'use strict';

(() => {
  const main = document.getElementById('main');
  const top = document.getElementById('top');
  const liveRegion = document.getElementById('live');

  const state = {
    lang: document.documentElement.lang || 'en',
    messages: {},
    me: null,
    team: [],
    events: null,
    renderSeq: 0,
    refreshTimer: null,
    refreshPending: false,
    lastRoute: null,
  };

  // ---------------------------------------------------------------- language

  /** The message `key` with its `{$name}` variables filled in from `args`. */
  function t(key, args) {
    let text = state.messages[key];
    if (text === undefined) return key;
    if (args) {
      for (const [name, value] of Object.entries(args)) {
        text = text.split('{$' + name + '}').join(String(value));
      }
    }
    return text;
  }

  /** The catalog's word for a value of the wire (`status-` + `submitted`), or the value. */
  function word(prefix, value) {
    if (value === null || value === undefined || value === '') return '—';
    const key = prefix + String(value).replace(/\./g, '-');
    return Object.prototype.hasOwnProperty.call(state.messages, key) ? state.messages[key] : String(value);
  }

  async function loadMessages(lang) {
    const res = await fetch('/console/messages?lang=' + encodeURIComponent(lang), {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (!res.ok) throw new Error('messages: ' + res.status);
    const body = await res.json();
    state.lang = body.lang;
    state.messages = body.messages;
    document.documentElement.lang = body.lang;
  }

  async function switchLanguage(lang) {
    document.cookie = 'lang=' + encodeURIComponent(lang) + '; Path=/; Max-Age=31536000; SameSite=Lax';
    await loadMessages(lang);
    await render({ fresh: true });
  }

  const locale = () => (state.lang === 'zh-CN' ? 'zh-CN' : 'en-GB');

  /** An amount in minor units as people read it: ¥1,234.50, USD 1,234.50 (as format_money). */
  function money(minor, currency) {
    if (minor === null || minor === undefined) return '—';
    const n = Number(minor);
    const sign = n < 0 ? '-' : '';
    const abs = Math.abs(n);
    const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const cents = String(abs % 100).padStart(2, '0');
    const cur = currency || 'CNY';
    return cur === 'CNY' || cur === 'RMB' ? `${sign}¥${whole}.${cents}` : `${cur} ${sign}${whole}.${cents}`;
  }

  function moneyOf(m) {
    return m ? money(m.amount, m.currency) : '—';
  }

  function utcDay(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
    return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : null;
  }

  const isoDay = (d) => d.toISOString().slice(0, 10);

  /** A day for people: 2026年12月2日, 2 Dec 2026. */
  function longDate(iso) {
    const d = utcDay(iso);
    if (!d) return '—';
    const opts = { timeZone: 'UTC', year: 'numeric', month: state.lang === 'zh-CN' ? 'long' : 'short', day: 'numeric' };
    return new Intl.DateTimeFormat(locale(), opts).format(d);
  }

  function weekday(iso) {
    const d = utcDay(iso);
    return d ? new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', weekday: 'short' }).format(d) : '';
  }

  /** A moment in tables: local YYYY-MM-DD HH:MM. */
  function moment(value) {
    if (value === null || value === undefined || value === '') return '—';
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  /** A moment as its day and its time, each kept on one line. */
  function momentParts(value) {
    const [day, time] = moment(value).split(' ');
    return [h('span', { class: 'nowrap' }, day), ' ', time ? h('span', { class: 'nowrap' }, time) : null];
  }

  /** The local day of a visit: its own, or its check-in moved by the device's offset. */
  function visitDay(v) {
    if (v.local_date) return v.local_date;
    const at = Date.parse(v.checkin_at);
    if (Number.isNaN(at)) return '';
    return new Date(at + (v.utc_offset_minutes || 0) * 60000).toISOString().slice(0, 10);
  }

  function todayIso() {
    const now = new Date();
    return isoDay(new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())));
  }

  /** The ISO week (YYYY-Www) of a day (YYYY-MM-DD). */
  function isoWeekOf(iso) {
    const d = utcDay(iso);
    const day = d.getUTCDay() || 7;
    d.setUTCDate(d.getUTCDate() + 4 - day);
    const year = d.getUTCFullYear();
    const week = Math.ceil(((d - Date.UTC(year, 0, 1)) / 86400000 + 1) / 7);
    return `${year}-W${String(week).padStart(2, '0')}`;
  }

  /** The seven days (YYYY-MM-DD) of an ISO week, Monday first; null for a malformed week. */
  function weekDays(week) {
    const m = /^(\d{4})-W(\d{2})$/.exec(week || '');
    if (!m) return null;
    const jan4 = new Date(Date.UTC(+m[1], 0, 4));
    const monday = new Date(jan4);
    monday.setUTCDate(jan4.getUTCDate() - (jan4.getUTCDay() || 7) + 1 + (+m[2] - 1) * 7);
    return Array.from({ length: 7 }, (_, i) => {
      const d = new Date(monday);
      d.setUTCDate(monday.getUTCDate() + i);
      return isoDay(d);
    });
  }

  function shiftWeek(week, by) {
    const days = weekDays(week);
    const d = utcDay(days[0]);
    d.setUTCDate(d.getUTCDate() + 7 * by);
    return isoWeekOf(isoDay(d));
  }

  function list(items) {
    return items.filter((x) => x !== null && x !== undefined && x !== '').join(t('page-list-separator'));
  }

  function people(met) {
    return list((met || []).map((p) => (p.title ? t('page-person-with-title', { name: p.name, title: p.title }) : p.name)));
  }

  // ---------------------------------------------------------------- the DOM

  let idCounter = 0;
  const newId = (prefix) => `${prefix}-${++idCounter}`;

  /** An element: attributes (on… are listeners) and children (strings become text). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  function href(path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== '') q.set(k, v);
    const s = q.toString();
    return '#' + path + (s ? '?' + s : '');
  }

  const customerLink = (id, name) => h('a', { href: href('/customer/' + encodeURIComponent(id)) }, name || id);

  /** A table: caption, column headers and rows of cells (strings or nodes). */
  function table(caption, headers, rows, opts) {
    const o = opts || {};
    return h('div', { class: 'scroll' },
      h('table', { class: o.class },
        h('caption', { class: o.hideCaption ? 'visually-hidden' : null }, caption),
        h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, rows.map((r) => (r instanceof Node ? r : h('tr', {}, r.map((c, i) => (i === 0 && o.rowHeaders ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))))));
  }

  function notice(text, kind, detail) {
    return h('div', { class: 'notice ' + (kind || ''), role: kind === 'error' ? 'alert' : 'status' },
      h('p', {}, text), detail ? h('p', { class: 'detail' }, detail) : null);
  }

  function field(label, input, hint) {
    const id = input.id || newId('f');
    input.id = id;
    return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', {}, hint) : null);
  }

  /** Puts `nodes` in the page's main part, leaving out the absent ones (null). */
  function show(nodes) {
    main.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
  }

  function announce(text) {
    liveRegion.textContent = text;
    clearTimeout(announce.timer);
    announce.timer = setTimeout(() => { liveRegion.textContent = ''; }, 6000);
  }

  // ---------------------------------------------------------------- the API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message || code || String(status));
      this.status = status;
      this.code = code;
      this.serverMessage = message;
    }
  }

  function csrfToken() {
    for (const part of document.cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === 'fieldsync_csrf') return v.join('=');
    }
    return '';
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken();
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      });
    } catch (e) {
      throw new ApiError(0, 'network', String(e));
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) throw new ApiError(res.status, data && data.error, data && data.message);
    return data;
  }

  /** Every page of a paged list, at most `limit` pages. */
  async function allPages(path, params, limit) {
    const items = [];
    for (let page = 1; page <= (limit || 20); page++) {
      const q = new URLSearchParams({ ...params, page: String(page) });
      const body = await api('GET', path + '?' + q.toString());
      items.push(...body.items);
      if (items.length >= body.total || body.items.length === 0) break;
    }
    return items;
  }

  /** What a failed request means, for the reader. */
  function explain(err) {
    if (!(err instanceof ApiError)) return [t('console-error-server'), String(err)];
    if (err.status === 0) return [t('console-error-network'), null];
    if (err.status === 403) return [t('console-error-forbidden'), err.serverMessage];
    if (err.status === 404) return [t('console-error-not-found'), err.serverMessage];
    if (err.status >= 500) return [t('console-error-server'), null];
    const known = err.code && state.messages['error-' + err.code];
    return [known || t('page-error-refused'), err.serverMessage];
  }

  function failure(err) {
    const [text, detail] = explain(err);
    return notice(text, 'error', detail);
  }

  // ---------------------------------------------------------------- session

  async function loadMe() {
    const me = await api('GET', '/console/me');
    state.me = me.user;
    state.team = me.team || [me.user.username];
  }

  const isManager = () => state.me && (state.me.role === 'manager' || state.me.role === 'admin');
  const isAdmin = () => state.me && state.me.role === 'admin';

  function openEvents() {
    closeEvents();
    const es = new EventSource('/v1/events');
    state.events = es;
    setLive('connecting');
    es.addEventListener('open', () => setLive('on'));
    es.addEventListener('changed', () => scheduleRefresh());
    es.addEventListener('error', async () => {
      if (state.events !== es) return;
      if (es.readyState !== EventSource.CLOSED) {
        setLive('connecting');
        return;
      }
      // The stream was refused or ended for good: is the session still open?
      setLive('off');
      try {
        await loadMe();
        setTimeout(() => { if (state.events === es && state.me) openEvents(); }, 3000);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) sessionLost();
      }
    });
  }

  function closeEvents() {
    if (state.events) state.events.close();
    state.events = null;
  }

  function setLive(mode) {
    const el = document.getElementById('live-state');
    if (!el) return;
    el.dataset.state = mode;
    el.textContent = t(mode === 'on' ? 'page-live-on' : mode === 'off' ? 'page-live-off' : 'page-live-connecting');
  }

  function sessionLost() {
    state.me = null;
    closeEvents();
    render({ fresh: true, message: t('console-error-session-expired') });
  }

  /** Whether the reader is in a field of the page: a refresh would replace what they typed. */
  function typing() {
    const active = document.activeElement;
    return Boolean(active && main.contains(active) && active.matches('input, textarea, select'));
  }

  /** Refreshes the page after news, unless the reader is typing in it (then when they leave). */
  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(() => {
      if (typing()) {
        state.refreshPending = true;
        return;
      }
      render({ refresh: true });
    }, 250);
  }

  main.addEventListener('focusout', () => {
    if (state.refreshPending) {
      state.refreshPending = false;
      scheduleRefresh();
    }
  });

  // ---------------------------------------------------------------- routes

  function parseRoute() {
    // A hash that is no route (an anchor) is the home page.
    const raw = location.hash.startsWith('#/') ? location.hash.slice(1) : '/';
    const [path, query] = raw.split('?');
    return { path, params: new URLSearchParams(query || '') };
  }

  const TEAM = 'team';
  const ADMIN = 'admin';

  /** The pages: title key, who may open them, and how each is built. */
  const PAGES = [
    { path: '/week', title: 'console-team-week', who: TEAM, nav: true, view: weekPage },
    { path: '/followups', title: 'page-followups', who: TEAM, nav: true, view: followupsPage },
    { path: '/approvals', title: 'console-approvals', who: TEAM, nav: true, view: approvalsPage },
    { path: '/customers', title: 'console-customers', nav: true, view: customersPage },
    { path: '/customer/', title: 'console-customer-file', prefix: true, view: customerPage },
    { path: '/report', title: 'console-weekly-report', nav: true, view: reportPage },
    { path: '/kpi', title: 'console-kpis', nav: true, view: kpiPage },
    { path: '/admin/users', title: 'console-users', who: ADMIN, nav: true, view: usersPage },
    { path: '/admin/territories', title: 'console-territories', who: ADMIN, nav: true, view: territoriesPage },
    { path: '/admin/health', title: 'console-health', who: ADMIN, nav: true, view: healthPage },
    { path: '/admin/audit', title: 'console-audit-log', who: ADMIN, nav: true, view: auditPage },
  ];

  function pageOf(path) {
    return PAGES.find((p) => (p.prefix ? path.startsWith(p.path) : p.path === path));
  }

  const home = () => (isManager() ? '/week' : '/report');

  function mayOpen(page) {
    if (page.who === TEAM) return isManager();
    // Admin pages are asked of the API, whose 403 the page shows; they are not in a
    // non-admin's menu.
    return true;
  }

  // ---------------------------------------------------------------- chrome

  function languageSwitch() {
    const select = h('select', { id: 'lang-switch', onchange: (e) => switchLanguage(e.target.value) },
      h('option', { value: 'zh-CN' }, t('console-language-zh-CN')),
      h('option', { value: 'en' }, t('console-language-en')));
    select.value = state.lang;
    return h('div', { class: 'lang' }, h('label', { for: 'lang-switch' }, t('console-language')), select);
  }

  function renderChrome(current) {
    top.hidden = false;
    if (!state.me) {
      top.replaceChildren(h('div', { class: 'bar' }, h('span', { class: 'brand' }, t('console-app-title')), languageSwitch()));
      return;
    }
    const links = PAGES.filter((p) => p.nav && (p.who !== ADMIN || isAdmin()) && (p.who !== TEAM || isManager()));
    const nav = h('nav', { 'aria-label': t('page-menu') },
      h('ul', {}, links.map((p) => h('li', {},
        h('a', { href: '#' + p.path, 'aria-current': current && current.path === p.path ? 'page' : null }, t(p.title))))));
    top.replaceChildren(
      h('div', { class: 'bar' },
        h('span', { class: 'brand' }, t('console-app-title')),
        h('span', { id: 'live-state', class: 'live', 'data-state': 'connecting' }, t('page-live-connecting')),
        h('span', { class: 'who' }, t('console-logged-in-as', { username: state.me.username, role: word('role-', state.me.role) })),
        languageSwitch(),
        h('button', { type: 'button', class: 'secondary', onclick: logout }, t('console-log-out'))),
      nav);
    if (state.events) setLive(state.events.readyState === EventSource.OPEN ? 'on' : 'connecting');
  }

  async function logout() {
    try {
      await api('POST', '/console/logout');
    } catch (e) {
      // The session may be over already; the login page is next either way.
    }
    state.me = null;
    closeEvents();
    location.hash = '#/login';
  }

  // ---------------------------------------------------------------- rendering

  async function render(opts) {
    const o = opts || {};
    const seq = ++state.renderSeq;
    const route = parseRoute();
    if (!state.me) {
      try {
        await loadMe();
        openEvents();
      } catch (e) {
        if (seq !== state.renderSeq) return;
        if (e instanceof ApiError && e.status === 401) {
          loginPage(route, o.message);
          return;
        }
        renderChrome(null);
        main.replaceChildren(failure(e));
        return;
      }
    }
    if (route.path === '/' || route.path === '/login') {
      location.replace('#' + home());
      return;
    }
    const page = pageOf(route.path);
    renderChrome(page);
    const title = page ? t(page.title) : t('console-error-not-found');
    document.title = title + ' · ' + t('console-app-title');
    if (!o.refresh) main.replaceChildren(h('h1', {}, title), h('p', { class: 'loading', role: 'status' }, t('console-loading')));
    let content;
    if (!page) {
      content = [h('h1', {}, title), notice(t('console-error-not-found'), 'error')];
    } else if (!mayOpen(page)) {
      content = [h('h1', {}, title), notice(t('page-error-team-only'), 'error')];
    } else {
      try {
        content = [h('h1', {}, title), ...(await page.view(route))];
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          if (seq === state.renderSeq) sessionLost();
          return;
        }
        content = [h('h1', {}, title), failure(e)];
      }
    }
    if (seq !== state.renderSeq) return;
    // The reader began typing while the refresh was on its way: keep their page, refresh
    // when they leave the field.
    if (o.refresh && typing()) {
      state.refreshPending = true;
      return;
    }
    const y = window.scrollY;
    show(content);
    if (o.refresh) {
      window.scrollTo(0, y);
      const at = new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date());
      const el = document.getElementById('live-state');
      if (el) el.title = t('page-updated-at', { time: at });
    } else if (state.lastRoute !== location.hash) {
      main.focus({ preventScroll: true });
    }
    state.lastRoute = location.hash;
  }

  function loginPage(route, message) {
    renderChrome(null);
    document.title = t('console-log-in') + ' · ' + t('console-app-title');
    const error = h('div', { class: 'form-error', role: 'alert' });
    const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
    const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const form = h('form', { class: 'login card', novalidate: true },
      field(t('console-username'), username),
      field(t('console-password'), password),
      h('button', { type: 'submit' }, t('console-log-in')),
      error);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      if (!username.value.trim()) { error.textContent = t('console-error-required', { field: t('console-username') }); username.focus(); return; }
      if (!password.value) { error.textContent = t('console-error-required', { field: t('console-password') }); password.focus(); return; }
      try {
        await api('POST', '/console/login', { username: username.value.trim(), password: password.value });
        await loadMe();
        openEvents();
        const back = route.path === '/login' || route.path === '/' ? home() : route.path + (route.params.toString() ? '?' + route.params : '');
        if (location.hash === '#' + back) render({ fresh: true }); else location.hash = '#' + back;
      } catch (err) {
        error.textContent = err instanceof ApiError && err.status === 401 ? t('console-error-login-failed') : explain(err)[0];
        password.value = '';
        password.focus();
      }
    });
    show([h('h1', {}, t('console-log-in')), message ? notice(message, 'error') : null, form]);
    username.focus();
  }

  // ---------------------------------------------------------------- the team's week

  async function weekPage(route) {
    const week = weekDays(route.params.get('week')) ? route.params.get('week') : isoWeekOf(todayIso());
    const days = weekDays(week);
    const visits = await allPages('/v1/visits', { from: days[0], to: days[6] }, 20);
    const reps = [...new Set([...(isAdmin() ? [] : state.team), ...visits.map((v) => v.author)])].sort();
    const byRep = new Map(reps.map((r) => [r, []]));
    for (const v of visits) byRep.get(v.author).push(v);
    for (const list of byRep.values()) list.sort((a, b) => (visitDay(a) + a.checkin_at).localeCompare(visitDay(b) + b.checkin_at));

    const nav = h('div', { class: 'pager' },
      h('a', { class: 'button secondary', href: href('/week', { week: shiftWeek(week, -1) }) }, t('page-previous-week')),
      h('p', { class: 'range' }, t('page-week-range', { week, from: longDate(days[0]), to: longDate(days[6]) })),
      h('a', { class: 'button secondary', href: href('/week', { week: shiftWeek(week, 1) }) }, t('page-next-week')));

    // The rep's name jumps to their visits below (not through the URL, which is the route).
    const jump = (i) => (e) => {
      e.preventDefault();
      const el = document.getElementById('rep-' + i);
      el.scrollIntoView();
      el.focus();
    };
    const count = (n) => h('span', { class: n ? null : 'zero' }, String(n));
    const counts = reps.map((rep, i) => {
      const mine = byRep.get(rep);
      return [h('a', { href: href('/week', { week }), onclick: jump(i) }, rep),
        ...days.map((d) => count(mine.filter((v) => visitDay(v) === d).length)),
        count(mine.length)];
    });
    const overview = table(t('page-week-overview'),
      [t('page-rep'), ...days.map((d) => h('span', {}, weekday(d), h('br'), d.slice(5))), t('page-total')],
      counts, { rowHeaders: true, class: 'counts' });

    const sections = reps.map((rep, i) => {
      const mine = byRep.get(rep);
      const head = h('h2', { id: 'rep-' + i, tabindex: '-1' }, t('page-rep-visits', { rep, count: mine.length }));
      if (mine.length === 0) return h('section', { class: 'rep' }, head, h('p', { class: 'empty' }, t('page-no-visits-this-week')));
      return h('section', { class: 'rep' }, head,
        table(t('page-rep-visits', { rep, count: mine.length }),
          [t('console-date'), t('page-customer'), t('page-visit-type'), t('console-visit-summary'), t('page-people-met'), t('console-visit-outcome')],
          mine.map((v) => h('tr', { 'data-visit': v.id },
            h('td', { class: 'nowrap' }, weekday(visitDay(v)), ' ', visitDay(v)),
            h('td', {}, customerLink(v.customer, v.customer_name)),
            h('td', {}, word('page-visit-type-', v.visit_type)),
            h('td', { class: 'text' }, v.summary || '—'),
            h('td', {}, people(v.people_met) || '—'),
            h('td', {}, word('page-outcome-', v.outcome)))),
          { hideCaption: true }));
    });
    return [nav, overview, reps.length ? null : h('p', { class: 'empty' }, t('page-no-visits-this-week')), ...sections];
  }

  // ---------------------------------------------------------------- follow-ups

  async function followupsPage(route) {
    const date = /^\d{4}-\d{2}-\d{2}$/.test(route.params.get('date') || '') ? route.params.get('date') : '';
    const body = await api('GET', '/v1/followups' + (date ? '?date=' + date : ''));
    const dateInput = h('input', { type: 'date', name: 'date', value: body.date });
    const form = h('form', { class: 'inline' }, field(t('console-date'), dateInput), h('button', { type: 'submit' }, t('page-show')));
    form.addEventListener('submit', (e) => { e.preventDefault(); location.hash = href('/followups', { date: dateInput.value }); });
    const overdue = body.items.filter((f) => f.days_overdue > 0);
    const due = body.items.filter((f) => f.days_overdue <= 0);
    const headers = [t('page-customer'), t('console-customer-tier'), t('console-customer-owner'), t('console-customer-last-visit'), t('page-due-date'), t('page-reason'), t('page-days-overdue')];
    const rows = (items) => items.map((f) => [customerLink(f.customer, f.name), f.tier || '—', f.owner || '—', f.last_visit_date || '—',
      f.due_date || '—', word('page-reason-', f.reason), String(f.days_overdue)]);
    const part = (title, items) => h('section', {}, h('h2', {}, t(title), ' ', h('span', { class: 'count' }, String(items.length))),
      items.length ? table(t(title), headers, rows(items), { hideCaption: true }) : h('p', { class: 'empty' }, t('console-no-results')));
    return [form, h('p', {}, t('page-followups-on', { date: longDate(body.date) })),
      part('console-followups-overdue', overdue), part('console-followups-due', due)];
  }

  // ---------------------------------------------------------------- approvals

  function decisionCell(kind, doc, titleId) {
    const note = h('input', { type: 'text', name: 'note', 'aria-label': t('console-decision-note'), placeholder: t('console-decision-note'), 'aria-describedby': titleId });
    const decide = async (verdict) => {
      try {
        await api('POST', `/v1/${kind}/${encodeURIComponent(doc.id)}/${verdict}`, note.value.trim() ? { note: note.value.trim() } : undefined);
        announce(t('page-labelled', { label: t(verdict === 'approve' ? 'console-approved-by' : 'console-rejected-by', { user: state.me.username }), value: doc.title }));
        render({ refresh: true });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) { sessionLost(); return; }
        announce(explain(e)[0]);
        cell.append(failure(e));
      }
    };
    const box = h('div', { class: 'decide' }, note,
      h('button', { type: 'button', 'aria-describedby': titleId, onclick: () => decide('approve') }, t('console-approve')),
      h('button', { type: 'button', class: 'danger', 'aria-describedby': titleId, onclick: () => decide('reject') }, t('console-reject')));
    const cell = h('td', {}, box);
    return cell;
  }

  async function approvalsPage() {
    const body = await api('GET', '/v1/approvals');
    const total = body.trip_plans.length + body.expense_claims.length;
    const plans = body.trip_plans.map((p) => {
      const id = newId('plan');
      return h('tr', { 'data-id': p.id },
        h('td', {}, p.owner),
        h('th', { scope: 'row', id }, p.title),
        h('td', {}, h('span', { class: 'nowrap' }, p.start_date), ' – ', h('span', { class: 'nowrap' }, p.end_date)),
        h('td', { class: 'cities' }, list(p.cities || []) || '—'),
        h('td', { class: 'num' }, moneyOf(p.budget)),
        h('td', {}, momentParts(p.submitted_at)),
        decisionCell('trip-plans', p, id));
    });
    const claims = body.expense_claims.map((c) => {
      const id = newId('claim');
      return h('tr', { 'data-id': c.id },
        h('td', {}, c.owner),
        h('th', { scope: 'row', id }, c.title),
        h('td', { class: 'num' }, String((c.items || []).length)),
        h('td', { class: 'num' }, money(c.total, c.total_currency)),
        h('td', {}, momentParts(c.submitted_at)),
        decisionCell('expense-claims', c, id));
    });
    return [
      h('p', { class: 'summary' }, total ? t('page-approvals-count', { count: total }) : t('page-approvals-none')),
      h('section', {}, h('h2', {}, t('console-trip-plans')),
        plans.length ? table(t('console-trip-plans'),
          [t('page-rep'), t('page-title'), t('page-dates'), t('page-cities'), t('page-budget'), t('page-submitted'), t('page-decision')], plans, { hideCaption: true })
          : h('p', { class: 'empty' }, t('console-no-results'))),
      h('section', {}, h('h2', {}, t('console-expense-claims')),
        claims.length ? table(t('console-expense-claims'),
          [t('page-rep'), t('page-title'), t('page-items'), t('console-amount'), t('page-submitted'), t('page-decision')], claims, { hideCaption: true })
          : h('p', { class: 'empty' }, t('console-no-results'))),
    ];
  }

  // ---------------------------------------------------------------- customers

  async function customersPage(route) {
    const q = route.params.get('q') || '';
    const page = Math.max(1, parseInt(route.params.get('page') || '1', 10) || 1);
    const input = h('input', { type: 'search', name: 'q', value: q, placeholder: t('console-search-placeholder'), autocomplete: 'off' });
    const form = h('form', { class: 'inline search', role: 'search' }, field(t('console-search'), input), h('button', { type: 'submit' }, t('console-search')));
    form.addEventListener('submit', (e) => { e.preventDefault(); location.hash = href('/customers', { q: input.value.trim() }); });
    const body = await api('GET', '/v1/customers?' + new URLSearchParams({ search: q, page: String(page) }).toString());
    const rows = body.items.map((c) => [customerLink(c.id, c.name), c.territory || '—', c.owner || '—', c.tier || '—',
      word('page-customer-status-', c.status), c.city || '—', c.last_visit_date || '—', c.next_followup || '—']);
    const pages = Math.max(1, Math.ceil(body.total / body.per_page));
    const pager = h('div', { class: 'pager' },
      page > 1 ? h('a', { class: 'button secondary', href: href('/customers', { q, page: page - 1 }) }, t('console-previous-page')) : null,
      h('p', { role: 'status' }, t('console-shown-of', { shown: body.items.length, total: body.total })),
      page < pages ? h('a', { class: 'button secondary', href: href('/customers', { q, page: page + 1 }) }, t('console-next-page')) : null);
    return [form, pager,
      rows.length ? table(t('console-customers'),
        [t('console-customer-name'), t('console-customer-territory'), t('console-customer-owner'), t('console-customer-tier'),
          t('console-status'), t('console-customer-city'), t('console-customer-last-visit'), t('console-customer-next-followup')],
        rows, { hideCaption: true, rowHeaders: true }) : h('p', { class: 'empty' }, t('console-no-results'))];
  }

  function details(pairs) {
    return h('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
  }

  function conflictValue(value) {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  async function moveForm(c) {
    let territories = state.me.territories || [];
    let owners = state.team;
    if (isAdmin()) {
      const [ts, us] = await Promise.all([api('GET', '/v1/admin/territories'), api('GET', '/v1/admin/users')]);
      territories = ts.territories.map((x) => (typeof x === 'string' ? x : x.name));
      owners = us.users.filter((u) => !u.disabled).map((u) => u.username);
    }
    const tList = newId('territories');
    const oList = newId('owners');
    const territory = h('input', { name: 'territory', value: c.territory, list: tList, autocomplete: 'off' });
    const owner = h('input', { name: 'owner', value: c.owner, list: oList, autocomplete: 'off' });
    const status = h('div', { role: 'status', class: 'form-status' });
    const form = h('form', { class: 'card inline' },
      h('h2', {}, t('page-move-customer')),
      field(t('console-customer-territory'), territory),
      h('datalist', { id: tList }, territories.map((x) => h('option', { value: x }))),
      field(t('console-customer-owner'), owner),
      h('datalist', { id: oList }, owners.map((x) => h('option', { value: x }))),
      h('button', { type: 'submit' }, t('page-move')), status);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const change = {};
      if (territory.value.trim() && territory.value.trim() !== c.territory) change.territory = territory.value.trim();
      if (owner.value.trim() && owner.value.trim() !== c.owner) change.owner = owner.value.trim();
      if (!Object.keys(change).length) { status.textContent = t('page-nothing-to-change'); return; }
      try {
        await api('PATCH', '/v1/customers/' + encodeURIComponent(c.id), change);
        announce(t('page-customer-moved', { name: c.name }));
        try {
          await api('GET', '/v1/customers/' + encodeURIComponent(c.id));
          render({ refresh: true });
        } catch (err) {
          // Moved out of the reader's own scope: back to the list, saying so.
          location.hash = href('/customers');
          announce(t('page-customer-moved-away', { name: c.name }));
        }
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) { sessionLost(); return; }
        status.replaceChildren(failure(err));
      }
    });
    return form;
  }

  async function customerPage(route) {
    const id = decodeURIComponent(route.path.slice('/customer/'.length));
    const file = await api('GET', '/v1/customers/' + encodeURIComponent(id));
    const c = file.customer;
    document.title = c.name + ' · ' + t('console-app-title');
    const facts = details([
      [t('console-customer-territory'), c.territory], [t('console-customer-owner'), c.owner],
      [t('console-customer-tier'), c.tier], [t('console-status'), word('page-customer-status-', c.status)],
      [t('page-customer-type'), word('page-customer-type-', c.type)], [t('page-industry'), c.industry],
      [t('console-customer-city'), list([c.province, c.city])], [t('page-address'), c.address], [t('page-phone'), c.phone],
      [t('page-key-account'), c.key_account ? t('page-yes') : t('page-no')],
      [t('console-customer-next-followup'), file.next_followup ? longDate(file.next_followup) : null],
      [t('page-created'), c.created_at ? t('page-created-by', { user: c.created_by, date: moment(c.created_at) }) : null],
    ]);
    const contacts = (c.contacts || []).length
      ? table(t('console-contacts'), [t('console-customer-name'), t('page-job-title'), t('page-phone'), t('page-email'), t('page-decision-maker')],
        c.contacts.map((p) => [p.name, p.title || '—', p.phone || '—', p.email || '—', p.decision_maker ? t('page-yes') : t('page-no')]), { rowHeaders: true })
      : null;
    const visits = file.visits.length
      ? table(t('console-visits'),
        [t('console-date'), t('page-rep'), t('page-visit-type'), t('console-visit-summary'), t('page-people-met'), t('console-visit-outcome'), t('page-comments')],
        file.visits.map((v) => [h('span', { class: 'nowrap' }, visitDay(v)), v.author, word('page-visit-type-', v.visit_type), h('span', { class: 'text' }, v.summary || '—'),
          people(v.people_met) || '—', word('page-outcome-', v.outcome),
          list((v.manager_comments || []).map((m) => t('page-comment-by', { user: m.author, text: m.text }))) || '—']))
      : h('p', { class: 'empty' }, t('page-no-visits'));
    const conflicts = file.conflicts.length
      ? table(t('page-conflicts'), [t('page-field'), t('page-value'), t('page-written-by'), t('page-device'), t('page-when'), t('page-shown')],
        file.conflicts.flatMap((k) => k.values.map((v) => [k.path, conflictValue(v.value), v.author || '—', v.device || '—', moment(v.time), v.winner ? t('page-yes') : t('page-no')])))
      : h('p', { class: 'empty' }, t('page-no-conflicts'));
    return [
      h('p', { class: 'subtitle' }, c.name),
      h('p', {}, h('a', { href: href('/customers') }, t('console-back'))),
      facts,
      isManager() ? await moveForm(c) : null,
      contacts ? h('section', {}, contacts) : null,
      c.notes ? h('section', {}, h('h2', {}, t('page-notes')), h('p', { class: 'text' }, c.notes)) : null,
      h('section', {}, h('h2', {}, t('console-visits')), visits),
      h('section', {}, h('h2', {}, t('page-conflicts')), conflicts),
    ];
  }

  // ---------------------------------------------------------------- weekly report

  /** A paragraph "label: value", punctuated as the language writes it. */
  function labelled(key, value) {
    return h('p', {}, t('page-labelled', { label: t(key), value }));
  }

  async function reportPage(route) {
    const week = weekDays(route.params.get('week')) ? route.params.get('week') : isoWeekOf(todayIso());
    let reps = state.team;
    if (isAdmin()) {
      try {
        reps = (await api('GET', '/v1/admin/users')).users.filter((u) => u.role !== 'admin').map((u) => u.username);
      } catch (e) {
        reps = state.team;
      }
    }
    const others = reps.filter((r) => r !== state.me.username);
    const rep = route.params.get('rep') || (state.me.role === 'rep' || !others.length ? state.me.username : others[0]);
    const repSelect = h('select', { name: 'rep' }, [...new Set([...reps, rep])].map((r) => h('option', { value: r }, r)));
    repSelect.value = rep;
    const weekInput = h('input', { type: 'week', name: 'week', value: week, required: true });
    const form = h('form', { class: 'inline' }, field(t('page-rep'), repSelect), field(t('page-week'), weekInput), h('button', { type: 'submit' }, t('page-show')));
    form.addEventListener('submit', (e) => { e.preventDefault(); location.hash = href('/report', { rep: repSelect.value, week: weekInput.value }); });
    const r = await api('GET', '/v1/reports/week?' + new URLSearchParams({ rep, week }).toString());
    const counts = (m, prefix) => Object.entries(m || {}).map(([k, n]) => [word(prefix, k), String(n)]);
    const customers = r.customers.map((c) => h('section', { class: 'visited' },
      h('h3', {}, customerLink(c.customer, c.name)),
      h('ul', { class: 'visits' }, c.visits.map((v) => h('li', {},
        h('p', { class: 'meta' }, longDate(v.local_date), ' · ', word('page-visit-type-', v.visit_type), v.outcome ? ' · ' + word('page-outcome-', v.outcome) : ''),
        h('p', { class: 'text' }, v.summary || '—'),
        v.people_met && v.people_met.length ? labelled('page-people-met', people(v.people_met)) : null,
        v.next_step ? labelled('page-next-step', v.next_step) : null,
        v.quote_amount ? labelled('page-quote', moneyOf(v.quote_amount)) : null,
        v.order_amount ? labelled('page-order', moneyOf(v.order_amount)) : null,
        v.next_followup ? labelled('console-customer-next-followup', longDate(v.next_followup)) : null)))));
    return [form,
      h('p', { class: 'range' }, t('page-report-of', { rep: r.rep, week: r.week, from: longDate(r.from), to: longDate(r.to) })),
      details([[t('page-visit-count'), String(r.visit_count)], [t('page-customers-visited'), String(r.customers.length)]]),
      h('div', { class: 'split' },
        table(t('page-by-type'), [t('page-visit-type'), t('page-visit-count')], counts(r.by_type, 'page-visit-type-'), { rowHeaders: true }),
        table(t('page-by-outcome'), [t('console-visit-outcome'), t('page-visit-count')], counts(r.by_outcome, 'page-outcome-'), { rowHeaders: true })),
      customers.length ? h('section', {}, h('h2', {}, t('page-customers-visited')), customers) : h('p', { class: 'empty' }, t('page-no-visits-this-week'))];
  }

  /** A share in percent, or a dash where its base is zero. */
  const percent = (x) => (x === null || x === undefined ? '—' : `${x}%`);

  /** The KPIs (docs/KPI.md) of a rep, or of the caller's team with each rep's own. */
  async function kpiPage(route) {
    const thisMonth = todayIso().slice(0, 7);
    const period = /^\d{4}-(\d{2}|Q[1-4])$/.test(route.params.get('period') || '') ? route.params.get('period') : thisMonth;
    const team = isManager() && route.params.get('team') !== 'false';
    const periodInput = h('input', { name: 'period', value: period, required: true, pattern: '\\d{4}-(\\d{2}|Q[1-4])', size: 8 });
    const scope = h('select', { name: 'team' },
      h('option', { value: 'true' }, t('page-kpi-team')),
      h('option', { value: 'false' }, t('page-kpi-mine')));
    scope.value = team ? 'true' : 'false';
    const form = h('form', { class: 'inline' },
      field(t('page-kpi-period'), periodInput, t('page-kpi-period-hint')),
      isManager() ? field(t('page-kpi-whose'), scope) : null,
      h('button', { type: 'submit' }, t('page-show')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      location.hash = href('/kpi', { period: periodInput.value.trim(), team: isManager() ? scope.value : 'false' });
    });
    const k = await api('GET', '/v1/reports/kpi?' + new URLSearchParams({ period, team: String(team) }).toString());
    const cny = (amount) => money(amount, 'CNY');
    const figures = details([
      [t('page-kpi-sales'), cny(k.sales)],
      [t('page-kpi-sales-target'), cny(k.sales_target)],
      [t('page-kpi-achievement'), percent(k.sales_achievement)],
      [t('page-kpi-growth'), percent(k.sales_growth)],
      [t('page-kpi-visits'), `${k.visits} / ${k.visits_target}`],
      [t('page-kpi-new-customers'), `${k.new_customers} / ${k.new_customers_target}`],
      [t('page-kpi-followup-compliance'), percent(k.followup_compliance)],
      [t('page-kpi-customers-overdue'), String(k.customers_overdue)],
      [t('page-kpi-complaints-in-time'), percent(k.complaints_in_time_rate)],
      [t('page-kpi-complaints-open'), String(k.complaints_open)],
      [t('page-kpi-trip-expenses'), cny(k.trip_expenses)],
      [t('page-kpi-gross-profit'), cny(k.gross_profit)],
    ]);
    const byRep = (k.by_rep || []).map((r) => [r.reps.join(', '), cny(r.sales), percent(r.sales_achievement),
      `${r.visits} / ${r.visits_target}`, percent(r.followup_compliance), String(r.complaints_open)]);
    return [form,
      h('p', { class: 'range' }, t('page-kpi-of', { period: k.period, from: longDate(k.from), to: longDate(k.to) })),
      figures,
      byRep.length ? table(t('page-kpi-by-rep'), [t('page-rep'), t('page-kpi-sales'), t('page-kpi-achievement'),
        t('page-kpi-visits'), t('page-kpi-followup-compliance'), t('page-kpi-complaints-open')], byRep, { rowHeaders: true }) : null];
  }

  // ---------------------------------------------------------------- administration

  const ROLES = ['rep', 'manager', 'admin'];

  function roleSelect(value) {
    const s = h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r }, word('role-', r))));
    s.value = value || 'rep';
    return s;
  }

  const splitList = (text) => text.split(/[,，、\s]+/).map((x) => x.trim()).filter(Boolean);

  /** Runs an administrative write, then says so and refreshes the page, or shows why not. */
  async function adminWrite(out, method, path, body, done) {
    try {
      await api(method, path, body);
      announce(done);
      render({ refresh: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { sessionLost(); return; }
      out.replaceChildren(failure(e));
    }
  }

  async function usersPage() {
    const body = await api('GET', '/v1/admin/users');
    const out = h('div', { class: 'form-status', role: 'status' });
    const name = h('input', { name: 'username', required: true, autocomplete: 'off', autocapitalize: 'none' });
    const pass = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', minlength: 8 });
    const role = roleSelect('rep');
    const terr = h('input', { name: 'territories', autocomplete: 'off' });
    const mgr = h('input', { name: 'manager', autocomplete: 'off' });
    const create = h('form', { class: 'card inline' },
      h('h2', {}, t('page-create-user')),
      field(t('console-username'), name), field(t('console-password'), pass, t('page-password-hint')), field(t('console-role'), role),
      field(t('console-territories'), terr, t('page-list-hint')), field(t('console-manager'), mgr),
      h('button', { type: 'submit' }, t('page-create')), out);
    create.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!name.value.trim()) { out.textContent = t('console-error-required', { field: t('console-username') }); return; }
      const user = { username: name.value.trim(), password: pass.value, role: role.value, territories: splitList(terr.value) };
      if (mgr.value.trim()) user.manager = mgr.value.trim();
      adminWrite(out, 'POST', '/v1/admin/users', user, t('page-user-created', { user: user.username }));
    });
    const rows = body.users.map((u) => {
      const rowOut = h('div', { class: 'form-status', role: 'status' });
      const path = '/v1/admin/users/' + encodeURIComponent(u.username);
      const r = roleSelect(u.role);
      const ts = h('input', { name: 'territories', value: (u.territories || []).join(', '), autocomplete: 'off' });
      const m = h('input', { name: 'manager', value: u.manager || '', autocomplete: 'off' });
      const edit = h('form', { class: 'inline compact' }, field(t('console-role'), r), field(t('console-territories'), ts), field(t('console-manager'), m),
        h('button', { type: 'submit' }, t('console-save')));
      edit.addEventListener('submit', (e) => {
        e.preventDefault();
        adminWrite(rowOut, 'PATCH', path, { role: r.value, territories: splitList(ts.value), manager: m.value.trim() }, t('page-user-saved', { user: u.username }));
      });
      const pw = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: 8 });
      const reset = h('form', { class: 'inline compact' }, field(t('page-new-password'), pw), h('button', { type: 'submit', class: 'secondary' }, t('page-reset-password')));
      reset.addEventListener('submit', (e) => {
        e.preventDefault();
        adminWrite(rowOut, 'PATCH', path, { password: pw.value }, t('page-password-reset', { user: u.username }));
      });
      const toggle = h('button', { type: 'button', class: u.disabled ? 'secondary' : 'danger',
        onclick: () => adminWrite(rowOut, 'PATCH', path, { disabled: !u.disabled }, t(u.disabled ? 'page-user-enabled' : 'page-user-disabled', { user: u.username })) },
      t(u.disabled ? 'console-enable' : 'console-disable'));
      return h('tr', { 'data-user': u.username, class: u.disabled ? 'muted' : null },
        h('th', { scope: 'row' }, u.username),
        h('td', {}, word('role-', u.role)),
        h('td', {}, list(u.territories || []) || '—'),
        h('td', {}, u.manager || '—'),
        h('td', {}, t(u.disabled ? 'console-disabled' : 'console-enabled')),
        h('td', { class: 'actions' }, toggle, h('details', {}, h('summary', {}, t('page-edit')), edit, reset), rowOut));
    });
    return [create, table(t('console-users'),
      [t('console-username'), t('console-role'), t('console-territories'), t('console-manager'), t('console-status'), t('page-actions')], rows, { hideCaption: true })];
  }

  async function territoriesPage() {
    const body = await api('GET', '/v1/admin/territories');
    const names = body.territories.map((x) => (typeof x === 'string' ? x : x.name));
    const out = h('div', { class: 'form-status', role: 'status' });
    const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
    const create = h('form', { class: 'card inline' }, h('h2', {}, t('page-create-territory')), field(t('page-territory-name'), name),
      h('button', { type: 'submit' }, t('page-create')), out);
    create.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!name.value.trim()) { out.textContent = t('console-error-required', { field: t('page-territory-name') }); return; }
      adminWrite(out, 'POST', '/v1/admin/territories', { name: name.value.trim() }, t('page-territory-created', { name: name.value.trim() }));
    });
    const rows = names.map((n) => {
      const rowOut = h('div', { class: 'form-status', role: 'status' });
      const to = h('input', { name: 'name', value: n, autocomplete: 'off' });
      const rename = h('form', { class: 'inline compact' }, field(t('page-new-name'), to), h('button', { type: 'submit', class: 'secondary' }, t('page-rename')));
      rename.addEventListener('submit', async (e) => {
        e.preventDefault();
        const next = to.value.trim();
        if (!next || next === n) { rowOut.textContent = t('page-nothing-to-change'); return; }
        try {
          const res = await api('PATCH', '/v1/admin/territories/' + encodeURIComponent(n), { name: next });
          announce(t('page-territory-renamed', { from: n, to: res.name, count: res.customers }));
          render({ refresh: true });
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) { sessionLost(); return; }
          rowOut.replaceChildren(failure(err));
        }
      });
      return h('tr', {}, h('th', { scope: 'row' }, n), h('td', {}, rename, rowOut));
    });
    return [create, rows.length ? table(t('console-territories'), [t('page-territory-name'), t('page-rename')], rows, { hideCaption: true })
      : h('p', { class: 'empty' }, t('console-no-results'))];
  }

  function duration(secs) {
    const d = Math.floor(secs / 86400);
    const hh = Math.floor((secs % 86400) / 3600);
    const mm = Math.floor((secs % 3600) / 60);
    return t('page-duration', { days: d, hours: hh, minutes: mm });
  }

  function bytes(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = Number(n);
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: i ? 1 : 0 }).format(v)} ${units[i]}`;
  }

  async function healthPage() {
    const hl = await api('GET', '/v1/admin/health');
    const num = (n) => new Intl.NumberFormat(locale()).format(n);
    const last = hl.last_compaction;
    return [notice(t('console-health-ok'), 'ok'), details([
      [t('page-version'), hl.version], [t('page-uptime'), duration(hl.uptime_secs)],
      [t('page-documents'), num(hl.documents)], [t('page-log-entries'), num(hl.log_entries)], [t('page-log-size'), bytes(hl.log_bytes)],
      [t('console-users'), num(hl.users)], [t('page-disabled-users'), num(hl.disabled_users)],
      [t('page-devices-last-day'), num(hl.devices_last_day)],
      [t('page-last-compaction'), last ? t('page-compaction-by', { user: last.actor, date: moment(last.at) }) : t('page-never')],
    ])];
  }

  async function auditPage() {
    const body = await api('GET', '/v1/admin/audit');
    const rows = body.entries.map((e) => [moment(e.at), e.actor, word('page-audit-', e.action), e.target || '—',
      h('code', { class: 'detail' }, e.detail || ''), e.source || '—']);
    return [h('p', {}, t('page-audit-intro')), rows.length
      ? table(t('console-audit-log'), [t('console-audit-when'), t('console-audit-who'), t('console-audit-what'), t('page-target'), t('page-detail'), t('page-source')], rows, { hideCaption: true })
      : h('p', { class: 'empty' }, t('console-no-results'))];
  }

  // ---------------------------------------------------------------- start

  window.addEventListener('hashchange', () => render());
  // The skip link moves the focus, not the route.
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });

  (async () => {
    try {
      await loadMessages(state.lang);
    } catch (e) {
      main.replaceChildren(h('p', { class: 'notice error', role: 'alert' }, 'The console cannot load its texts: reload the page. / 控制台无法加载文字：请刷新页面。'));
      return;
    }
    await render();
  })();
})();
