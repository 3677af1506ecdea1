/** Composition root: read config, start the gateway, stop it on SIGTERM/SIGINT. */
// first: before aedes loads mqtt-packet (see the module)
import './broker/quiet-debug.js';
import pino from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { Gateway } from './gateway.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gateway: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // secrets never reach a log line, whatever a caller passes (the HTTP logger also strips ?token= from URLs)
  const log = pino({ level: config.logLevel, base: { service: 'gateway' }, redact: { paths: ['password', 'token', 'secret', '*.password', '*.token', '*.secret', 'req.headers.authorization', 'headers.authorization'], censor: '[redacted]' } });
  const gateway = new Gateway(config, { log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    gateway.stop().then(() => process.exit(0), (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await gateway.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gateway: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      process.stderr.write(`gateway: cannot listen: ${e.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

main().catch((err) => {
  process.stderr.write(`gateway: failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
