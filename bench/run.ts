import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `npm run bench -- <name>`: run the exported main() of bench/<name>.ts. */
const dir = dirname(fileURLToPath(import.meta.url));

function available(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts')
    .map((f) => f.slice(0, -3))
    .sort();
}

const name = process.argv[2];
const names = available();
if (!name || !names.includes(name)) {
  if (name) console.error(`unknown benchmark "${name}"`);
  console.error(`usage: npm run bench -- <name>\navailable: ${names.join(', ') || '(none)'}`);
  process.exit(name ? 1 : 2);
}

const mod = (await import(pathToFileURL(join(dir, `${name}.ts`)).href)) as { main?: (args: string[]) => Promise<void> };
if (typeof mod.main !== 'function') {
  console.error(`bench/${name}.ts exports no main()`);
  process.exit(1);
}
try {
  await mod.main(process.argv.slice(3));
  // A forgotten handle (a timer, a socket) must not keep a finished benchmark alive.
  process.exit(process.exitCode ?? 0);
} catch (err) {
  console.error(err);
  process.exit(1);
}
