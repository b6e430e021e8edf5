import { runProgram } from '@portico/service-kit';
import { createProgram } from './cli.ts';

// Wiring only (STYLE rule 9): createProgram's defaults are the real system; the exit code out.
process.exitCode = await runProgram(createProgram(), process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
