// The console's shell: sign-in, navigation, hash routes (#/alerts, #/sites, #/device/<id>,
// #/summary, #/provision, #/models, #/model/<id>), language switch. Each view is a module with
// mount(container, route) returning {unmount?, update?(route)}: update takes a change of the
// route's query (a tree node, a filter) without rebuilding the view.
import { t, lang, setLang, onLangChange } from './i18n.js';
import { h, fill, field } from './dom.js';
import { api, ApiError, session, probeRole, onUnauthorized, clearCache } from './api.js';
import { alertsStore } from './alerts-store.js';
import { clearReadings } from './latest.js';
import { parseRoute } from './router.js';
import * as board from './views/board.js';
import * as sites from './views/sites.js';
import * as device from './views/device.js';
import * as summary from './views/summary.js';
import * as provision from './views/provision.js';
import * as models from './views/models.js';
import * as silences from './views/silences.js';
import * as reports from './views/reports.js';

const VIEWS = { alerts: board, sites, device, summary, provision, models, model: models, silences, reports };
const main = document.getElementById('main');
const nav = document.getElementById('nav');
let current = null; // what the mounted view returned
let lastRoute = null;

function translateShell() {
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  nav.setAttribute('aria-label', t('nav.label'));
  document.getElementById('lang-switch').value = lang();
  const who = document.getElementById('who');
  who.hidden = !session.token;
  who.textContent = session.role ? t('app.signedInAs', { role: t(`role.${session.role}`) }) : '';
  updateAlertCount();
}

function updateAlertCount() {
  const count = alertsStore.active.size;
  const badge = document.getElementById('nav-alert-count');
  badge.textContent = alertsStore.loaded && count ? String(count) : '';
  const link = badge.closest('a');
  if (alertsStore.loaded) link.setAttribute('aria-label', t('nav.alertsCount', { count }));
  else link.removeAttribute('aria-label');
}

function showShell(signedIn) {
  nav.hidden = !signedIn;
  document.getElementById('sign-out').hidden = !signedIn;
  for (const el of document.querySelectorAll('[data-admin]')) el.hidden = !session.isAdmin;
  translateShell();
}

function unmountView() {
  current?.unmount?.();
  current = null;
}

function render({ focus = true } = {}) {
  unmountView();
  if (!session.token) return renderLogin();
  const route = parseRoute();
  lastRoute = route;
  for (const a of nav.querySelectorAll('a[data-route]')) {
    if (a.dataset.route.split(' ').includes(route.name)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = VIEWS[route.name];
  fill(main);
  if (!view || (route.name === 'provision' && !session.isAdmin)) {
    main.append(h('h1', { tabindex: '-1' }, t(view ? 'app.forbidden' : 'app.notFound')));
  } else {
    current = view.mount(main, route) ?? null;
  }
  const heading = main.querySelector('h1');
  document.title = `${heading?.textContent ?? ''} · ${t('app.title')}`;
  if (focus && heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

function renderLogin(message) {
  showShell(false);
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false', required: true, autocapitalize: 'off' });
  const error = h('p', { class: 'form-error', role: 'alert' }, message ?? '');
  const submit = h('button', { type: 'submit', class: 'primary' }, t('login.submit'));
  const form = h('form', { class: 'login card', novalidate: true }, [
    h('h1', { tabindex: '-1' }, t('login.title')),
    h('p', {}, t('login.intro')),
    field(t('login.key'), input),
    error,
    submit,
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) { error.textContent = t('login.invalid'); input.focus(); return; }
    submit.disabled = true;
    error.textContent = t('login.checking');
    try {
      const role = await probeRole(token);
      session.save(token, role);
      startSession();
      if (!location.hash || location.hash === '#') history.replaceState(null, '', '#/alerts');
      render();
    } catch (err) {
      error.textContent = err instanceof ApiError ? (err.status === 401 ? t('login.invalid') : t('app.error', { message: err.message })) : t('login.unreachable', { message: err.message });
      submit.disabled = false;
      input.focus();
      input.select();
    }
  });
  fill(main, form);
  document.title = `${t('login.title')} · ${t('app.title')}`;
  input.focus();
}

function startSession() {
  showShell(true);
  alertsStore.start();
}

function signOut(message) {
  unmountView();
  session.clear();
  alertsStore.reset();
  clearCache();
  clearReadings();
  renderLogin(message);
}

alertsStore.subscribe((change) => {
  if (change.type !== 'status') updateAlertCount();
});
onUnauthorized(() => signOut(t('login.invalid')));
onLangChange(() => {
  translateShell();
  // credentials on screen are shown once: such a page switches language on the next visit
  if (current?.holdsSecrets?.()) return;
  if (session.token) render({ focus: false });
  else renderLogin();
});

document.getElementById('lang-switch').addEventListener('change', (e) => setLang(e.target.value));
document.getElementById('sign-out').addEventListener('click', () => signOut());
document.getElementById('skip-link').addEventListener('click', () => main.focus());
window.addEventListener('hashchange', () => {
  const route = parseRoute();
  if (session.token && current?.update && lastRoute && route.name === lastRoute.name && route.param === lastRoute.param) {
    lastRoute = route;
    current.update(route);
    return;
  }
  render();
});

if (session.token) {
  startSession();
  render({ focus: false });
} else {
  renderLogin();
}

// the API is reachable and the key still valid? (a key deleted since the last visit signs out)
if (session.token) api('/alerts', { query: { limit: 1 } }).catch(() => {});
