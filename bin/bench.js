#!/usr/bin/env node
// Entry point: load the TypeScript sources through tsx so that `npx bench` needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../harness/cli/main.ts');
