/**
 * The problems an error lists (ConfigError, InvalidQueueMessageError), or none when `run` succeeds. Any other
 * error is rethrown.
 */
export function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    const problems = (error as { problems?: unknown }).problems;
    if (Array.isArray(problems)) return problems as string[];
    throw error;
  }
  return [];
}
