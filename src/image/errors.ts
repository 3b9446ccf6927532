/**
 * Image import refuses bad input with a plain Error whose message starts with `image: ` (the CLI reports it as unusable
 * input, exit status 2). Messages name the entry or file at fault.
 */
export function imageError(message: string): Error {
  return new Error(`image: ${message}`);
}

/** A name as it appears in a message: quoted, with control characters escaped so hostile names cannot forge output. */
export function quoteName(name: string): string {
  return `'${JSON.stringify(name).slice(1, -1)}'`;
}
