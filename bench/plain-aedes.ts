/** The baseline: plain aedes 1.x, no hooks, one no-op subscriber on '#', on the port given in argv. */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2] ?? 0);
const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(port, '127.0.0.1', () => {
  // a no-op subscriber inside the broker: every message is relayed to it, as to a real consumer
  broker.subscribe('#', (_packet, cb) => cb(), () => process.stdout.write(`ready ${(server.address() as { port: number }).port}\n`));
});
process.on('SIGTERM', () => { server.close(); broker.close(() => process.exit(0)); });
