import { execFile } from 'node:child_process';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs a Mosquitto client tool (mosquitto_pub / mosquitto_sub) against the gateway. */
export function mosquitto(tool: 'mosquitto_pub' | 'mosquitto_sub', args: string[], input?: Buffer | string, timeoutMs = 15_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(tool, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(new Error(`${tool} is not installed: apt-get install -y mosquitto-clients`));
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export async function connect(port: number, opts: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 10_000, ...opts });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (e) => reject(e));
  });
  return client;
}

export function publish(client: MqttClient, topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
  return new Promise((resolve, reject) => client.publish(topic, payload, { qos }, (err) => (err ? reject(err) : resolve())));
}

export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The QoS the broker granted for one filter (128 = refused), without treating a refusal as an error. */
export function granted(client: MqttClient, filter: string, qos: 0 | 1 | 2 = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos }, (err, res) => {
      // MQTT.js reports a refused filter as an error carrying the SUBACK return code
      const e = err as { code?: number; packet?: { granted?: number[] } } | undefined;
      const code = e?.packet?.granted?.[0] ?? e?.code;
      if (err) return code !== undefined && code >= 128 ? resolve(code) : reject(err);
      if (res && res[0]) return resolve(res[0].qos);
      reject(new Error('no SUBACK'));
    });
  });
}
