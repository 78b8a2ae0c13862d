import { randomUUID } from 'node:crypto';
import {
  InvocationContext,
  type EffectiveFunctionOptions,
  type InvocationContextExtraInputs,
  type InvocationContextExtraOutputs,
  type LogLevel,
  type RetryContext,
  type TraceContext,
  type TriggerMetadata,
} from '@azure/functions';

/** Where the local host sends a function's log line (level as the Functions host names it). */
export type LocalLogHandler = (invocationId: string, level: LogLevel, args: unknown[]) => void;

/**
 * The invocation context the local host hands a function: the members of `InvocationContext` (@azure/functions),
 * built for the hot path. The real class keeps its log handler and its extra inputs and outputs in WeakMaps (three
 * entries per invocation, which the garbage collector walks as ephemerons) and builds its options object each time;
 * a status read uses none of them. Here the invocation id is drawn on first read, the options are the function's
 * (built once), and the extra inputs and outputs come from a real context built only when a function asks.
 */
export class LocalInvocationContext implements InvocationContext {
  readonly retryContext?: RetryContext;
  readonly traceContext?: TraceContext;
  private id: string | undefined;
  private extras: InvocationContext | undefined;

  constructor(
    readonly functionName: string,
    readonly options: EffectiveFunctionOptions,
    private readonly logHandler: LocalLogHandler,
    readonly triggerMetadata?: TriggerMetadata,
  ) {}

  get invocationId(): string {
    return (this.id ??= randomUUID());
  }

  get extraInputs(): InvocationContextExtraInputs {
    return this.real().extraInputs;
  }

  get extraOutputs(): InvocationContextExtraOutputs {
    return this.real().extraOutputs;
  }

  log(...args: unknown[]): void {
    this.logHandler(this.invocationId, 'information', args);
  }

  trace(...args: unknown[]): void {
    this.logHandler(this.invocationId, 'trace', args);
  }

  debug(...args: unknown[]): void {
    this.logHandler(this.invocationId, 'debug', args);
  }

  info(...args: unknown[]): void {
    this.logHandler(this.invocationId, 'information', args);
  }

  warn(...args: unknown[]): void {
    this.logHandler(this.invocationId, 'warning', args);
  }

  error(...args: unknown[]): void {
    this.logHandler(this.invocationId, 'error', args);
  }

  private real(): InvocationContext {
    return (this.extras ??= new InvocationContext({
      functionName: this.functionName,
      invocationId: this.invocationId,
      options: this.options,
    }));
  }
}

/** A function's effective options as the host reports them to its invocations: its trigger, no extra bindings. */
export function effectiveOptions(name: string, type: string): EffectiveFunctionOptions {
  return { trigger: { name, type }, extraInputs: [], extraOutputs: [] };
}
