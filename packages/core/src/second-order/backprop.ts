// A backward pass for tfjs's engine that frees memory as it goes. Stock engine.gradients (tfjs-core
// engine.js + tape.js backpropagateGradients) keeps every intermediate gradient, and every tensor
// saved for the backward pass, until the whole backward has finished. Under a second-order tape the
// peak is then all saved tensors plus all gradients (64×64 SVG meta-step, T = 2: 2.6 GB, half of it
// gradients that were already used). This one drops a tensor's gradient as soon as the node that
// produced the tensor has run (every consumer comes later on the tape, so the gradient is complete
// and used), and in an outermost backward frees each node's saved tensors once its gradient has run.
// The arithmetic and its order are tfjs's own, so gradients are bit for bit the same.
// installSecondOrderFixes() installs it on the engine.
import { Tensor, add, engine, ones, util } from '@tensorflow/tfjs-core';
import { getFilteredNodesXToY } from '../tfjs-extras.js';

type TapeNode = {
  kernelName: string;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  saved?: Tensor[];
  gradient?: (dys: Array<Tensor | null>) => Record<string, () => Tensor>;
};

/** The engine members this backward uses (tfjs-core 4.x internals). */
type EngineInternals = {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T>(nameOrFn: string | (() => T), fn?: () => T): T;
};

/** Id the next tensor will get: tensors with ids from here on were made after this call. */
const nextTensorId = (): number => (engine().constructor as unknown as { nextTensorId: number }).nextTensorId;

function gradients(
  this: EngineInternals, f: () => Tensor, xs: Tensor[], dy?: Tensor, allowNoGradients = false,
): { value: Tensor; grads: Array<Tensor | undefined> } {
  util.assert(xs.length > 0, () => 'gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  // An outermost gradient owns the tape: when f or the backward throws, the tensors its nodes saved
  // would otherwise outlive it (the next outermost gradient starts a new tape without freeing them).
  const owner = this.state.gradientDepth === 0;
  const dropTape = () => {
    if (!owner) return;
    for (const node of this.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
    this.state.activeTape = null;
  };
  let y: Tensor;
  try {
    y = this.scopedRun(() => this.startTape(), () => this.endTape(), () => this.tidy('forward', f));
    util.assert(y instanceof Tensor, () => 'The result y returned by f() must be a tensor.');
  } catch (e) {
    dropTape();
    throw e;
  }
  try {
    return backward.call(this, y, xs, dy, allowNoGradients);
  } catch (e) {
    dropTape();
    y.dispose();
    throw e;
  }
}

function backward(
  this: EngineInternals, y: Tensor, xs: Tensor[], dy: Tensor | undefined, allowNoGradients: boolean,
): { value: Tensor; grads: Array<Tensor | undefined> } {
  const tape = getFilteredNodesXToY(this.state.activeTape as never, xs, y) as unknown as TapeNode[];
  if (!allowNoGradients && tape.length === 0 && xs.length > 0) {
    throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
  }
  return this.tidy('backward', () => {
    const outermost = this.state.gradientDepth === 0;
    // Only tensors this backward made are freed early: a gradient function may hand back one it was
    // given (dy, a saved tensor), which belongs to someone else.
    const firstId = nextTensorId();
    const acc = new Map<number, Tensor>();
    const uses = new Map<Tensor, number>(); // one gradient tensor can stand for several tensors
    const set = (id: number, t: Tensor) => {
      acc.set(id, t);
      uses.set(t, (uses.get(t) ?? 0) + 1);
    };
    const free = (t: Tensor) => {
      if (!uses.has(t) && t.id >= firstId) t.dispose();
    };
    const drop = (id: number) => {
      const t = acc.get(id);
      if (!t) return;
      acc.delete(id);
      const n = uses.get(t)! - 1;
      if (n > 0) uses.set(t, n);
      else {
        uses.delete(t);
        free(t);
      }
    };
    const wanted = new Set(xs.map((x) => x.id));
    set(y.id, dy ?? ones(y.shape));
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i]!;
      const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
      if (node.gradient == null) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const inputGradients = node.gradient(dys);
      for (const name in node.inputs) {
        if (!(name in inputGradients)) {
          throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
        }
        const dx = this.tidy(() => inputGradients[name]!());
        if (dx.dtype !== 'float32') {
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        }
        const x = node.inputs[name]!;
        if (!util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
        }
        const cur = acc.get(x.id);
        if (cur == null) set(x.id, dx);
        else {
          const sum = add(cur, dx);
          drop(x.id);
          free(dx);
          set(x.id, sum);
        }
      }
      for (const o of node.outputs) if (!wanted.has(o.id)) drop(o.id);
      if (outermost) for (const t of node.saved ?? []) t.dispose();
    }
    const grads = xs.map((x) => acc.get(x.id));
    if (outermost) {
      for (const node of this.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
      this.state.activeTape = null;
    }
    return { value: y, grads };
  });
}

let installed = false;

/** Puts the freeing backward in place of the engine's own (idempotent). */
export function installFreeingBackprop(): void {
  if (installed) return;
  (engine() as unknown as { gradients: typeof gradients }).gradients = gradients;
  installed = true;
}
