// Help at every level, and bad input: one clear line naming the problem and the fix, exit 2, no stack trace.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../src/commands/index.js';
import { TINY, hasStack, readJson, run, tmp } from './helpers.js';

function oneLineError(err: string): string {
  // Progress lines ([phase] ...) may precede it; exactly one error line, and no stack.
  const lines = err.split('\n').filter((l) => /^noether[ :]/.test(l) && !l.startsWith('noether: backend'));
  expect(lines.length, err).toBe(1);
  expect(hasStack(err)).toBe(false);
  return lines[0]!;
}

describe('help', () => {
  it('top-level --help lists every command, the exit codes and an example', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.out).toContain(`  ${c.name}`);
    for (const n of ['experiment', 'train', 'eval', 'discover', 'generate', 'analyze', 'backends', 'report']) expect(r.out).toMatch(new RegExp(`\\n  ${n} `));
    expect(r.out).toMatch(/130\s+interrupted/);
    expect(r.out).toMatch(/3\s+training stopped on a non-finite/);
    // A missing or foreign run directory exits 2 (docs/getting-started.md's table says so too).
    expect(r.out).toMatch(/2\s+usage error or bad input \(.*run directory/);
    expect(r.out).toContain('noether experiment toy-oscillator --quick');
  });

  it('every command has --help with usage, options and an example', async () => {
    for (const c of commands) {
      const r = await run([c.name, '--help']);
      expect(r.code, c.name).toBe(0);
      expect(r.out).toContain(`Usage: noether ${c.name}`);
      expect(r.out).toMatch(/Examples:\n  noether /);
      expect(r.out).toContain('--backend');
      // The help appends "(repeatable)" to list flags; a description must not say it again.
      for (const l of r.out.split('\n')) expect(l, c.name).not.toMatch(/repeatable.*\(repeatable\)/);
    }
  });

  it('no command: usage on stderr, exit 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('missing command');
  });
});

