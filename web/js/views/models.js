// Models (#/models) and one model's page (#/model/<id>): what a model decodes, in which
// units, and a "test a payload" box that asks the gateway to decode a payload exactly as
// it would store it for a device of the model (POST /models/{id}/decode; nothing stored).
import { t, kindLabel, metricLabel } from '../i18n.js';
import { h, fill, field, select, announce } from '../dom.js';
import { api, ApiError } from '../api.js';
import { fmtValue, fmtFullTime } from '../format.js';
import { href } from '../router.js';

function listView(container) {
  const status = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
  const host = h('div', { class: 'table-host' });
  fill(container, h('div', { class: 'view-head' }, h('h1', {}, t('models.title')), status), h('p', {}, t('models.intro')), host);
  // {models} in API v1, {items, next} once lists are enveloped (CONTRACT v2)
  api('/models', { query: { limit: 1000 } }).then((res) => {
    const models = res.items ?? res.models ?? [];
    status.textContent = t('models.count', { n: models.length });
    const cols = ['id', 'vendor', 'kind', 'source'].map((c) => t(`models.col.${c}`));
    fill(host, h('table', { class: 'responsive models-table' },
      h('caption', { class: 'visually-hidden' }, t('models.title')),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, models.map((m) => h('tr', {},
        h('th', { scope: 'row', 'data-label': cols[0] }, h('a', { href: href('model', m.id) }, m.id)),
        h('td', { 'data-label': cols[1] }, `${m.vendor} ${m.name}`),
        h('td', { 'data-label': cols[2] }, kindLabel(m.kind)),
        h('td', { 'data-label': cols[3] }, t(`models.source.${m.source ?? 'builtin'}`)))))));
  }).catch((err) => { status.textContent = t('app.error', { message: err.message }); });
}

function modelView(container, id) {
  const heading = h('h1', {}, id);
  const status = h('p', { class: 'muted', role: 'status' }, t('app.loading'));
  const details = h('dl', { class: 'facts details' });
  const metricsHost = h('div', { class: 'table-host' });

  const formKind = select({ name: 'form' }, [['hex', t('models.test.hex')], ['base64', t('models.test.base64')], ['json', t('models.test.json')]], 'hex');
  const payload = h('textarea', { name: 'payload', rows: '3', spellcheck: 'false', autocapitalize: 'off', required: true });
  const fPort = h('input', { type: 'number', name: 'fPort', min: '0', max: '255', inputmode: 'numeric' });
  const receivedAt = h('input', { type: 'text', name: 'receivedAt', autocomplete: 'off', spellcheck: 'false', placeholder: '2026-01-01T00:00:00Z' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('models.test.submit'));
  const result = h('div', { class: 'decode-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'decode-form', novalidate: true },
    field(t('models.test.form'), formKind),
    field(t('models.test.payload'), payload, t('models.test.payloadHint')),
    field(t('models.test.fPort'), fPort),
    field(t('models.test.receivedAt'), receivedAt, t('models.test.receivedAtHint')),
    h('div', { class: 'form-buttons' }, submit));

  fill(container,
    h('p', { class: 'back' }, h('a', { href: href('models') }, `← ${t('models.back')}`)),
    h('div', { class: 'view-head' }, heading, status),
    h('section', { class: 'card', 'aria-labelledby': 'model-details-heading' }, h('h2', { id: 'model-details-heading' }, t('models.details')), details, metricsHost),
    h('section', { class: 'card', 'aria-labelledby': 'model-test-heading' }, h('h2', { id: 'model-test-heading' }, t('models.test.title')), h('p', {}, t('models.test.intro')), form, result));

  const fact = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
  api(`/models/${encodeURIComponent(id)}`).then((m) => {
    heading.textContent = `${m.vendor} ${m.name}`;
    status.textContent = m.id;
    fill(details,
      fact(t('models.col.kind'), kindLabel(m.kind)),
      fact(t('models.format'), m.format),
      fact(t('models.ports'), m.ports.length ? m.ports.join(', ') : t('app.none')),
      fact(t('models.col.source'), t(`models.source.${m.source ?? 'builtin'}`)));
    fill(metricsHost, h('ul', { class: 'model-metrics' }, m.metrics.map((x) => h('li', {}, metricLabel(x.metric), ' ', h('span', { class: 'sub' }, x.unit ? `${x.metric} (${x.unit})` : x.metric)))));
    const example = m.examples.find((e) => e.hex !== undefined || e.json !== undefined);
    if (example && !payload.value) {
      if (example.hex !== undefined) { formKind.value = 'hex'; payload.value = example.hex; } else { formKind.value = 'json'; payload.value = JSON.stringify(example.json); }
      if (example.port !== null) fPort.value = String(example.port);
    } else if (m.format !== 'binary') formKind.value = 'json';
  }).catch((err) => { status.textContent = err instanceof ApiError && err.status === 404 ? t('models.notFound') : t('app.error', { message: err.message }); });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    if (formKind.value === 'json') {
      try { body.json = JSON.parse(payload.value); } catch { return showError(t('models.test.badJson')); }
    } else body[formKind.value] = payload.value.trim();
    if (fPort.value !== '') body.fPort = Number(fPort.value);
    if (receivedAt.value.trim()) body.receivedAt = receivedAt.value.trim();
    submit.disabled = true;
    try {
      const out = await api(`/models/${encodeURIComponent(id)}/decode`, { method: 'POST', json: body });
      showResult(out);
    } catch (err) {
      showError(err instanceof ApiError && err.status === 422 ? t('models.test.failed', { message: err.message }) : t('app.error', { message: err.message }));
    } finally {
      submit.disabled = false;
    }
  });

  function showError(message) {
    fill(result, h('p', { class: 'form-error decode-error', role: 'alert' }, message));
  }

  function showResult({ readings, events }) {
    const cols = ['metric', 'value', 'time', 'quality'].map((c) => t(`device.col.${c}`));
    const parts = [h('p', { class: 'decode-summary' }, t('models.test.summary', { readings: readings.length, events: events.length }))];
    if (readings.length) {
      parts.push(h('table', { class: 'responsive decoded-readings' },
        h('caption', { class: 'visually-hidden' }, t('models.test.readings')),
        h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, readings.map((r) => h('tr', { dataset: { metric: r.metric } },
          h('th', { scope: 'row', 'data-label': cols[0] }, metricLabel(r.metric), h('span', { class: 'sub' }, r.metric)),
          h('td', { 'data-label': cols[1], class: 'decoded-value' }, fmtValue(r.value, r.unit)),
          h('td', { 'data-label': cols[2] }, fmtFullTime(r.ts)),
          h('td', { 'data-label': cols[3] }, r.quality))))));
    }
    if (events.length) {
      parts.push(h('h3', {}, t('models.test.events')), h('ul', { class: 'decoded-events' }, events.map((ev) => h('li', {}, `${ev.type} · ${fmtFullTime(ev.ts)} · ${JSON.stringify(ev.data)}`))));
    }
    fill(result, parts);
    announce(t('models.test.summary', { readings: readings.length, events: events.length }));
  }
}

export function mount(container, route) {
  if (route.name === 'model' && route.param) modelView(container, route.param);
  else listView(container);
}
