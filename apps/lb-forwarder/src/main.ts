import { runProgram } from '@portico/service-kit';
import { createProgram, realSystem } from './cli.ts';

// Wiring only (STYLE rule 9). `run` either replaces this process (process.execve) or returns after SIGTERM/SIGINT.
process.exitCode = await runProgram(createProgram(realSystem), process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
