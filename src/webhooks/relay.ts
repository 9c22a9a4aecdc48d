import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import { enqueueDeliveries, type WebhooksQueue } from './queue.js';
import { relayMessages } from './store.js';

const BATCH = 200;

export interface Relay {
  /** Moves what is waiting now; resolves with how many messages it moved. */
  runOnce(): Promise<number>;
  stop(): void;
}

/**
 * The outbox's relay: every worker runs one. Postgres holds an event from the transaction that
 * caused it until the queue has it, so a worker dying in between loses nothing; the queue's job
 * ids make a repeated hand-over harmless.
 */
export function startRelay(db: Db, queue: WebhooksQueue, everyMs: number, logger: Logger): Relay {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const runOnce = async () => {
    let moved = 0;
    for (let batch = BATCH; batch === BATCH; moved += batch) {
      batch = await relayMessages(db, BATCH, (ids) => enqueueDeliveries(queue, ids));
    }
    return moved;
  };
  const tick = () => {
    runOnce()
      .catch((err: unknown) => logger.warn({ err: { message: (err as Error).message } }, 'webhook relay failed; trying again'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, everyMs).unref();
      });
  };
  tick();
  return {
    runOnce,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
