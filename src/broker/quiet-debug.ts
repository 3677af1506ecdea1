/**
 * mqtt-packet (aedes' parser and writer, and MQTT.js') calls `debug(...)` about 25 times per
 * PUBLISH it parses and PUBACK it writes. With its namespace off, each call still builds the
 * rest-argument array of debug's `function debug(...args)` and reads `enabled` through a
 * getter before returning: at 500 devices x 10 in flight that was 2.8 % of the main thread's
 * time and 16 % of everything it allocated, ~950 bytes per message (a CPU profile and an
 * allocation-sampling heap profile of `npm run bench`, docs/performance.md "Fifth pass").
 *
 * Loaded before mqtt-packet (first import of src/main.ts and of the broker): the `debug`
 * factory that mqtt-packet resolves is wrapped so that an `mqtt-packet:*` logger that DEBUG
 * leaves off is a plain no-op. Any other namespace, and one DEBUG turns on
 * (`DEBUG=mqtt-packet:* npm start`), gets debug's own logger as before. DEBUG is read when the
 * logger is made, at start-up, as debug itself does; `debug.enable()` called later turns on
 * only loggers made after it (for mqtt-packet, none).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

type DebugFactory = ((namespace: string) => { enabled: boolean }) & { __quiet?: true };

const PREFIX = 'mqtt-packet:';

function off(namespace: string): () => void {
  const noop = (): void => {};
  return Object.assign(noop, { enabled: false, namespace, extend: () => noop, destroy: () => true, log: noop });
}

/** wraps the debug factory mqtt-packet resolves (idempotent); loggers made before it stay as they are */
export function quietMqttPacketDebug(): void {
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve('debug', { paths: [dirname(require.resolve('mqtt-packet/package.json'))] });
  } catch {
    return; // no mqtt-packet or no debug: nothing to quiet
  }
  const factory = require(path) as DebugFactory;
  if (factory.__quiet) return;
  const quiet = new Proxy(factory, {
    apply(target, self, args: [string]) {
      const logger = Reflect.apply(target, self, args);
      return typeof args[0] === 'string' && args[0].startsWith(PREFIX) && !logger.enabled ? off(args[0]) : logger;
    },
    get(target, key, receiver) { return key === '__quiet' ? true : Reflect.get(target, key, receiver); },
  });
  // what every later require('debug') from mqtt-packet's directory returns
  require.cache[path]!.exports = quiet;
}

quietMqttPacketDebug();
