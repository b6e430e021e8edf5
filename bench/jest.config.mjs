// Unit tests of the benchmark harness (src/**/*.test.ts: statistics, report sections, the exec-log
// parser, SVG plots) under Jest: `npx nx test bench`. Settings: jest.preset.mjs.
import { projectConfig } from '../jest.preset.mjs';

export default projectConfig(import.meta.dirname);
