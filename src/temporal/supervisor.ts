/**
 * `npm start` keeps Temporal up while it runs. A dev server of ours (started or adopted) that
 * exits, or stops answering, is restarted on the same port and database file; a Temporal we did
 * not start that stops answering is replaced by a dev server of ours when its address is local and
 * its port is free. Restarts are bounded (5 in 10 minutes): past that, or when nothing can take the
 * lost server's place, supervision gives up and `npm start` exits non-zero, so that whatever
 * supervises it (systemd, Docker, a person) sees it.
 *
 * The worker needs nothing from here: its pollers keep reconnecting to the same address, and go
 * back to work once a server answers there again.
 */
import type { Config } from '../config';
import type { ProvisionLogger } from './cli-binary';
import { temporalConnectionOptions } from './connection';
import {
  devServerLogPath,
  ensureTemporal,
  isLocalAddress,
  listening,
  splitAddress,
  temporalAnswers,
  type EnsureTemporalOptions,
  type TemporalHandle,
} from './dev-server';

export interface SuperviseOptions extends Omit<EnsureTemporalOptions, 'onUnexpectedExit'> {
  /** How long Temporal may not answer before it is replaced (or supervision gives up). Default 30 s. */
  lostAfterMs?: number;
  /** How often Temporal is asked whether it answers. Default min(5 s, lostAfterMs / 3). */
  probeEveryMs?: number;
  /** At most this many restarts within restartWindowMs. Default 5 in 10 minutes. */
  maxRestarts?: number;
  restartWindowMs?: number;
}

