import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/** Runs the CLI in-process with console and std streams captured: its exit status and what it printed. */
export function capture(argv: string[]): { status: number; out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(chunk => (out.push(String(chunk)), true));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(chunk => (err.push(String(chunk)), true));
  try {
    return { status: main(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    stdout.mockRestore();
    stderr.mockRestore();
  }
}
