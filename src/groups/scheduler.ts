/** Time for the coordinator: injected, so tests drive session timeouts and rebalance delays by hand. */
export interface Scheduler {
  now(): number;
  /** Runs `fn` after `ms`; returns a handle for {@link cancel}. */
  schedule(fn: () => void, ms: number): unknown;
  cancel(handle: unknown): void;
}

/** Real time. Timers are unref'd: a pending session timeout never keeps the process alive. */
export const realScheduler: Scheduler = {
  now: () => Date.now(),
  schedule: (fn, ms) => setTimeout(fn, ms).unref(),
  cancel: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
