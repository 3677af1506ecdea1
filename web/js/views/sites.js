// Sites and devices: the four-level site tree with counts per subtree (online, offline,
// low battery, open alerts) and the devices of the chosen subtree, a page at a time from
// GET /api/v1/devices?site=&q= (keyset cursors: the gateway searches, the page stays short).
import { t, kindLabel } from '../i18n.js';
import { h, fill, field, uid } from '../dom.js';
import { listPage, session } from '../api.js';
import { alertsStore, sitePrefixMatches } from '../alerts-store.js';
import { fmtAgo, fmtBattery, fmtTime } from '../format.js';
import { href, replaceQuery } from '../router.js';
import { SITE_LEVELS, loadDevices, lowBatteryTest, lowVoltages } from '../data.js';

const PAGE_SIZE = 50;

export function mount(container, route) {
  let selected = route.query.get('site') ?? '';
  let search = route.query.get('q') ?? '';
  let devices = null;
  let isLow = () => false;
  let lowV = new Map();
  const lowVoltOf = (d) => lowV.get(d.model);
  const expanded = new Set(['']);
  let expandedDefaultsSet = false;

  const status = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
  const treeHost = h('div', { class: 'tree-host' });
  const listHeading = h('h2', { id: uid('devices') });
  const searchInput = h('input', { type: 'search', name: 'q', value: search, autocomplete: 'off' });
  const links = h('p', { class: 'links' });
  const tableHost = h('div', { class: 'table-host' });
  const pager = h('nav', { class: 'pager', 'aria-label': t('sites.pages') });
  // cursors of the pages seen so far: [0] is the first page (no cursor)
  let cursors = [undefined];
  let pageIndex = 0;
  let pageData = null;
  let fetchGeneration = 0;
  let debounce = null;

  fill(container,
    h('div', { class: 'view-head' }, h('h1', {}, t('sites.title')), status),
    h('div', { class: 'split' },
      h('section', { class: 'card tree-card', 'aria-labelledby': 'tree-heading' },
        h('h2', { id: 'tree-heading' }, t('sites.tree')), legend(), treeHost),
      h('section', { class: 'devices-pane', 'aria-labelledby': listHeading.id },
        listHeading, links, h('div', { class: 'filters' }, field(t('sites.search'), searchInput)), tableHost, pager)));

  searchInput.addEventListener('input', () => {
    search = searchInput.value;
    replaceQuery({ site: selected, q: search });
    clearTimeout(debounce);
    debounce = setTimeout(() => refetch(), 250);
  });

  /** the first page of the current site and search */
  function refetch() {
    cursors = [undefined];
    pageIndex = 0;
    return fetchPage();
  }

  async function fetchPage() {
    const generation = ++fetchGeneration;
    const q = search.trim();
    try {
      const data = await listPage('/devices', { query: { site: selected || undefined, q: q || undefined }, cursor: cursors[pageIndex], limit: PAGE_SIZE });
      if (generation !== fetchGeneration) return;
      pageData = data;
      cursors[pageIndex + 1] = data.next ?? undefined;
      renderTable();
    } catch (err) {
      if (generation !== fetchGeneration) return;
      fill(tableHost, h('p', { class: 'error' }, t('app.error', { message: err.message })));
    }
  }

  async function load() {
    try {
      [devices, isLow, lowV] = await Promise.all([loadDevices(), lowBatteryTest(), lowVoltages()]);
      status.textContent = '';
      render();
      await refetch();
    } catch (err) {
      fill(status, t('app.error', { message: err.message }), ' ', h('button', { type: 'button', class: 'secondary', onclick: load }, t('app.retry')));
    }
  }

  function render() {
    if (!devices) return;
    if (!expandedDefaultsSet) {
      // communities and compounds open, so the buildings show; the way down to the chosen site open too
      for (const d of devices) {
        const parts = (d.site || '').split('/').filter(Boolean);
        for (let i = 1; i <= Math.min(2, parts.length - 1); i++) expanded.add(parts.slice(0, i).join('/'));
      }
      expandedDefaultsSet = true;
    }
    const parts = selected.split('/');
    for (let i = 1; i < parts.length; i++) expanded.add(parts.slice(0, i).join('/'));
    renderTree();
  }

  function buildTree() {
    const zero = () => ({ total: 0, online: 0, offline: 0, low: 0, alerts: 0 });
    const root = { path: '', name: t('sites.root'), depth: 0, children: new Map(), counts: zero() };
    const nodeFor = (site, create) => {
      let node = root;
      const chain = [root];
      if (!site) return chain;
      for (const part of site.split('/')) {
        let next = node.children.get(part);
        if (!next) {
          if (!create) break;
          next = { path: node.path ? `${node.path}/${part}` : part, name: part, depth: node.depth + 1, children: new Map(), counts: zero() };
          node.children.set(part, next);
        }
        chain.push(next);
        node = next;
      }
      return chain;
    };
    for (const d of devices) {
      for (const n of nodeFor(d.site, true)) {
        n.counts.total++;
        n.counts[d.online ? 'online' : 'offline']++;
        if (isLow(d)) n.counts.low++;
      }
    }
    for (const a of alertsStore.active.values()) for (const n of nodeFor(a.site, false)) n.counts.alerts++;
    return root;
  }

  function renderTree() {
    // the tree is rebuilt on every change: keep the keyboard focus on the same node's same control
    const focused = treeHost.contains(document.activeElement) ? document.activeElement : null;
    const path = focused?.closest('li[data-path]')?.dataset.path;
    const part = focused?.classList.contains('tree-toggle') ? '.tree-toggle' : 'a';
    fill(treeHost, h('ul', { class: 'tree' }, treeNode(buildTree())));
    if (path !== undefined) treeHost.querySelector(`li[data-path="${CSS.escape(path)}"] > .tree-row ${part}`)?.focus();
  }

  function treeNode(node) {
    const children = [...node.children.values()].sort((a, b) => a.name.localeCompare(b.name));
    const open = expanded.has(node.path);
    const level = node.depth === 0 ? null : SITE_LEVELS[node.depth - 1];
    const toggle = children.length && node.depth > 0
      ? h('button', {
        type: 'button', class: 'tree-toggle', 'aria-expanded': String(open),
        'aria-label': t(open ? 'sites.collapse' : 'sites.expand', { name: node.name }),
        onclick: () => {
          if (open) expanded.delete(node.path); else expanded.add(node.path);
          renderTree();
        },
      }, h('span', { 'aria-hidden': 'true' }, open ? '▾' : '▸'))
      : h('span', { class: 'tree-toggle-space', 'aria-hidden': 'true' });
    const link = h('a', {
      href: href('sites', undefined, { site: node.path }),
      'aria-current': node.path === selected ? 'true' : null,
      title: level ? `${t(`sites.level.${level}`)}: ${node.path}` : null,
    }, node.name);
    return h('li', { dataset: { path: node.path } },
      h('div', { class: 'tree-row' }, toggle, link, counts(node.counts)),
      children.length && open ? h('ul', {}, children.map(treeNode)) : null);
  }

  function counts(c) {
    return h('span', { class: 'counts' },
      chip('online', c.online, 'sites.countOnline'),
      c.offline ? chip('offline', c.offline, 'sites.countOffline') : null,
      c.low ? chip('low', c.low, 'sites.countLowBattery') : null,
      c.alerts ? chip('alerts', c.alerts, 'sites.countAlerts') : null);
  }

  function renderTable() {
    if (!devices || !pageData) return;
    const shown = pageData.items;
    const q = search.trim();
    // the subtree's size is known from the tree; a search counts what the pages hold
    const inSite = devices.filter((d) => sitePrefixMatches(d.site, selected)).length;
    listHeading.textContent = q
      ? t('sites.devicesMatching', { site: selected || t('sites.root'), q })
      : t('sites.devicesIn', { site: selected || t('sites.root'), n: inSite });
    fill(links,
      h('a', { href: href('summary', undefined, { site: selected }) }, t('sites.summaryLink')),
      session.isAdmin ? [' · ', h('a', { href: href('provision', undefined, { site: selected }) }, t('sites.provisionLink'))] : null);
    renderPager();
    if (!shown.length) return fill(tableHost, h('p', { class: 'empty' }, t('sites.noDevices')));
    const alertsByDevice = new Map();
    for (const a of alertsStore.active.values()) alertsByDevice.set(a.deviceId, (alertsByDevice.get(a.deviceId) ?? 0) + 1);
    const cols = ['device', 'model', 'site', 'status', 'lastSeen', 'battery', 'alerts'].map((c) => t(`device.col.${c}`));
    const cell = (i, ...content) => h('td', { 'data-label': cols[i] }, content);
    fill(tableHost, h('table', { class: 'responsive devices' },
      h('caption', { class: 'visually-hidden' }, listHeading.textContent),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, shown.map((d) => h('tr', {},
        h('th', { scope: 'row', 'data-label': cols[0] }, h('a', { href: href('device', d.id) }, d.id), d.name ? h('span', { class: 'sub' }, d.name) : null),
        cell(1, d.model, h('span', { class: 'sub' }, kindLabel(d.kind))),
        cell(2, d.site || t('app.none')),
        cell(3, h('span', { class: `badge ${d.online ? 'online' : 'offline'}` }, t(d.online ? 'device.online' : 'device.offline'))),
        cell(4, h('span', { title: fmtTime(d.lastSeen) }, fmtAgo(d.lastSeen))),
        cell(5, d.battery ? [fmtBattery(d.battery, lowVoltOf(d)), isLow(d) ? h('span', { class: 'badge low' }, t('device.lowBattery')) : null] : t('app.none')),
        cell(6, String(alertsByDevice.get(d.id) ?? 0)))))));
  }

  function renderPager() {
    const prev = h('button', { type: 'button', class: 'secondary', disabled: pageIndex === 0, onclick: () => { pageIndex--; fetchPage(); } }, t('sites.prevPage'));
    const next = h('button', { type: 'button', class: 'secondary', disabled: !pageData?.next, onclick: () => { pageIndex++; fetchPage(); } }, t('sites.nextPage'));
    fill(pager, pageIndex === 0 && !pageData?.next ? null : [prev, h('span', { class: 'muted' }, t('sites.page', { n: pageIndex + 1 })), next]);
  }

  // alert counts follow the stream; a burst of events redraws once
  let redraw = null;
  const off = alertsStore.subscribe((change) => {
    if (change.type === 'status' || redraw) return;
    redraw = setTimeout(() => { redraw = null; renderTree(); renderTable(); }, 300);
  });
  load();

  return {
    unmount() {
      off();
      clearTimeout(redraw);
      clearTimeout(debounce);
      fetchGeneration++;
    },
    update(next) {
      const site = next.query.get('site') ?? '';
      const q = next.query.get('q') ?? '';
      const changed = site !== selected || q !== search;
      selected = site;
      search = q;
      searchInput.value = search;
      render();
      if (changed && devices) refetch();
    },
  };
}

function chip(kind, n, key) {
  const text = t(key, { n });
  return h('span', { class: `chip chip-${kind}`, title: text },
    h('span', { class: 'chip-icon', 'aria-hidden': 'true' }), h('span', { 'aria-hidden': 'true' }, String(n)), h('span', { class: 'visually-hidden' }, text));
}

function legend() {
  return h('p', { class: 'legend' }, ['online', 'offline', 'low', 'alerts'].map((kind) => h('span', { class: `chip chip-${kind}` },
    h('span', { class: 'chip-icon', 'aria-hidden': 'true' }),
    t(`sites.legend.${kind}`))));
}
