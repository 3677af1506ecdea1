// Alert board: open and acknowledged alerts, most severe then newest first, live over SSE.
// Cards are keyed by alert id and updated in place, so an open assign/note form, the
// focus and the scroll position survive the updates that keep arriving.
import { t, severityLabel, statusLabel, kindLabel, ruleLabel, metricLabel } from '../i18n.js';
import { h, fill, field, select, announce, uid } from '../dom.js';
import { api, ApiError, session, unitsByMetric } from '../api.js';
import { alertsStore, sitePrefixMatches } from '../alerts-store.js';
import { latestReadings, forgetReadings } from '../latest.js';
import { fmtDuration, fmtTime, fmtValue, fmtAgo } from '../format.js';
import { href, replaceQuery } from '../router.js';
import { DEVICE_KINDS, loadDevices, siteOptions } from '../data.js';
import { DURATIONS, durationOptions } from './silences.js';

const SEVERITIES = ['critical', 'major', 'minor', 'warning'];
const READINGS_SHOWN = 6;
const ACTIONS = {
  ack: { path: 'ack', event: 'alert.acknowledged', label: 'alert.ack' },
  resolve: { path: 'resolve', event: 'alert.resolved', label: 'alert.resolve' },
  assign: { path: 'assign', event: 'alert.assigned', label: 'alert.assignSubmit' },
  note: { path: 'notes', event: 'alert.updated', label: 'alert.noteSubmit' },
  silence: { label: 'alert.silenceSubmit' },
};

