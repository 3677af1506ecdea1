/**
 * The web console (web/, plain ES modules, no build step) and the uPlot files it imports,
 * served by the gateway itself: `/` and `/vendor/uplot/`. Only the files that exist at
 * start-up get a route (`wildcard: false`), so the console cannot shadow /api/v1, /docs,
 * /openapi.json or the operations endpoints, and an unknown path still gets the API's JSON 404.
 */
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';

export const WEB_DIR = resolve(import.meta.dirname, '../../web');
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));
const UPLOT_FILES = new Set(['/uPlot.esm.js', '/uPlot.min.css']);

/**
 * helmet's global default CSP carries `upgrade-insecure-requests`, which makes a browser
 * fetch the console's own scripts over https when the gateway is reached by a LAN address
 * over plain http (how most estates run it): a blank page. Over TLS the directive stays.
 * No inline script or style anywhere, EventSource and fetch to the same origin only.
 */
function consoleCsp(https: boolean): string {
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "font-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
    ...(https ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

export const consoleRoutes = (): FastifyPluginAsync => async (app) => {
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('content-security-policy', consoleCsp(req.protocol === 'https'));
    // the console's modules change with the gateway version: revalidate instead of caching stale code
    reply.header('cache-control', 'no-cache');
    return payload;
  });
  await app.register(fastifyStatic, {
    root: WEB_DIR, prefix: '/', wildcard: false, index: 'index.html', dotfiles: 'ignore', cacheControl: false,
  });
  await app.register(fastifyStatic, {
    root: UPLOT_DIR, prefix: '/vendor/uplot/', wildcard: false, decorateReply: false, cacheControl: false,
    globIgnore: ['**/*.cjs.js', '**/*.iife*.js', '**/*.d.ts'],
    allowedPath: (path) => UPLOT_FILES.has(path),
  });
};
