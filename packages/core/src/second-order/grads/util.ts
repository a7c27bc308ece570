// Helpers shared by the gradient files. They import tfjs-core directly (not ../../tf.js) because
// they are loaded while tf.ts itself is being evaluated; it is the same single tfjs-core copy.
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';

export type T = Tensor;
export const engine = () => tf.engine();
export const run = (name: string, inputs: Record<string, T>, attrs: object = {}): T =>
  engine().runKernel(name, inputs as never, attrs as never) as T;

export function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** Axes (as a list) of a reduction attribute, like tfjs' util.parseAxisParam. */
export function axesOf(axis: number | number[] | undefined | null, rank: number): number[] {
  if (axis == null) return [...Array(rank).keys()];
  const a = typeof axis === 'number' ? [axis] : axis;
  return a.map((v) => (v < 0 ? v + rank : v));
}

/** Shape of a keepDims reduction of `shape` over `axes`. */
export function keepDimShape(shape: number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}
