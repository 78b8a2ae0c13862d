import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { startAzurite, type AzuriteInstance } from '../dev/azurite';

let azurite: AzuriteInstance | undefined;

/** One in-memory Azurite for the whole run; tests isolate themselves with unique table names. */
export async function setup(project: TestProject): Promise<void> {
  azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}
