// Site summary: parking occupancy, bins needing emptying, today's water and electricity
// consumption and offline devices of a subtree, from GET /api/v1/sites/{path}/summary.
import { t, ruleLabel } from '../i18n.js';
import { h, fill, field, select } from '../dom.js';
import { api } from '../api.js';
import { fmtAgo, fmtDuration, fmtNumber, fmtTime } from '../format.js';
import { href, replaceQuery } from '../router.js';
import { loadDevices, siteOptions } from '../data.js';

const REFRESH_MS = 60_000;

export function mount(container, route) {
  let site = route.query.get('site') ?? '';
  const siteSelect = select({ name: 'site' }, [['', t('sites.root')], ...(site ? [[site, site]] : [])], site);
  const refresh = h('button', { type: 'button', class: 'secondary' }, t('app.refresh'));
  const status = h('p', { class: 'muted', role: 'status' });
  const tiles = h('div', { class: 'tiles' });
  const lists = h('div', { class: 'summary-lists' });
  const response = h('section', { class: 'card', 'aria-labelledby': 'response-heading', id: 'site-response' });

  fill(container,
    h('div', { class: 'view-head' }, h('h1', {}, t('summary.title')), status),
    h('form', { class: 'filters' }, field(t('summary.site'), siteSelect), h('div', { class: 'field field-button' }, refresh)),
    tiles, lists, response);

  siteSelect.closest('form').addEventListener('submit', (e) => e.preventDefault());
  siteSelect.addEventListener('change', () => { site = siteSelect.value; replaceQuery({ site }); load(); });
  refresh.addEventListener('click', () => load());

  loadDevices().then((devices) => {
    fill(siteSelect, [['', t('sites.root')], ...siteOptions(devices.map((d) => d.site))].map(([value, text]) => h('option', { value, selected: value === site }, text)));
  }).catch(() => {});

  let run = 0;
  async function load() {
    const mine = ++run;
    status.textContent = t('app.loading');
    try {
      const path = site ? `${site.split('/').map(encodeURIComponent).join('/')}/summary` : 'summary';
      const [s, stats] = await Promise.all([
        api(`/sites/${path}`),
        api('/alerts/stats', { query: { site, groupBy: 'rule', over: '900,3600', from: new Date(Date.now() - 30 * 86400e3).toISOString() } }),
      ]);
      if (mine !== run) return;
      render(s);
      renderResponse(stats.groups);
      status.textContent = t('summary.day', { from: fmtTime(s.day.from, s.tz), tz: s.tz });
    } catch (err) {
      if (mine === run) status.textContent = t('app.error', { message: err.message });
    }
  }

  function tile(key, title, big, ...rest) {
    return h('section', { class: 'tile card', 'aria-labelledby': `tile-${key}`, dataset: { tile: key } },
      h('h2', { id: `tile-${key}` }, title), h('p', { class: 'big' }, big), rest);
  }

  function render(s) {
    const p = s.parking;
    fill(tiles,
      tile('parking', t('summary.parking'), `${p.occupied} / ${p.bays}`,
        h('meter', { min: '0', max: String(Math.max(p.bays, 1)), value: String(p.occupied), 'aria-label': t('summary.parkingOccupied', { occupied: p.occupied, bays: p.bays }) }),
        h('p', {}, t('summary.parkingOccupied', { occupied: p.occupied, bays: p.bays }), ' · ', t('summary.parkingFree', { free: p.free }))),
      tile('bins', t('summary.bins'), String(s.bins.full), h('p', {}, t('summary.binsFull', { full: s.bins.full, total: s.bins.total }))),
      tile('water', t('summary.water'), `${fmtNumber(s.water.todayM3)} m³`, h('p', {}, t('summary.meters', { n: s.water.meters }))),
      tile('electricity', t('summary.electricity'), `${fmtNumber(s.electricity.todayKwh)} kWh`, h('p', {}, t('summary.meters', { n: s.electricity.meters }))),
      tile('devices', t('summary.devices'), `${s.devices.online} / ${s.devices.total}`, h('p', {}, t('summary.devicesOnline', { online: s.devices.online, total: s.devices.total }))));
    fill(lists,
      h('section', { class: 'card', 'aria-labelledby': 'bins-heading' }, h('h2', { id: 'bins-heading' }, t('summary.bins')),
        s.bins.items.length
          ? table([t('device.col.device'), t('device.col.site'), t('summary.col.fill'), t('summary.col.threshold')],
            s.bins.items.map((b) => [h('a', { href: href('device', b.deviceId) }, b.deviceId), b.site || t('app.none'), `${fmtNumber(b.fillPct)} %`, `${fmtNumber(b.threshold)} %`]))
          : h('p', { class: 'empty' }, t('summary.binsNone'))),
      s.offline.length ? h('section', { class: 'card', 'aria-labelledby': 'offline-heading' }, h('h2', { id: 'offline-heading' }, t('summary.offlineList')),
        table([t('device.col.device'), t('device.col.site'), t('device.col.lastSeen')],
          s.offline.map((o) => [h('a', { href: href('device', o.deviceId) }, o.deviceId), o.site || t('app.none'), h('span', { title: fmtTime(o.lastSeen) }, fmtAgo(o.lastSeen))]))) : null);
  }

  /** how fast crews answer here: the last 30 days of alerts, per rule */
  function renderResponse(groups) {
    const secs = (v) => (v === null ? t('app.none') : fmtDuration(v * 1000));
    fill(response, h('h2', { id: 'response-heading' }, t('summary.response')),
      groups.length
        ? table([t('history.rule'), t('reports.opened'), t('reports.mtta'), t('reports.p90'), t('reports.mttr'), t('reports.over', { d: fmtDuration(900e3) })],
          groups.map((g) => [ruleLabel(g.key), String(g.opened), secs(g.mttaS), secs(g.p90AckS), secs(g.mttrS), String(g.unacknowledgedOverS['900'] ?? 0)]))
        : h('p', { class: 'empty' }, t('reports.responseEmpty')));
  }

  function table(cols, rows) {
    return h('table', { class: 'responsive' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c, i) => (i === 0 ? h('th', { scope: 'row', 'data-label': cols[i] }, c) : h('td', { 'data-label': cols[i] }, c)))))));
  }

  load();
  const timer = setInterval(load, REFRESH_MS);
  return {
    unmount() { clearInterval(timer); run++; },
    update(next) { site = next.query.get('site') ?? ''; siteSelect.value = site; load(); },
  };
}
