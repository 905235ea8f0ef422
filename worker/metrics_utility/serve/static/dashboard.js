/* The dashboard: reads the read-only API of `metrics-utility serve` and fills the page.
 * Host, organization and report names are customer data, so every text goes in with textContent, never as markup.
 * Dates are UTC days (YYYY-MM-DD); a window's `since` is included and its `until` excluded, as in the API. */
'use strict';

(function () {
  const DAY = 86400000;
  /* How far back each granularity looks, in its own periods (the current one included). */
  const SPAN = { day: 31, week: 13, month: 12, quarter: 8, year: 5 };

  function iso(date) {
    return date.toISOString().slice(0, 10);
  }

  function utcToday() {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  }

  function monthStart(date, add) {
    return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + add, 1));
  }

  /* The window [since, until) of the last SPAN[by] periods, aligned on period starts (weeks start on Monday). */
  function windowFor(by, today) {
    const n = SPAN[by];
    if (by === 'day') {
      return [new Date(today.getTime() - (n - 1) * DAY), new Date(today.getTime() + DAY)];
    }
    if (by === 'week') {
      const monday = new Date(today.getTime() - ((today.getUTCDay() + 6) % 7) * DAY);
      return [new Date(monday.getTime() - (n - 1) * 7 * DAY), new Date(monday.getTime() + 7 * DAY)];
    }
    if (by === 'month') {
      return [monthStart(today, 1 - n), monthStart(today, 1)];
    }
    if (by === 'quarter') {
      const first = monthStart(today, -(today.getUTCMonth() % 3));
      return [monthStart(first, -3 * (n - 1)), monthStart(first, 3)];
    }
    const year = today.getUTCFullYear();
    return [new Date(Date.UTC(year - n + 1, 0, 1)), new Date(Date.UTC(year + 1, 0, 1))];
  }

  function query(params) {
    return Object.keys(params)
      .map((key) => encodeURIComponent(key) + '=' + encodeURIComponent(params[key]))
      .join('&');
  }

  async function getJson(path) {
    const response = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        const body = await response.json();
        detail = body.error || body.message || detail;
      } catch (ignored) {
        /* not JSON: keep the status text */
      }
      throw new Error(path.split('?')[0] + ' answered ' + response.status + ': ' + detail);
    }
    return response.json();
  }

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return node;
  }

  function number(value) {
    return typeof value === 'number' ? value.toLocaleString('en-US') : '–';
  }

  function bytes(size) {
    if (typeof size !== 'number') return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB'];
    let value = size;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit === 0 ? String(value) : value.toFixed(1)) + ' ' + units[unit];
  }

  function when(text) {
    if (!text) return 'never';
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) return String(text);
    return date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }

  function describe(item) {
    if (item === null || typeof item !== 'object') return String(item);
    return Object.entries(item)
      .map(([key, value]) => key + ': ' + (value !== null && typeof value === 'object' ? JSON.stringify(value) : value))
      .join(', ');
  }

  function showError(error) {
    const box = document.getElementById('page-error');
    box.textContent = String(error && error.message ? error.message : error);
    box.hidden = false;
  }

  function fill(tbody, rows, columns, emptyText) {
    tbody.replaceChildren();
    if (rows.length === 0) {
      const tr = el('tr');
      tr.appendChild(el('td', emptyText, { colspan: columns, class: 'empty' }));
      tbody.appendChild(tr);
      return;
    }
    for (const row of rows) tbody.appendChild(row);
  }

  /* Billed managed nodes: this month so far against last month. */
  async function loadBilling(today) {
    const since = monthStart(today, -1);
    const until = monthStart(today, 1);
    const usage = await getJson('api/v1/usage?' + query({ by: 'month', since: iso(since), until: iso(until) }));
    const byPeriod = new Map((usage.periods || []).map((p) => [p.period, p]));
    const thisLabel = iso(monthStart(today, 0)).slice(0, 7);
    const lastLabel = iso(since).slice(0, 7);
    const current = (byPeriod.get(thisLabel) || { managedNodes: 0 }).managedNodes;
    const previous = (byPeriod.get(lastLabel) || { managedNodes: 0 }).managedNodes;
    document.getElementById('this-month-label').textContent = thisLabel;
    document.getElementById('last-month-label').textContent = lastLabel;
    const shownCurrent = document.getElementById('billed-this-month');
    shownCurrent.textContent = number(current);
    shownCurrent.dataset.value = String(current);
    const shownPrevious = document.getElementById('billed-last-month');
    shownPrevious.textContent = number(previous);
    shownPrevious.dataset.value = String(previous);
    const change = document.getElementById('billed-change');
    if (previous > 0) {
      const percent = Math.round(((current - previous) / previous) * 100);
      change.textContent = 'this month so far is ' + Math.abs(percent) + '% ' + (percent >= 0 ? 'above' : 'below') + ' it';
    } else {
      change.textContent = 'no billed nodes last month';
    }
  }

  let usageRequest = 0;

  /* The trend: the server-rendered chart and, below it, the same numbers as a table. */
  async function loadUsage(by, today) {
    const request = ++usageRequest;
    const section = document.getElementById('usage');
    section.dataset.state = 'loading';
    for (const button of section.querySelectorAll('.switch button')) {
      button.setAttribute('aria-pressed', String(button.dataset.by === by));
    }
    const [since, until] = windowFor(by, today);
    const params = { by: by, since: iso(since), until: iso(until) };
    const chart = document.getElementById('usage-chart'); /* the chart loads while the numbers are fetched */
    chart.src = 'api/v1/usage?' + query(Object.assign({ mode: 'plot' }, params));
    chart.alt = 'Usage by ' + by + ' from ' + params.since + ' until ' + params.until;
    const usage = await getJson('api/v1/usage?' + query(params));
    if (request !== usageRequest) return; /* a later switch won */
    const rows = (usage.periods || []).slice().reverse().map((period) => { /* newest first */
      const tr = el('tr', null, { 'data-period': period.period });
      tr.appendChild(el('td', period.period));
      tr.appendChild(el('td', period.since));
      tr.appendChild(el('td', period.until));
      for (const field of ['managedNodes', 'jobRuns', 'taskRuns']) {
        tr.appendChild(el('td', number(period[field]), { class: 'num', 'data-field': field, 'data-value': period[field] }));
      }
      return tr;
    });
    fill(section.querySelector('tbody'), rows, 6, 'No usage from ' + params.since + ' until ' + params.until);
    section.dataset.by = by;
    section.dataset.since = params.since;
    section.dataset.until = params.until;
    section.dataset.state = 'ready';
  }

  /* Collection health: last gather and upload, gaps, problems, what each collector gathered. */
  async function loadCollection() {
    const collection = await getJson('api/v1/collection');
    document.getElementById('last-gather').textContent = when(collection.lastGather);
    document.getElementById('last-upload').textContent = when(collection.lastUpload);
    const lists = { gaps: collection.gaps || [], problems: collection.problems || [] };
    for (const [id, items] of Object.entries(lists)) {
      const list = document.getElementById(id);
      list.replaceChildren();
      if (items.length === 0) list.appendChild(el('li', 'none', { class: 'none' }));
      for (const item of items) list.appendChild(el('li', describe(item)));
      const count = document.getElementById(id === 'gaps' ? 'gap-count' : 'problem-count');
      count.textContent = number(items.length);
      count.dataset.value = String(items.length);
      count.className = items.length ? 'up' : 'down';
    }
    const rows = (collection.collectors || []).map((collector) => {
      const days = collector.days || [];
      const sum = (field) => {
        const known = days.filter((day) => typeof day[field] === 'number');
        return known.length ? known.reduce((total, day) => total + day[field], 0) : null;
      };
      const tr = el('tr', null, { 'data-collector': collector.name });
      tr.appendChild(el('td', collector.name, { class: 'name' }));
      tr.appendChild(el('td', number(days.length), { class: 'num' }));
      tr.appendChild(el('td', number(sum('rows')), { class: 'num', 'data-field': 'rows' }));
      tr.appendChild(el('td', number(sum('packages')), { class: 'num', 'data-field': 'packages' }));
      tr.appendChild(el('td', days.length ? days[days.length - 1].day : '–'));
      return tr;
    });
    fill(document.querySelector('#collectors-table tbody'), rows, 5, 'Nothing gathered yet');
  }

  /* The reports in the storage, newest first, each with its download link. */
  async function loadReports() {
    const listing = await getJson('api/v1/reports');
    const rows = (listing.reports || []).map((report) => {
      const tr = el('tr', null, { 'data-report-id': report.id });
      tr.appendChild(el('td', report.month || '–'));
      tr.appendChild(el('td', report.type));
      tr.appendChild(el('td', (report.since || '') + ' – ' + (report.until || '')));
      tr.appendChild(el('td', number(report.billedQuantity), { class: 'num', 'data-field': 'billedQuantity' }));
      tr.appendChild(el('td', bytes(report.size), { class: 'num' }));
      tr.appendChild(el('td', when(report.modified)));
      const cell = el('td');
      const link = el('a', 'Download', {
        class: 'download',
        href: 'api/v1/reports/' + encodeURIComponent(report.id),
        download: report.name || '',
        title: report.name || '',
      });
      cell.appendChild(link);
      tr.appendChild(cell);
      return tr;
    });
    fill(document.querySelector('#reports-table tbody'), rows, 7, 'No report built yet');
  }

  function start() {
    const today = utcToday();
    const usage = document.getElementById('usage');
    for (const button of usage.querySelectorAll('.switch button')) {
      button.addEventListener('click', () => loadUsage(button.dataset.by, today).catch(showError));
    }
    const loads = [loadBilling(today), loadUsage('month', today), loadCollection(), loadReports()];
    Promise.allSettled(loads).then((results) => {
      for (const result of results) if (result.status === 'rejected') showError(result.reason);
      document.body.dataset.state = results.every((r) => r.status === 'fulfilled') ? 'ready' : 'error';
    });
  }

  document.addEventListener('DOMContentLoaded', start);
})();
