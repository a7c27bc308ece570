#!/usr/bin/env python3
# Makes a case set in the form of shared/golden/second-order (same spec texts, float64 PyTorch
# answers) with values the shipped set does not have: every activation golden-cases.ts knows,
# other conv strides / paddings / tailored lists / horizons, and another LSTM horizon and step. The
# *_check.json files recompute shipped cases with their own data, so a wrong generator shows.
#
#   /usr/bin/python3 packages/core/test/second-order/golden-variants.py ../shared/golden/second-order /tmp/gv/second-order
#   cd packages/core && NOETHER_GOLDEN_DIR=/tmp/gv npx vitest run test/second-order/golden.test.ts
#
# Needs Debian's python3-torch (1.13). Activations whose torch second order is missing
# (hardsigmoid) or that overflow on the shipped inputs (sinh, cosh) are skipped, and say so.
import json, sys, os, copy
import torch
torch.set_default_dtype(torch.float64)
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
F = torch.nn.functional
ACT = {
 'tanh': torch.tanh, 'sigmoid': torch.sigmoid, 'exp': lambda z: torch.exp(0.5*z), 'elu': F.elu, 'softplus': F.softplus,
 'relu': F.relu, 'sin': torch.sin, 'square': lambda z: z*z, 'sqrt': lambda z: torch.sqrt(z*z+1),
 'cos': torch.cos, 'silu': F.silu, 'swish': F.silu, 'softsign': F.softsign, 'leaky_relu': F.leaky_relu, 'selu': F.selu,
 'linear': lambda z: z, 'identity': lambda z: z, 'abs': torch.abs, 'gelu': F.gelu, 'gelu_tanh': lambda z: F.gelu(z, approximate='tanh'),
 'mish': F.mish, 'hardtanh': F.hardtanh, 'relu6': F.relu6, 'hardsigmoid': F.hardsigmoid, 'hardswish': F.hardswish,
 'logsigmoid': F.logsigmoid, 'tanhshrink': F.tanhshrink, 'celu': F.celu, 'atan': torch.atan, 'sinh': torch.sinh, 'cosh': torch.cosh, 'erf': torch.erf,
}
def T(v): return torch.tensor(v)
def L(t): return t.detach().tolist()
base = json.load(open(os.path.join(src, 'mlp_tanh.json')))
for name, act in ACT.items():
  g = copy.deepcopy(base)
  g['spec'] = g['spec'].replace('act=tanh', 'act='+name)
  x, y = T(g['inputs']['x']), T(g['inputs']['y'])
  p = {k: T(v).requires_grad_() for k, v in g['params'].items()}
  f = lambda q, v: act(v@q['W1']+q['b1'])@q['W2']+q['b2']
  emb = lambda z: act(z@p['P1'])@p['P2']
  th = ['W1','b1','W2','b2']
  inner = ((emb(f(p,x))-emb(x))**2).sum(1).mean()
  gr = torch.autograd.grad(inner, [p[k] for k in th], create_graph=True)
  q = dict(p); 
  for k, d in zip(th, gr): q[k] = p[k]-g['lr']*d
  outer = ((f(q,x)-y)**2).mean()
  try:
    go = torch.autograd.grad(outer, list(p.values()), allow_unused=True)
  except RuntimeError as e:
    print('skip', name, e); continue
  if not (torch.isfinite(outer) and all(d is None or torch.isfinite(d).all() for d in go)):
    print('skip', name, '(overflows on these inputs)'); continue
  g['expected'] = {'inner': inner.item(), 'outer': outer.item(), 'grads': {k: L(d if d is not None else torch.zeros_like(p[k])) for k, d in zip(p, go)}}
  json.dump(g, open(os.path.join(out, f'mlp_{name}.json'), 'w'))
