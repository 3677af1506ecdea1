/**
 * Site paths are a hierarchy (community/compound/building/unit): a prefix names a subtree
 * on whole segments, so `a/b` holds `a/b` and `a/b/c` but not `a/bc`. The empty prefix
 * (or `/`) is the whole estate.
 */
export function siteWithin(site: string, prefix: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  return p === '' || site === p || site.startsWith(`${p}/`);
}
