// Ctrl-C between synchronous steps: a meta-step, an inner step or a generated trajectory runs to its
// end, so a signal handler can only run where a loop gives the event loop a turn.

/** Lets the event loop run (signal handlers such as Ctrl-C, I/O): a meta-step is synchronous,
 * and awaiting a resolved promise alone never yields to them. */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  return new Promise((r) => (g.setImmediate ? g.setImmediate(r) : setTimeout(r, 0)));
}

/** Whether `signal` has aborted, once the event loop has had the chance to deliver a pending Ctrl-C:
 * the work between two calls is synchronous, so a signal handler runs only here. */
export async function interrupted(signal?: AbortSignal): Promise<boolean> {
  await yieldToEventLoop();
  return signal?.aborted ?? false;
}

/**
 * interrupted(signal) for a loop of many short synchronous steps (inner steps, trajectories), called
 * after each: it gives the event loop a turn only about every `everyMs`, since a turn per step can
 * cost more than the step, and answers at once when the signal has already aborted.
 */
export function interruptCheck(signal?: AbortSignal, everyMs = 50): () => Promise<boolean> {
  let last = Date.now();
  return async () => {
    if (signal?.aborted) return true;
    if (Date.now() - last < everyMs) return false;
    const stop = await interrupted(signal);
    last = Date.now();
    return stop;
  };
}
