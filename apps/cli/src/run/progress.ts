// Progress of training steps and of counted work (episodes): on a terminal one line rewritten in
// place; otherwise plain lines (about 20 per phase, plus the first and last), so logs stay readable.
import type { Io } from '../cli/io.js';

export interface ProgressUpdate {
  phase: string;
  step: number;
  totalSteps: number;
  epoch: number;
  epochs: number;
  loss: number;
  gradNormTheta: number;
  gradNormPhi: number;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

const num = (v: number) => (Number.isFinite(v) ? v.toExponential(3) : String(v));

export class Progress {
  private t0 = Date.now();
  private firstStep: number | undefined;
  private open = false;

  constructor(private readonly io: Io, private readonly enabled = true) {}

  /** Starts timing a phase (ETA counts only steps done in this process). */
  start(): void {
    this.t0 = Date.now();
    this.firstStep = undefined;
  }

  update(u: ProgressUpdate): void {
    if (!this.enabled) return;
    const eta = this.eta(u.step, u.totalSteps);
    const pct = u.totalSteps ? Math.floor((100 * u.step) / u.totalSteps) : 100;
    this.show(
      `[${u.phase}] step ${u.step}/${u.totalSteps} (${pct}%)  epoch ${u.epoch + 1}/${u.epochs}  ` +
        `loss ${num(u.loss)}  |g| θ ${num(u.gradNormTheta)} φ ${num(u.gradNormPhi)}  ETA ${formatDuration(eta)}`,
      u.step, u.totalSteps,
    );
  }

  /** Progress of work counted in items (episodes, files): `[label] 12/200 items (6%)  ETA 0:27`. */
  count(label: string, done: number, total: number, items: string): void {
    if (!this.enabled) return;
    const eta = this.eta(done, total);
    const pct = total ? Math.floor((100 * done) / total) : 100;
    this.show(`[${label}] ${done}/${total} ${items} (${pct}%)  ETA ${formatDuration(eta)}`, done, total);
  }

  /** Seconds left, from the rate of the steps done since the first one seen in this phase. */
  private eta(step: number, total: number): number {
    if (this.firstStep === undefined) {
      this.firstStep = step - 1;
      this.t0 = Date.now();
    }
    const done = step - this.firstStep;
    return done > 0 ? ((Date.now() - this.t0) / 1000 / done) * (total - step) : NaN;
  }

  /** On a terminal, rewrites one line; otherwise prints about 20 lines per phase, the first and the last. */
  private show(line: string, step: number, total: number): void {
    if (this.io.isTTY) {
      const clipped = line.length > this.io.columns - 1 ? line.slice(0, this.io.columns - 1) : line;
      this.io.err(`\r${clipped}\x1b[K`);
      this.open = true;
      if (step === total) this.done();
    } else {
      const every = Math.max(1, Math.ceil(total / 20));
      if (step % every === 0 || step === total || step === this.firstStep! + 1) this.io.err(line + '\n');
    }
  }

  /** Ends the rewritten line (before other output). */
  done(): void {
    if (this.open) {
      this.io.err('\n');
      this.open = false;
    }
  }
}