export function mount(container, route) {
  const filters = { site: route.query.get('site') ?? '', kind: route.query.get('kind') ?? '', severity: route.query.get('severity') ?? '' };
  let units = {};
  const cards = new Map(); // id -> card
  const offs = [];

  const liveStatus = h('p', { class: 'live-status', role: 'status' });
  const siteSelect = select({ name: 'site' }, [['', t('board.allSites')], ...(filters.site ? [[filters.site, filters.site]] : [])], filters.site);
  const kindSelect = select({ name: 'kind' }, [['', t('board.allKinds')], ...DEVICE_KINDS.map((k) => [k, kindLabel(k)])], filters.kind);
  const severitySelect = select({ name: 'severity' }, [['', t('board.allSeverities')], ...SEVERITIES.map((s) => [s, severityLabel(s)])], filters.severity);
  const clearButton = h('button', { type: 'button', class: 'secondary', hidden: !filters.site && !filters.kind && !filters.severity }, t('board.clear'));
  const filterForm = h('form', { class: 'filters', 'aria-label': t('board.filters') }, [
    field(t('board.site'), siteSelect), field(t('board.kind'), kindSelect), field(t('board.severity'), severitySelect),
    h('div', { class: 'field field-button' }, clearButton),
  ]);
  const count = h('p', { class: 'board-count' });
  const listHeading = h('h2', { class: 'visually-hidden', id: uid('list') }, t('board.list'));
  const list = h('ol', { class: 'alert-list', 'aria-labelledby': listHeading.id });
  const empty = h('p', { class: 'empty', hidden: true });
  const loadError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const resolvedList = h('ol', { class: 'alert-list resolved-list' });
  const resolvedEmpty = h('p', { class: 'empty' }, t('board.resolvedEmpty'));

  const crewNames = h('datalist', { id: 'crew-names' });
  if (session.canAct) api('/crews').then((r) => fill(crewNames, r.items.map((c) => h('option', { value: c.name })))).catch(() => {});

  fill(container, crewNames,
    h('div', { class: 'view-head' }, h('h1', {}, t('board.title')), liveStatus),
    filterForm, count, loadError, listHeading, list, empty,
    h('section', { class: 'resolved', 'aria-labelledby': 'resolved-heading' },
      h('h2', { id: 'resolved-heading' }, t('board.resolved')), resolvedEmpty, resolvedList));

  filterForm.addEventListener('submit', (e) => e.preventDefault());
  filterForm.addEventListener('change', () => {
    filters.site = siteSelect.value;
    filters.kind = kindSelect.value;
    filters.severity = severitySelect.value;
    replaceQuery(filters);
    clearButton.hidden = !filters.site && !filters.kind && !filters.severity;
    sync();
  });
  clearButton.addEventListener('click', () => {
    siteSelect.value = kindSelect.value = severitySelect.value = '';
    filterForm.dispatchEvent(new Event('change'));
    siteSelect.focus();
  });
  filterForm.classList.add('board-filters');

  // site choices: every prefix of every device's site and of every alert's site
  loadDevices().then((devices) => {
    const paths = [...devices.map((d) => d.site), ...[...alertsStore.active.values()].map((a) => a.site)];
    fill(siteSelect, [['', t('board.allSites')], ...siteOptions(paths)].map(([value, text]) => h('option', { value, selected: value === filters.site }, text)));
  }).catch(() => { /* the filter still works with what it has */ });
  unitsByMetric().then((u) => { units = u; for (const card of cards.values()) renderBody(card); }).catch(() => {});

  const matches = (a) => sitePrefixMatches(a.site, filters.site) && (!filters.kind || a.kind === filters.kind) && (!filters.severity || a.severity === filters.severity);

  function renderStatus() {
    liveStatus.dataset.status = alertsStore.status;
    liveStatus.textContent = t({ live: 'live.live', reconnecting: 'live.reconnecting', offline: 'live.offline' }[alertsStore.status] ?? 'live.connecting');
  }

  function sync() {
    const focused = document.activeElement;
    const all = alertsStore.list;
    const visible = all.filter(matches);
    const ids = new Set(visible.map((a) => a.id));
    let lostFocus = false;
    for (const [id, card] of cards) {
      if (ids.has(id)) continue;
      if (card.li.contains(focused)) lostFocus = true;
      card.li.remove();
      cards.delete(id);
    }
    visible.forEach((alert, i) => {
      let card = cards.get(alert.id);
      if (!card) {
        card = createCard(alert);
        cards.set(alert.id, card);
      } else if (card.alert !== alert) {
        card.alert = alert;
        renderBody(card);
      }
      const at = list.children[i];
      if (at !== card.li) list.insertBefore(card.li, at ?? null);
    });
    if (focused && focused !== document.activeElement && focused.isConnected) focused.focus({ preventScroll: true });
    if (lostFocus) container.querySelector('h1')?.focus({ preventScroll: true });

    const open = visible.filter((a) => a.status === 'open').length;
    const vars = { shown: visible.length, total: all.length, open, acknowledged: visible.length - open };
    count.textContent = alertsStore.loaded ? t(visible.length === all.length ? 'board.count' : 'board.countFiltered', vars) : t('app.loading');
    empty.hidden = !alertsStore.loaded || visible.length > 0;
    empty.textContent = all.length ? t('board.emptyFiltered') : t('board.empty');
    loadError.hidden = !alertsStore.error;
    loadError.textContent = alertsStore.error ? t('app.error', { message: alertsStore.error.message }) : '';

    const resolved = alertsStore.resolved.filter(matches);
    resolvedEmpty.hidden = resolved.length > 0;
    fill(resolvedList, resolved.map((a) => h('li', {}, resolvedCard(a))));
  }

  function createCard(alert) {
    const titleId = uid('alert');
    const body = h('div', { class: 'alert-body' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const formHost = h('div', { class: 'alert-form-host' });
    const card = { alert, titleId, body, error, formHost, buttons: {}, openForm: null };
    const article = h('article', { class: 'alert-card', 'aria-labelledby': titleId, dataset: { alertId: alert.id } }, body);
    if (session.canAct) {
      const actions = h('div', { class: 'actions', role: 'group' });
      card.actions = actions;
      card.buttons.ack = h('button', { type: 'button', class: 'primary', onclick: () => act(card, 'ack', {}) }, t('alert.ack'));
      card.buttons.assign = h('button', { type: 'button', 'aria-expanded': 'false', onclick: () => toggleForm(card, 'assign') }, t('alert.assign'));
      card.buttons.note = h('button', { type: 'button', 'aria-expanded': 'false', onclick: () => toggleForm(card, 'note') }, t('alert.note'));
      card.buttons.resolve = h('button', { type: 'button', onclick: () => act(card, 'resolve', {}) }, t('alert.resolve'));
      card.buttons.silence = h('button', { type: 'button', 'aria-expanded': 'false', onclick: () => toggleForm(card, 'silence') }, t('alert.silence'));
      card.silencedNote = h('p', { class: 'muted silenced-note', role: 'status' });
      actions.append(card.buttons.ack, card.buttons.assign, card.buttons.note, card.buttons.resolve, card.buttons.silence);
      article.append(card.silencedNote);
      article.append(actions, formHost, error);
    }
    card.li = h('li', {}, article);
    card.article = article;
    renderBody(card);
    return card;
  }

  function renderBody(card) {
    const a = card.alert;
    card.article.dataset.status = a.status;
    card.article.dataset.severity = a.severity;
    const unit = a.metric ? units[a.metric] : undefined;
    const title = ruleLabel(a.rule);
    const facts = [
      [t('alert.device'), [h('a', { href: href('device', a.deviceId) }, a.deviceId), a.kind ? h('span', { class: 'muted' }, ` · ${kindLabel(a.kind)}`) : null]],
      [t('alert.site'), a.site || t('app.none')],
      [a.metric ? metricLabel(a.metric) : t('alert.value'), valueVsThreshold(a, unit)],
      [t('alert.openFor'), h('span', { dataset: { since: a.openedAt }, title: fmtTime(a.openedAt) }, fmtDuration(Date.now() - Date.parse(a.openedAt)))],
      [t('alert.occurrences'), String(a.occurrences)],
      [t('alert.lastSeen'), h('span', { dataset: { ago: a.lastSeenAt }, title: fmtTime(a.lastSeenAt) }, fmtAgo(a.lastSeenAt))],
      a.assignee ? [t('alert.assignee'), a.assignee] : null,
      a.acknowledgedAt ? [t('alert.acknowledged'), t('alert.byAt', { by: a.acknowledgedBy ?? t('app.none'), at: fmtTime(a.acknowledgedAt) })] : null,
      a.escalation ? [t('alert.escalation'), t('alert.escalationInfo', { policy: a.escalation.policy, step: a.escalation.step ?? '–', next: a.escalation.nextAt ? fmtTime(a.escalation.nextAt) : t('app.none') })] : null,
    ].filter(Boolean);
    const readings = h('ul', { class: 'readings', 'aria-busy': 'true' }, h('li', { class: 'muted' }, t('alert.readingsLoading')));
    fill(card.body,
      h('header', { class: 'alert-head' },
        h('span', { class: `badge sev-${a.severity}` }, severityLabel(a.severity)),
        h('span', { class: `badge status-${a.status}` }, statusLabel(a.status)),
        a.silenced ? h('span', { class: 'badge status-silenced' }, t('alert.silenced')) : null,
        h('h3', { id: card.titleId, class: 'alert-title' }, title)),
      h('p', { class: 'alert-message' }, a.message),
      h('dl', { class: 'facts' }, facts.map(([dt, dd]) => h('div', {}, h('dt', {}, dt), h('dd', {}, dd)))),
      h('section', { class: 'alert-readings', 'aria-label': t('alert.readings', { device: a.deviceId }) },
        h('h4', {}, t('alert.readings', { device: a.deviceId })), readings),
      a.notes.length ? h('details', { class: 'notes' },
        h('summary', {}, t('alert.notes', { count: a.notes.length })),
        h('ul', {}, a.notes.map((n) => h('li', {}, h('span', { class: 'muted' }, `${t('alert.byAt', { by: n.by, at: fmtTime(n.at) })}: `), n.text)))) : null);
    if (card.actions) {
      card.actions.setAttribute('aria-label', t('alert.actions', { title }));
      card.buttons.ack.hidden = a.status !== 'open';
    }
    renderReadings(card, readings);
  }

  function valueVsThreshold(a, unit) {
    const show = (v) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? fmtTime(v) : fmtValue(v, unit));
    return [h('strong', { class: 'value' }, show(a.value)),
      a.threshold !== null && a.threshold !== undefined ? h('span', { class: 'threshold' }, ` (${t('alert.threshold', { threshold: show(a.threshold) })})`) : null];
  }

  function renderReadings(card, ul) {
    const a = card.alert;
    const show = (readings) => {
      const entries = Object.entries(readings).sort(([m1], [m2]) => (m1 === a.metric ? -1 : m2 === a.metric ? 1 : m1.localeCompare(m2)));
      ul.removeAttribute('aria-busy');
      fill(ul, entries.length
        ? entries.slice(0, READINGS_SHOWN).map(([metric, r]) => h('li', { class: metric === a.metric ? 'is-alert-metric' : null },
          h('span', { class: 'reading-name' }, metricLabel(metric)), ' ',
          h('span', { class: 'reading-value' }, fmtValue(r.value, r.unit)), ' ',
          h('span', { class: 'muted', dataset: { ago: r.ts } }, fmtAgo(r.ts))))
        : h('li', { class: 'muted' }, t('alert.readingsNone')));
    };
    // the last ones shown stay until the fresh ones arrive: no "loading" flicker on every event
    if (card.readings) show(card.readings);
    latestReadings(a.deviceId).then((readings) => {
      card.readings = readings;
      if (ul.isConnected || card.body.contains(ul)) show(readings);
    }).catch((err) => {
      if (card.readings) return;
      ul.removeAttribute('aria-busy');
      fill(ul, h('li', { class: 'muted' }, t('app.error', { message: err.message })));
    });
  }

  function resolvedCard(a) {
    const resolution = a.resolution === 'auto' ? t('alert.resolutionAuto') : t('alert.resolutionManual', { by: a.resolvedBy ?? t('app.none') });
    return h('article', { class: 'alert-card is-resolved', dataset: { alertId: a.id, status: a.status, severity: a.severity } },
      h('header', { class: 'alert-head' },
        h('span', { class: `badge sev-${a.severity}` }, severityLabel(a.severity)),
        h('span', { class: 'badge status-resolved' }, statusLabel('resolved')),
        h('h3', { class: 'alert-title' }, ruleLabel(a.rule))),
      h('p', { class: 'alert-message' }, a.message),
      h('p', { class: 'muted' }, `${t('alert.resolvedInfo')}: ${resolution}, ${fmtTime(a.resolvedAt)} · `, h('a', { href: href('device', a.deviceId) }, a.deviceId)));
  }

  function toggleForm(card, kind) {
    const wasOpen = card.openForm === kind;
    closeForm(card, false);
    if (wasOpen) return;
    card.openForm = kind;
    const button = card.buttons[kind];
    button.setAttribute('aria-expanded', 'true');
    const input = kind === 'assign'
      ? h('input', { type: 'text', name: 'assignee', maxlength: '100', required: true, autocomplete: 'off', value: card.alert.assignee ?? '', list: 'crew-names' })
      : h(kind === 'silence' ? 'input' : 'textarea', { name: kind === 'silence' ? 'reason' : 'text', maxlength: '2000', required: true, rows: kind === 'silence' ? null : '3', type: kind === 'silence' ? 'text' : null });
    const duration = kind === 'silence' ? select({ name: 'duration' }, durationOptions(), '4h') : null;
    const submit = h('button', { type: 'submit', class: 'primary' }, t(ACTIONS[kind].label));
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => closeForm(card, true) }, t('app.cancel'));
    const label = { assign: 'alert.assignTo', note: 'alert.noteText', silence: 'alert.silenceReason' }[kind];
    const form = h('form', { class: 'inline-form', id: uid('form') }, duration ? field(t('alert.silenceFor'), duration) : null, field(t(label), input), h('div', { class: 'form-buttons' }, submit, cancel));
    button.setAttribute('aria-controls', form.id);
    form.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); closeForm(card, true); } });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) { input.focus(); return; }
      const ok = kind === 'silence' ? await silence(card, DURATIONS[duration.value], value) : await act(card, kind, kind === 'assign' ? { assignee: value } : { text: value });
      if (ok) closeForm(card, true);
    });
    fill(card.formHost, form);
    input.focus();
  }

  function closeForm(card, refocus) {
    const kind = card.openForm;
    if (!kind) return;
    card.openForm = null;
    fill(card.formHost);
    card.buttons[kind].setAttribute('aria-expanded', 'false');
    card.buttons[kind].removeAttribute('aria-controls');
    if (refocus && card.buttons[kind].isConnected) card.buttons[kind].focus();
  }

  /** a silence for this rule on this device: later changes of the alert are not notified */
  async function silence(card, ms, reason) {
    card.error.textContent = '';
    try {
      const s = await api('/silences', { method: 'POST', json: { match: { rule: card.alert.rule, device: card.alert.deviceId }, until: new Date(Date.now() + ms).toISOString(), reason } });
      card.silencedNote.textContent = t('alert.silencedUntil', { until: fmtTime(s.until) });
      announce(card.silencedNote.textContent);
      return true;
    } catch (err) {
      card.error.textContent = t('alert.failed', { action: t('alert.silenceSubmit').toLocaleLowerCase(), message: err instanceof ApiError && err.status === 403 ? t('app.forbidden') : err.message });
      return false;
    }
  }

  async function act(card, kind, body) {
    const spec = ACTIONS[kind];
    const buttons = [...card.article.querySelectorAll('button')];
    for (const b of buttons) b.disabled = true;
    card.error.textContent = '';
    try {
      const alert = await api(`/alerts/${encodeURIComponent(card.alert.id)}/${spec.path}`, { method: 'POST', json: body });
      alertsStore.apply(spec.event, alert);
      return true;
    } catch (err) {
      const message = err instanceof ApiError && err.status === 403 ? t('app.forbidden') : err.message;
      card.error.textContent = t('alert.failed', { action: t(spec.label).replace(/…$/, '').toLocaleLowerCase(), message });
      return false;
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  offs.push(alertsStore.subscribe((change) => {
    if (change.type === 'status') return renderStatus();
    if (change.type === 'event') {
      forgetReadings(change.alert.deviceId);
      const a = change.alert;
      if (matches(a)) {
        const message = a.message;
        if (change.event === 'alert.opened') announce(t('announce.opened', { severity: severityLabel(a.severity), message }), a.severity === 'critical');
        else if (change.event === 'alert.acknowledged') announce(t('announce.acknowledged', { message }));
        else if (change.event === 'alert.assigned') announce(t('announce.assigned', { assignee: a.assignee, message }));
        else if (change.event === 'alert.resolved') announce(t('announce.resolved', { message }));
      }
      sync();
      if (change.event === 'alert.opened') cards.get(a.id)?.li.classList.add('is-new');
      return;
    }
    sync();
  }));

  // "open for" and "ago" texts tick without re-rendering the cards
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const el of container.querySelectorAll('[data-since]')) el.textContent = fmtDuration(now - Date.parse(el.dataset.since));
    for (const el of container.querySelectorAll('[data-ago]')) el.textContent = fmtAgo(el.dataset.ago, now);
  }, 15_000);

  renderStatus();
  sync();

  return {
    unmount() {
      clearInterval(ticker);
      for (const off of offs) off();
    },
    update(next) {
      siteSelect.value = filters.site = next.query.get('site') ?? '';
      kindSelect.value = filters.kind = next.query.get('kind') ?? '';
      severitySelect.value = filters.severity = next.query.get('severity') ?? '';
      clearButton.hidden = !filters.site && !filters.kind && !filters.severity;
      sync();
    },
  };
}
