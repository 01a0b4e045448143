/**
 * Runs tasks one after another, in the order they were given: what a task holds while it runs (a
 * decompressed batch) is then held by one task at a time, however many requests ask at once.
 */
export class OneAtATime {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task, task);
    // The next task waits for this one whether it succeeds or fails.
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
