// Provisioning (admin): one device with its credentials shown once, or a CSV of many with
// the gateway's per-row errors. The passwords live only in this page's DOM until it is left.
import { t, kindLabel } from '../i18n.js';
import { h, fill, field, uid, announce } from '../dom.js';
import { api, ApiError, cached, listAll } from '../api.js';
import { href } from '../router.js';

const FIELD_OF = { 'body.id': 'id', 'body.model': 'model', 'body.name': 'name', 'body.site': 'site', 'body.lorawan.devEui': 'devEui', 'body.lorawan': 'devEui' };

export function mount(container, route) {
  const inputs = {
    id: h('input', { type: 'text', name: 'id', required: true, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', maxlength: '128', pattern: '[A-Za-z0-9][A-Za-z0-9_.:\\-]*' }),
    model: h('select', { name: 'model', required: true }, h('option', { value: '' }, t('provision.modelChoose'))),
    name: h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '200' }),
    site: h('input', { type: 'text', name: 'site', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', value: route.query.get('site') ?? '', list: 'site-options' }),
    devEui: h('input', { type: 'text', name: 'devEui', autocomplete: 'off', spellcheck: 'false', maxlength: '16', pattern: '[0-9A-Fa-f]{16}' }),
    attributes: h('textarea', { name: 'attributes', rows: '3', spellcheck: 'false', placeholder: '{"binDepthMm": 1200}' }),
  };
  const siteList = h('datalist', { id: 'site-options' });
  const formError = h('div', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('provision.submit'));
  const credentials = h('div', { class: 'credentials-host' });
  const form = h('form', { class: 'provision-form', novalidate: true },
    field(t('provision.id'), inputs.id, t('provision.idHint')),
    field(t('provision.model'), inputs.model),
    field(t('provision.name'), inputs.name),
    field(t('provision.site'), inputs.site, t('provision.siteHint')), siteList,
    field(t('provision.devEui'), inputs.devEui, t('provision.devEuiHint')),
    field(t('provision.attributes'), inputs.attributes),
    formError, h('div', { class: 'form-buttons' }, submit));

  const file = h('input', { type: 'file', name: 'csv', accept: '.csv,text/csv,text/plain' });
  const upload = h('button', { type: 'submit', class: 'primary' }, t('provision.upload'));
  const bulkStatus = h('div', { class: 'bulk-result', role: 'status' });
  const bulkForm = h('form', { class: 'bulk-form' },
    h('p', {}, t('provision.bulkIntro')),
    h('pre', { class: 'example' }, 'id,model,name,site,attributes.binDepthMm\nbin-101,generic.bin-fill,Bin 101,jiangnan/yuhua-garden/b3,1200'),
    field(t('provision.file'), file), h('div', { class: 'form-buttons' }, upload));
  const bulkResult = h('div', { class: 'bulk-details' });

  fill(container,
    h('div', { class: 'view-head' }, h('h1', {}, t('provision.title'))),
    h('div', { class: 'split provision' },
      h('section', { class: 'card', 'aria-labelledby': 'single-heading' }, h('h2', { id: 'single-heading' }, t('provision.single')), form, credentials),
      h('section', { class: 'card', 'aria-labelledby': 'bulk-heading' }, h('h2', { id: 'bulk-heading' }, t('provision.bulk')), bulkForm, bulkStatus, bulkResult)));

  cached('/models').then((models) => {
    const sorted = [...models].sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
    const groups = new Map();
    for (const m of sorted) {
      if (!groups.has(m.kind)) groups.set(m.kind, h('optgroup', { label: kindLabel(m.kind) }));
      groups.get(m.kind).append(h('option', { value: m.id }, `${m.id} — ${m.vendor} ${m.name}`));
    }
    inputs.model.append(...groups.values());
  }).catch((err) => { formError.textContent = t('app.error', { message: err.message }); });
  listAll('/devices').then((devices) => {
    const sites = [...new Set(devices.map((d) => d.site).filter(Boolean))].sort();
    fill(siteList, sites.map((s) => h('option', { value: s })));
  }).catch(() => {});

  function clearErrors() {
    formError.textContent = '';
    for (const input of Object.values(inputs)) {
      input.removeAttribute('aria-invalid');
      input.parentElement.querySelector('.field-error')?.remove();
    }
  }

  function fieldError(name, message) {
    const input = inputs[name];
    if (!input) return false;
    input.setAttribute('aria-invalid', 'true');
    const err = h('p', { class: 'field-error', id: uid('err') }, message);
    input.parentElement.append(err);
    input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), err.id].filter(Boolean).join(' '));
    return true;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    const body = { id: inputs.id.value.trim(), model: inputs.model.value };
    if (inputs.name.value.trim()) body.name = inputs.name.value.trim();
    if (inputs.site.value.trim()) body.site = inputs.site.value.trim().replace(/^\/+|\/+$/g, '');
    if (inputs.devEui.value.trim()) body.lorawan = { devEui: inputs.devEui.value.trim() };
    if (inputs.attributes.value.trim()) {
      try {
        body.attributes = JSON.parse(inputs.attributes.value);
        if (typeof body.attributes !== 'object' || body.attributes === null || Array.isArray(body.attributes)) throw new Error();
      } catch {
        fieldError('attributes', t('provision.badJson'));
        inputs.attributes.focus();
        return;
      }
    }
    submit.disabled = true;
    submit.textContent = t('provision.working');
    try {
      const res = await api('/devices', { method: 'POST', json: body });
      showCredentials(res.credentials, res.device);
      form.reset();
      inputs.site.value = body.site ?? '';
    } catch (err) {
      formError.textContent = t('provision.failed', { message: err.message });
      const details = err instanceof ApiError ? err.details : [];
      let first = null;
      for (const d of details) {
        const name = FIELD_OF[d.field] ?? (d.field.startsWith('body.attributes') ? 'attributes' : null);
        if (name && fieldError(name, d.message)) first ??= inputs[name];
      }
      if (err instanceof ApiError && err.status === 409) { fieldError('id', err.message); first = inputs.id; }
      (first ?? inputs.id).focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t('provision.submit');
    }
  });

  function copyButton(text) {
    const b = h('button', { type: 'button', class: 'secondary small' }, t('app.copy'));
    b.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text);
        b.textContent = t('app.copied');
        announce(t('app.copied'));
      } catch {
        // plain http on a LAN address is not a secure context: select the text for Ctrl+C instead
        const code = b.previousElementSibling;
        const sel = getSelection();
        sel.removeAllRanges();
        const r = document.createRange();
        r.selectNodeContents(code);
        sel.addRange(r);
      }
    });
    return b;
  }

  function showCredentials(creds, device) {
    const headingId = uid('cred');
    const done = h('button', { type: 'button', class: 'secondary' }, t('provision.done'));
    const box = h('section', { class: 'credentials', 'aria-labelledby': headingId, dataset: { deviceId: device.id } },
      h('h3', { id: headingId, tabindex: '-1' }, t('provision.credentials', { id: device.id })),
      h('p', { class: 'warning' }, t('provision.once')),
      h('dl', { class: 'facts' },
        h('div', {}, h('dt', {}, t('provision.username')), h('dd', {}, h('code', { class: 'username' }, creds.username), ' ', copyButton(creds.username))),
        h('div', {}, h('dt', {}, t('provision.password')), h('dd', {}, h('code', { class: 'password' }, creds.password), ' ', copyButton(creds.password))),
        h('div', {}, h('dt', {}, t('provision.topic')), h('dd', {}, h('code', {}, `devices/${device.id}/up`)))),
      h('p', {}, h('a', { href: href('device', device.id) }, device.id), ' · ', done));
    done.addEventListener('click', () => { fill(credentials); inputs.id.focus(); });
    fill(credentials, box);
    box.querySelector('h3').focus();
  }

  bulkForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    fill(bulkResult);
    const f = file.files?.[0];
    if (!f) { bulkStatus.textContent = t('provision.noFile'); file.focus(); return; }
    upload.disabled = true;
    bulkStatus.textContent = t('provision.uploading');
    try {
      const res = await api('/devices/bulk', { method: 'POST', body: await f.text(), contentType: 'text/csv' });
      bulkStatus.textContent = t('provision.bulkResult', { created: res.created, updated: res.updated, errors: res.errors.length });
      renderBulk(res);
    } catch (err) {
      bulkStatus.textContent = t('app.error', { message: err.message });
    } finally {
      upload.disabled = false;
    }
  });

  let downloadUrl = null;
  function renderBulk(res) {
    const parts = [];
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = null;
    if (res.errors.length) {
      parts.push(h('h3', {}, t('provision.rowErrors')), h('table', { class: 'responsive row-errors' },
        h('thead', {}, h('tr', {}, ['row', 'id', 'error'].map((c) => h('th', { scope: 'col' }, t(`provision.col.${c}`))))),
        h('tbody', {}, res.errors.map((e) => h('tr', { dataset: { row: e.row } },
          h('th', { scope: 'row', 'data-label': t('provision.col.row') }, String(e.row)),
          h('td', { 'data-label': t('provision.col.id') }, e.id ?? t('app.none')),
          h('td', { 'data-label': t('provision.col.error') }, e.error))))));
    }
    if (res.credentials.length) {
      const csv = ['username,password', ...res.credentials.map((c) => `${c.username},${c.password}`)].join('\n');
      downloadUrl = URL.createObjectURL(new Blob([`${csv}\n`], { type: 'text/csv' }));
      const download = h('a', { class: 'button secondary', download: 'device-credentials.csv', href: downloadUrl }, t('provision.download'));
      parts.push(h('h3', {}, t('provision.newCredentials')), h('p', { class: 'warning' }, t('provision.once')), download,
        h('table', { class: 'responsive new-credentials' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('provision.username')), h('th', { scope: 'col' }, t('provision.password')))),
          h('tbody', {}, res.credentials.map((c) => h('tr', {}, h('th', { scope: 'row', 'data-label': t('provision.username') }, h('a', { href: href('device', c.id) }, c.username)), h('td', { 'data-label': t('provision.password') }, h('code', {}, c.password)))))));
    }
    fill(bulkResult, parts);
  }

  return {
    holdsSecrets: () => Boolean(credentials.firstChild || bulkResult.querySelector('.new-credentials')),
    unmount() {
      // the passwords go with the page
      fill(credentials);
      fill(bulkResult);
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    },
  };
}
