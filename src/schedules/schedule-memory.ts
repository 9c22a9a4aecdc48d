import { listSchedules, upsertSchedule, type Schedule, type SchedulesQueue } from './schedules-queue.js';

/**
 * Schedules live only in Redis (as BullMQ job schedulers). Each worker process keeps the list it
 * last read, so a Redis that lost its data gets them back from the fleet's memory instead of
 * silently never firing again. A schedule removed shortly before the loss may come back with them.
 */
export interface ScheduleMemory {
  /** Re-reads the schedules; an empty list (what a lost Redis shows) keeps the last one remembered. */
  remember(): Promise<void>;
  /** Upserts every remembered schedule; returns how many. */
  restore(): Promise<number>;
}

export function createScheduleMemory(queue: SchedulesQueue): ScheduleMemory {
  let known: Schedule[] = [];
  return {
    async remember() {
      const current = (await listSchedules(queue)).map((entry) => entry.schedule);
      if (current.length > 0) known = current;
    },
    async restore() {
      for (const schedule of known) await upsertSchedule(queue, schedule);
      return known.length;
    },
  };
}
