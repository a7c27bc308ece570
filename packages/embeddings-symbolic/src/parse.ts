// Text → formula, e.g. "p^2 - c*cos(q)" or "cos(q)*c0 + p^2", for configs and the CLI.
// Grammar: sum := prod (('+'|'-') prod)*; prod := pow (('*'|'/') pow)*; pow := atom ('^2')*;
// atom := input name | parameter (c, c0, c1, ...) | sin(sum) | cos(sum) | (sum).
// The DSL has no numbers and no unary minus: fold constants and signs into parameters.
import type { Expr } from './dsl.js';

export function parseFormula(text: string, inputNames: readonly string[] = ['q', 'p']): Expr {
  const toks = text.match(/\s*([A-Za-z_][A-Za-z_0-9]*|\^2|[-+*/()])\s*/g);
  const joined = (toks ?? []).join('');
  if (!toks || joined.length !== text.length) {
    throw new Error(`formula '${text}': unexpected character near '${text.slice(joined.length, joined.length + 8)}' (allowed: inputs ${inputNames.join(', ')}, parameters c/c0/c1..., + - * / ^2 sin cos, parentheses)`);
  }
  const t = toks.map((s) => s.trim());
  let i = 0;
  let nextParam = 0;
  const fail = (msg: string): never => {
    throw new Error(`formula '${text}': ${msg} at token ${i + 1} ('${t[i] ?? 'end'}')`);
  };
  const sum = (): Expr => {
    let e = prod();
    while (t[i] === '+' || t[i] === '-') {
      const op = t[i++] as '+' | '-';
      e = { op, left: e, right: prod() };
    }
    return e;
  };
  const prod = (): Expr => {
    let e = pow();
    while (t[i] === '*' || t[i] === '/') {
      const op = t[i++] as '*' | '/';
      e = { op, left: e, right: pow() };
    }
    return e;
  };
  const pow = (): Expr => {
    let e = atom();
    while (t[i] === '^2') {
      i++;
      e = { op: 'square', arg: e };
    }
    return e;
  };
  const atom = (): Expr => {
    const s = t[i];
    if (s === undefined) return fail('unexpected end');
    if (s === '(') {
      i++;
      const e = sum();
      if (t[i++] !== ')') fail("expected ')'");
      return e;
    }
    if (s === 'sin' || s === 'cos') {
      i++;
      if (t[i++] !== '(') fail(`expected '(' after ${s}`);
      const arg = sum();
      if (t[i++] !== ')') fail("expected ')'");
      return { op: s, arg };
    }
    const k = inputNames.indexOf(s);
    if (k >= 0) {
      i++;
      return { op: 'input', index: k };
    }
    if (/^c[0-9]*$/.test(s)) {
      i++;
      // Every parameter occurrence is its own parameter, numbered left to right.
      return { op: 'param', index: nextParam++ };
    }
    return fail(`unknown name '${s}'`);
  };
  const e = sum();
  if (i !== t.length) fail('unexpected token');
  return e;
}
