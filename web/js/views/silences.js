// Silences and maintenance windows: create one for a rule, a device or a site subtree for a
// duration, see which of the alerts on the board it matches now, end it early.
import { t, ruleLabel } from '../i18n.js';
import { h, fill, field, select, announce } from '../dom.js';
import { api, ApiError, session, cached } from '../api.js';
import { alertsStore, sitePrefixMatches } from '../alerts-store.js';
import { fmtTime } from '../format.js';

export const DURATIONS = { '1h': 3600e3, '4h': 4 * 3600e3, '1d': 86400e3, '7d': 7 * 86400e3 };
export const durationOptions = () => Object.keys(DURATIONS).map((k) => [k, t(`duration.${k}`)]);

/** does a silence's match cover this alert? (as the gateway decides it) */
export const silenceMatches = (s, a) => (s.match.rule === undefined || s.match.rule === a.rule)
  && (s.match.device === undefined || s.match.device === a.deviceId)
  && (s.match.site === undefined || a.site === s.match.site || (s.match.site.replace(/\/+$/, '') !== '' && sitePrefixMatches(a.site, s.match.site)));

export function mount(container) {
  const status = h('p', { class: 'muted', role: 'status' });
  const listHost = h('div', { class: 'table-host' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const ruleSelect = select({ name: 'rule' }, [['', t('silences.anyRule')]], '');
  const deviceInput = h('input', { type: 'text', name: 'device', maxlength: '200', autocomplete: 'off' });
  const siteInput = h('input', { type: 'text', name: 'site', maxlength: '300', autocomplete: 'off' });
  const durationSelect = select({ name: 'duration' }, durationOptions(), '4h');
  const reasonInput = h('input', { type: 'text', name: 'reason', maxlength: '500', required: true, autocomplete: 'off' });
  const form = h('form', { class: 'card silence-form', novalidate: true },
    h('h2', {}, t('silences.create')),
    h('div', { class: 'filters' }, field(t('silences.rule'), ruleSelect), field(t('silences.device'), deviceInput), field(t('silences.site'), siteInput),
      field(t('silences.duration'), durationSelect), field(t('silences.reason'), reasonInput)),
    error,
    h('button', { type: 'submit', class: 'primary' }, t('silences.submit')));
  if (!session.canAct) form.hidden = true;

  fill(container, h('div', { class: 'view-head' }, h('h1', {}, t('silences.title')), status), h('p', {}, t('silences.intro')), form,
    h('section', { class: 'card', 'aria-labelledby': 'silences-heading' }, h('h2', { id: 'silences-heading' }, t('silences.list')), listHost));

  cached('/rules').then(({ rules }) => {
    fill(ruleSelect, [['', t('silences.anyRule')], ...rules.map((r) => [r.id, ruleLabel(r.id)])].map(([v, text]) => h('option', { value: v }, text)));
  }).catch(() => {});

  let silences = [];
  async function load() {
    try {
      const body = await api('/silences');
      silences = body.items ?? body.silences ?? [];
      render();
    } catch (err) {
      status.textContent = t('app.error', { message: err.message });
    }
  }

  function render() {
    status.textContent = '';
    if (!silences.length) { fill(listHost, h('p', { class: 'empty' }, t('silences.empty'))); return; }
    const alerts = alertsStore.list;
    const rows = [...silences].sort((a, b) => Number(b.active) - Number(a.active) || b.until.localeCompare(a.until)).map((s) => {
      const matching = alerts.filter((a) => silenceMatches(s, a));
      const what = [s.match.rule ? ruleLabel(s.match.rule) : null, s.match.device, s.match.site].filter(Boolean).join(' · ');
      const end = session.canAct && s.active ? h('button', { type: 'button', class: 'secondary', onclick: () => endSilence(s) }, t('silences.end')) : null;
      return h('tr', { dataset: { silenceId: s.id, active: String(s.active) } },
        h('td', {}, what), h('td', {}, s.reason), h('td', {}, fmtTime(s.until)), h('td', {}, s.createdBy),
        h('td', {}, h('span', { class: `badge ${s.active ? 'status-silenced' : 'status-resolved'}` }, t(s.active ? 'silences.active' : 'silences.ended'))),
        h('td', {}, s.active ? (matching.length ? h('ul', { class: 'plain' }, matching.map((a) => h('li', {}, `${ruleLabel(a.rule)} · ${a.deviceId}`))) : '0') : t('app.none')),
        h('td', {}, end));
    });
    fill(listHost, h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, [t('silences.match'), t('silences.reason'), t('silences.until'), t('silences.by'), '', t('silences.matching'), ''].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
  }

  async function endSilence(s) {
    try {
      await api(`/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      announce(t('silences.ended'));
      await load();
    } catch (err) {
      status.textContent = t('app.error', { message: err.message });
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const match = {};
    if (ruleSelect.value) match.rule = ruleSelect.value;
    if (deviceInput.value.trim()) match.device = deviceInput.value.trim();
    if (siteInput.value.trim()) match.site = siteInput.value.trim();
    if (!Object.keys(match).length) { error.textContent = t('silences.needMatch'); ruleSelect.focus(); return; }
    if (!reasonInput.value.trim()) { reasonInput.focus(); return; }
    try {
      await api('/silences', { method: 'POST', json: { match, until: new Date(Date.now() + DURATIONS[durationSelect.value]).toISOString(), reason: reasonInput.value.trim() } });
      form.reset();
      await load();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 403 ? t('app.forbidden') : t('app.error', { message: err.message });
    }
  });

  const off = alertsStore.subscribe(() => render());
  load();
  return { unmount: off };
}
