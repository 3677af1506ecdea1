// Reports and response times: per site, how fast crews acknowledge and resolve, the
// escalation policies in force, and the two monthly reports (GB 5749-2022 water quality,
// consumption per meter and site level) with a CSV download for the water authority.
import { t, metricLabel } from '../i18n.js';
import { h, fill, field } from '../dom.js';
import { api, session } from '../api.js';
import { fmtDuration, fmtTime } from '../format.js';
import { replaceQuery } from '../router.js';

const TZ = 'Asia/Shanghai';
const OVER = [900, 3600];

function thisMonth() {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit' }).formatToParts(new Date());
  return `${parts.find((p) => p.type === 'year').value}-${parts.find((p) => p.type === 'month').value}`;
}

const secs = (s) => (s === null || s === undefined ? t('app.none') : fmtDuration(s * 1000));
const table = (head, rows) => h('table', { class: 'data' }, h('thead', {}, h('tr', {}, head.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, rows));

/** CSV through fetch (the key goes in a header, not the address), saved with the browser's download */
async function downloadCsv(path, query, filename) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(query)) if (v) url.searchParams.set(k, v);
  const res = await fetch(url, { headers: { accept: 'text/csv', authorization: `Bearer ${session.token}` }, cache: 'no-store' });
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  const blob = await res.blob();
  const a = h('a', { href: URL.createObjectURL(blob), download: filename, hidden: true });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

