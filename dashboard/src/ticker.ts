import { useMemo, useState } from 'preact/hooks';

/**
 * Coalesces bursts of updates into one per animation frame: `schedule()` may be called for every event; `onFrame` and
 * the re-render run once per frame at most.
 */
export function useFrameTicker(onFrame?: () => void): { tick: number; schedule: () => void } {
  const [tick, setTick] = useState(0);
  const schedule = useMemo(() => {
    let queued = false;
    return () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        onFrame?.();
        setTick((t) => t + 1);
      });
    };
  }, []); // onFrame is captured once: callers pass a function that reads mutable state

  return { tick, schedule };
}
