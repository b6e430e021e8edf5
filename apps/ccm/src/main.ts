import { runProgram } from '@portico/service-kit';
import { realControllerSystem } from '@portico/service-kit/controller';
import { createProgram } from './cli.ts';

// Wiring only (STYLE rule 9): the real system in, the exit code out.
process.exitCode = await runProgram(createProgram(realControllerSystem()), process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
