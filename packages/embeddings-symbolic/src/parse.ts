// Text → formula, e.g. "p^2 - c*cos(q)" or "cos(q)*c0 + p^2", for configs and the CLI.
// Grammar: sum := prod (('+'|'-') prod)*; prod := pow (('*'|'/') pow)*; pow := atom ('^2')*;
// atom := input name | parameter (c, c0, c1, ...) | sin(sum) | cos(sum) | (sum).
// The DSL has no numbers and no unary minus: fold constants and signs into parameters.
import type { Expr } from './dsl.js';

/** Deepest formula tree parseFormula accepts: the search's formulas have ≤ 9 nodes, and every
 * consumer (compile, formulaToTf, exprSize) recurses over the tree, so a runaway formula must fail
 * here with a message rather than overflow the stack somewhere later. */
export const MAX_FORMULA_HEIGHT = 200;

const NAME = /^[A-Za-z_][A-Za-z_0-9]*$/;
const PARAM = /^c[0-9]*$/;
const TOKEN = /\s*([A-Za-z_][A-Za-z_0-9]*|\^2|[-+*/()])/y;

export function parseFormula(text: string, inputNames: readonly string[] = ['q', 'p']): Expr {
  // Names the tokenizer could not tell apart from the DSL's own words would be silently unreachable.
  inputNames.forEach((n, k) => {
    const clash = !NAME.test(n)
      ? 'is not a name (letters, digits, _; not starting with a digit)'
      : n === 'sin' || n === 'cos'
        ? 'is a function of the DSL'
        : PARAM.test(n)
          ? 'is how parameters are written (c, c0, c1, ...)'
          : inputNames.indexOf(n) !== k
            ? `repeats inputs[${inputNames.indexOf(n)}]`
            : undefined;
    if (clash) throw new Error(`formula '${text}': input name inputs[${k}] = '${n}' ${clash}; rename that input`);
  });
  const allowed = `allowed: inputs ${inputNames.join(', ')}, parameters c/c0/c1..., + - * / ^2 sin cos, parentheses`;
  // Tokens with their 1-based columns, so every error points at the place in the text.
  const t: string[] = [];
  const col: number[] = [];
  TOKEN.lastIndex = 0;
  for (let m; (m = TOKEN.exec(text)); ) {
    t.push(m[1]!);
    col.push(m.index + m[0].length - m[1]!.length + 1);
    if (TOKEN.lastIndex === text.length) break;
  }
  const end = col.length ? col[col.length - 1]! - 1 + t[t.length - 1]!.length : 0;
  const rest = text.slice(end);
  if (rest.trim() !== '') {
    const c = end + rest.length - rest.trimStart().length + 1;
    throw new Error(`formula '${text}', column ${c}: unexpected character '${text[c - 1]}' (${allowed})`);
  }
  if (!t.length) throw new Error(`formula '${text}' is empty; write a formula such as 'p^2 - c*cos(q)'`);
  let i = 0;
  let nextParam = 0;
  let depth = 0;
  const fail = (msg: string): never => {
    const where = i < t.length ? `column ${col[i]} ('${t[i]}')` : 'end of text';
    throw new Error(`formula '${text}', ${where}: ${msg}`);
  };
  // Tree heights of the nodes built so far, to refuse formulas deeper than MAX_FORMULA_HEIGHT.
  const height = new Map<Expr, number>();
  const node = (e: Expr, ...kids: Expr[]): Expr => {
    const h = 1 + Math.max(0, ...kids.map((k) => height.get(k)!));
    if (h > MAX_FORMULA_HEIGHT) fail(`formula nested more than ${MAX_FORMULA_HEIGHT} levels deep`);
    height.set(e, h);
    return e;
  };
  const sum = (): Expr => {
    let e = prod();
    while (t[i] === '+' || t[i] === '-') {
      const op = t[i++] as '+' | '-';
      const right = prod();
      e = node({ op, left: e, right }, e, right);
    }
    return e;
  };
  const prod = (): Expr => {
    let e = pow();
    while (t[i] === '*' || t[i] === '/') {
      const op = t[i++] as '*' | '/';
      const right = pow();
      e = node({ op, left: e, right }, e, right);
    }
    return e;
  };
  const pow = (): Expr => {
    let e = atom();
    while (t[i] === '^2') {
      i++;
      e = node({ op: 'square', arg: e }, e);
    }
    return e;
  };
  const inner = (): Expr => {
    // Parentheses and sin/cos are where the parser recurses: bound it before the stack overflows.
    if (++depth > MAX_FORMULA_HEIGHT) fail(`formula nested more than ${MAX_FORMULA_HEIGHT} levels deep`);
    const e = sum();
    depth--;
    if (t[i] !== ')') fail("expected ')'");
    i++;
    return e;
  };
  const atom = (): Expr => {
    const s = t[i];
    if (s === undefined) return fail('expected an input, a parameter, sin, cos or (');
    if (s === '(') {
      i++;
      return inner();
    }
    if (s === 'sin' || s === 'cos') {
      i++;
      if (t[i] !== '(') fail(`expected '(' after ${s}`);
      i++;
      const arg = inner();
      return node({ op: s, arg }, arg);
    }
    const k = inputNames.indexOf(s);
    if (k >= 0) {
      i++;
      return node({ op: 'input', index: k });
    }
    if (PARAM.test(s)) {
      // Every parameter occurrence is its own parameter, numbered left to right; a written number
      // that disagrees would silently bind init values to other parameters than the user meant.
      if (s !== 'c' && Number(s.slice(1)) !== nextParam) {
        fail(`parameter '${s}' is the formula's parameter number ${nextParam}: each occurrence is its own parameter, numbered left to right (write c${nextParam}, or plain c)`);
      }
      i++;
      return node({ op: 'param', index: nextParam++ });
    }
    return fail(NAME.test(s) ? `unknown name '${s}' (${allowed})` : 'expected an input, a parameter, sin, cos or (');
  };
  const e = sum();
  if (i !== t.length) fail(t[i] === ')' ? "unmatched ')'" : 'expected an operator (+ - * / ^2)');
  return e;
}