export interface TemporalSupervisor {
  /** The Temporal in use now (it changes when one is restarted or replaced). */
  current(): TemporalHandle;
  /** How many times Temporal was restarted or replaced. */
  restarts(): number;
  /** Resolves once supervision gives up, with why (it never rejects, and never resolves after stop()). */
  readonly lost: Promise<string>;
  /** Stops supervising, then stops the dev server if it is ours. */
  stop(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 2000;
const RETRY_PAUSE_MS = 1000;

export async function superviseTemporal(
  config: Config,
  logger: ProvisionLogger,
  opts: SuperviseOptions = {},
): Promise<TemporalSupervisor> {
  const { address } = config.temporal;
  // TLS and an API key as every connection has them: a TLS frontend never answers a plaintext probe.
  const target = temporalConnectionOptions(config);
  const lostAfterMs = opts.lostAfterMs ?? config.temporal.lostAfterMs;
  const probeEveryMs = opts.probeEveryMs ?? Math.max(100, Math.min(5000, Math.floor(lostAfterMs / 3)));
  const maxRestarts = opts.maxRestarts ?? 5;
  const restartWindowMs = opts.restartWindowMs ?? 10 * 60_000;
  const ensureOpts = { startTimeoutMs: opts.startTimeoutMs, allowBuild: opts.allowBuild, allowDownload: opts.allowDownload };

  let stopping = false;
  let gaveUp = false;
  let recovering: Promise<void> | undefined;
  let restartTimes: number[] = [];
  let restartCount = 0;
  let giveUp!: (why: string) => void;
  const lost = new Promise<string>((resolve) => {
    giveUp = (why) => {
      if (gaveUp || stopping) return;
      gaveUp = true;
      clearTimeout(probeTimer);
      logger.error({ address }, `${why}. Giving up on Temporal.`);
      resolve(why);
    };
  });

  // Each handle reports its own death; a report from a handle already replaced is stale.
  let generation = 0;
  const ensure = async (): Promise<TemporalHandle> => {
    const mine = ++generation;
    return ensureTemporal(config, logger, {
      ...ensureOpts,
      // A restart never builds or downloads the CLI (minutes, during which a stop would wait).
      ...(mine > 1 ? { allowBuild: false, allowDownload: false } : {}),
      onUnexpectedExit: ({ code, signal }) => {
        if (mine !== generation) return;
        const how = signal ? `was killed by ${signal}` : code === null ? 'is gone' : `exited with code ${code}`;
        recover(`The Temporal dev server on ${address} (pid ${handle.pid ?? '?'}) ${how}`);
      },
    });
  };

  let handle = await ensure();
  let lastAnswered = Date.now();

  /** Starts the one recovery at a time; a second cause during a recovery is the same outage. */
  const recover = (why: string): void => {
    if (stopping || gaveUp || recovering) return;
    recovering = recoverFrom(why).finally(() => {
      recovering = undefined;
    });
  };

  const recoverFrom = async (why: string): Promise<void> => {
    for (let cause = why; !stopping && !gaveUp; ) {
      const now = Date.now();
      restartTimes = restartTimes.filter((t) => now - t < restartWindowMs);
      if (restartTimes.length >= maxRestarts) {
        giveUp(
          `${cause}, and Temporal was already restarted ${restartTimes.length} times in the last ` +
            `${Math.round(restartWindowMs / 60_000)} min (see ${devServerLogPath(config)})`,
        );
        return;
      }
      restartTimes.push(now);
      restartCount++;
      logger.error(
        { address, restart: restartTimes.length, of: maxRestarts, windowMinutes: Math.round(restartWindowMs / 60_000) },
        `${cause}: starting a Temporal dev server on ${address} again (same database file; restart ` +
          `${restartTimes.length} of at most ${maxRestarts} in ${Math.round(restartWindowMs / 60_000)} min)`,
      );
      try {
        generation++; // the old handle's exit, if it comes now, is this outage
        await handle.stop(); // ours and hung: end it first; dead or external: a no-op
        if (stopping) return;
        handle = await ensure();
        lastAnswered = Date.now();
        logger.info({ address, origin: handle.origin, pid: handle.pid }, 'Temporal answers again; the worker resumes on its own');
        return;
      } catch (err) {
        cause = `Temporal could not be started again on ${address}: ${(err as Error).message}`;
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  };

  /** A Temporal that has not answered for lostAfterMs: restart it, replace it, or give up. */
  const onUnanswered = async (): Promise<void> => {
    const seconds = Math.round((Date.now() - lastAnswered) / 1000);
    if (handle.origin !== 'external') {
      recover(`The Temporal dev server on ${address} (pid ${handle.pid ?? '?'}) is running but has not answered for ${seconds} s`);
      return;
    }
    if (!isLocalAddress(address)) {
      giveUp(
        `The Temporal server at ${address} has not answered for ${seconds} s. It is not a local address, so ` +
          'personal-ops will not start a dev server in its place',
      );
      return;
    }
    const { host, port } = splitAddress(address);
    if (await listening(host, port)) {
      giveUp(
        `The Temporal server at ${address}, which this personal-ops did not start, has not answered for ${seconds} s, ` +
          `and port ${port} is still held, so no dev server can take its place`,
      );
      return;
    }
    recover(`The Temporal server at ${address}, which this personal-ops did not start, has not answered for ${seconds} s and its port is free`);
  };

  let probeTimer: NodeJS.Timeout | undefined;
  const probeLoop = async (): Promise<void> => {
    if (stopping || gaveUp) return;
    if (!recovering) {
      if (await temporalAnswers(target, PROBE_TIMEOUT_MS)) {
        lastAnswered = Date.now();
      } else if (!recovering && Date.now() - lastAnswered >= lostAfterMs) {
        await onUnanswered();
      } else {
        logger.warn({ address, silentForMs: Date.now() - lastAnswered, lostAfterMs }, 'Temporal does not answer');
      }
    } else {
      lastAnswered = Date.now();
    }
    if (stopping || gaveUp) return;
    probeTimer = setTimeout(() => void probeLoop(), probeEveryMs);
    probeTimer.unref();
  };
  probeTimer = setTimeout(() => void probeLoop(), probeEveryMs);
  probeTimer.unref();

  let stopPromise: Promise<void> | undefined;
  return {
    current: () => handle,
    restarts: () => restartCount,
    lost,
    stop: () => {
      stopPromise ??= (async () => {
        stopping = true;
        clearTimeout(probeTimer);
        await recovering;
        await handle.stop();
      })();
      return stopPromise;
    },
  };
}
