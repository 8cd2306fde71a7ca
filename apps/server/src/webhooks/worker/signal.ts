// A wake-up a loop can sleep on: wake() ends the current (or next) wait early.
export type Signal = { wake(): void; wait(ms: number): Promise<void> };

export function signal(): Signal {
  let woken = false;
  let wakeUp: (() => void) | undefined;
  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    wait(ms) {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wakeUp = undefined;
          woken = false;
          resolve();
        };
        const timer = setTimeout(done, woken ? 0 : ms);
        wakeUp = done;
      });
    },
  };
}
