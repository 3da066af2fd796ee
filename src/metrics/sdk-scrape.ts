/** Reads the Temporal SDK's own Prometheus endpoint (src/runtime.ts) for GET /metrics to append. */

/** Its text is a few hundred lines; anything far bigger is not what we expect and is left out. */
const MAX_SDK_TEXT_BYTES = 4 * 1024 * 1024;

export type SdkScrape = { ok: true; text: string } | { ok: false; reason: string };

export async function scrapeSdkMetrics(url: string | undefined, timeoutMs: number): Promise<SdkScrape> {
  if (!url) return { ok: false, reason: 'the SDK metrics exporter is not on in this process' };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { ok: false, reason: `the SDK endpoint answered HTTP ${response.status}` };
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_SDK_TEXT_BYTES) return { ok: false, reason: `the SDK's text is ${declared} bytes, over ${MAX_SDK_TEXT_BYTES}` };
    const text = await response.text();
    if (Buffer.byteLength(text) > MAX_SDK_TEXT_BYTES) return { ok: false, reason: `the SDK's text is over ${MAX_SDK_TEXT_BYTES} bytes` };
    return { ok: true, text };
  } catch (err) {
    const reason = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
    return { ok: false, reason: `the SDK endpoint failed: ${reason}` };
  }
}
