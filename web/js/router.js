// Hash routes: #/<name>[/<param>][?query]. No server-side routing needed, deep links work.

export function parseRoute(hash = location.hash) {
  const [path, qs = ''] = hash.replace(/^#\/?/, '').split('?');
  const [name, ...rest] = path.split('/');
  return { name: name || 'alerts', param: rest.length ? decodeURIComponent(rest.join('/')) : undefined, query: new URLSearchParams(qs) };
}

export function href(name, param, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const path = `#/${name}${param !== undefined ? `/${encodeURIComponent(param)}` : ''}`;
  return q.toString() ? `${path}?${q}` : path;
}

/** Records a view's state (filters, ranges) in the address without a history entry per change. */
export function replaceQuery(query) {
  const route = parseRoute();
  const next = href(route.name, route.param, query);
  if (next !== location.hash) history.replaceState(null, '', next);
}
