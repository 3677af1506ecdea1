/** Printed at the start of every `npm test`: what this run does not cover, and where that is. */
export default function setup(): void {
  process.stdout.write([
    '',
    '  NOTE: the InfluxDB 2 tests (test/docker, testcontainers) are NOT part of npm test: they need a',
    '  Docker engine, which CI machines here do not have. Run `npm run test:docker` where Docker runs.',
    '  The InfluxDB 1.x store, the spool and the shared code paths run here against a real influxd.',
    '',
  ].join('\n') + '\n');
}
