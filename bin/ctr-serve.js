#!/usr/bin/env node
// Entry point for `npx ctr-serve`: the sources are TypeScript, run through tsx's loader so no build step is needed.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