export function mount(container, route) {
  const siteInput = h('input', { type: 'text', name: 'site', maxlength: '300', autocomplete: 'off', value: route.query.get('site') ?? '' });
  const monthInput = h('input', { type: 'month', name: 'month', value: route.query.get('month') ?? thisMonth() });
  const form = h('form', { class: 'filters' }, field(t('reports.site'), siteInput), field(t('reports.month'), monthInput),
    h('div', { class: 'field field-button' }, h('button', { type: 'submit', class: 'primary' }, t('reports.show'))));
  const status = h('p', { class: 'muted', role: 'status' });
  const response = h('div', { class: 'table-host', id: 'response-times' });
  const policies = h('div', { id: 'policies' });
  const water = h('div', { class: 'table-host', id: 'water-report' });
  const consumption = h('div', { id: 'consumption-report' });
  const csvButton = (label, path, extra, name) => h('button', { type: 'button', class: 'secondary', onclick: () => downloadCsv(path, { site: siteInput.value.trim(), month: monthInput.value, tz: TZ, ...extra }, name()).catch((err) => { status.textContent = t('app.error', { message: err.message }); }) }, label);

  fill(container,
    h('div', { class: 'view-head' }, h('h1', {}, t('reports.title')), status), form,
    h('section', { class: 'card', 'aria-labelledby': 'rt-heading' }, h('h2', { id: 'rt-heading' }, t('reports.response')), response),
    h('section', { class: 'card', 'aria-labelledby': 'pol-heading' }, h('h2', { id: 'pol-heading' }, t('reports.policies')), policies),
    h('section', { class: 'card', 'aria-labelledby': 'wq-heading' },
      h('div', { class: 'history-head' }, h('h2', { id: 'wq-heading' }, t('reports.water')), csvButton(t('reports.csv'), '/reports/water-quality', {}, () => `water-quality-${monthInput.value}.csv`)), water),
    h('section', { class: 'card', 'aria-labelledby': 'cons-heading' }, h('h2', { id: 'cons-heading' }, t('reports.consumption')), consumption));

  async function load() {
    const site = siteInput.value.trim();
    const month = monthInput.value;
    replaceQuery({ site, month });
    status.textContent = t('app.loading');
    const [from, to] = month ? monthBounds(month) : [];
    try {
      const [stats, pol, wq, ...cons] = await Promise.all([
        api('/alerts/stats', { query: { site, groupBy: 'site', over: OVER.join(','), from, to } }),
        api('/notify/policies'),
        api('/reports/water-quality', { query: { site, month, tz: TZ } }),
        api('/reports/consumption', { query: { site, month, tz: TZ, metric: 'water_volume_m3' } }),
        api('/reports/consumption', { query: { site, month, tz: TZ, metric: 'energy_import_kwh' } }),
      ]);
      status.textContent = '';
      renderStats(stats.groups);
      renderPolicies(pol.items);
      renderWater(wq.items);
      renderConsumption(cons);
    } catch (err) {
      status.textContent = t('app.error', { message: err.message });
    }
  }

  function monthBounds(month) {
    // Shanghai has no DST: the month starts at local midnight, UTC+8
    const [y, m] = month.split('-').map(Number);
    return [new Date(Date.UTC(y, m - 1, 1) - 8 * 3600e3).toISOString(), new Date(Date.UTC(y, m, 1) - 8 * 3600e3).toISOString()];
  }

  function renderStats(groups) {
    if (!groups.length) return fill(response, h('p', { class: 'empty' }, t('reports.responseEmpty')));
    fill(response, table(
      [t('reports.key'), t('reports.opened'), t('reports.acked'), t('reports.resolved'), t('reports.mtta'), t('reports.p90'), t('reports.mttr'), ...OVER.map((s) => t('reports.over', { d: fmtDuration(s * 1000) }))],
      groups.map((g) => h('tr', { dataset: { site: g.key } }, h('th', { scope: 'row' }, g.key || t('app.none')), h('td', {}, String(g.opened)), h('td', {}, String(g.acknowledged)), h('td', {}, String(g.resolved)),
        h('td', {}, secs(g.mttaS)), h('td', {}, secs(g.p90AckS)), h('td', {}, secs(g.mttrS)), ...OVER.map((s) => h('td', {}, String(g.unacknowledgedOverS[String(s)] ?? 0)))))));
  }

  function renderPolicies(items) {
    if (!items.length) return fill(policies, h('p', { class: 'empty' }, t('reports.policiesEmpty')));
    fill(policies, items.map((p) => h('div', { class: 'policy', dataset: { policy: p.id } },
      h('h3', {}, p.id),
      h('p', { class: 'muted' }, `${t('reports.policyMatch')}: ${Object.entries(p.match).map(([k, v]) => `${k} = ${[v].flat().join(', ')}`).join('; ') || '*'}`),
      h('ol', { start: '0' }, p.steps.map((s) => h('li', {}, t('reports.step', {
        n: s.step, after: fmtDuration(s.afterMs), channels: s.notify.join(', '),
        unless: s.unless === 'acknowledged' ? t('reports.unlessAck') : s.unless === 'resolved' ? t('reports.unlessResolved') : '',
      })))))));
  }

  function renderWater(items) {
    if (!items.length) return fill(water, h('p', { class: 'empty' }, t('reports.waterEmpty')));
    const limit = (l) => (l.min !== null && l.max !== null ? `${l.min}–${l.max}` : l.max !== null ? `≤ ${l.max}` : `≥ ${l.min}`);
    fill(water, table(
      [t('reports.device'), t('reports.metric'), t('reports.limit'), t('reports.samples'), t('reports.exceedances'), t('reports.within'), t('reports.worst')],
      items.map((i) => h('tr', { class: i.exceedances ? 'is-exceeded' : null },
        h('th', { scope: 'row' }, i.deviceName ?? i.deviceId, h('span', { class: 'muted' }, ` ${i.site}`)), h('td', {}, metricLabel(i.metric)), h('td', {}, `${limit(i.limit)} ${i.unit}`),
        h('td', {}, String(i.samples)), h('td', {}, String(i.exceedances)),
        h('td', {}, i.withinShare === null ? t('app.none') : `${(i.withinShare * 100).toFixed(1)} %`),
        h('td', {}, i.worst ? `${i.worst.value} (${fmtTime(i.worst.ts, TZ)})` : t('app.none'))))));
  }

  function renderConsumption(reports) {
    fill(consumption, reports.map((r) => h('div', { class: 'consumption', dataset: { metric: r.metric } },
      h('div', { class: 'history-head' }, h('h3', {}, t(`reports.${r.metric}`)),
        csvButton(t('reports.csv'), '/reports/consumption', { metric: r.metric }, () => `consumption-${r.metric}-${monthInput.value}.csv`)),
      r.sites.length
        ? table([t('reports.key'), t('reports.level'), t('reports.devices'), t('reports.total')],
          [...r.sites.map((s) => h('tr', {}, h('th', { scope: 'row' }, s.site), h('td', {}, String(s.level)), h('td', {}, String(s.devices)), h('td', {}, `${s.total} ${r.unit}`))),
            ...r.items.map((i) => h('tr', { class: 'muted' }, h('th', { scope: 'row' }, i.deviceName ?? i.deviceId), h('td', {}, ''), h('td', {}, ''), h('td', {}, `${i.total} ${r.unit}`)))])
        : h('p', { class: 'empty' }, t('reports.consumptionEmpty')))));
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  load();
}