describe('bad input → one line, exit 2', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp();
  });

  it('unknown command', async () => {
    const r = await run(['trian']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.err)).toMatch(/unknown command 'trian'; commands: experiment, train/);
  });

  it('unknown flag, naming it and the valid ones', async () => {
    const r = await run(['experiment', 'toy-oscillator', '--qiuck']);
    expect(r.code).toBe(2);
    const line = oneLineError(r.err);
    expect(line).toMatch(/unknown flag '--qiuck'/);
    expect(line).toMatch(/--quick/);
    expect(line).toMatch(/--resume/);
  });

  it('missing config file', async () => {
    const r = await run(['train', '--config', join(dir, 'nope.yaml'), '--backend', 'cpu']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.err)).toMatch(/config file not found: .*nope\.yaml \(check the path given to --config\)/);
  });

  it('config with a wrong type names the field', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'predictor: { type: mlp-step }\ndataset: { type: oscillator }\nouter:\n  epochs: ten\n');
    const r = await run(['train', '--config', f, '--backend', 'cpu']);
    expect(r.code).toBe(2);
    const line = oneLineError(r.err);
    expect(line).toContain('bad.yaml');
    expect(line).toMatch(/outer\.epochs/);
  });

  it('a --set path through a value without fields, or outside the config, is one line naming the --set', async () => {
    for (const [set, msg] of [
      ['outer.epochs.x=1', /--set outer\.epochs\.x=1: 'outer\.epochs\.x': outer\.epochs is 40, which has no fields: set outer\.epochs itself/],
      ['__proto__.x=1', /--set __proto__\.x=1: '__proto__\.x' is not a field path/],
    ] as const) {
      const r = await run(['experiment', 'toy-oscillator', '--set', set, '--print-config']);
      expect(r.code).toBe(2);
      expect(oneLineError(r.err)).toMatch(msg);
    }
  });

  it('a --set with a wrong type names the field', async () => {
    const r = await run(['experiment', 'toy-oscillator', '--quick', '--set', 'outer.lrPhi="big"', '--backend', 'cpu']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.err)).toMatch(/outer\.lrPhi/);
  });

  it('a plugin option the factory rejects', async () => {
    const r = await run(['experiment', 'toy-oscillator', ...TINY, '--set', 'predictor.hiden=3', '--out', join(dir, 'never')]);
    expect(r.code).toBe(2);
    expect(oneLineError(r.err)).toMatch(/predictor\.hiden|unknown field.*'hiden'/);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('parts that build but do not fit together: one line, exit 2, no run directory', async () => {
    // A formula over 3 state columns builds, but the oscillator's states have 2: only a step finds out.
    const formula = '{"type":"formula","formula":"x*y*z","inputs":["x","y","z"]}';
    const r = await run(['experiment', 'toy-oscillator', ...TINY, '--set', `embedding=${formula}`, '--out', join(dir, 'never3')]);
    expect(r.code).toBe(2);
    expect(oneLineError(r.err)).toMatch(/invalid config: its parts do not work together \(predictor 'mlp-step', embedding 'formula', dataset 'oscillator', mode 'noether'\): a first training step fails with: formula reads input 2; states have 2 columns/);
    expect(existsSync(join(dir, 'never3'))).toBe(false);
    // 'oracle' tailors with a fixed embedding; mlp-embedding has parameters: refused when the experiment is built.
    const o = await run(['experiment', 'toy-oscillator', ...TINY, '--set', 'mode=oracle', '--out', join(dir, 'never4')]);
    expect(o.code).toBe(2);
    expect(oneLineError(o.err)).toMatch(/invalid config: mode: mode 'oracle' tailors with a fixed, known embedding \(no parameters\), but embedding 'mlp-embedding' has \d+/);
    expect(existsSync(join(dir, 'never4'))).toBe(false);
  });

  it("says early when φ gets no meta-gradient at all (it learns nothing), and not otherwise", async () => {
    const dead = await run(['experiment', 'toy-oscillator', ...TINY, '--set', 'embedding={"type":"formula","formula":"c*q - c*q"}', '--out', join(dir, 'phi0')]);
    expect(dead.code, dead.err).toBe(0);
    expect(dead.err).toMatch(/\[noether\] note: φ's meta-gradient has been exactly 0 for the first steps, so the embedding learns nothing/);
    const live = await run(['experiment', 'toy-oscillator', ...TINY, '--out', join(dir, 'phi1')]);
    expect(live.code, live.err).toBe(0);
    expect(live.err).not.toMatch(/meta-gradient has been exactly 0/);
  });

  it('unknown experiment', async () => {
    const r = await run(['experiment', 'toy-osc', '--quick']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.err)).toMatch(/unknown experiment 'toy-osc'; available: toy-oscillator/);
  });

  it('a forced backend that is not installed (flag and NOETHER_BACKEND)', async () => {
    const r = await run(['backends', '--backend', 'tensorflow']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/backend 'tensorflow' .*not available.*npm install @tensorflow\/tfjs-node/);
    const e = await run(['experiment', 'toy-oscillator', ...TINY.slice(2), '--out', join(dir, 'never2')], { env: { NOETHER_BACKEND: 'tensorflow' } });
    expect(e.code).toBe(2);
    expect(oneLineError(e.err)).toMatch(/tensorflow.*NOETHER_BACKEND/);
    const u = await run(['backends'], { env: { NOETHER_BACKEND: 'gpu' } });
    expect(u.code).toBe(2);
    expect(oneLineError(u.err)).toMatch(/unknown backend 'gpu' \(from NOETHER_BACKEND\); use one of: tensorflow, wasm, cpu/);
  });

  it('missing run directory, a run directory of another version, a corrupt checkpoint', async () => {
    const missing = await run(['eval', join(dir, 'no-such-run')]);
    expect(missing.code).toBe(2);
    expect(oneLineError(missing.err)).toMatch(/run directory not found/);
    writeFileSync(join(dir, 'a-file'), '');
    const file = await run(['eval', join(dir, 'a-file')]);
    expect(oneLineError(file.err)).toMatch(/a-file is a file, not a run directory/);

    const rd = join(dir, 'run');
    const ok = await run(['experiment', 'toy-oscillator', ...TINY, '--epochs', '1', '--checkpoint-every', '1', '--out', rd]);
    expect(ok.code, ok.err).toBe(0);

    // Corrupt checkpoint: truncate the latest weights of a phase.
    const ptr = readJson(join(rd, 'checkpoints', 'noether', 'latest.json'));
    const bin = join(rd, 'checkpoints', 'noether', ptr.dir, 'weights.bin');
    const size = readFileSync(bin).byteLength;
    truncateSync(bin, size - 8);
    const c = await run(['eval', rd, '--backend', 'cpu']);
    expect(c.code).toBe(2);
    expect(oneLineError(c.err)).toMatch(/weights\.bin|weights file has .* bytes.*truncated.*delete/);
    // Same size, changed bytes: caught by the checksum.
    const bytes = readFileSync(bin.replace('weights.bin', 'manifest.json'));
    truncateSync(bin, size);
    const c2 = await run(['eval', rd, '--backend', 'cpu']);
    expect(c2.code).toBe(2);
    expect(oneLineError(c2.err)).toMatch(/checksum|corrupt/);
    expect(bytes.length).toBeGreaterThan(0);

    // A pointer that leads out of the phase's folder is not followed.
    const latest = join(rd, 'checkpoints', 'noether', 'latest.json');
    writeFileSync(latest, JSON.stringify({ ...ptr, dir: `../baseline/${ptr.dir}` }));
    const p = await run(['eval', rd, '--phase', 'noether', '--backend', 'cpu']);
    expect(p.code).toBe(2);
    expect(oneLineError(p.err)).toMatch(/corrupt checkpoint pointer .*latest\.json \(dir '\.\.\/baseline\/step-\d+' is not a step-NNNNNNNN folder\)/);

    // Another version.
    const meta = readJson(join(rd, 'meta.json'));
    writeFileSync(join(rd, 'meta.json'), JSON.stringify({ ...meta, runFormat: 99, noetherVersion: '9.0.0' }));
    const v = await run(['experiment', '--resume', rd, '--backend', 'cpu']);
    expect(v.code).toBe(2);
    expect(oneLineError(v.err)).toMatch(/written by noether 9\.0\.0 \(run format 99\); this is noether .* \(run format 1\)/);
    const rep = await run(['report', rd, '--out', join(dir, 'r.html')]);
    expect(rep.code).toBe(2);
  });

  it('--resume cannot be combined with config changes', async () => {
    const r = await run(['train', '--resume', 'x', '--set', 'seed=2']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.err)).toMatch(/--set cannot be combined with --resume/);
    expect(readdirSync(dir).length).toBeGreaterThan(0);
  });
});

