/** A minimal Server-Sent Events reader over fetch: calls onEvent for every `event:`/`data:` block. */
export async function readSse(url: string, onEvent: (e: { event: string; data: any }) => void): Promise<{ close: () => void }> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
  if (res.status !== 200 || !res.body) {
    controller.abort();
    throw new Error(`SSE ${url.split('?')[0]}: HTTP ${res.status}`);
  }
  (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) onEvent({ event, data: JSON.parse(data) });
        }
      }
    } catch { /* closed */ }
  })();
  return { close: () => controller.abort() };
}
