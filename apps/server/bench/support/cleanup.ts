// Everything a bench run starts (PostgreSQL, server processes, temp dirs, scratch databases)
// registers how to undo it here. The undo steps run in reverse order once: at the end, on a
// failure, and on Ctrl-C / SIGTERM, so a run never leaves a process or a directory behind.

type Step = { name: string; run: () => unknown };

const steps: Step[] = [];
let running: Promise<void> | undefined;

/** Registers an undo step; the returned function runs it early (and unregisters it). */
export function onCleanup(name: string, run: () => unknown): () => Promise<void> {
  const step = { name, run };
  steps.push(step);
  return async () => {
    const i = steps.indexOf(step);
    if (i >= 0) {
      steps.splice(i, 1);
      await runStep(step);
    }
  };
}

async function runStep(step: Step): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(step.run),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('took longer than 20 s')), 20_000);
      }),
    ]);
  } catch (error) {
    console.error(`cleanup: ${step.name} failed: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

export function cleanup(): Promise<void> {
  running ??= (async () => {
    for (let step = steps.pop(); step; step = steps.pop()) await runStep(step);
  })();
  return running;
}

/** Runs a bench's main function with cleanup on success, failure and signals. */
export function runBench(main: () => Promise<void>): void {
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by the
  // tsx CLI), and a second signal without a handler would kill it in the middle of cleaning up.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (running) return;
      console.error(`\n${signal}: stopping and cleaning up…`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  main().then(
    async () => {
      await cleanup();
      // Pools and sockets are closed by the cleanup steps; exit explicitly anyway so a
      // forgotten handle cannot keep the command hanging after its report was printed.
      process.exit(process.exitCode ?? 0);
    },
    async (error: unknown) => {
      console.error(error);
      await cleanup();
      process.exit(1);
    },
  );
}