# conv variants
cb = json.load(open(os.path.join(src, 'conv_cn.json')))
def conv_case(fname, adapted, stride, pad, lr, Tn):
  g = copy.deepcopy(cb)
  torch.manual_seed(len(fname))
  x0 = T(g['inputs']['x0']); B = x0.shape[0]
  E1 = T(g['params']['E1'])
  hw = (8 - 4)//stride + 1 if pad == 'valid' else -(-8//stride)
  n = hw*hw*E1.shape[3]
  if 'check' in fname: ys = T(g['inputs']['ys'])
  else:
    g['params']['E2'] = L(torch.randn(n, 5)*0.3)
    ys = torch.rand(Tn, *x0.shape); g['inputs']['ys'] = L(ys)
  g['lr'] = lr; g['T'] = Tn; g['adapted'] = adapted
  g['spec'] = g['spec'].replace("conv(x,E1,stride2,valid)", f"conv(x,E1,stride{stride},{pad})").replace("[B,36]", f"[B,{n}]").replace(str(cb['adapted']).replace('"',"'"), str(adapted))
  p = {k: T(v).requires_grad_() for k, v in g['params'].items()}
  nchw = lambda v: v.permute(0,3,1,2); nhwc = lambda v: v.permute(0,2,3,1)
  w = lambda K: K.permute(3,2,0,1)
  def conv(v, K, s, pd):
    if pd == 'same':
      kh = K.shape[0]; 
      o = -(-v.shape[1]//s); tot = max((o-1)*s+kh-v.shape[1], 0); a = tot//2
      vv = F.pad(nchw(v), (a, tot-a, a, tot-a))
      return nhwc(F.conv2d(vv, w(K), stride=s))
    return nhwc(F.conv2d(nchw(v), w(K), stride=s))
  f = lambda q, v: torch.sigmoid(conv(F.relu(conv(v, q['K1'], 1, 'same')*q['gamma']+q['beta']), q['K2'], 1, 'same')+v)
  emb = lambda q, v: torch.tanh(conv(v, q['E1'], stride, pad)).reshape(B, -1)@q['E2']
  def roll(q):
    xs=[]; v=x0
    for t in range(Tn): v=f(q,v); xs.append(v)
    return xs
  e0 = emb(p, x0)
  inner = sum(((e0-emb(p, xt))**2).sum(1).mean() for xt in roll(p))
  gr = torch.autograd.grad(inner, [p[k] for k in adapted], create_graph=True)
  q = dict(p)
  for k, d in zip(adapted, gr): q[k] = p[k]-lr*d
  outer = sum(((xt-ys[t])**2).mean() for t, xt in enumerate(roll(q)))
  go = torch.autograd.grad(outer, list(p.values()), allow_unused=True)
  g['expected'] = {'inner': inner.item(), 'outer': outer.item(), 'grads': {k: L(d if d is not None else torch.zeros_like(p[k])) for k, d in zip(p, go)}}
  json.dump(g, open(os.path.join(out, fname), 'w'))
conv_case('conv_s1_valid_k2.json', ['K2'], 1, 'valid', 0.05, 2)
conv_case('conv_s2_same_all.json', ['K1','gamma','beta','K2'], 2, 'same', 0.02, 4)
conv_case('conv_s3_valid_beta.json', ['beta'], 3, 'valid', 0.1, 3)
# LSTM variants: the same spec, other horizon and step size (lstm_check reproduces the shipped case).
lb = json.load(open(os.path.join(src, 'lstm_latent.json')))
def lstm_case(fname, lr, Tn):
  g = copy.deepcopy(lb); g['lr'] = lr; g['T'] = Tn
  x0 = T(g['inputs']['x0'])
  if 'check' in fname: ys = T(g['inputs']['ys'])
  else:
    torch.manual_seed(Tn); ys = torch.randn(Tn, *x0.shape); g['inputs']['ys'] = L(ys)
  p = {k: T(v).requires_grad_() for k, v in g['params'].items()}
  H = p['Wh'].shape[0]
  def roll(h0):
    h, c, x, xs = h0, torch.zeros_like(h0), x0, [x0]
    for t in range(Tn):
      i, f, o, u = (x@p['Wx']+h@p['Wh']+p['b']).chunk(4, 1)
      c = torch.sigmoid(f)*c+torch.sigmoid(i)*torch.tanh(u); h = torch.sigmoid(o)*torch.tanh(c)
      x = x+h@p['Wo']; xs.append(x)
    return xs
  emb = lambda v: torch.tanh(v@p['P'])
  h0 = torch.zeros(x0.shape[0], H, requires_grad=True)
  xs = roll(h0)
  inner = sum(((emb(xs[t-1])-emb(xs[t]))**2).sum(1).mean() for t in range(1, len(xs)))
  (d,) = torch.autograd.grad(inner, [h0], create_graph=True)
  xs = roll(h0-lr*d)
  outer = sum(((xt-ys[t])**2).mean() for t, xt in enumerate(xs[1:]))
  go = torch.autograd.grad(outer, list(p.values()), allow_unused=True)
  g['expected'] = {'inner': inner.item(), 'outer': outer.item(), 'grads': {k: L(d if d is not None else torch.zeros_like(p[k])) for k, d in zip(p, go)}}
  json.dump(g, open(os.path.join(out, fname), 'w'))
lstm_case('lstm_check.json', lb['lr'], lb['T'])
lstm_case('lstm_T6.json', 0.2, 6)
conv_case('conv_cn_check.json', ['gamma','beta'], 2, 'valid', 0.05, 3)
print('ok')