describe('experiment --print-config', () => {
  const printed = async (argv: string[]) => {
    const r = await run(['experiment', ...argv, '--print-config']);
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out);
  };

  it('shows the config the run would use: --config, --set and the --seed/--epochs/--name shorthands applied', async () => {
    const c = await printed(['toy-oscillator', '--quick', '--seed', '7', '--epochs', '3', '--name', 'mine', '--set', 'outer.lrPhi=0.005']);
    expect([c.seed, c.outer.epochs, c.name, c.outer.lrPhi]).toEqual([7, 3, 'mine', 0.005]);
    const f = join(tmp(), 'toy.yaml');
    writeFileSync(f, 'seed: 9\ndataset: { type: oscillator, nTrain: 12, nTest: 4, seqLength: 5 }\n');
    const fromFile = await printed(['toy-oscillator', '--config', f]);
    expect([fromFile.seed, fromFile.dataset.nTrain, fromFile.predictor.type]).toEqual([9, 12, 'mlp-step']);
  });

  it('a --config group changes only the fields it names; a part of another type is taken whole', async () => {
    const builtin = await printed(['toy-oscillator']);
    const f = join(tmp(), 'part.yaml');
    writeFileSync(f, 'outer: { epochs: 2 }\nembedding: { dim: 1 }\npredictor: { type: hnn }\n');
    const c = await printed(['toy-oscillator', '--config', f]);
    expect(c.outer).toEqual({ ...builtin.outer, epochs: 2 }); // the built-in lrs and batch size stay
    expect(c.embedding).toEqual({ ...builtin.embedding, dim: 1 });
    expect(c.predictor).toEqual({ type: 'hnn' }); // not mlp-step's hidden
  });

  it('a bad --set names the flag it came from, as the run would', async () => {
    const r = await run(['experiment', 'toy-oscillator', '--set', 'inner.optimizer=foo', '--print-config']);
    expect(r.code).toBe(2);
    expect(oneLineError(r.err)).toMatch(/with --set inner\.optimizer=foo: inner\.optimizer/);
  });

  it('with --resume: exit 2 pointing at the run\'s own config.json (no crash)', async () => {
    const r = await run(['experiment', '--resume', 'runs/x', '--print-config']);
    expect(r.code).toBe(2);
    // Its own pointer is the fix, so no second '(see: noether experiment --help)'.
    expect(oneLineError(r.err)).toMatch(/a resumed run keeps its own \(see runs\/x\/config\.json\)$/);
  });
});

