// Device page: details, open alerts, latest readings and a chart per numeric metric over
// 24 h / 7 d / 30 d from the bucketed telemetry API (mean per bucket; consumption per
// bucket for cumulative counters such as meter indexes).
import { t, kindLabel, metricLabel, severityLabel, ruleLabel } from '../i18n.js';
import { h, fill, uid } from '../dom.js';
import { api, ApiError } from '../api.js';
import { alertsStore } from '../alerts-store.js';
import { fmtAgo, fmtBattery, fmtBucket, fmtDuration, fmtFullTime, fmtTime, fmtValue, displayUnit } from '../format.js';
import { href, replaceQuery } from '../router.js';
import { isCumulative, lowVoltages, THRESHOLD_BANDS } from '../data.js';
import { drawChart, autoResize } from '../chart.js';

const RANGES = {
  '24h': { ms: 24 * 3600e3, every: '15m', everyLabel: () => t('time.min', { n: 15 }) },
  '7d': { ms: 7 * 24 * 3600e3, every: '1h', everyLabel: () => t('time.h', { n: 1 }) },
  '30d': { ms: 30 * 24 * 3600e3, every: '6h', everyLabel: () => t('time.h', { n: 6 }) },
};

export function mount(container, route) {
  const id = route.param;
  let range = RANGES[route.query.get('range')] ? route.query.get('range') : '24h';
  let device = null;
  let readings = {};
  let plots = [];
  let chartRun = 0;

  const heading = h('h1', {}, id);
  const status = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
  const details = h('dl', { class: 'facts details' });
  const alertsList = h('ul', { class: 'device-alerts' });
  const latestHost = h('div', { class: 'table-host' });
  const historyHost = h('div', { class: 'table-host', id: 'alert-history' });
  const rangeButtons = Object.keys(RANGES).map((key) => h('button', { type: 'button', class: 'segment', 'aria-pressed': String(key === range), dataset: { range: key } }, t(`device.range.${key}`)));
  const charts = h('div', { class: 'charts' });
  const back = h('a', { href: href('sites') }, `← ${t('device.back')}`);

  fill(container,
    h('p', { class: 'back' }, back),
    h('div', { class: 'view-head' }, heading, status),
    h('div', { class: 'device-top' },
      h('section', { class: 'card', 'aria-labelledby': 'details-heading' }, h('h2', { id: 'details-heading' }, t('device.details')), details),
      h('section', { class: 'card', 'aria-labelledby': 'dev-alerts-heading' }, h('h2', { id: 'dev-alerts-heading' }, t('device.openAlerts')), alertsList)),
    h('section', { class: 'card', 'aria-labelledby': 'latest-heading' }, h('h2', { id: 'latest-heading' }, t('device.latest')), latestHost),
    h('section', { class: 'card', 'aria-labelledby': 'alert-history-heading' }, h('h2', { id: 'alert-history-heading' }, t('device.history')), historyHost),
    h('section', { class: 'history', 'aria-labelledby': 'history-heading' },
      h('div', { class: 'history-head' },
        h('h2', { id: 'history-heading' }, t('device.charts')),
        h('div', { class: 'segments', role: 'group', 'aria-label': t('device.range') }, rangeButtons)),
      charts));

  for (const b of rangeButtons) {
    b.addEventListener('click', () => {
      range = b.dataset.range;
      for (const x of rangeButtons) x.setAttribute('aria-pressed', String(x === b));
      replaceQuery({ range: range === '24h' ? '' : range });
      renderCharts();
    });
  }

  let lowV = new Map();
  async function load() {
    try {
      const [d, latest, volts] = await Promise.all([api(`/devices/${encodeURIComponent(id)}`), api(`/devices/${encodeURIComponent(id)}/latest`), lowVoltages()]);
      device = d;
      lowV = volts;
      readings = latest.readings;
      status.textContent = '';
      renderDetails();
      renderLatest();
      renderAlerts();
      renderCharts();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) status.textContent = t('device.notFound', { id });
      else fill(status, t('app.error', { message: err.message }), ' ', h('button', { type: 'button', class: 'secondary', onclick: load }, t('app.retry')));
    }
  }

  async function refreshLatest() {
    try {
      readings = (await api(`/devices/${encodeURIComponent(id)}/latest`)).readings;
      renderLatest();
    } catch { /* keep what is shown */ }
  }

  function renderDetails() {
    const d = device;
    heading.textContent = d.name ? `${d.name} (${d.id})` : d.id;
    document.title = `${heading.textContent} · ${t('app.title')}`;
    back.href = href('sites', undefined, { site: d.site });
    const attrs = Object.entries(d.attributes ?? {});
    const rows = [
      [t('device.col.model'), d.model],
      [t('device.kind'), kindLabel(d.kind)],
      [t('device.col.site'), d.site ? h('a', { href: href('sites', undefined, { site: d.site }) }, d.site) : t('app.none')],
      [t('device.col.status'), h('span', { class: `badge ${d.online ? 'online' : 'offline'}` }, t(d.online ? 'device.online' : 'device.offline'))],
      [t('device.col.lastSeen'), h('span', { title: fmtFullTime(d.lastSeen) }, fmtAgo(d.lastSeen))],
      [t('device.col.battery'), d.battery ? fmtBattery(d.battery, lowV.get(d.model)) : t('app.none')],
      d.lorawan?.devEui ? ['DevEUI', d.lorawan.devEui] : null,
      attrs.length ? [t('device.attributes'), h('ul', { class: 'plain' }, attrs.map(([k, v]) => h('li', {}, h('code', {}, k), ': ', typeof v === 'string' ? v : JSON.stringify(v))))] : null,
    ].filter(Boolean);
    fill(details, rows.map(([dt, dd]) => h('div', {}, h('dt', {}, dt), h('dd', {}, dd))));
  }

  function renderAlerts() {
    const mine = alertsStore.list.filter((a) => a.deviceId === id);
    fill(alertsList, mine.length
      ? mine.map((a) => h('li', {},
        h('span', { class: `badge sev-${a.severity}` }, severityLabel(a.severity)), ' ',
        h('a', { href: href('alerts', undefined, { site: a.site }) }, ruleLabel(a.rule)), ' ',
        h('span', { class: 'muted' }, `${a.message} · ${fmtDuration(Date.now() - Date.parse(a.openedAt))}`)))
      : h('li', { class: 'muted' }, t('device.noAlerts')));
  }

  function renderLatest() {
    const entries = Object.entries(readings);
    if (!entries.length) return fill(latestHost, h('p', { class: 'empty' }, t('alert.readingsNone')));
    const cols = ['metric', 'value', 'time', 'quality'].map((c) => t(`device.col.${c}`));
    fill(latestHost, h('table', { class: 'responsive readings-table' },
      h('caption', { class: 'visually-hidden' }, t('device.latest')),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, entries.map(([metric, r]) => h('tr', {},
        h('th', { scope: 'row', 'data-label': cols[0] }, metricLabel(metric), metricLabel(metric) !== metric ? h('span', { class: 'sub' }, metric) : null),
        h('td', { 'data-label': cols[1] }, fmtValue(r.value, r.unit)),
        h('td', { 'data-label': cols[2] }, h('span', { title: fmtFullTime(r.ts) }, fmtTime(r.ts))),
        h('td', { 'data-label': cols[3] }, r.quality ?? 'ok'))))));
  }

  async function renderCharts() {
    const run = ++chartRun;
    for (const p of plots) p.plot.destroy();
    plots = [];
    const metrics = Object.entries(readings).filter(([, r]) => typeof r.value === 'number').map(([m]) => m);
    if (!metrics.length) return fill(charts, h('p', { class: 'empty' }, t('device.chartNoData')));
    const spec = RANGES[range];
    const to = Date.now();
    const from = to - spec.ms;
    const figures = metrics.map((metric) => {
      const captionId = uid('chart');
      const plotEl = h('div', { class: 'plot', role: 'img', 'aria-labelledby': captionId });
      const note = h('p', { class: 'muted chart-note' }, t('app.loading'));
      const tableHost = h('div');
      const delta = isCumulative(metric);
      const u = displayUnit(readings[metric].unit);
      const unit = u ? t('device.unit', { unit: u }) : '';
      const caption = t(delta ? 'device.chartDelta' : 'device.chartMean', { metric: metricLabel(metric), unit, every: spec.everyLabel() });
      const figure = h('figure', { class: 'chart card', dataset: { metric } }, h('figcaption', { id: captionId }, caption), plotEl, note, tableHost);
      return { metric, delta, plotEl, note, tableHost, figure, caption };
    });
    fill(charts, figures.map((f) => f.figure));
    // four requests at a time: a meter with a dozen metrics should not trip the rate limit
    const queue = [...figures];
    const worker = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        try {
          const res = await api('/telemetry', { query: { device: id, metric: f.metric, from, to, every: spec.every, agg: f.delta ? 'delta' : 'mean', limit: 10000 } });
          if (run !== chartRun) return;
          const points = res.points.filter((p) => typeof p.value === 'number');
          if (!points.length) { f.note.textContent = t('device.chartNoData'); continue; }
          f.note.remove();
          plots.push({ plot: drawChart(f.plotEl, { points, range: [from, to], label: metricLabel(f.metric), bars: f.delta, band: THRESHOLD_BANDS[f.metric] }), el: f.plotEl });
          const values = points.map((p) => p.value);
          f.plotEl.setAttribute('aria-description', `${Math.min(...values)} – ${Math.max(...values)}`);
          fill(f.tableHost, dataTable(f, points));
        } catch (err) {
          if (run === chartRun) f.note.textContent = t('app.error', { message: err.message });
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  function dataTable(f, points) {
    return h('details', { class: 'chart-data' },
      h('summary', {}, t('device.chartTable')),
      h('table', {},
        h('caption', { class: 'visually-hidden' }, f.caption),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('device.col.time')), h('th', { scope: 'col' }, t('device.col.value')))),
        h('tbody', {}, points.map((p) => h('tr', {}, h('td', {}, fmtBucket(p.ts)), h('td', {}, fmtValue(p.value, readings[f.metric]?.unit)))))));
  }

  /** resolved alerts too: who acknowledged and resolved, how long after it opened */
  async function renderHistory() {
    try {
      const body = await api('/alerts', { query: { device: id, status: 'open,acknowledged,resolved', limit: 50 } });
      const alerts = (body.items ?? body.alerts).sort((a, b) => b.openedAt.localeCompare(a.openedAt));
      if (!alerts.length) return fill(historyHost, h('p', { class: 'empty' }, t('device.historyEmpty')));
      const after = (a, at, by, auto) => (at ? t(auto ? 'history.auto' : 'history.after', { by: by ?? t('app.none'), d: fmtDuration(Date.parse(at) - Date.parse(a.openedAt)) }) : t('app.none'));
      fill(historyHost, h('table', { class: 'data' },
        h('thead', {}, h('tr', {}, [t('history.rule'), t('history.opened'), t('history.ack'), t('history.resolved')].map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, alerts.map((a) => {
          return h('tr', { dataset: { alertId: a.id, status: a.status } },
            h('th', { scope: 'row' }, h('span', { class: `badge sev-${a.severity}` }, severityLabel(a.severity)), ' ', ruleLabel(a.rule)),
            h('td', {}, fmtTime(a.openedAt)),
            h('td', {}, after(a, a.acknowledgedAt, a.acknowledgedBy, false)),
            h('td', {}, after(a, a.resolvedAt, a.resolvedBy, a.resolution === 'auto')));
        }))));
    } catch (err) {
      fill(historyHost, h('p', { class: 'form-error' }, t('app.error', { message: err.message })));
    }
  }

  const stopResize = autoResize(charts, () => plots);
  const off = alertsStore.subscribe((change) => {
    if (change.type === 'event' && change.alert.deviceId === id) {
      renderAlerts();
      renderHistory();
      refreshLatest();
    } else if (change.type === 'reset') renderAlerts();
  });
  load();
  renderHistory();

  return {
    unmount() {
      off();
      stopResize();
      chartRun++;
      for (const p of plots) p.plot.destroy();
    },
  };
}
