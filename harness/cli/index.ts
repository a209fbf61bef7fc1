// Every command, registered in one list. Each file: parse flags, call the core, print.
import type { Command } from 'commander';
import type { CliIO } from './io.ts';
import { register as run } from './run.ts';
import { register as up } from './up.ts';
import { register as down } from './down.ts';
import { register as status } from './status.ts';
import { register as report } from './report.ts';
import { register as compare } from './compare.ts';
import { register as doctor } from './doctor.ts';
import { register as setup } from './setup.ts';
import { register as k6 } from './k6.ts';
import { register as drill } from './drill.ts';
import { register as capacity } from './capacity.ts';
import { register as ladder } from './ladder.ts';

export type Register = (program: Command, io: CliIO, setExit: (code: number) => void) => void;

export const commands: Register[] = [run, drill, capacity, ladder, up, down, status, report, compare, doctor, setup, k6];