describe('hints and flag values', () => {
  it('a message with its own pointer gets no second one; others get the --help hint once', async () => {
    const u = await run(['trian']);
    expect(oneLineError(u.err)).toMatch(/commands: .*report \(see: noether --help\)$/);
    const e = await run(['experiment', 'toy-osc']);
    expect(oneLineError(e.err)).toMatch(/\(see noether experiment --list\)$/);
    for (const r of [u, e]) expect(r.err.match(/\(see/g)).toHaveLength(1);
  });

  it('--backend without a value says it needs one and lists the choices (before or after the command)', async () => {
    for (const argv of [['--backend'], ['backends', '--backend'], ['backends', '--backend=']]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(oneLineError(r.err)).toMatch(/--backend needs a value \(one of cpu, wasm, tensorflow\)/);
      expect(r.err).not.toMatch(/got ''/);
    }
  });
});

describe('eval flags and damaged run files', () => {
  let rd: string;
  beforeAll(async () => {
    rd = join(tmp(), 'run');
    const r = await run(['experiment', 'toy-oscillator', ...TINY, '--epochs', '1', '--out', rd]);
    expect(r.code, r.err).toBe(0);
  });

  it('says when test-time tailoring diverges (a table of Infinity said nothing)', async () => {
    const r = await run(['eval', rd, '--backend', 'cpu', '--set', 'testInner.lr=1e30']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/\[noether\] note: the tailored mse is (Infinity|NaN): test-time tailoring diverged \(sgd, 1 step\(s\) at lr 1e\+30\); lower testInner\.lr/);
    const ok = await run(['eval', rd, '--backend', 'cpu']);
    expect(ok.err).not.toMatch(/diverged/);
  });

  it('--max-batches 0 names the flag, not the config file', async () => {
    const r = await run(['eval', rd, '--max-batches', '0', '--backend', 'cpu']);
    expect(r.code).toBe(2);
    const line = oneLineError(r.err);
    expect(line).toMatch(/--max-batches needs an integer >= 1, got '0'/);
    expect(line).not.toMatch(/config\.json/);
  });

  it("--set changes eval.* fields, as eval's --help example shows; other fields are refused", async () => {
    const help = await run(['eval', '--help']);
    const example = /noether eval runs\/toy (.*)$/m.exec(help.out)![1]!;
    expect(example).toBe(`--max-batches 2 --set 'eval.metrics=["mse"]'`);
    const ok = await run(['eval', rd, '--max-batches', '1', '--set', 'eval.metrics=["mse"]', '--backend', 'cpu']);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/^noether \(tailored\)\s+\d/m);
    const bad = await run(['eval', rd, '--set', 'outer.epochs=3', '--backend', 'cpu']);
    expect(bad.code).toBe(2);
    expect(oneLineError(bad.err)).toMatch(/--set outer\.epochs=3: eval changes only eval\.\* and testInner\.\* fields/);
  });

  it('an fs error on a path no check foresaw still comes out as exit 2 naming the path (main)', async () => {
    const csv = join(rd, 'metrics.csv');
    const good = readFileSync(csv);
    rmSync(csv);
    mkdirSync(csv); // eval appends its rows here
    try {
      const r = await run(['eval', rd, '--phase', 'noether', '--backend', 'cpu']);
      expect(r.code).toBe(2);
      expect(oneLineError(r.err)).toMatch(/metrics\.csv: is a folder, not a file \(EISDIR\); /);
    } finally {
      rmSync(csv, { recursive: true });
      writeFileSync(csv, good);
    }
  });

  it('a --set naming an unknown metric, or a corrupt checkpoint of a later phase: exit 2 before any phase is evaluated', async () => {
    const csv = join(rd, 'metrics.csv');
    const before = readFileSync(csv, 'utf8');
    const m = await run(['eval', rd, '--set', 'eval.metrics=["nope"]', '--backend', 'cpu']);
    expect(m.code).toBe(2);
    expect(oneLineError(m.err)).toMatch(/with --set eval\.metrics=\["nope"\]: unknown metric type 'nope'; registered: .*mse.*\(fix the file or the --set value\)/);
    // 'baseline' comes first in the table; 'noether' (the later phase) is the damaged one.
    const bin = join(rd, 'checkpoints', 'noether', readJson(join(rd, 'checkpoints', 'noether', 'latest.json')).dir, 'weights.bin');
    const good = readFileSync(bin);
    truncateSync(bin, good.byteLength - 8);
    try {
      const c = await run(['eval', rd, '--backend', 'cpu']);
      expect(c.code).toBe(2);
      expect(oneLineError(c.err)).toMatch(/weights file has .* bytes.*truncated/);
      expect(c.err).not.toMatch(/evaluating checkpoint/);
    } finally {
      writeFileSync(bin, good);
    }
    expect(readFileSync(csv, 'utf8')).toBe(before); // no eval rows appended
  });

  it('Ctrl-C between phases: exit 130, the phases not reached are not evaluated', async () => {
    const r = await run(['eval', rd, '--backend', 'cpu'], { onErr: (chunk, interrupt) => void (/\[baseline\] evaluating/.test(chunk) && interrupt()) });
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/noether eval: interrupted after evaluating baseline \(their eval rows are in metrics\.csv.*\); the rest not evaluated/);
    expect(r.err).not.toMatch(/\[noether\] evaluating/);
    expect(r.out).toBe(''); // no table
  });

  it('a corrupt phase config.json is named, exit 2', async () => {
    const f = join(rd, 'checkpoints', 'noether', 'config.json');
    const good = readFileSync(f, 'utf8');
    writeFileSync(f, '{bad');
    try {
      const r = await run(['eval', rd, '--phase', 'noether', '--backend', 'cpu']);
      expect(r.code).toBe(2);
      expect(oneLineError(r.err)).toMatch(new RegExp(`cannot read ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*JSON.*; the run directory is damaged`));
    } finally {
      writeFileSync(f, good);
    }
  });
});

describe('backends', () => {
  it('lists what is installed and which would be used; a forced cpu is used', async () => {
    const r = await run(['backends', '--backend', 'cpu']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/tensorflow\s+no/);
    expect(r.out).toMatch(/cpu\s+yes/);
    expect(r.out).toMatch(/selected: cpu — forced by --backend/);
    const e = await run(['backends'], { env: { NOETHER_BACKEND: 'cpu' } });
    expect(e.out).toMatch(/selected: cpu — forced by NOETHER_BACKEND/);
  });
});
