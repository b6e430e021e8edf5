import { runProgram } from '@portico/service-kit';
import { program } from './cli.ts';

// Wiring only. `run` either replaces this process (process.execve) or returns after SIGTERM/SIGINT.
process.exitCode = await runProgram(program, process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
