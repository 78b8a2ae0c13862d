/**
 * Structured logging. The Functions `InvocationContext` satisfies this interface, so handlers pass their
 * context straight in and every line lands in Application Insights with its properties.
 */
export interface Logger {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
